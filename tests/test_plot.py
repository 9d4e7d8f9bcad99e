"""The comparison table and figures, on hand-made metrics whose right answers are known."""

import pandas as pd
import pytest

from actlab import config
from actlab.analysis import compare, stats, tables
from actlab.analysis.tables import configuration_table, model_table, readable
from actlab.identity import ModelSpec
from actlab.records import ModelMetrics, ModelRecord
from tests.helpers.params import reference_params


def cfg():
    return config.parse(
        reference_params(models__activations=["relu", "sigmoid"], models__architectures=["base"])
    )


def counts(dead, saturated, layers=4, nearly_dead=None):
    def summary(total):
        per_layer = [0] * (layers - 1) + [total]
        return {
            "per_layer": per_layer,
            "percent_per_layer": [0.0] * (layers - 1) + [total / 1.28],
            "total": total,
            "percent_total": total / 11.52,
            "worst_layer": layers,
            "worst_layer_percent": total / 1.28,
        }

    nearly = dead if nearly_dead is None else nearly_dead
    return {"dead": summary(dead), "nearly_dead": summary(nearly), "saturated": summary(saturated)}


def metrics_for(activation, test_acc, dead_init, dead_trained, epochs=3, seed=42):
    layers = [
        {
            "layer": i,
            "summary": {"mean_abs": 10.0**-i, "abs_q50": 10.0**-i / 2, "fraction_zero": 0.5},
            "hist_log10_abs": {"edges": [-3, -2, -1], "counts": [1, 2]},
            "hist": {"edges": [0, 1, 2], "counts": [3, 4]},
        }
        for i in range(1, 6)
    ]
    history = pd.DataFrame(
        {
            "epoch": range(1, epochs + 1),
            "train_loss": [1.0, 0.5, 0.4],
            "val_loss": [1.1, 0.6, 0.5],
            "train_acc": [0.5, 0.8, 0.9],
            "val_acc": [0.5, 0.75, 0.8],
        }
    )
    dynamics = pd.DataFrame(
        {
            "epoch": range(epochs + 1),
            "dead_total": [dead_init] * (epochs + 1),
            "dead_layer1": [0, 2, 1, 0],
            "saturated_layer1": [1] * (epochs + 1),
        }
    )
    spec = ModelSpec(
        f"{activation}-base-{seed}", activation, (), "base", (512, 256, 256, 128), seed, lr=0.01
    )
    return ModelMetrics(
        record=ModelRecord(spec, f"{activation}{seed}", {}, 567434),
        train={"parameters": 567434, "epochs_trained": epochs, "best_val_acc": 0.8},
        history=history,
        evaluate={"test_acc": test_acc, "confusion_matrix": [[5, 1], [2, 7]]},
        dead={
            "init": counts(dead_init, dead_init),
            "trained": counts(dead_trained, 7, nearly_dead=dead_trained + 2),
        },
        dynamics=dynamics,
        distributions={"gradient_flow_init": layers, "activations_trained": layers[:4]},
    )


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def hand_made():
    return {
        "relu-base-42": metrics_for("relu", 0.88623, 13, 3),
        "sigmoid-base-42": metrics_for("sigmoid", 0.1, 0, 0),
    }


CHANCE = 10.0  # ten classes
TESTS = {"baseline": "relu", "margin": 0.5, "chance": CHANCE}


def add_seeds(metrics, activation, accuracies, stopped=None):
    """Seeds 42, 43, ... of one activation with these test accuracies (fractions)."""
    for i, acc in enumerate(accuracies):
        m = metrics_for(activation, acc, 12, 3, seed=42 + i)
        if stopped is not None:
            m.train["stopped"] = stopped[i]
        metrics[f"{activation}-base-{42 + i}"] = m
    return metrics


