"""The comparison figures on hand-made metrics and tables whose right drawing is known: each
test checks what the figure claims to show (which rows, which markers, which axis range)."""

import numpy as np
import pandas as pd
import pytest

from actlab import config
from actlab.figures import charts, compose, forest, layers
from actlab.identity import ModelSpec
from actlab.records import ModelMetrics, ModelRecord
from tests.helpers.params import reference_params

SEEDS = (42, 43, 44)


def cfg(activations=("relu", "sigmoid"), architectures=("base",)):
    return config.parse(
        reference_params(
            models__activations=list(activations), models__architectures=list(architectures)
        )
    )


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def dead_counts(percent_last, layers=4, saturated=None):
    def summary(p):
        return {"percent_per_layer": [0.0] * (layers - 1) + [p], "total": p}

    sat = percent_last if saturated is None else saturated
    return {
        "dead": summary(percent_last),
        "nearly_dead": summary(percent_last),
        "saturated": summary(sat),
    }


def model(activation, arch="base", seed=42, epochs=3, stopped=None, dead=0.0, median=None):
    medians = median or [10.0**-i / 2 for i in range(1, 6)]
    flow = [
        {
            "layer": i,
            "summary": {"mean_abs": 10.0**-i, "abs_q50": medians[i - 1], "fraction_zero": 0.5},
            "hist": {"edges": [0, 1, 2], "counts": [3, 4]},
        }
        for i in range(1, 6)
    ]
    history = pd.DataFrame(
        {
            "epoch": range(1, epochs + 1),
            "train_loss": np.linspace(1.0, 0.4, epochs),
            "val_loss": np.linspace(1.1, 0.5, epochs),
            "train_acc": np.linspace(0.5, 0.9, epochs),
            "val_acc": np.linspace(0.5, 0.8, epochs),
        }
    )
    dynamics = pd.DataFrame(
        {
            "epoch": range(epochs + 1),
            "dead_total": [dead] * (epochs + 1),
            "dead_layer1": [dead] * (epochs + 1),
            "dead_layer2": [0] * (epochs + 1),
        }
    )
    spec = ModelSpec(
        f"{activation}-{arch}-{seed}", activation, (), arch, (8, 8, 8, 8), seed, lr=0.01
    )
    train = {
        "epochs_trained": epochs,
        "best_epoch": epochs,
        "best_val_acc": 0.8,
        "diverged_at_epoch": None,
    }
    if stopped:
        train["stopped"] = stopped
    return ModelMetrics(
        record=ModelRecord(spec, "k", {}, 1),
        train=train,
        history=history,
        evaluate={"test_acc": 0.88, "confusion_matrix": [[5, 1], [2, 7]]},
        dead={"init": dead_counts(dead), "trained": dead_counts(dead)},
        dynamics=dynamics,
        distributions={"gradient_flow_init": flow, "activations_trained": flow[:4]},
    )


