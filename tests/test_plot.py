import copy

import pandas as pd
import pytest

from stages import config, plot
from tests.test_config import DEFAULT


def cfg(**train):
    raw = copy.deepcopy(DEFAULT)
    raw["models"] = {"activations": ["relu", "sigmoid"], "architectures": ["base"], "extra_seeds": []}
    raw["train"].update(train)
    return config.parse(raw)


def counts(dead, saturated, layers=4):
    def summary(total):
        per_layer = [0] * (layers - 1) + [total]
        return {"per_layer": per_layer, "percent_per_layer": [0.0] * (layers - 1) + [total / 1.28],
                "total": total, "percent_total": total / 11.52, "worst_layer": layers,
                "worst_layer_percent": total / 1.28}
    return {"dead": summary(dead), "saturated": summary(saturated)}


def metrics_for(activation, test_acc, dead_init, dead_trained, epochs=3, seed=42):
    layers = [{"layer": i, "summary": {"mean_abs": 10.0 ** -i, "fraction_zero": 0.5},
               "hist_log10_abs": {"edges": [-3, -2, -1], "counts": [1, 2]},
               "hist": {"edges": [0, 1, 2], "counts": [3, 4]}} for i in range(1, 6)]
    history = pd.DataFrame({"epoch": range(1, epochs + 1), "train_loss": [1.0, 0.5, 0.4],
                            "val_loss": [1.1, 0.6, 0.5], "train_acc": [0.5, 0.8, 0.9],
                            "val_acc": [0.5, 0.75, 0.8]})
    dynamics = pd.DataFrame({"epoch": range(epochs + 1), "dead_total": [dead_init] * (epochs + 1),
                             "dead_layer1": [0] * (epochs + 1), "saturated_layer1": [1] * (epochs + 1)})
    return {
        "config": {"activation": activation, "architecture": "base", "seed": seed,
                   "hidden_sizes": [512, 256, 256, 128], "run_key": f"{activation}{seed}"},
        "train": {"parameters": 567434, "epochs_trained": epochs, "best_val_acc": 0.8},
        "timing": {"seconds": 12.5},
        "history": history,
        "evaluate": {"test_acc": test_acc, "confusion_matrix": [[5, 1], [2, 7]]},
        "dead": {"init": counts(dead_init, dead_init), "trained": counts(dead_trained, 7)},
        "dynamics": dynamics,
        "probes": {"gradient_flow_init": layers, "activations_trained": layers[:4]},
    }


@pytest.fixture
def hand_made():
    return {"relu-base": metrics_for("relu", 0.88623, 13, 3),
            "sigmoid-base": metrics_for("sigmoid", 0.1, 0, 0)}


def test_summary_table_numbers(hand_made):
    hand_made["relu-base"]["config"]["seed"] = 7
    table = plot.summary_table(cfg(), hand_made).set_index("model")
    relu = table.loc["relu-base"]
    assert relu["test_acc"] == 88.62 and relu["best_val_acc"] == 80.0
    assert relu["reference_test_acc"] == 88.62  # published, UvA tutorial 3
    assert relu["dead_init"] == 13 and relu["dead_trained"] == 3 and relu["saturated_trained"] == 7
    assert relu["dead_worst_layer_pct_init"] == pytest.approx(13 / 1.28)
    assert relu["seed"] == 7 and relu["parameters"] == 567434 and relu["epochs"] == 3
    assert relu["train_seconds"] == 12.5
    assert table.loc["sigmoid-base", "reference_test_acc"] == 10.0


def test_no_reference_for_other_widths_or_datasets(hand_made):
    hand_made["relu-base"]["config"]["hidden_sizes"] = [64, 64]
    table = plot.summary_table(cfg(), hand_made).set_index("model")
    assert pd.isna(table.loc["relu-base", "reference_test_acc"])


def test_figures_draw_from_the_metrics(hand_made):
    c = cfg()
    table = plot.summary_table(c, hand_made)
    fig = plot.fig_test_acc(c, table)
    bars = [p.get_height() for p in fig.axes[0].patches]
    assert bars == [88.62, 10.0]
    fig = plot.fig_gradient_flow(c, hand_made, "base")
    assert len(fig.axes) == 2 * 5
    assert "1.0e-01" in fig.axes[0].get_title()
    fig = plot.fig_confusion(c, "relu-base", hand_made["relu-base"], ["a", "b"])
    assert "88.62%" in fig.axes[0].get_title()
    for make in (plot.fig_curves, plot.fig_dead, plot.fig_dynamics):
        assert make(c, hand_made).axes
    assert plot.fig_activations(c).axes


def test_accuracy_bars_average_seeds_with_error_bars(hand_made):
    hand_made["relu-base-43"] = metrics_for("relu", 0.8662, 13, 3, seed=43)
    table = plot.summary_table(cfg(), hand_made)
    fig = plot.fig_test_acc(cfg(), table)
    ax = fig.axes[0]
    assert [round(p.get_height(), 2) for p in ax.patches] == [87.62, 10.0]
    (bars,) = [c for c in ax.containers if hasattr(c, "errorbar") and c.errorbar]
    low, high = bars.errorbar.lines[1][0].get_ydata()[0], bars.errorbar.lines[1][1].get_ydata()[0]
    assert high - low == pytest.approx(2 * table[table.activation == "relu"].test_acc.std())
    assert "mean of 2 seeds" in ax.get_title()
