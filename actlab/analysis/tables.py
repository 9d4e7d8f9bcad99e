"""The comparison tables: one row per trained model, and one row per configuration
(activation x architecture) with its statistics across seeds (``actlab.analysis.stats``).

The statistics, in one paragraph. Every activation is compared, paired by seed, with a
baseline activation named in advance (relu by default), not with the best-looking one, which
would favour lucky seeds and never test the winner. Within an architecture the m comparisons
are Bonferroni-adjusted alike: p-values times m, intervals at level 1 - alpha/m, so an
interval excludes 0 exactly when the adjusted p is below alpha. A non-significant difference
is not called "as good as": each comparison reports the minimum detectable difference (80 %
power) and an equivalence test (TOST) against a stated margin, adjusted the same way. A seed
counts as trained when its test accuracy reaches chance + 10 % of the way to 100 %; a
configuration or a baseline with seeds that did not train is not t-tested, and where the seeds
are mixed or identical its per-seed values are shown instead of a t interval. A single
published run is compared with the 95 % prediction interval of one new run, not with the
interval of our mean.

Pure: metrics in, pandas DataFrames out; no statistic is rounded in them (rounding is for
the readable tables only). The published numbers the tables are compared with, and their
sources, are in docs/reference.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from actlab.analysis import compare, stats
from actlab.identity import configuration_of
from actlab.records import ModelMetrics, ModelRecord

NAN = float("nan")

# UvA DL tutorial 3, test accuracy (%) of [512, 256, 256, 128] on FashionMNIST
# (docs/reference.md, "Published test accuracy").
REFERENCE_TEST_ACC = {
    "sigmoid": 10.00,
    "tanh": 87.59,
    "relu": 88.62,
    "leakyrelu": 88.92,
    "elu": 87.27,
    "swish": 88.73,
}
REFERENCE_WIDTHS = (512, 256, 256, 128)


def reference_acc(dataset: str, record: ModelRecord) -> float | None:
    """The published test accuracy of this model's configuration, if there is one."""
    if dataset == "fashion_mnist" and record.spec.hidden_sizes == REFERENCE_WIDTHS:
        return REFERENCE_TEST_ACC.get(record.spec.activation)
    return None


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else round(100 * fraction, 2)


def model_table(
    dataset: str, metrics: Mapping[str, ModelMetrics], *, chance: float
) -> pd.DataFrame:
    """One row per trained model. ``chance`` is the test accuracy (%) of guessing, 100 / number
    of classes: ``trained`` says whether the model reached ``stats.trained_threshold(chance)``.
    ``stopped`` is why training ended ("patience", "max_epochs", "diverged"; None in metrics
    written before training recorded it). ``test_acc_e<b>`` and ``best_epoch_e<b>``: the test
    accuracy and epoch of the best checkpoint within each earlier budget (``train.budgets``).
    Wall times are not in it: they differ between identical reruns and live in
    ``metrics/timing/`` and MLflow."""
    threshold = stats.trained_threshold(chance)
    rows = []
    for name, m in metrics.items():
        spec, d = m.record.spec, m.dead
        test_acc = round(100 * m.evaluate["test_acc"], 2)
        budgets = {}
        for b, kept in m.evaluate.get("budgets", {}).items():
            budgets[f"test_acc_e{b}"] = round(100 * kept["test_acc"], 2)
            budgets[f"best_epoch_e{b}"] = kept["epoch"]
        rows.append(
            {
                "model": name,
                "activation": spec.activation,
                "architecture": spec.architecture,
                "init": spec.init,
                "lr": spec.lr,
                "seed": spec.seed,
                "parameters": m.train["parameters"],
                "epochs": m.train["epochs_trained"],
                "best_epoch": m.train.get("best_epoch"),
                "stopped": m.train.get("stopped"),
                "best_val_acc": _percent(m.train["best_val_acc"]),
                "diverged_at_epoch": m.train.get("diverged_at_epoch"),
                "test_acc": test_acc,
                "trained": test_acc >= threshold,
                "reference_test_acc": reference_acc(dataset, m.record),
                "dead_init": d["init"]["dead"]["total"],
                "dead_trained": d["trained"]["dead"]["total"],
                "dead_worst_layer_pct_init": d["init"]["dead"]["worst_layer_percent"],
                "dead_worst_layer_pct_trained": d["trained"]["dead"]["worst_layer_percent"],
                "nearly_dead_trained": d["trained"]["nearly_dead"]["total"],
                "saturated_init": d["init"]["saturated"]["total"],
                "saturated_trained": d["trained"]["saturated"]["total"],
                "saturated_worst_layer_pct_trained": d["trained"]["saturated"][
                    "worst_layer_percent"
                ],
                "grad_log10_ratio_init": _gradient_ratio(m.distributions),
                **budgets,
            }
        )
    return pd.DataFrame(rows)