def tables(accuracies, baseline="relu", margin=0.5, chance=19.0):
    """Models and configuration tables in the contract's columns, from
    ``{(activation, arch): [test acc per seed]}``; differences and a made-up interval
    (mean +- 0.6) where the configuration and its baseline trained."""
    models = pd.DataFrame(
        [
            {
                "model": f"{a}-{arch}-{s}",
                "activation": a,
                "architecture": arch,
                "init": "default",
                "seed": s,
                "epochs": 3,
                "best_val_acc": acc,
                "test_acc": acc,
                "stopped": "patience",
                "trained": acc >= chance,
            }
            for (a, arch), accs in accuracies.items()
            for s, acc in zip(SEEDS, accs, strict=True)
        ]
    )
    rows = []
    for (a, arch), accs in accuracies.items():
        accs = np.asarray(accs, dtype=float)
        base = np.asarray(accuracies[baseline, arch], dtype=float)
        trained = int((accs >= chance).sum())
        ok = trained == len(accs) and (base >= chance).all() and a != baseline
        diff = (accs - base).mean() if ok else np.nan
        rows.append(
            {
                "configuration": f"{a}-{arch}",
                "activation": a,
                "architecture": arch,
                "seeds": len(accs),
                "trained": trained,
                "test_acc_mean": accs.mean(),
                "test_acc_std": accs.std(ddof=1),
                "test_acc_ci_low": accs.mean() - 0.5 if trained == len(accs) else np.nan,
                "test_acc_ci_high": accs.mean() + 0.5 if trained == len(accs) else np.nan,
                "pi_low": accs.mean() - 1.5 if trained == len(accs) else np.nan,
                "pi_high": accs.mean() + 1.5 if trained == len(accs) else np.nan,
                "test_acc_seeds": ", ".join(f"{x:.1f}" for x in accs),
                "baseline": baseline,
                "adjustment": "Bonferroni" if ok else "",
                "diff_mean": diff,
                "diff_ci_low": diff - 0.6,
                "diff_ci_high": diff + 0.6,
                "diff_ci_low_new": diff - 0.9,
                "diff_ci_high_new": diff + 0.9,
                "verdict": "baseline"
                if a == baseline
                else (
                    ("worse than relu" if diff + 0.6 < 0 else "inconclusive")
                    if ok
                    else f"{trained}/{len(accs)} seeds trained"
                ),
                "reference_test_acc": 88.0 if a == "relu" else np.nan,
            }
        )
    return models, pd.DataFrame(rows)


MIXED = {
    ("relu", "base"): [88.0, 88.5, 88.2],
    ("tanh", "base"): [87.5, 88.1, 87.9],
    ("identity", "base"): [84.0, 83.9, 84.3],
    ("sigmoid", "base"): [10.0, 10.0, 79.3],
}


def test_forest_has_one_interval_per_trained_activation_and_lists_the_rest():
    models, configurations = tables(MIXED)
    fig = forest.comparison(cfg().plot, configurations, models, baseline="relu", margin=0.5)
    (ax,) = [a for a in fig.axes if a.get_gid() == "forest-base"]
    intervals = [line for line in ax.get_lines() if line.get_gid() == "interval"]
    assert len(intervals) == 2  # tanh and identity; not relu (baseline), not sigmoid
    new = [line for line in ax.get_lines() if line.get_gid() == "interval-new"]
    # identity: 84.07 - 88.23 = -4.17, its interval on new images +-0.9
    assert [list(line.get_xdata()) for line in new][1] == pytest.approx([-5.067, -3.267], abs=1e-3)
    assert all(n.get_linewidth() < i.get_linewidth() for n, i in zip(new, intervals, strict=True))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["tanh", "identity"]
    seeds = [c for c in ax.collections if c.get_gid() == "seeds"]
    assert [len(c.get_offsets()) for c in seeds] == [3, 3]
    tanh = sorted(x for x, _ in seeds[0].get_offsets())
    assert tanh == pytest.approx([-0.5, -0.4, -0.3])  # 87.5-88.0, 88.1-88.5, 87.9-88.2
    low, high = ax.get_xlim()
    assert -10 < low < -4.4 and 0.5 < high < 3  # zoomed: sigmoid's -78 is not on the axis
    (strip,) = [a for a in fig.axes if a.get_gid() == "strip-base"]
    text = " ".join(t.get_text() for t in strip.texts)
    assert "sigmoid: 2/3 seeds at chance (test acc 10.0, 10.0, 79.3)" in text
    title = fig._suptitle.get_text()
    assert "relu" in title and "(base Bonferroni 2)" in title and "3 seeds" in title
    assert "±0.5" in title and "this test set (thick)" in title and "new images" in title
    (right,) = ax.child_axes  # the verdicts, at each row's right
    assert [t.get_text() for t in right.get_yticklabels()] == ["inconclusive", "worse than relu"]


def test_forest_without_a_trained_baseline_compares_nothing():
    accs = dict(MIXED)
    accs["relu", "base"] = [10.0, 88.0, 88.0]
    models, configurations = tables(accs)
    fig = forest.comparison(cfg().plot, configurations, models, baseline="relu", margin=0.5)
    (ax,) = [a for a in fig.axes if a.get_gid() == "forest-base"]
    assert not [line for line in ax.get_lines() if line.get_gid() == "interval"]
    (strip,) = [a for a in fig.axes if a.get_gid() == "strip-base"]
    assert "relu (the baseline): 1/3 seeds at chance" in strip.texts[0].get_text()