def test_summary_table_numbers(hand_made):
    hand_made["relu-base-42"].train["stopped"] = "patience"
    hand_made["elu-base-42"] = metrics_for("elu", 0.19, 0, 0)  # exactly the threshold
    table = model_table("fashion_mnist", hand_made, chance=CHANCE).set_index("model")
    relu = table.loc["relu-base-42"]
    assert relu["test_acc"] == 88.62 and relu["best_val_acc"] == 80.0
    assert relu["reference_test_acc"] == 88.62  # published, UvA tutorial 3
    assert relu["dead_init"] == 13 and relu["dead_trained"] == 3 and relu["saturated_trained"] == 7
    assert relu["nearly_dead_trained"] == 5
    assert relu["dead_worst_layer_pct_init"] == pytest.approx(13 / 1.28)
    assert relu["seed"] == 42 and relu["parameters"] == 567434 and relu["epochs"] == 3
    assert "train_seconds" not in table  # wall times differ between identical reruns
    assert table.loc["sigmoid-base-42", "reference_test_acc"] == 10.0
    assert relu["stopped"] == "patience" and pd.isna(table.loc["sigmoid-base-42", "stopped"])
    assert table["trained"].tolist() == [True, False, True]  # 88.62, 10.00, 19.00 vs 19 %
    assert not model_table("fashion_mnist", hand_made, chance=50.0)["trained"].iloc[2]


def test_configuration_table_columns_and_numbers():
    models = model_table(
        "fashion_mnist",
        add_seeds(
            add_seeds({}, "relu", [0.8862, 0.8662, 0.8962], ["max_epochs", "patience"] * 2),
            "sigmoid",
            [0.1, 0.1, 0.11],
        ),
        chance=CHANCE,
    )
    table = configuration_table(models, **TESTS)
    assert list(table.columns) == list(tables.CONFIGURATION_COLUMNS) + [
        f"{c}_{s}" for c in tables.SPREAD for s in ("mean", "std")
    ]
    table = table.set_index("configuration")
    relu = table.loc["relu-base"]
    values = [88.62, 86.62, 89.62]
    acc = stats.describe(values)
    assert (relu["seeds"], relu["trained"], relu["baseline"]) == (3, 3, "relu")
    assert relu["test_acc_mean"] == acc.mean  # not rounded: 88.28666...
    assert (relu["test_acc_ci_low"], relu["test_acc_ci_high"]) == (acc.ci_low, acc.ci_high)
    assert relu["test_acc_seeds"] == "88.62, 86.62, 89.62"
    assert (relu["pi_low"], relu["pi_high"]) == stats.prediction_interval(values)
    assert relu["reference_in_pi"] == "yes" and relu["hit_max_epochs"] == 2
    assert relu["dead_init_mean"] == 12 and relu["dead_init_std"] == 0
    assert relu["verdict"] == compare.BASELINE and pd.isna(relu["diff_mean"])
    assert pd.isna(relu["p_adjusted"]) and pd.isna(relu["mdd_low"])
    sigmoid = table.loc["sigmoid-base"]
    assert sigmoid["trained"] == 0 and sigmoid["verdict"] == "did not train (0/3)"
    assert pd.isna(sigmoid["diff_mean"]) and pd.isna(sigmoid["p_test"])
    assert pd.isna(sigmoid["hit_max_epochs"])  # metrics from before `stopped` was recorded
    # all three at chance is one population: it has an interval; 10.0 inside its PI
    assert sigmoid["pi_low"] < 10.0 < sigmoid["pi_high"] and sigmoid["reference_in_pi"] == "yes"