def _gradient_ratio(distributions: Mapping[str, Any]) -> float:
    """log10 of the first Linear layer's mean |weight gradient| over the last one's, at init
    (one batch): far below 0 when the gradient vanishes on its way to the input."""
    flow = distributions.get("gradient_flow_init")
    if not flow:
        return NAN
    first, last = flow[0]["summary"]["mean_abs"], flow[-1]["summary"]["mean_abs"]
    return math.log10(first / last) if first > 0 and last > 0 else NAN


# Per configuration, mean and std across seeds of these model-table columns.
SPREAD = (
    "best_val_acc",
    "epochs",
    "dead_init",
    "dead_trained",
    "nearly_dead_trained",
    "saturated_init",
    "saturated_trained",
    "grad_log10_ratio_init",
)


def _number(value: float | None) -> float:
    return NAN if value is None else float(value)


def configuration_table(
    models: pd.DataFrame,
    *,
    baseline: str,
    margin: float,
    chance: float,
    alpha: float = stats.ALPHA,
    correct: Mapping[str, Any] | None = None,
    column: str = "test_acc",
) -> pd.DataFrame:
    """One row per configuration (columns: ``CONFIGURATION_COLUMNS``, then
    ``<column>_mean``/``<column>_std`` of every ``SPREAD`` column).

    Test accuracy (%, the models table's ``column``: ``test_acc``, or a budget's
    ``test_acc_e<b>``) over the seeds: how many ``trained``, mean, std, 95 % t interval, the
    per-seed values in seed order, and the 95 % prediction interval of one new run, which the
    published single run is checked against (``reference_in_pi``). Both intervals are NaN with
    fewer than 2 seeds and where the seeds are mixed (some trained, some not) or identical.
    Then ``compare.compare_to_baseline`` against ``baseline`` of the same architecture
    (``correct``: per model, which test images it got right, for the interval on new images):
    the mean difference, its adjusted intervals on this test set and on new images, adjusted
    p and TOST p against ±``margin``, the range of detectable differences and the verdict
    (NaN for the baseline itself and where no test was made). ``hit_max_epochs``: how many
    seeds stopped at max_epochs (NaN when no seed recorded why it stopped). ``baseline``,
    ``margin`` and ``chance`` are also kept in the frame's ``attrs`` for ``readable``."""
    rows = []
    for arch, of_arch in models.groupby("architecture", sort=False):
        by_seed = {a: g.sort_values("seed") for a, g in of_arch.groupby("activation", sort=False)}
        images = None
        if correct is not None:
            images = {
                a: {s: correct[m] for s, m in zip(g["seed"], g["model"], strict=True)}
                for a, g in by_seed.items()
            }
        try:
            comparisons = compare.compare_to_baseline(
                {a: dict(zip(g["seed"], g[column], strict=True)) for a, g in by_seed.items()},
                baseline,
                margin=margin,
                chance=chance,
                alpha=alpha,
                correct=images,
            )
        except ValueError as e:
            raise ValueError(f"architecture {arch}: {e}") from e
        for activation, group in by_seed.items():
            group = group.assign(test_acc=group[column])
            s = seed_summary(group, chance, SPREAD)
            values = group["test_acc"].astype(float).tolist()
            pi = stats.prediction_interval(values) if s["interval"] else None
            reference = group["reference_test_acc"].iloc[0]
            row = {
                "configuration": configuration_of(group["model"].iloc[0]),
                "activation": activation,
                "architecture": arch,
                "seeds": s["seeds"],
                "trained": s["trained"],
                "test_acc_mean": s["test_acc_mean"],
                "test_acc_std": s["test_acc_std"],
                "test_acc_ci_low": s["test_acc_ci_low"],
                "test_acc_ci_high": s["test_acc_ci_high"],
                "test_acc_seeds": s["test_acc_seeds"],
                "baseline": baseline,
                **comparison_columns(comparisons[activation]),
                "pi_low": NAN if pi is None else pi[0],
                "pi_high": NAN if pi is None else pi[1],
                "reference_test_acc": _number(None if pd.isna(reference) else reference),
                "reference_in_pi": _inside(reference, pi),
                "hit_max_epochs": s["hit_max_epochs"],
            }
            for spread in SPREAD:
                row[f"{spread}_mean"] = s[f"{spread}_mean"]
                row[f"{spread}_std"] = s[f"{spread}_std"]
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs.update(baseline=baseline, margin=margin, chance=chance)
    return frame