def fifteen(architectures=("base", "deep")):
    rng = np.random.default_rng(0)
    names = ["relu"] + [f"act{i:02d}" for i in range(1, 15)]
    accs = {
        (a, arch): list(np.round(88 + rng.normal(0, 0.5, 3), 2))
        for arch in architectures
        for a in names
    }
    accs["act03", "deep"] = [10.0, 10.0, 10.0]
    return names, accs


def test_forest_and_accuracy_stay_readable_with_fifteen_activations():
    names, accs = fifteen()
    models, configurations = tables(accs)
    fig = forest.comparison(cfg().plot, configurations, models, baseline="relu", margin=0.5)
    deep = next(a for a in fig.axes if a.get_gid() == "forest-deep")
    assert len(deep.get_yticklabels()) == 13  # 14 non-baseline, one at chance
    assert fig.get_figheight() > 10  # rows get room, not squeezed into a fixed height
    fig = charts.test_accuracy(cfg().plot, configurations, models)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == names


def test_accuracy_is_zoomed_and_annotates_configurations_at_chance():
    models, configurations = tables(MIXED)
    fig = charts.test_accuracy(cfg().plot, configurations, models)
    (ax,) = fig.axes
    assert ax.get_xlim()[0] > 80  # not 0-100: sigmoid's seeds at 10 are written, not drawn
    notes = [t.get_text() for t in ax.texts if t.get_gid() == "at-chance"]
    assert notes == ["2/3 seeds at chance (test acc 10.0, 10.0, 79.3)"]
    dots = [c for c in ax.collections if c.get_gid() == "seeds"]
    assert sorted(x for c in dots for x, _ in c.get_offsets())[:3] == [83.9, 84.0, 84.3]
    assert all(x > 80 for c in dots for x, _ in c.get_offsets())
    (published,) = [line for line in ax.get_lines() if line.get_gid() == "published"]
    assert published.get_markerfacecolor() == "white" and published.get_markeredgecolor() == "black"
    assert ax.get_legend() is None and fig.legends  # the key is outside the data
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "95 % prediction interval for one more seed (cut at the axis edge)" in labels
    # paired, not unpaired intervals: each seed joined across the activations that trained
    paths = [line for line in ax.get_lines() if line.get_gid() == "seed-path"]
    assert len(paths) == 3 and all(len(p.get_xdata()) == 3 for p in paths)  # relu, tanh, identity
    assert not [line for line in ax.get_lines() if line.get_gid() == "ci"]
    assert "one seed across activations" in labels


def test_curves_are_small_multiples_with_a_line_and_a_stop_marker_per_seed():
    names = [f"act{i:02d}" for i in range(15)]
    metrics = {}
    for a in names:
        for arch in ("base", "deep"):
            for s, why in zip(SEEDS, ("patience", "max_epochs", "diverged"), strict=True):
                metrics[f"{a}-{arch}-{s}"] = model(a, arch, s, epochs=3 + s - 42, stopped=why)
    fig = charts.curves(cfg().plot, metrics, names, ["base", "deep"])
    panels = [a for a in fig.axes if a.get_lines()]
    assert len(panels) == 15 * 4  # activation x (architecture x two metrics)
    first = panels[0]
    seeds = [line for line in first.get_lines() if line.get_gid() == "seed"]
    stops = [line for line in first.get_lines() if line.get_gid() == "stop"]
    assert len(seeds) == 3 and [s.get_marker() for s in stops] == ["o", "s", "X"]
    assert [list(s.get_xdata()) for s in stops] == [[3], [4], [5]]  # each seed's last epoch
    assert list(seeds[0].get_ydata()) == pytest.approx([50.0, 65.0, 80.0])
    val_acc = [a for a in panels if "validation" in a.get_title()]
    assert {a.get_ylim() for a in panels[::4]} == {panels[0].get_ylim()}  # shared per metric
    assert val_acc and panels[4].get_ylabel() == "act01"