def test_comparisons_with_the_baseline_unrounded():
    metrics = add_seeds({}, "relu", [0.8862, 0.8662, 0.8962])
    add_seeds(metrics, "tanh", [0.6862, 0.6661, 0.6963])  # d = -20 +- 0.01: p ~ 1e-7
    add_seeds(metrics, "elu", [0.8762, 0.8662, 0.8562])  # d = -1, 0, -4: inconclusive
    table = configuration_table(model_table("mnist", metrics, chance=CHANCE), **TESTS)
    by_activation = {
        a: dict(zip(g["seed"], g["test_acc"], strict=True))
        for a, g in model_table("mnist", metrics, chance=CHANCE).groupby("activation")
    }
    expected = compare.compare_to_baseline(by_activation, "relu", margin=0.5, chance=CHANCE)
    table = table.set_index("activation")
    tanh = table.loc["tanh"]
    # three seeds are too few to pool the variance: Bonferroni per pair. d = [-20, -20.01,
    # -19.99]: t = -20 / (0.01 / sqrt 3), df 2: p = 1 - |t| / sqrt(2 + t^2), times m = 2
    t = 20 / (0.01 / 3**0.5)
    assert tanh["adjustment"] == "Bonferroni" and tanh["diff_sd"] == pytest.approx(0.01)
    assert tanh["p_test"] == pytest.approx(2 * (1 - t / (2 + t * t) ** 0.5), rel=1e-6)
    assert tanh["p_adjusted"] == expected["tanh"].p_adjusted == tanh["p_test"]
    assert tanh["verdict"] == "worse than relu on this test set" and tanh["diff_ci_high"] < 0
    elu = expected["elu"]  # the numbers themselves, not rounded
    assert table.loc["elu", "diff_ci_low"] == elu.ci_low
    assert (table.loc["elu", "mdd_low"], table.loc["elu", "mdd_high"]) == (
        elu.mdd_low,
        elu.mdd_high,
    )
    assert table.loc["elu", "p_equivalence"] == elu.p_equivalence
    assert table.loc["elu", "verdict"] == compare.INCONCLUSIVE
    shown = readable(table.reset_index()).set_index("configuration")
    assert shown.loc["tanh-base", "p (adj.)"] == f"{tanh['p_test']:.2g}"
    assert shown.loc["elu-base", "p (adj.)"] == f"{expected['elu'].p_adjusted:.2g}"
    span = f"{elu.mdd_low:.1f}–{elu.mdd_high:.1f}"
    assert shown.loc["elu-base", "detectable ≥"] == span
    assert shown.loc["elu-base", "verdict"] == f"inconclusive (could detect ≥ {span} points)"
    low, high = expected["tanh"].ci_low, expected["tanh"].ci_high
    versus = "vs relu [adj. CI], this test set"
    assert shown.loc["tanh-base", versus] == f"-20.00 [{low:+.2f}, {high:+.2f}]"
    assert shown.loc["relu-base", versus] == ""
    assert shown.loc["tanh-base", "[adj. CI], new images"] == ""  # no per-image predictions
    assert "p equiv. (±0.5)" in shown.columns and shown.loc["relu-base", "trained"] == "3/3"


def test_mixed_or_identical_seeds_show_their_values_not_an_interval():
    metrics = add_seeds({}, "relu", [0.8862, 0.8662, 0.8962], ["max_epochs"] * 3)
    add_seeds(metrics, "sigmoid", [0.1, 0.1, 0.793])  # a t interval would be [-66, 132]
    add_seeds(metrics, "elu", [0.88, 0.88, 0.88])
    table = configuration_table(model_table("fashion_mnist", metrics, chance=CHANCE), **TESTS)
    table = table.set_index("activation")
    for a in ("sigmoid", "elu"):
        row = table.loc[a]
        assert row[["test_acc_ci_low", "test_acc_ci_high", "pi_low", "pi_high"]].isna().all()
        assert pd.isna(row["reference_in_pi"])  # None (NaN in pandas' string columns)
    assert table.loc["sigmoid", "verdict"] == "1/3 seeds trained"
    assert table.loc["sigmoid", "trained"] == 1 and pd.isna(table.loc["sigmoid", "p_test"])
    assert table.loc["elu", "test_acc_std"] == 0 and table.loc["elu", "trained"] == 3
    shown = readable(table.reset_index()).set_index("configuration")
    assert shown.loc["sigmoid-base", "test acc %"] == "per seed: 10.00, 10.00, 79.30"
    assert shown.loc["elu-base", "test acc %"] == "per seed: 88.00, 88.00, 88.00"
    assert shown.loc["relu-base", "test acc %"].startswith("88.29 [")
    assert shown.loc["relu-base", "epochs"] == "3.0 ± 0.0 (3/3 at max_epochs)"
    assert shown.loc["elu-base", "epochs"] == "3.0 ± 0.0"  # nothing recorded: no count
    assert tables.aggregates(table.reset_index())["sigmoid-base"] == {
        "test_acc": 33.1,  # (10 + 10 + 79.3) / 3: the mean is still shown
        "ci_low": None,
        "ci_high": None,
    }
    assert tables.aggregates(table.reset_index())["relu-base"]["ci_low"] is not None


