"""The comparison table and figures, on hand-made metrics whose right answers are known."""

import pandas as pd
import pytest

from stages import config, figures, layer_figures, plot
from stages.config import ModelSpec
from stages.io import ModelRecord
from stages.summary import ModelMetrics, summary_table
from tests.conftest import reference_params


def cfg():
    return config.parse(
        reference_params(models__activations=["relu", "sigmoid"], models__architectures=["base"])
    )


def counts(dead, saturated, layers=4):
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

    return {"dead": summary(dead), "saturated": summary(saturated)}


def metrics_for(activation, test_acc, dead_init, dead_trained, epochs=3, seed=42):
    layers = [
        {
            "layer": i,
            "summary": {"mean_abs": 10.0**-i, "fraction_zero": 0.5},
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
        f"{activation}-base-{seed}", activation, (), "base", (512, 256, 256, 128), seed
    )
    return ModelMetrics(
        record=ModelRecord(spec, f"{activation}{seed}", {}, 567434),
        train={"parameters": 567434, "epochs_trained": epochs, "best_val_acc": 0.8},
        timing={"seconds": 12.5},
        history=history,
        evaluate={"test_acc": test_acc, "confusion_matrix": [[5, 1], [2, 7]]},
        dead={"init": counts(dead_init, dead_init), "trained": counts(dead_trained, 7)},
        dynamics=dynamics,
        probes={"gradient_flow_init": layers, "activations_trained": layers[:4]},
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
    table = summary_table("fashion_mnist", hand_made).set_index("model")
    relu = table.loc["relu-base-42"]
    assert relu["test_acc"] == 88.62 and relu["best_val_acc"] == 80.0
    assert relu["reference_test_acc"] == 88.62  # published, UvA tutorial 3
    assert relu["dead_init"] == 13 and relu["dead_trained"] == 3 and relu["saturated_trained"] == 7
    assert relu["dead_worst_layer_pct_init"] == pytest.approx(13 / 1.28)
    assert relu["seed"] == 42 and relu["parameters"] == 567434 and relu["epochs"] == 3
    assert relu["train_seconds"] == 12.5
    assert table.loc["sigmoid-base-42", "reference_test_acc"] == 10.0


def test_no_reference_for_other_widths_or_datasets(hand_made):
    table = summary_table("mnist", hand_made).set_index("model")
    assert table["reference_test_acc"].isna().all()
    spec = hand_made["relu-base-42"].record.spec
    hand_made["relu-base-42"].record = ModelRecord(
        ModelSpec(spec.name, "relu", (), "base", (64, 64), 42), "k", {}, 1
    )
    table = summary_table("fashion_mnist", hand_made).set_index("model")
    assert pd.isna(table.loc["relu-base-42", "reference_test_acc"])


def test_figures_draw_from_the_metrics(hand_made):
    c = cfg()
    table = summary_table("fashion_mnist", hand_made)
    fig = figures.test_accuracy(c.plot, table, c.models.activations)
    assert [p.get_height() for p in fig.axes[0].patches] == [88.62, 10.0]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["relu-base", "sigmoid-base"]
    fig = layer_figures.gradient_flow(c.plot, hand_made, "base", 256)
    assert len(fig.axes) == 2 * 5
    assert fig.axes[0].get_title() == "layer 1: mean |g| 1.0e-01"
    assert [p.get_ylabel().split("\n")[0] for p in fig.axes[::5]] == list(hand_made)
    fig = figures.confusion(c.plot, "relu-base-42", hand_made["relu-base-42"], ["a", "b"])
    assert "88.62%" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[0].texts] == ["5", "1", "2", "7"]
    fig = figures.curves(c.plot, hand_made, c.models.activations, c.models.architectures)
    lines = fig.axes[3].get_lines()  # validation accuracy, one line per model
    assert [line.get_label() for line in lines] == list(hand_made)
    assert list(lines[0].get_ydata()) == [50.0, 75.0, 80.0]
    fig = layer_figures.dead_per_layer(c.plot, hand_made, c.models.activations, ["base"], 1e-3)
    dead_relu_trained = fig.axes[0].get_lines()[1]
    assert list(dead_relu_trained.get_ydata()) == [0.0, 0.0, 0.0, pytest.approx(3 / 1.28)]
    fig = layer_figures.dead_dynamics(c.plot, hand_made, 300)
    assert fig.axes[0].get_title() == "relu-base-42: dead neurons per epoch"
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == [0, 2, 1, 0]
    fig = figures.activations(c.plot, {"relu": {}, "sigmoid": {}})
    f, df = fig.axes[0].get_lines()[:2]
    assert f.get_ydata()[-1] == pytest.approx(5.0) and df.get_ydata()[-1] == pytest.approx(1.0)


def test_accuracy_bars_average_seeds_with_error_bars(hand_made):
    hand_made["relu-base-43"] = metrics_for("relu", 0.8662, 13, 3, seed=43)
    table = summary_table("fashion_mnist", hand_made)
    fig = figures.test_accuracy(cfg().plot, table, cfg().models.activations)
    ax = fig.axes[0]
    assert [round(p.get_height(), 2) for p in ax.patches] == [87.62, 10.0]
    (bars,) = [c for c in ax.containers if hasattr(c, "errorbar") and c.errorbar]
    low, high = bars.errorbar.lines[1][0].get_ydata()[0], bars.errorbar.lines[1][1].get_ydata()[0]
    assert high - low == pytest.approx(2 * table[table.activation == "relu"].test_acc.std())
    assert "mean of 2 seeds" in ax.get_title()


def test_make_figures_names_every_figure(hand_made):
    import torch

    c = cfg()
    table = summary_table("fashion_mnist", hand_made)
    samples = {
        "train_images": torch.zeros(40, 28, 28, dtype=torch.uint8),
        "train_labels": torch.arange(40) % 2,
    }
    made = plot.make_figures(c, hand_made, table, samples, ["a", "b"])
    assert set(made) == {
        "activations",
        "samples",
        "training_curves",
        "test_accuracy",
        "dead_saturated_per_layer",
        "dead_dynamics",
        "confusion_best",
        "gradient_flow_base",
        "activation_distributions_base",
    }
    assert "relu-base-42" in made["confusion_best"].axes[0].get_title()
    assert [ax.get_title() for ax in made["samples"].axes[:3]] == ["a", "b", "a"]