def seed_summary(group: pd.DataFrame, chance: float, spread: Sequence[str]) -> dict[str, Any]:
    """One configuration's seeds (its rows of a models table, in seed order): how many, how
    many trained, test accuracy (%) mean, std, 95 % t interval (NaN where the seeds are mixed
    or identical, or one: ``interval`` says whether there is one) and per-seed values, how
    many stopped at max_epochs, and mean and std of each ``spread`` column."""
    values = group["test_acc"].astype(float).tolist()
    acc = stats.describe(values)
    interval = stats.supports_interval(values, chance)
    summary = {
        "seeds": acc.n,
        "trained": stats.count_trained(values, chance),
        "test_acc_mean": acc.mean,
        "test_acc_std": _number(acc.std),
        "test_acc_ci_low": acc.ci_low if interval else NAN,
        "test_acc_ci_high": acc.ci_high if interval else NAN,
        "test_acc_seeds": ", ".join(f"{v:.2f}" for v in values),
        "interval": interval,
        "hit_max_epochs": _hit_max_epochs(group),
    }
    for column in spread:
        values_of = group[column].astype(float)
        summary[f"{column}_mean"] = values_of.mean()
        summary[f"{column}_std"] = values_of.std() if len(values_of) > 1 else NAN
    return summary


def comparison_columns(c: compare.Comparison) -> dict[str, Any]:
    """A comparison with its baseline as table columns (NaN where no test was made).
    ``diff_ci_*``: on this test set; ``diff_ci_*_new``: on new images like these;
    ``p_adjusted``/``p_equivalence``: those the verdict stands on (new images where there are
    per-image predictions); ``p_test``: on this test set; ``diff_sd``: the seeds' standard
    deviation of the difference (pooled under Dunnett); ``image_se``: the test images' share
    of its standard error; ``mdd_low``-``mdd_high``: the detectable range."""
    image_se = None if c.image_variance is None else math.sqrt(c.image_variance)
    return {
        "adjustment": c.method or "",
        "diff_mean": _number(c.mean_difference),
        "diff_ci_low": _number(c.ci_low),
        "diff_ci_high": _number(c.ci_high),
        "diff_ci_low_new": _number(c.ci_low_new),
        "diff_ci_high_new": _number(c.ci_high_new),
        "diff_sd": _number(c.sd),
        "diff_sd_df": _number(c.sd_df),
        "image_se": _number(image_se),
        "p_test": _number(c.p_test),
        "p_adjusted": _number(c.p_adjusted),
        "p_equivalence": _number(c.p_equivalence),
        "mdd_low": _number(c.mdd_low),
        "mdd_high": _number(c.mdd_high),
        "verdict": c.verdict,
    }


