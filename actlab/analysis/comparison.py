"""The plot stage's comparison, assembled: which models are compared (each activation at its
chosen rate under a grid; the confirmatory seeds only where there are some), the configuration
table at the full budget and the verdicts at every budget, and whether the whole is
confirmatory or exploratory.

Pure: the models table, which test images each model got right, and the plans the models
recorded in; tables out.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from actlab import records
from actlab.analysis import learning_rates, plan, tables
from actlab.config import Config

BEST = "best"  # the key of best.pt's predictions (``actlab.model.evaluation.BEST``)


@dataclass
class Comparison:
    models: pd.DataFrame  # the rows compared
    configurations: pd.DataFrame  # at the full budget
    budgets: pd.DataFrame  # the verdict of each configuration at every budget
    label: str  # plan.CONFIRMATORY or plan.EXPLORATORY
    rule: str  # how the models trained: the stopping rule and the budget
    rates: pd.DataFrame | None = None  # under a grid of learning rates
    verdicts_by_rate: pd.DataFrame | None = None


def training_rule(cfg: Config) -> str:
    t = cfg.train
    if t.early_stopping:
        return f"early stopping (train.patience), at most {t.max_epochs} epochs"
    return f"a fixed budget of {t.max_epochs} epochs"


def compare(
    cfg: Config,
    every: pd.DataFrame,
    correct: Mapping[str, Mapping[str, np.ndarray]],
    plans: Mapping[str, Mapping[str, Any] | None],
    chance: float,
) -> Comparison:
    """``correct``: per model, per checkpoint (``BEST``, and each budget as a string), which
    test images it classified correctly; ``plans``: per model, the plan it recorded."""
    a = cfg.analysis
    confirm = list(a.confirm_seeds)
    pilot = sorted(set(every["seed"]) - set(confirm)) if confirm else None
    grid = len(cfg.train.lr) > 1
    table = functools.partial(
        tables.configuration_table,
        baseline=a.baseline,
        margin=a.equivalence_margin,
        chance=chance,
        alpha=a.alpha,
    )
    # with a grid of rates, each activation's rate is chosen on the pilot seeds
    models = learning_rates.at_chosen_rates(every, chance, on=pilot) if grid else every
    if confirm:
        models = models[models["seed"].isin(confirm)].reset_index(drop=True)
    label = plan.label(records.plan(cfg), [plans.get(m) for m in models["model"]])
    best = {m: correct[m][BEST] for m in models["model"]}
    configurations = table(models, correct=best)
    configurations.insert(configurations.columns.get_loc("verdict") + 1, "analysis", label)
    per_budget = {}
    for budget in cfg.train.budgets:
        of = {m: correct[m][str(budget)] for m in models["model"]}
        column = f"test_acc_e{budget}"
        per_budget[budget] = table(models, correct=of, column=column)
    per_budget[cfg.train.max_epochs] = configurations
    result = Comparison(
        models, configurations, tables.budget_verdicts(per_budget), label, training_rule(cfg)
    )
    if grid:
        result.rates = learning_rates.grid(every, chance, on=pilot)
        exploratory = functools.partial(table, correct=None)
        result.verdicts_by_rate = learning_rates.verdicts(every, exploratory, chance, pilot)
    return result
