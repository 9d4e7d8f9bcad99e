"""The comparison table and figures, on hand-made metrics whose right answers are known."""

import pandas as pd
import pytest

from actlab import config
from actlab.analysis import stats
from actlab.analysis.tables import configuration_table, model_table
from actlab.config import ModelSpec
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


def test_summary_table_numbers(hand_made):
    table = model_table("fashion_mnist", hand_made).set_index("model")
    relu = table.loc["relu-base-42"]
    assert relu["test_acc"] == 88.62 and relu["best_val_acc"] == 80.0
    assert relu["reference_test_acc"] == 88.62  # published, UvA tutorial 3
    assert relu["dead_init"] == 13 and relu["dead_trained"] == 3 and relu["saturated_trained"] == 7
    assert relu["nearly_dead_trained"] == 5
    assert relu["dead_worst_layer_pct_init"] == pytest.approx(13 / 1.28)
    assert relu["seed"] == 42 and relu["parameters"] == 567434 and relu["epochs"] == 3
    assert "train_seconds" not in table  # wall times differ between identical reruns
    assert table.loc["sigmoid-base-42", "reference_test_acc"] == 10.0


def test_configuration_table_aggregates_seeds(hand_made):
    hand_made["relu-base-43"] = metrics_for("relu", 0.8862 - 0.02, 11, 3, seed=43)
    hand_made["sigmoid-base-43"] = metrics_for("sigmoid", 0.1, 0, 0, seed=43)
    hand_made["relu-base-44"] = metrics_for("relu", 0.8862 + 0.01, 12, 3, seed=44)
    hand_made["sigmoid-base-44"] = metrics_for("sigmoid", 0.11, 0, 0, seed=44)
    table = configuration_table(model_table("fashion_mnist", hand_made)).set_index("configuration")
    relu = table.loc["relu-base"]
    acc = stats.describe([88.62, 86.62, 89.62])
    assert relu["seeds"] == 3 and relu["test_acc_mean"] == pytest.approx(acc.mean, abs=1e-4)
    assert relu["test_acc_ci_low"] == pytest.approx(acc.ci_low, abs=1e-4)
    assert relu["dead_init_mean"] == 12 and relu["dead_init_std"] == 1
    assert relu["verdict"] == stats.BEST and relu["reference_in_ci"] == "yes"
    sigmoid = table.loc["sigmoid-base"]
    diff = stats.paired([10.0, 10.0, 11.0], [88.62, 86.62, 89.62])
    assert sigmoid["diff_vs_best"] == pytest.approx(diff.mean_difference, abs=1e-4)
    assert sigmoid["p_holm"] == pytest.approx(diff.p_value, abs=1e-4)  # one comparison
    assert sigmoid["verdict"] == stats.WORSE and sigmoid["reference_in_ci"] == "yes"


def test_one_seed_says_no_interval(hand_made):
    table = configuration_table(model_table("fashion_mnist", hand_made))
    assert table["test_acc_ci_low"].isna().all() and table["reference_in_ci"].isna().all()
    from actlab.analysis.tables import readable

    shown = readable(table).set_index("configuration")
    assert shown.loc["relu-base", "95 % CI"] == "n < 2: no CI"
    assert shown.loc["sigmoid-base", "verdict"] == stats.TOO_FEW


def test_no_reference_for_other_widths_or_datasets(hand_made):
    table = model_table("mnist", hand_made).set_index("model")
    assert table["reference_test_acc"].isna().all()
    spec = hand_made["relu-base-42"].record.spec
    hand_made["relu-base-42"].record = ModelRecord(
        ModelSpec(spec.name, "relu", (), "base", (64, 64), 42, lr=0.01), "k", {}, 1
    )
    table = model_table("fashion_mnist", hand_made).set_index("model")
    assert pd.isna(table.loc["relu-base-42", "reference_test_acc"])