# The first columns of configuration_table, in order: the figures are built against them.
CONFIGURATION_COLUMNS = (
    "configuration",
    "activation",
    "architecture",
    "seeds",
    "trained",
    "test_acc_mean",
    "test_acc_std",
    "test_acc_ci_low",
    "test_acc_ci_high",
    "test_acc_seeds",
    "baseline",
    "adjustment",
    "diff_mean",
    "diff_ci_low",
    "diff_ci_high",
    "diff_ci_low_new",
    "diff_ci_high_new",
    "diff_sd",
    "diff_sd_df",
    "image_se",
    "p_test",
    "p_adjusted",
    "p_equivalence",
    "mdd_low",
    "mdd_high",
    "verdict",
    "pi_low",
    "pi_high",
    "reference_test_acc",
    "reference_in_pi",
    "hit_max_epochs",
)


def _hit_max_epochs(group: pd.DataFrame) -> float:
    stopped = group["stopped"] if "stopped" in group else pd.Series([None] * len(group))
    if stopped.isna().all():  # metrics from before training recorded why it stopped
        return NAN
    return float((stopped == "max_epochs").sum())


def _inside(reference: float | None, pi: tuple[float, float] | None) -> str | None:
    if reference is None or pd.isna(reference) or pi is None:
        return None
    return "yes" if pi[0] <= reference <= pi[1] else "no"


def _plus_minus(mean: float, std: float | None, digits: int) -> str:
    return (
        f"{mean:.{digits}f}"
        if std is None or pd.isna(std)
        else f"{mean:.{digits}f} ± {std:.{digits}f}"
    )


def p_text(p: float | None) -> str:
    """Two significant digits of the unrounded p: 2.8e-06, 0.048, 1."""
    return "" if p is None or pd.isna(p) else f"{p:.2g}"


def accuracy_text(r: Mapping[str, Any]) -> str:
    """Mean [95 % CI], or the per-seed values where there is no interval."""
    if not pd.isna(r["test_acc_ci_low"]):
        return f"{r['test_acc_mean']:.2f} [{r['test_acc_ci_low']:.2f}, {r['test_acc_ci_high']:.2f}]"
    if r["seeds"] == 1:
        return f"{r['test_acc_mean']:.2f} (one seed)"
    return f"per seed: {r['test_acc_seeds']}"


def difference_text(r: Mapping[str, Any], new: bool = False) -> str:
    """The mean difference and its adjusted interval on this test set (or, ``new``, on new
    images like these); the difference alone where it has no interval; '' where none."""
    low, high = ("diff_ci_low_new", "diff_ci_high_new") if new else ("diff_ci_low", "diff_ci_high")
    if pd.isna(r["diff_mean"]):
        return ""
    if pd.isna(r.get(low, NAN)):
        return "" if new else f"{r['diff_mean']:+.2f}"
    return f"{r['diff_mean']:+.2f} [{r[low]:+.2f}, {r[high]:+.2f}]"


def verdict_text(r: Mapping[str, Any]) -> str:
    """The verdict in full; an inconclusive one says the range of differences the seeds could
    detect (from the confidence interval of their standard deviation)."""
    verdict = str(r.get("verdict", ""))
    low, high = r.get("mdd_low", NAN), r.get("mdd_high", NAN)
    if verdict == compare.INCONCLUSIVE and not pd.isna(low) and math.isfinite(float(high)):
        return f"{compare.INCONCLUSIVE} (could detect ≥ {detectable_text(r)} points)"
    return verdict