def test_stopped_falls_back_on_what_train_wrote_before():
    m = model("relu", epochs=3)
    assert charts.stopped(m, max_epochs=3) == "max_epochs"
    assert charts.stopped(m, max_epochs=9) == "patience"
    m.train["diverged_at_epoch"] = 2
    assert charts.stopped(m, max_epochs=9) == "diverged"


def test_gradient_flow_puts_exact_zeros_on_an_axis_of_their_own_and_names_its_seed():
    metrics = {
        "relu-base-42": model("relu", median=[1e-3, 0.0, 0.0, 1e-5, 1e-4]),
        "tanh-base-42": model("tanh"),
    }
    fig = layers.gradient_flow(cfg().plot, metrics, "base", 256)
    mean, median, mean_zero, median_zero = fig.axes
    assert [a.get_gid() for a in (mean_zero, median_zero)] == ["zero-axis", "zero-axis"]
    assert not [line for a in (mean, median) for line in a.get_lines() if line.get_gid() == "zeros"]
    (zeros,) = [line for line in median_zero.get_lines() if line.get_gid() == "zeros"]
    assert list(zeros.get_xdata()) == [2, 3]
    assert not [line for line in mean_zero.get_lines() if line.get_gid() == "zeros"]
    assert [t.get_text() for t in median_zero.get_yticklabels()] == ["exactly 0"]
    assert median_zero.get_yscale() == "linear"
    assert median.get_shared_x_axes().joined(median, median_zero)
    relu = median.get_lines()[0]
    assert np.isnan(relu.get_ydata()[1:3]).all()  # no line down to a made-up floor
    assert median.get_yscale() == "log" and median.get_ylim()[0] > 1e-6  # no room made for 0
    assert median.get_legend() is None and fig.legends  # one key, below the panels
    assert "seed 42" in fig._suptitle.get_text()
    no_zero = layers.gradient_flow(cfg().plot, {"tanh-base-42": model("tanh")}, "base", 256)
    assert len(no_zero.axes) == 2  # no strip where nothing is 0


def test_single_seed_figures_name_their_seed():
    metrics = {
        "relu-base-43": model("relu", seed=43, dead=2.0),
        "tanh-base-43": model("tanh", seed=43),
    }
    for fig in (
        layers.activation_distributions(cfg().plot, metrics, "base", 256),
        layers.dead_dynamics(cfg().plot, metrics, 300),
        layers.gradient_flow(cfg().plot, metrics, "base", 256),
    ):
        assert "seed 43" in fig._suptitle.get_text()
    fig = charts.confusion(cfg().plot, "relu-base-43", metrics["relu-base-43"], ["a", "b"])
    assert "seed 43" in fig.axes[0].get_title()


def test_activation_distributions_label_the_scale_they_draw():
    metrics = {"relu-base-42": model("relu")}
    fig = layers.activation_distributions(cfg().plot, metrics, "base", 256)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and "log" in ax.get_ylabel()
    assert ax.get_legend() is None and fig.legends


def test_dead_dynamics_names_its_layers_the_kept_epoch_and_the_probe_images():
    metrics = {"relu-base-42": model("relu", dead=2.0), "tanh-base-42": model("tanh")}
    metrics["relu-base-42"].train["best_epoch"] = 2
    fig = layers.dead_dynamics(cfg().plot, metrics, 300)
    panels = [a for a in fig.axes if a.get_lines()]
    assert len(panels) == 1 and len(fig.axes) == 1  # no colourbar: a discrete key instead
    (best,) = [line for line in panels[0].get_lines() if line.get_gid() == "best-epoch"]
    assert list(best.get_xdata()) == [2, 2]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["layer 1", "layer 2", "all layers", "kept checkpoint (best epoch)"]
    title = fig._suptitle.get_text()
    assert "300 probe images (train.dynamics_subset)" in title and "whole training split" in title