def test_headline_is_one_architecture_for_the_readme():
    metrics = add_seeds({}, "relu", [0.8862, 0.8662, 0.8962])
    add_seeds(metrics, "tanh", [0.6862, 0.6661, 0.6963])
    table = configuration_table(model_table("fashion_mnist", metrics, chance=CHANCE), **TESTS)
    head = tables.headline(table, "base")
    assert list(head.columns) == [
        "activation",
        "trained",
        "test acc %",
        "vs relu [adj. CI], this test set",
        "[adj. CI], new images",
        "p (adj.)",
        "verdict",
        "epochs",
    ]
    assert head["activation"].tolist() == ["relu", "tanh"]
    assert head.loc[0, "epochs"] == "3.0 ± 0.0"  # hand-made metrics say nothing of stopping
    assert head["verdict"].tolist() == [compare.BASELINE, "worse than relu on this test set"]
    assert head.loc[1, "p (adj.)"] == "8.3e-08"  # one comparison: not adjusted
    with pytest.raises(ValueError, match="'deep'.*base"):
        tables.headline(table, "deep")


def test_a_missing_baseline_names_the_architecture():
    models = model_table("fashion_mnist", add_seeds({}, "tanh", [0.87, 0.86]), chance=CHANCE)
    with pytest.raises(ValueError, match=r"architecture base: .*'relu'.*tanh"):
        configuration_table(models, **TESTS)


def test_one_seed_says_no_interval(hand_made):
    table = configuration_table(model_table("fashion_mnist", hand_made, chance=CHANCE), **TESTS)
    assert table["test_acc_ci_low"].isna().all() and table["reference_in_pi"].isna().all()
    assert table["pi_low"].isna().all() and table["test_acc_std"].isna().all()
    shown = readable(table).set_index("configuration")
    assert shown.loc["relu-base", "test acc %"] == "88.62 (one seed)"
    assert shown.loc["sigmoid-base", "verdict"] == "did not train (0/1)"
    assert tables.aggregates(table)["relu-base"] == {
        "test_acc": 88.62,
        "ci_low": None,
        "ci_high": None,
    }


def test_no_reference_for_other_widths_or_datasets(hand_made):
    table = model_table("mnist", hand_made, chance=CHANCE).set_index("model")
    assert table["reference_test_acc"].isna().all()
    spec = hand_made["relu-base-42"].record.spec
    hand_made["relu-base-42"].record = ModelRecord(
        ModelSpec(spec.name, "relu", (), "base", (64, 64), 42, lr=0.01), "k", {}, 1
    )
    table = model_table("fashion_mnist", hand_made, chance=CHANCE).set_index("model")
    assert pd.isna(table.loc["relu-base-42", "reference_test_acc"])


def test_neuron_table_is_mean_and_spread_per_configuration():
    metrics = add_seeds({}, "relu", [0.8862, 0.8662, 0.8962])
    table = configuration_table(model_table("fashion_mnist", metrics, chance=CHANCE), **TESTS)
    row = tables.neurons(table).iloc[0]
    assert row["configuration"] == "relu-base"
    assert (row["dead at init"], row["dead after training"]) == ("12.0 ± 0.0", "3.0 ± 0.0")
    assert list(tables.neurons(table).columns)[1:] == [
        "dead at init",
        "dead after training",
        "nearly dead after training",
        "saturated at init",
        "saturated after training",
        "gradient at init, input ÷ output layer",
    ]
    # the fixture's layers have mean |g| 10^-1 .. 10^-5: input over output is 10^4
    assert row["gradient at init, input ÷ output layer"] == "1e+04"
