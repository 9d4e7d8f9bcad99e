"""A grid of learning rates (``train.lr`` a list): each activation compared at its own best rate.

One rate for every activation favours the activations that rate suits. With a grid, each
activation x architecture gets the rate with the highest mean best validation accuracy over
its seeds (the validation split decides; the test set is not looked at), and the comparison
is made on those models, paired by seed as always. A seed that diverged counts as chance
accuracy for its rate: a failure of the rate, never a missing value that would leave the mean
to the seeds that survived. With confirmatory seeds (``analysis.confirm_seeds``) the rate is
chosen on the other (pilot) seeds only and tested on the fresh ones, so the seeds that chose
it do not also judge it (the winner's curse). A chosen rate at the edge of the grid says so:
a better one may lie beyond it. ``verdicts`` says whether the verdicts of every single rate
survive.

Pure: the model table in, tables out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

KEYS = ["activation", "architecture"]
LOWEST, HIGHEST = "chosen: the grid's lowest", "chosen: the grid's highest"


def _scores(models: pd.DataFrame, chance: float) -> pd.Series:
    """Per model its best validation accuracy (%), chance where it diverged or has none."""
    gone = diverged(models)
    return models["best_val_acc"].where(~gone, chance).fillna(chance)


def diverged(models: pd.DataFrame) -> pd.Series:
    """Per model whether it diverged (False for a table from before that was recorded)."""
    if "diverged_at_epoch" not in models:  # a table from before divergence was recorded
        return pd.Series(False, index=models.index)
    return models["diverged_at_epoch"].notna()


def _choosing(models: pd.DataFrame, on: Sequence[int] | None) -> pd.DataFrame:
    return models if on is None else models[models["seed"].isin(list(on))]


def grid(models: pd.DataFrame, chance: float, on: Sequence[int] | None = None) -> pd.DataFrame:
    """Per activation x architecture x rate: seeds (of those the rate is chosen on), seeds
    trained and diverged, the mean score the choice is made on (best validation accuracy, %,
    chance for a diverged seed), the mean test accuracy (%), and "chosen" for the rate chosen
    (with where it sits when that is an edge of the grid)."""
    rows = _choosing(models, on).assign(score=lambda f: _scores(f, chance))
    rows = rows.assign(diverged=diverged(rows))
    table = (
        rows.groupby([*KEYS, "lr"], sort=False)
        .agg(
            seeds=("seed", "size"),
            trained=("trained", "sum"),
            diverged=("diverged", "sum"),
            val_acc_mean=("score", "mean"),
            test_acc_mean=("test_acc", "mean"),
        )
        .reset_index()
    )
    chosen = chosen_rates(models, chance, on)
    rates = sorted(models["lr"].unique())
    marks = []
    for is_chosen, lr in zip(_is_chosen(table, chosen), table["lr"], strict=True):
        edge = LOWEST if lr == rates[0] else HIGHEST if lr == rates[-1] else "chosen"
        marks.append((edge if len(rates) > 1 else "chosen") if is_chosen else "")
    table["chosen"] = marks
    return table.round({"val_acc_mean": 2, "test_acc_mean": 2})  # means of 2-decimal values


def chosen_rates(
    models: pd.DataFrame, chance: float, on: Sequence[int] | None = None
) -> dict[tuple[str, str], float]:
    """Per (activation, architecture): the rate with the highest mean score over the seeds
    ``on`` (all when None); a tie goes to the smaller rate."""
    rows = _choosing(models, on)
    means = (
        rows.assign(score=_scores(rows, chance))
        .groupby([*KEYS, "lr"], sort=False)["score"]
        .mean()
        .reset_index()
    )
    chosen = {}
    for (activation, arch), group in means.groupby(KEYS, sort=False):
        best = group.sort_values(["score", "lr"], ascending=[False, True]).iloc[0]
        chosen[(activation, arch)] = float(best["lr"])
    return chosen


def at_chosen_rates(
    models: pd.DataFrame, chance: float, on: Sequence[int] | None = None
) -> pd.DataFrame:
    """The model-table rows (every seed) of each activation x architecture at its rate chosen
    on the seeds ``on``."""
    return models[_is_chosen(models, chosen_rates(models, chance, on))].reset_index(drop=True)


def _is_chosen(rows: pd.DataFrame, chosen: dict[tuple[str, str], float]) -> list[bool]:
    """Per row (activation, architecture, lr): whether its rate is its configuration's chosen."""
    keys = zip(rows["activation"], rows["architecture"], rows["lr"], strict=True)
    return [chosen[(a, arch)] == lr for a, arch, lr in keys]


def verdicts(
    models: pd.DataFrame,
    compare: Callable[[pd.DataFrame], pd.DataFrame],
    chance: float,
    on: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Per activation x architecture: the verdict of ``compare`` (the configuration table of a
    set of models) at every single rate of the grid, and at each activation's rate chosen on
    the seeds ``on``: on every seed, exploratory."""
    columns = {}
    for lr in sorted(models["lr"].unique()):
        table = compare(models[models["lr"] == lr].reset_index(drop=True))
        columns[f"all at lr {lr:g}"] = table.set_index(KEYS)["verdict"]
    table = compare(at_chosen_rates(models, chance, on))
    columns["each at its chosen rate"] = table.set_index(KEYS)["verdict"]
    chosen = chosen_rates(models, chance, on)
    out = pd.DataFrame(columns)
    out.insert(0, "chosen lr", [chosen[key] for key in out.index])
    return out.reset_index()