def detectable_text(r: Mapping[str, Any]) -> str:
    """The range of differences the seeds could detect (80 % power), '' where none; an end
    beyond 100 points (no accuracy difference can be) reads "100+"."""
    low, high = r.get("mdd_low", NAN), r.get("mdd_high", NAN)
    if pd.isna(low):
        return ""
    return "–".join("100+" if v > 100 else f"{float(v):.1f}" for v in (low, high))


def at_max_epochs(r: Mapping[str, Any]) -> str:
    """``k/n at max_epochs``: k of the configuration's n seeds ran to max_epochs (they may have
    been still improving); '' where the models do not say why they stopped."""
    hit = r.get("hit_max_epochs", NAN)
    return "" if pd.isna(hit) else f"{int(hit)}/{int(r['seeds'])} at max_epochs"


def epochs_text(r: Mapping[str, Any]) -> str:
    """Mean ± std of the epochs trained, and how many seeds ran to max_epochs."""
    at_max = at_max_epochs(r)
    return _plus_minus(r["epochs_mean"], r["epochs_std"], 1) + (f" ({at_max})" if at_max else "")


def _versus(configurations: pd.DataFrame) -> tuple[str, str]:
    """The two comparison columns' headers: on this test set, on new images like these."""
    baselines = "/".join(dict.fromkeys(configurations["baseline"])) or "baseline"
    return f"vs {baselines} [adj. CI], this test set", "[adj. CI], new images"


def readable(configurations: pd.DataFrame) -> pd.DataFrame:
    """The configuration table as a person reads it (Markdown, metrics/summary.md): numbers
    with their spread, p-values to 2 significant digits, the comparison with the baseline
    and its Bonferroni-adjusted interval; the equivalence margin in a header comes from the
    frame's ``attrs`` (set by ``configuration_table``)."""
    margin = configurations.attrs.get("margin")
    equivalence = "p equiv." if margin is None else f"p equiv. (±{margin:g})"
    versus, new = _versus(configurations)
    rows = []
    for _, r in configurations.iterrows():
        rows.append(
            {
                "configuration": r["configuration"],
                "trained": f"{int(r['trained'])}/{int(r['seeds'])}",
                "test acc %": accuracy_text(r),
                versus: difference_text(r),
                new: difference_text(r, new=True),
                "p (adj.)": p_text(r["p_adjusted"]),
                "adjusted by": r["adjustment"],
                "detectable ≥": detectable_text(r),
                equivalence: p_text(r["p_equivalence"]),
                "verdict": verdict_text(r),
                "published": ""
                if pd.isna(r["reference_test_acc"])
                else f"{r['reference_test_acc']:.2f}",
                "in 95 % PI": "" if pd.isna(r["reference_in_pi"]) else r["reference_in_pi"],
                "epochs": epochs_text(r),
                "dead init": _plus_minus(r["dead_init_mean"], r["dead_init_std"], 1),
                "dead trained": _plus_minus(r["dead_trained_mean"], r["dead_trained_std"], 1),
                "nearly dead trained": _plus_minus(
                    r["nearly_dead_trained_mean"], r["nearly_dead_trained_std"], 1
                ),
                "saturated trained": _plus_minus(
                    r["saturated_trained_mean"], r["saturated_trained_std"], 1
                ),
            }
        )
    return pd.DataFrame(rows)


PAGE_MODEL_COLUMNS = (
    "model", "seed", "lr", "epochs", "best_epoch", "stopped", "best_val_acc", "test_acc",
    "trained", "dead_trained", "saturated_trained",
)  # fmt: skip


def configuration_page(
    configurations: pd.DataFrame, models: pd.DataFrame, configuration: str
) -> list[tuple[str, str, pd.DataFrame]]:
    """One configuration's own page (its MLflow run's ``configuration.md``): its row of the
    summary, one line a column, and its models (``models``: the compared ones)."""
    row = readable(configurations[configurations["configuration"] == configuration])
    if row.empty:
        raise ValueError(f"no configuration {configuration!r} in the table")
    facts = pd.DataFrame({"": row.columns, configuration: row.iloc[0].to_numpy()})
    own = models[models["model"].map(configuration_of) == configuration]
    seeds = own[[c for c in PAGE_MODEL_COLUMNS if c in own]]
    return [
        (
            configuration,
            "Its seeds' validation accuracy per epoch, beside the baseline's: `curves.png`.",
            facts,
        ),
        ("Its models", "Accuracies in %, as in metrics/models.csv.", seeds),
    ]


