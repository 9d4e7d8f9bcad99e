"""Choosing each activation's learning rate on validation accuracy, on hand-made model tables."""

import pandas as pd

from actlab.analysis import learning_rates


def models():
    rows = []
    # relu: best on validation at 0.01; sigmoid: at 0.1, where it trains (at 0.01 it does not)
    val = {("relu", 0.01): [90, 89], ("relu", 0.1): [88, 88], ("sigmoid", 0.01): [10, 10]}
    val |= {("sigmoid", 0.1): [85, 86]}
    test = {key: [v - 1 for v in values] for key, values in val.items()}
    for (activation, lr), values in val.items():
        for seed, (v, t) in enumerate(zip(values, test[(activation, lr)], strict=True), 42):
            rows.append(
                {
                    "model": f"{activation}-base-lr{lr}-{seed}",
                    "activation": activation,
                    "architecture": "base",
                    "lr": lr,
                    "seed": seed,
                    "best_val_acc": float(v),
                    "test_acc": float(t),
                    "trained": t > 19,
                }
            )
    return pd.DataFrame(rows)


def test_each_activation_gets_the_rate_with_the_best_mean_validation_accuracy():
    assert learning_rates.chosen_rates(models()) == {
        ("relu", "base"): 0.01,
        ("sigmoid", "base"): 0.1,
    }
    chosen = learning_rates.at_chosen_rates(models())
    assert set(chosen["model"]) == {
        "relu-base-lr0.01-42",
        "relu-base-lr0.01-43",
        "sigmoid-base-lr0.1-42",
        "sigmoid-base-lr0.1-43",
    }


def test_a_tie_goes_to_the_smaller_rate_and_the_test_set_plays_no_part():
    m = models()
    m.loc[m["activation"] == "relu", "best_val_acc"] = 88.0  # relu ties at both rates
    m.loc[(m["activation"] == "relu") & (m["lr"] == 0.1), "test_acc"] = 99.0
    assert learning_rates.chosen_rates(m)[("relu", "base")] == 0.01


def test_grid_table_and_the_verdicts_of_every_rate():
    grid = learning_rates.grid(models()).set_index(["activation", "lr"])
    assert grid.loc[("sigmoid", 0.1), "val_acc_mean"] == 85.5
    assert grid.loc[("sigmoid", 0.01), "trained"] == 0
    assert (
        grid.loc[("sigmoid", 0.1), "chosen"] == "chosen" and grid.loc[("relu", 0.1), "chosen"] == ""
    )

    def compare(table):  # stands in for the configuration table: a verdict per activation
        means = table.groupby(["activation", "architecture"])["test_acc"].mean().reset_index()
        pairs = zip(means["activation"], means["test_acc"], strict=True)
        means["verdict"] = [f"{a}@{m:g}" for a, m in pairs]
        return means

    verdicts = learning_rates.verdicts(models(), compare).set_index("activation")
    assert verdicts.loc["sigmoid", "all at lr 0.01"] == "sigmoid@9"
    assert verdicts.loc["sigmoid", "each at its chosen rate"] == "sigmoid@84.5"
    assert verdicts.loc["relu", "chosen lr"] == 0.01
