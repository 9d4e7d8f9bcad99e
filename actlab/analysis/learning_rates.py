"""A grid of learning rates (``train.lr`` a list): each activation compared at its own best rate.

One rate for every activation favours the activations that rate suits. With a grid, each
activation x architecture gets the rate with the highest mean best validation accuracy over
its seeds (the validation split decides; the test set is not looked at), and the comparison
is made on those models, paired by seed as always. ``verdicts`` says whether the verdicts of
every single rate survive.

Pure: the model table in, tables out.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

KEYS = ["activation", "architecture"]


def grid(models: pd.DataFrame) -> pd.DataFrame:
    """Per activation x architecture x rate: seeds, seeds trained, mean best validation and
    test accuracy (%), and "chosen" for the rate chosen."""
    rows = (
        models.groupby([*KEYS, "lr"], sort=False)
        .agg(
            seeds=("seed", "size"),
            trained=("trained", "sum"),
            val_acc_mean=("best_val_acc", "mean"),
            test_acc_mean=("test_acc", "mean"),
        )
        .reset_index()
    )
    rows["chosen"] = ["chosen" if c else "" for c in _is_chosen(rows, chosen_rates(models))]
    return rows.round({"val_acc_mean": 2, "test_acc_mean": 2})  # means of 2-decimal values


def chosen_rates(models: pd.DataFrame) -> dict[tuple[str, str], float]:
    """Per (activation, architecture): the rate with the highest mean best validation accuracy
    over its seeds; a tie goes to the smaller rate."""
    means = models.groupby([*KEYS, "lr"], sort=False)["best_val_acc"].mean().reset_index()
    chosen = {}
    for (activation, arch), group in means.groupby(KEYS, sort=False):
        best = group.sort_values(["best_val_acc", "lr"], ascending=[False, True]).iloc[0]
        chosen[(activation, arch)] = float(best["lr"])
    return chosen


def at_chosen_rates(models: pd.DataFrame) -> pd.DataFrame:
    """The model-table rows of each activation x architecture at its chosen rate."""
    return models[_is_chosen(models, chosen_rates(models))].reset_index(drop=True)


def _is_chosen(rows: pd.DataFrame, chosen: dict[tuple[str, str], float]) -> list[bool]:
    """Per row (activation, architecture, lr): whether its rate is its configuration's chosen."""
    keys = zip(rows["activation"], rows["architecture"], rows["lr"], strict=True)
    return [chosen[(a, arch)] == lr for a, arch, lr in keys]


def verdicts(models: pd.DataFrame, compare: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    """Per activation x architecture: the verdict of ``compare`` (the configuration table of a
    set of models) at every single rate of the grid, and at each activation's chosen rate."""
    columns = {}
    for lr in sorted(models["lr"].unique()):
        table = compare(models[models["lr"] == lr].reset_index(drop=True))
        columns[f"all at lr {lr:g}"] = table.set_index(KEYS)["verdict"]
    table = compare(at_chosen_rates(models))
    columns["each at its chosen rate"] = table.set_index(KEYS)["verdict"]
    chosen = chosen_rates(models)
    out = pd.DataFrame(columns)
    out.insert(0, "chosen lr", [chosen[key] for key in out.index])
    return out.reset_index()