def headline(configurations: pd.DataFrame, architecture: str) -> pd.DataFrame:
    """The short table of one architecture for the README (a Markdown fragment): per
    activation how many seeds trained, test accuracy, the difference from the baseline with
    its adjusted interval, adjusted p, verdict and epochs (with the seeds at max_epochs)."""
    rows = configurations[configurations["architecture"] == architecture]
    if rows.empty:
        raise ValueError(
            f"no configurations of architecture {architecture!r}; there are: "
            f"{', '.join(dict.fromkeys(configurations['architecture']))}"
        )
    versus, new = _versus(rows)
    return pd.DataFrame(
        [
            {
                "activation": r["activation"],
                "trained": f"{int(r['trained'])}/{int(r['seeds'])}",
                "test acc %": accuracy_text(r),
                versus: difference_text(r),
                new: difference_text(r, new=True),
                "p (adj.)": p_text(r["p_adjusted"]),
                "verdict": verdict_text(r),
                "epochs": epochs_text(r),
            }
            for _, r in rows.iterrows()
        ]
    )


def budget_verdicts(per_budget: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """Per configuration its verdict at every budget (each budget's configuration table, by
    its epochs), and whether the verdict holds at every budget."""
    budgets = sorted(per_budget)
    first = per_budget[budgets[-1]]
    rows = []
    for i, r in first.reset_index(drop=True).iterrows():
        at = {b: per_budget[b].reset_index(drop=True).iloc[i] for b in budgets}
        verdicts = [at[b]["verdict"] for b in budgets]
        rows.append(
            {
                "configuration": r["configuration"],
                **{f"best within {b} epochs": verdict_text(at[b]) for b in budgets},
                "holds at every budget": "yes" if len(set(verdicts)) == 1 else "no",
            }
        )
    return pd.DataFrame(rows)


def caption(configurations: pd.DataFrame, label: str, rule: str) -> str:
    """The line above a result table: what produced it."""
    adjustments = sorted({a for a in configurations.get("adjustment", []) if a})
    seeds = sorted({int(s) for s in configurations["seeds"]})
    seeds_text = "/".join(str(s) for s in seeds)
    return (
        f"*{label}; trained with {rule}; {seeds_text} seeds per configuration; adjusted by "
        f"{' or '.join(adjustments) or 'nothing (no test)'} within each architecture*"
    )


def neurons(configurations: pd.DataFrame) -> pd.DataFrame:
    """Dead, nearly dead and saturated hidden neurons per configuration, mean ± std over its
    seeds, all hidden layers together, and the gradient at init of the input layer relative
    to the output layer's (geometric mean over the seeds); a Markdown fragment for
    docs/results.md."""
    columns = {
        "dead at init": "dead_init",
        "dead after training": "dead_trained",
        "nearly dead after training": "nearly_dead_trained",
        "saturated at init": "saturated_init",
        "saturated after training": "saturated_trained",
    }
    return pd.DataFrame(
        [
            {
                "configuration": r["configuration"],
                **{
                    label: _plus_minus(r[f"{c}_mean"], r[f"{c}_std"], 1)
                    for label, c in columns.items()
                },
                "gradient at init, input ÷ output layer": _ratio(r["grad_log10_ratio_init_mean"]),
            }
            for _, r in configurations.iterrows()
        ]
    )


def _ratio(log10: float) -> str:
    return "" if pd.isna(log10) else f"{10**log10:.2g}"


def aggregates(configurations: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """What ``dvc metrics show`` and ``dvc exp show`` list: per configuration, the mean test
    accuracy (%) over the seeds and its 95 % interval (null where the table has none: one
    seed, mixed or identical seeds)."""
    out = {}
    for _, r in configurations.iterrows():
        out[r["configuration"]] = {
            name: (None if pd.isna(r[column]) else round(float(r[column]), 2))
            for name, column in (
                ("test_acc", "test_acc_mean"),
                ("ci_low", "test_acc_ci_low"),
                ("ci_high", "test_acc_ci_high"),
            )
        }
    return out


def per_epoch(
    metrics: Mapping[str, ModelMetrics], table: str, columns: Sequence[str]
) -> list[dict[str, Any]]:
    """The per-epoch ``table`` (``history`` or ``dynamics``) of every model, stacked: one row
    per model and epoch, ``model`` first (the line a ``dvc plots`` chart draws per model)."""
    rows = []
    for name, m in metrics.items():
        frame = getattr(m, table)
        for record in frame[list(columns)].to_dict("records"):
            rows.append({"model": name, **record})
    return rows


# The per-epoch tables `dvc plots` draws (metrics/epochs.tsv, metrics/dead_epochs.tsv).
EPOCH_COLUMNS = ("epoch", "train_loss", "val_loss", "train_acc", "val_acc")
DEAD_COLUMNS = ("epoch", "dead_total", "saturated_total")

SUMMARY_TEXT = (
    "{label}: trained with {rule}. Test accuracy over the seeds: how many trained (above "
    "chance), mean and 95 % Student-t interval (per-seed values where the seeds are mixed or "
    "identical), and the 95 % prediction interval of one new run, against which the published "
    "single run is checked. Each activation is compared with {baseline}, paired by seed: the "
    "mean difference with its interval on this test set (the seeds' spread) and on new images "
    "like these (the test images' sampling counted too), both adjusted over the "
    "architecture's comparisons (Dunnett where the variances are compatible, else Bonferroni; "
    "95 % family-wise), the adjusted p, the range of differences the seeds could detect (80 % "
    "power), and a test of equivalence within ±{margin:g} points (TOST). docs/results.md "
    "explains each column."
)
BUDGETS_TEXT = (
    "Each model's best-validation checkpoint within each budget, compared the same way: a "
    "conclusion that changes with the budget depends on how long the models trained."
)
GRID_TEXT = (
    "train.lr is a grid: each activation x architecture trained at every rate, and the rate "
    "with the highest mean best validation accuracy is chosen (a diverged seed counts as "
    "chance; with confirmatory seeds, on the other seeds only; the test set plays no part). "
    "The comparison above is at the chosen rates; a rate chosen at the grid's edge may have "
    "a better neighbour beyond it."
)
VERDICTS_TEXT = "The verdicts with every activation at one rate, and each at its chosen rate."


def summary_sections(
    configurations: pd.DataFrame,
    models: pd.DataFrame,
    budgets: pd.DataFrame,
    label: str,
    rule: str,
    rates: pd.DataFrame | None = None,
    verdicts: pd.DataFrame | None = None,
) -> list[tuple[str, str, pd.DataFrame]]:
    """``metrics/summary.md``'s sections (title, text, table): the configurations, the verdicts
    per budget, under a grid of rates the grid and the verdicts per rate, and one row per
    model."""
    attrs = configurations.attrs
    text = SUMMARY_TEXT.format(
        label=label.capitalize(), rule=rule, baseline=attrs["baseline"], margin=attrs["margin"]
    )
    sections = [
        ("Per configuration", text, readable(configurations)),
        ("Verdicts per budget", BUDGETS_TEXT, budgets),
    ]
    if rates is not None:
        sections += [("Learning rates", GRID_TEXT, rates)]
    if verdicts is not None:
        sections += [("Verdicts per rate", VERDICTS_TEXT, verdicts)]
    return [*sections, ("Per model", "One row per trained network.", models)]