def test_dead_heatmap_says_zero_rows_and_the_relu_identity():
    metrics = {"relu-base-42": model("relu", dead=5.0), "tanh-base-42": model("tanh")}
    metrics["relu-base-42"].dead["trained"]["saturated"] = metrics["relu-base-42"].dead["trained"][
        "nearly_dead"
    ]
    fig = layers.dead_per_layer(cfg().plot, metrics, ["relu", "tanh"], ["base"], 1e-3, 0.99)
    dead, _, nearly, saturated, shading = fig.axes
    assert shading.get_gid() == "shading" and "%" in shading.get_ylabel()  # the colour bar
    notes = [t.get_text() for t in saturated.texts if t.get_gid() == "row-note"]
    assert notes == ["= nearly dead (f' = 0 where f = 0)", "0 in every layer"]
    assert [t.get_text() for t in nearly.texts] == ["0", "0", "0", "5", "0 in every layer"]
    assert "nearly dead by definition" in fig._suptitle.get_text()
    assert "saturated: |f'| < eps·max|f'| on ≥ fraction of the images" in fig._suptitle.get_text()
    assert "(eps = 0.001, fraction = 99%)" in fig._suptitle.get_text()


def test_dead_heatmap_of_one_activation_keeps_its_panels(tmp_path):
    """One activation is one row of cells: the panels keep a height (matplotlib warns and
    collapses them when the titles take the whole figure)."""
    import warnings

    fig = layers.dead_per_layer(
        cfg().plot, {"relu-base-42": model("relu")}, ["relu"], ["base"], 1e-3, 0.99
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(tmp_path / "f.png", dpi=50)
    heights = [ax.get_position().height * fig.get_figheight() for ax in fig.axes[:4]]
    assert min(heights) > 0.2, heights


def test_weight_histograms_say_the_edge_bins_hold_what_lies_beyond():
    import torch

    edges = torch.linspace(-1, 1, 5)
    keys = ("first/weights", "first/grads_log10", "last/weights", "last/grads_log10")
    hist = {
        "edges": dict.fromkeys(keys, edges),
        "counts": dict.fromkeys(keys, torch.tensor([[1, 1, 1, 1]] * 3)),
    }
    fig = layers.weight_histograms(cfg().plot, "relu-base-42", hist)
    edge = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "edge-bin"]
    assert edge == ["edge bin: ≤ -1", "edge bin: ≥ 1"]


