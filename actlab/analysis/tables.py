"""The comparison tables: one row per trained model, and one row per configuration
(activation x architecture) with its statistics across seeds (``actlab.analysis.stats``).

Pure: metrics in, pandas DataFrames out. The published numbers the tables are compared with,
and their sources, are in docs/reference.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from actlab.analysis import stats
from actlab.config import configuration_name
from actlab.records import ModelMetrics, ModelRecord

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


def model_table(dataset: str, metrics: Mapping[str, ModelMetrics]) -> pd.DataFrame:
    """One row per trained model. Wall times are not in it: they differ between identical
    reruns and live in ``metrics/timing/`` and MLflow."""
    rows = []
    for name, m in metrics.items():
        spec, d = m.record.spec, m.dead
        rows.append(
            {
                "model": name,
                "activation": spec.activation,
                "architecture": spec.architecture,
                "init": spec.init,
                "seed": spec.seed,
                "parameters": m.train["parameters"],
                "epochs": m.train["epochs_trained"],
                "best_val_acc": _percent(m.train["best_val_acc"]),
                "diverged_at_epoch": m.train.get("diverged_at_epoch"),
                "test_acc": round(100 * m.evaluate["test_acc"], 2),
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
            }
        )
    return pd.DataFrame(rows)


# Per configuration, mean and std across seeds of these model-table columns.
SPREAD = (
    "best_val_acc",
    "epochs",
    "dead_init",
    "dead_trained",
    "nearly_dead_trained",
    "saturated_init",
    "saturated_trained",
)


def configuration_table(models: pd.DataFrame) -> pd.DataFrame:
    """One row per activation x architecture: test accuracy mean, std and 95 % t interval over
    its seeds, the paired comparison with the best activation of the architecture (mean
    difference, its interval, Holm-corrected p, verdict), and mean/std of the other numbers."""
    rows = []
    for arch, of_arch in models.groupby("architecture", sort=False):
        by_activation = {
            a: dict(zip(g["seed"], g["test_acc"], strict=True))
            for a, g in of_arch.groupby("activation", sort=False)
        }
        comparisons = {c.activation: c for c in stats.compare_to_best(by_activation)}
        for activation, group in of_arch.groupby("activation", sort=False):
            acc = stats.describe(group["test_acc"].tolist())
            c = comparisons[activation]
            p = c.paired
            reference = group["reference_test_acc"].iloc[0]
            row = {
                "configuration": configuration_name(activation, arch),
                "activation": activation,
                "architecture": arch,
                "seeds": acc.n,
                "test_acc_mean": acc.mean,
                "test_acc_std": acc.std,
                "test_acc_ci_low": acc.ci_low,
                "test_acc_ci_high": acc.ci_high,
                "best": c.best,
                "diff_vs_best": None if p is None else p.mean_difference,
                "diff_ci_low": None if p is None else p.ci_low,
                "diff_ci_high": None if p is None else p.ci_high,
                "p_paired": None if p is None else p.p_value,
                "p_holm": c.p_holm,
                "verdict": c.verdict,
                "reference_test_acc": reference,
                "reference_in_ci": _inside(reference, acc),
            }
            for column in SPREAD:
                values = group[column].astype(float)
                row[f"{column}_mean"] = values.mean()
                row[f"{column}_std"] = values.std() if len(values) > 1 else None
            rows.append(row)
    return pd.DataFrame(rows).round(4)


def _inside(reference: float | None, acc: stats.Summary) -> str | None:
    if reference is None or pd.isna(reference) or acc.ci_low is None:
        return None
    return "yes" if acc.ci_low <= reference <= acc.ci_high else "no"


def _plus_minus(mean: float, std: float | None, digits: int) -> str:
    return (
        f"{mean:.{digits}f}"
        if std is None or pd.isna(std)
        else f"{mean:.{digits}f} ± {std:.{digits}f}"
    )


def _interval(low: float | None, high: float | None) -> str:
    if low is None or pd.isna(low):
        return "n < 2: no CI"
    return f"[{low:.2f}, {high:.2f}]"


def readable(configurations: pd.DataFrame) -> pd.DataFrame:
    """The configuration table as a person reads it (Markdown): numbers with their spread."""
    rows = []
    for _, r in configurations.iterrows():
        diff = "" if pd.isna(r["diff_vs_best"]) else f"{r['diff_vs_best']:+.2f} "
        rows.append(
            {
                "configuration": r["configuration"],
                "seeds": int(r["seeds"]),
                "test acc % (mean)": f"{r['test_acc_mean']:.2f}",
                "95 % CI": _interval(r["test_acc_ci_low"], r["test_acc_ci_high"]),
                "vs best [95 % CI]": ""
                if r["verdict"] == stats.BEST
                else diff + _interval(r["diff_ci_low"], r["diff_ci_high"]),
                "p (Holm)": "" if pd.isna(r["p_holm"]) else f"{r['p_holm']:.3g}",
                "verdict": r["verdict"],
                "published": "" if pd.isna(r["reference_test_acc"]) else r["reference_test_acc"],
                "in CI": r["reference_in_ci"] or "",
                "epochs": _plus_minus(r["epochs_mean"], r["epochs_std"], 1),
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


def aggregates(configurations: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """What ``dvc metrics show`` and ``dvc exp show`` list: per configuration, the mean test
    accuracy (%) over the seeds and its 95 % interval (null with one seed)."""
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