def test_comparison_figures_put_the_headline_first():
    import torch

    c = cfg(("relu", "tanh"), ("base",))
    metrics = {f"{a}-base-{s}": model(a, seed=s) for a in ("relu", "tanh") for s in SEEDS}
    models, configurations = tables(
        {("relu", "base"): [88.0, 88.5, 88.2], ("tanh", "base"): [87.5, 88.1, 87.9]}
    )
    samples = {
        "train_images": torch.zeros(40, 28, 28, dtype=torch.uint8),
        "train_labels": torch.arange(40) % 2,
    }
    made = compose.comparison_figures(
        c, metrics, models, configurations, samples, ["a", "b"], baseline="relu", margin=0.5
    )
    assert list(made)[0] == "comparison"
    assert set(made) == {
        "comparison",
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


def test_a_model_diverged_in_its_first_epoch_is_drawn_without_a_log_axis_error():
    diverged = model("relu", epochs=1, stopped="diverged")
    diverged.history["train_loss"] = float("nan")
    fig = charts.curves(cfg().plot, {"relu-base-42": diverged}, ["relu"], ["base"])
    loss = fig.axes[1]
    assert loss.get_yscale() == "linear"  # nothing finite to put on a log axis
    (stop,) = [line for line in loss.get_lines() if line.get_gid() == "stop"]
    assert stop.get_marker() == "X"


def test_accuracy_axis_leaves_out_a_far_published_value_and_names_it_at_the_edge():
    accs = {("relu", "base"): [88.0, 88.5, 88.2], ("tanh", "base"): [87.5, 88.1, 87.9]}
    models, configurations = tables(accs)
    configurations.loc[configurations["activation"] == "tanh", "reference_test_acc"] = 10.0
    configurations.loc[configurations["activation"] == "tanh", "pi_low"] = 40.0
    fig = charts.test_accuracy(cfg().plot, configurations, models)
    (ax,) = fig.axes
    low, high = ax.get_xlim()
    assert 85 < low < 87.5 and 88.5 < high < 90  # seeds, means and CIs only: not 10, not 40
    (diamond,) = [line for line in ax.get_lines() if line.get_gid() == "published"]
    assert list(diamond.get_xdata()) == [88.0]  # relu's, on the axis
    edge = [t.get_text() for t in ax.texts if t.get_gid() == "published-edge"]
    assert edge == ["◂ published 10.0"]
    (arrow,) = [line for line in ax.get_lines() if line.get_gid() == "published-edge"]
    assert list(arrow.get_xdata()) == [0.0] and arrow.get_marker() == "<"
    labels = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "no diamond: none published" in labels and "beyond the axis" in labels


def test_confusion_shows_the_best_validation_model_with_its_errors_coloured():
    import torch

    c = cfg(("relu", "tanh"), ("base",))
    metrics = {f"{a}-base-{s}": model(a, seed=s) for a in ("relu", "tanh") for s in SEEDS}
    metrics["tanh-base-43"].evaluate["confusion_matrix"] = [[90, 10], [1, 99]]
    models, configurations = tables(
        {("relu", "base"): [88.0, 88.5, 88.2], ("tanh", "base"): [87.5, 88.1, 87.9]}
    )
    models["best_val_acc"] = [80.0, 80.0, 80.0, 80.0, 91.0, 80.0]  # tanh-43: not the best test
    assert models.loc[models["test_acc"].idxmax(), "model"] == "relu-base-43"
    samples = {
        "train_images": torch.zeros(40, 28, 28, dtype=torch.uint8),
        "train_labels": torch.arange(40) % 2,
    }
    made = compose.comparison_figures(
        c, metrics, models, configurations, samples, ["a", "b"], baseline="relu", margin=0.5
    )
    ax = made["confusion_best"].axes[0]
    title = ax.get_title()
    assert "best validation accuracy" in title and "tanh-base-43, seed 43" in title
    errors = next(i for i in ax.images if i.get_gid() == "errors")
    rates = errors.get_array()
    assert rates.mask.tolist() == [[True, False], [False, True]]  # the diagonal is not coloured
    assert rates[0, 1] == pytest.approx(10.0) and errors.get_clim() == pytest.approx((0, 10.0))
    assert [t.get_text() for t in ax.texts if t.get_gid() == "count"] == ["90", "10", "1", "99"]
    models["best_val_acc"] = float("nan")  # every model diverged in its first epoch
    made = compose.comparison_figures(
        c, metrics, models, configurations, samples, ["a", "b"], baseline="relu", margin=0.5
    )
    assert "relu-base-42" in made["confusion_best"].axes[0].get_title()  # the first, no error


def test_forest_axis_follows_the_dots_with_arrows_verdicts_in_full_and_the_family():
    models, configurations = tables(MIXED)
    tanh = configurations["activation"] == "tanh"
    configurations.loc[tanh, "diff_ci_low"] = -17.0  # far from every dot (about -0.4)
    configurations.loc[tanh, "diff_ci_low_new"] = -18.0
    configurations["mdd_low"] = np.where(tanh, 1.32, np.nan)
    configurations["mdd_high"] = np.where(tanh, 4.04, np.nan)
    configurations["hit_max_epochs"] = np.where(configurations["activation"] == "identity", 2, 0)
    fig = forest.comparison(
        cfg().plot, configurations, models, baseline="relu", margin=0.5, early_stopping=True
    )
    (ax,) = [a for a in fig.axes if a.get_gid() == "forest-base"]
    low, high = ax.get_xlim()
    assert -6 < low < -4.6 and high < 1.5  # not stretched to -17 by tanh's interval
    edges = [t.get_text() for t in ax.texts if t.get_gid() == "interval-edge"]
    # tanh's intervals on this test set and on new images (just above) in one label, identity's
    # on new images
    assert edges == ["-17.0 / -18.0", "-5.1"]
    arrows = [line for line in ax.get_lines() if line.get_gid() == "interval-edge"]
    assert [a.get_marker() for a in arrows] == ["<", "<", "<"]
    assert [list(a.get_ydata()) for a in arrows] == [[0], [-0.2], [0.8]]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["tanh", "identity · 2/3 at max_epochs"]
    (right,) = ax.child_axes
    verdicts = [t.get_text() for t in right.get_yticklabels()]
    assert verdicts == ["inconclusive (could detect ≥ 1.3–4.0 points)", "worse than relu"]
    title = fig._suptitle.get_text()
    assert "(base Bonferroni 2)" in title and "may still have been improving" in title
    # under a fixed budget every seed runs max_epochs: no row is marked, the title says nothing
    fig = forest.comparison(cfg().plot, configurations, models, baseline="relu", margin=0.5)
    (ax,) = [a for a in fig.axes if a.get_gid() == "forest-base"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["tanh", "identity"]
    assert "max_epochs" not in fig._suptitle.get_text()


def test_forest_panels_share_one_x_axis():
    """A deep network's small differences and a base network's large ones on one scale."""
    accs = dict(MIXED)
    accs |= {(a, "deep"): [v - 0.1 for v in vals] for (a, arch), vals in MIXED.items()}
    accs["identity", "deep"] = [88.0, 88.4, 88.2]  # near relu-deep
    models, configurations = tables(accs)
    fig = forest.comparison(cfg().plot, configurations, models, baseline="relu", margin=0.5)
    base, deep = (a for a in fig.axes if a.get_gid() in ("forest-base", "forest-deep"))
    assert base.get_xlim() == deep.get_xlim() and base.get_xlim()[0] < -4


def test_activation_distributions_say_did_not_train_and_draw_five_of_ten_layers():
    deep = model("sigmoid", arch="deep")
    layer = deep.distributions["activations_trained"][0]
    deep.distributions["activations_trained"] = [dict(layer, layer=i) for i in range(1, 11)]
    deep.evaluate["test_acc"] = 0.1
    fig = layers.activation_distributions(cfg().plot, {"sigmoid-deep-42": deep}, "deep", 256)
    ax = fig.axes[0]
    assert "did not train (test acc 10.0 %)" in ax.get_title()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [f"layer {i} of 10" for i in (1, 2, 5, 9, 10)]
    assert len({tuple(p.get_edgecolor()) for p in ax.patches}) == 5  # distinct colours
    trained = layers.activation_distributions(
        cfg().plot, {"sigmoid-deep-42": deep}, "deep", 256, trained={"sigmoid-deep-42": True}
    )
    assert "did not train" not in trained.axes[0].get_title()  # the table's word wins
    fine = layers.activation_distributions(cfg().plot, {"relu-base-42": model("relu")}, "base", 1)
    assert "did not train" not in fine.axes[0].get_title()
    assert len(fine.legends[0].get_texts()) == 4  # four layers: all drawn


def test_curves_key_has_no_diverged_entry_when_no_model_diverged():
    metrics = {f"relu-base-{s}": model("relu", seed=s, stopped="patience") for s in SEEDS}
    fig = charts.curves(cfg().plot, metrics, ["relu"], ["base"])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "stopped: patience ran out" in labels
    assert not [label for label in labels if "diverged" in label or "max_epochs" in label]
    metrics["relu-base-43"] = model("relu", seed=43, stopped="diverged")
    fig = charts.curves(cfg().plot, metrics, ["relu"], ["base"])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "stopped: diverged (loss not finite)" in labels


@pytest.mark.parametrize(("seeds", "keys"), [(10, [f"seed {s}" for s in range(10)]), (60, [])])
def test_curves_key_names_each_seed_up_to_ten_and_all_of_them_in_one_entry_beyond(seeds, keys):
    """Past ten seeds the colours repeat and a key per seed would run off the figure."""
    metrics = {f"relu-base-{s}": model("relu", seed=s, stopped="patience") for s in range(seeds)}
    fig = charts.curves(cfg().plot, metrics, ["relu"], ["base"])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    seed_labels = [label for label in labels if label.startswith(("seed ", "one line"))]
    assert seed_labels == (keys or [f"one line per seed ({seeds})"])
    fig.canvas.draw()  # the key fits the figure: no entry is cut off at its edge
    box = fig.legends[0].get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.x1
