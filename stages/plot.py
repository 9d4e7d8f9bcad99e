"""Stage ``plot``: every model's metrics files -> figures and one comparison table.

Reads the list of models from params (never globs ``metrics/``, where a removed activation
leaves stale files), writes ``metrics/plots/*.png``, ``metrics/summary.csv|.md``, and logs
per-model figures to each model's MLflow run and the comparison to a run of its own.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from stages import cli, config, model, paths, tracking  # noqa: E402
from stages.activations import make_activation  # noqa: E402
from stages.config import Config, PlotConfig  # noqa: E402

log = logging.getLogger("plot")

# UvA DL tutorial 3, test accuracy (%) of [512, 256, 256, 128] on FashionMNIST (REFERENCE.md).
REFERENCE_TEST_ACC = {"sigmoid": 10.00, "tanh": 87.59, "relu": 88.62, "leakyrelu": 88.92,
                      "elu": 87.27, "swish": 88.73}
REFERENCE_WIDTHS = (512, 256, 256, 128)
RELU_FAMILY = ("relu", "relu_custom", "leakyrelu", "elu")
LINESTYLES = ["-", "--", ":", "-."]


def load_model_metrics(name: str) -> dict:
    """Everything the earlier stages wrote about one model."""
    return {
        "config": model.read_config(name),
        "train": json.loads(paths.train_metrics(name).read_text()),
        "timing": json.loads(paths.train_timing(name).read_text()),
        "history": pd.read_csv(paths.train_history(name), sep="\t"),
        "evaluate": json.loads(paths.eval_metrics(name).read_text()),
        "dead": json.loads(paths.dead_metrics(name).read_text()),
        "dynamics": pd.read_csv(paths.dead_history(name), sep="\t"),
        "probes": json.loads(paths.probe_stats(name).read_text()),
    }


def reference_acc(cfg: Config, m: dict) -> float | None:
    c = m["config"]
    if cfg.data.dataset == "fashion_mnist" and tuple(c["hidden_sizes"]) == REFERENCE_WIDTHS:
        return REFERENCE_TEST_ACC.get(c["activation"])
    return None


def summary_table(cfg: Config, metrics: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for name, m in metrics.items():
        c, d = m["config"], m["dead"]
        rows.append({
            "model": name,
            "activation": c["activation"],
            "architecture": c["architecture"],
            "seed": c["seed"],
            "parameters": m["train"]["parameters"],
            "epochs": m["train"]["epochs_trained"],
            "best_val_acc": round(100 * m["train"]["best_val_acc"], 2),
            "test_acc": round(100 * m["evaluate"]["test_acc"], 2),
            "reference_test_acc": reference_acc(cfg, m),
            "dead_init": d["init"]["dead"]["total"],
            "dead_trained": d["trained"]["dead"]["total"],
            "dead_worst_layer_pct_init": d["init"]["dead"]["worst_layer_percent"],
            "dead_worst_layer_pct_trained": d["trained"]["dead"]["worst_layer_percent"],
            "saturated_init": d["init"]["saturated"]["total"],
            "saturated_trained": d["trained"]["saturated"]["total"],
            "saturated_worst_layer_pct_trained": d["trained"]["saturated"]["worst_layer_percent"],
            "train_seconds": m["timing"]["seconds"],
        })
    return pd.DataFrame(rows)


def _styles(cfg: Config) -> tuple[dict, dict]:
    colours = {a: plt.get_cmap("tab10")(i % 10) for i, a in enumerate(cfg.activations)}
    styles = {a: LINESTYLES[i % len(LINESTYLES)] for i, a in enumerate(cfg.architecture_names)}
    return colours, styles


def _figure(pc: PlotConfig, rows: int, cols: int, height: float, **kw):
    return plt.subplots(rows, cols, figsize=(pc.width, height * rows), squeeze=False,
                        constrained_layout=True, **kw)


def fig_activations(cfg: Config):
    names = list(cfg.activations)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = _figure(cfg.plot, rows, cols, cfg.plot.width / cols * 0.8)
    z = torch.linspace(-5, 5, 1001, requires_grad=True)
    for ax, name in zip(axes.flat, names, strict=False):
        y = make_activation(name, cfg.activation_options[name])(z)
        (dy,) = torch.autograd.grad(y.sum(), z)
        ax.plot(z.detach(), y.detach(), label="f(x)")
        ax.plot(z.detach(), dy, label="f'(x)", linestyle="--")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set(title=name, xlabel="x (pre-activation)", ylabel="value")
        ax.legend(fontsize="small")
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle("Activation functions and their derivatives on [-5, 5]")
    return fig


def fig_samples(cfg: Config, prepared: Path = paths.PREPARED):
    tensors = torch.load(prepared / paths.PREPARED_TENSORS.name, weights_only=True)
    classes = json.loads((prepared / paths.PREPARED_META.name).read_text())["classes"]
    images, labels = tensors["train_images"][:32], tensors["train_labels"][:32]
    fig, axes = _figure(cfg.plot, 4, 8, cfg.plot.width / 8 * 1.2)
    for ax, image, label in zip(axes.flat, images, labels, strict=True):
        ax.imshow(image, cmap="gray_r")
        ax.set_title(classes[int(label)], fontsize="small")
        ax.axis("off")
    fig.suptitle(f"{cfg.data.dataset}: the first 32 training images of the split, with labels")
    return fig


def _histogram(ax, hist: dict, **kw) -> None:
    edges = np.asarray(hist["edges"])
    ax.stairs(hist["counts"], edges, fill=True, alpha=0.7, **kw)


def _layer_grid(cfg: Config, metrics: dict[str, dict], arch: str, key: str, draw, *,
                ylabel: str, xlabel: str, title: str):
    """Rows: the models of ``arch``; columns: their layers in ``probes[key]``; ``draw`` fills
    one cell from that layer's record and returns the cell's title."""
    names = [n for n in metrics if metrics[n]["config"]["architecture"] == arch]
    columns = max(len(metrics[n]["probes"][key]) for n in names)
    fig, axes = _figure(cfg.plot, len(names), columns, 1.5)
    for row, name in zip(axes, names, strict=True):
        layers = metrics[name]["probes"][key]
        for ax, layer in zip(row, layers, strict=False):
            ax.set_title(draw(ax, layer), fontsize="x-small")
            ax.tick_params(labelsize="x-small")
        row[0].set_ylabel(f"{name}\n{ylabel}", fontsize="small")
        for ax in row[len(layers):]:
            ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(xlabel, fontsize="small")
    fig.suptitle(title)
    return fig


def fig_gradient_flow(cfg: Config, metrics: dict[str, dict], arch: str):
    def draw(ax, layer: dict) -> str:
        _histogram(ax, layer["hist_log10_abs"])
        return f"layer {layer['layer']}: mean |g| {layer['summary']['mean_abs']:.1e}"

    return _layer_grid(
        cfg, metrics, arch, "gradient_flow_init", draw, ylabel="weights (count)",
        xlabel="log10 |dL/dW| (exact 0: leftmost bin)",
        title=f"Gradient flow at initialisation ({arch}): weight gradients per layer, "
              f"one batch of {cfg.probes.grad_batch_size} images")


def fig_activation_distributions(cfg: Config, metrics: dict[str, dict], arch: str):
    def draw(ax, layer: dict) -> str:
        _histogram(ax, layer["hist"], color="C1")
        ax.set_yscale("log")
        return f"layer {layer['layer']}: {100 * layer['summary']['fraction_zero']:.0f}% zeros"

    return _layer_grid(
        cfg, metrics, arch, "activations_trained", draw, ylabel="count (log)",
        xlabel="activation output",
        title=f"Activation outputs per layer after training ({arch}), "
              f"{cfg.probes.activation_batch_size} training images")


def fig_curves(cfg: Config, metrics: dict[str, dict]):
    colours, styles = _styles(cfg)
    fig, axes = _figure(cfg.plot, 2, 2, cfg.plot.width * 0.32)
    panels = [("train_loss", "train loss"), ("val_loss", "validation loss"),
              ("train_acc", "train accuracy"), ("val_acc", "validation accuracy")]
    for ax, (column, title) in zip(axes.flat, panels, strict=True):
        for name, m in metrics.items():
            c, h = m["config"], m["history"]
            scale = 100 if column.endswith("acc") else 1
            ax.plot(h["epoch"], h[column] * scale, color=colours[c["activation"]],
                    linestyle=styles[c["architecture"]], label=name)
        ax.set(title=title, xlabel="epoch",
               ylabel="accuracy (%)" if column.endswith("acc") else "cross-entropy (nats)")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        if column.endswith("loss"):
            ax.set_yscale("log")
    axes[0, 1].legend(fontsize="x-small", ncol=2)
    fig.suptitle("Training curves: colour = activation, line style = architecture")
    return fig


def fig_test_acc(cfg: Config, table: pd.DataFrame):
    """Mean test accuracy over seeds per activation x architecture; error bars: one std."""
    colours, _ = _styles(cfg)
    groups = table.groupby(["activation", "architecture"], sort=False).agg(
        mean=("test_acc", "mean"), std=("test_acc", "std"), seeds=("seed", "count"),
        reference=("reference_test_acc", "first")).reset_index()
    fig, axes = _figure(cfg.plot, 1, 1, cfg.plot.width * 0.4)
    ax = axes[0, 0]
    x = np.arange(len(groups))
    several = groups["seeds"] > 1
    errors = groups["std"].where(several, 0).fillna(0) if several.any() else None
    ax.bar(x, groups["mean"], color=[colours[a] for a in groups["activation"]], yerr=errors,
           capsize=4)
    has_ref = groups["reference"].notna().to_numpy()
    ax.scatter(x[has_ref], groups["reference"][has_ref], marker="_", s=400, color="black",
               zorder=3, label="published (UvA tutorial 3)")
    for xi, acc in zip(x, groups["mean"], strict=True):  # inside the bar, clear of the marker
        ax.text(xi, acc - 2, f"{acc:.1f}", ha="center", va="top", fontsize="x-small",
                color="white")
    ax.set_xticks(x, groups["activation"] + "-" + groups["architecture"], rotation=45, ha="right")
    seeds = sorted(set(table["seed"]))
    spread = (f"mean of {len(seeds)} seeds, error bars: one std" if len(seeds) > 1
              else f"one seed ({seeds[0]}): no error bars")
    ax.set(ylabel="test accuracy (%)", ylim=(0, 105), title=f"Test accuracy per model ({spread})")
    ax.legend(loc="upper left")
    return fig


def fig_dead(cfg: Config, metrics: dict[str, dict]):
    colours, _ = _styles(cfg)
    archs = list(cfg.architecture_names)
    fig, axes = _figure(cfg.plot, 2, len(archs), cfg.plot.width * 0.3)
    for col, arch in enumerate(archs):
        for row, what in enumerate(("dead", "saturated")):
            ax = axes[row, col]
            for m in metrics.values():
                if m["config"]["architecture"] != arch:
                    continue
                colour = colours[m["config"]["activation"]]
                for when, ls in (("init", "--"), ("trained", "-")):
                    pct = m["dead"][when][what]["percent_per_layer"]
                    ax.plot(range(1, len(pct) + 1), pct, ls, marker="o", ms=3, color=colour,
                            label=f"{m['config']['activation']} ({when})")
            ax.set(title=f"{what} neurons, {arch}", xlabel="hidden layer",
                   ylabel=f"{what} neurons (% of layer)")
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            ax.legend(fontsize="xx-small", ncol=2)
    fig.suptitle("Dead (output always 0) and saturated (|f'| < "
                 f"{cfg.probes.saturation_eps:g} max|f'|) neurons on the whole training split: "
                 "dashed = at init, solid = trained")
    return fig


def fig_dynamics(cfg: Config, metrics: dict[str, dict]):
    """Per-epoch dead/saturated counts per layer of the relu-family models that have any."""
    family = [n for n, m in metrics.items() if m["config"]["activation"] in RELU_FAMILY]
    names = [n for n in family
             if metrics[n]["dynamics"].filter(regex="_layer").to_numpy().any()] or family[:1]
    names = names or list(metrics)[:1]
    omitted = [n for n in family if n not in names]
    fig, axes = _figure(cfg.plot, len(names), 2, 2.2)
    for row, name in zip(axes, names, strict=True):
        dyn = metrics[name]["dynamics"]
        for ax, what in zip(row, ("dead", "saturated"), strict=True):
            columns = [c for c in dyn.columns if c.startswith(f"{what}_layer")]
            for i, column in enumerate(columns):
                ax.plot(dyn["epoch"], dyn[column], label=f"layer {i + 1}",
                        color=plt.get_cmap("viridis")(i / max(1, len(columns) - 1)))
            ax.set(title=f"{name}: {what} neurons per epoch", xlabel="epoch (0 = init)",
                   ylabel=f"{what} neurons (count)")
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            ax.legend(fontsize="xx-small", ncol=2)
    note = f"\nnone at any epoch: {', '.join(omitted)}" if omitted else ""
    fig.suptitle(f"Dead/saturated neurons during training, on {cfg.train.dynamics_subset} "
                 f"training images{note}")
    return fig


def fig_confusion(cfg: Config, name: str, m: dict, classes: list[str]):
    fig, axes = _figure(cfg.plot, 1, 1, cfg.plot.width * 0.6)
    ax = axes[0, 0]
    cm = np.asarray(m["evaluate"]["confusion_matrix"])
    image = ax.imshow(cm, cmap="Blues")
    for (i, j), count in np.ndenumerate(cm):
        ax.text(j, i, str(count), ha="center", va="center", fontsize="x-small",
                color="white" if count > cm.max() / 2 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel="predicted class", ylabel="true class",
           title=f"Confusion matrix of the best model, {name} "
                 f"(test accuracy {100 * m['evaluate']['test_acc']:.2f}%)")
    fig.colorbar(image, ax=ax, label="test images")
    return fig


def run(cfg: Config, metrics: dict[str, dict]) -> tuple[dict[str, plt.Figure], pd.DataFrame]:
    """All comparison figures (by file stem) and the summary table.

    The table and the accuracy bars use every seed; the per-layer figures show the
    ``train.seed`` models only, one row each, so they stay readable.
    """
    table = summary_table(cfg, metrics)
    best = table.loc[table["test_acc"].idxmax(), "model"]
    classes = json.loads(paths.PREPARED_META.read_text())["classes"]
    primary = {n: m for n, m in metrics.items() if m["config"]["seed"] == cfg.train.seed}
    figures = {
        "activations": fig_activations(cfg),
        "samples": fig_samples(cfg),
        "training_curves": fig_curves(cfg, primary),
        "test_accuracy": fig_test_acc(cfg, table),
        "dead_saturated_per_layer": fig_dead(cfg, primary),
        "dead_dynamics": fig_dynamics(cfg, primary),
        "confusion_best": fig_confusion(cfg, best, metrics[best], classes),
    }
    for arch in cfg.architecture_names:
        figures[f"gradient_flow_{arch}"] = fig_gradient_flow(cfg, primary, arch)
        figures[f"activation_distributions_{arch}"] = fig_activation_distributions(cfg, primary, arch)
    return figures, table


def _main() -> None:
    cfg = config.load()
    names = cfg.model_names()
    metrics = {name: load_model_metrics(name) for name in names}
    figures, table = run(cfg, metrics)
    paths.PLOTS.mkdir(parents=True, exist_ok=True)
    for stem, fig in figures.items():
        fig.savefig(paths.PLOTS / f"{stem}.{cfg.plot.format}", dpi=cfg.plot.dpi)
        plt.close(fig)
    table.to_csv(paths.SUMMARY_CSV, index=False)
    blanks = table.astype(object).where(table.notna(), "")  # no reference -> empty, not nan
    paths.SUMMARY_MD.write_text(blanks.to_markdown(index=False) + "\n")

    # Each model's run gets its own slice of the comparison; the whole goes to one more run.
    for name, m in metrics.items():
        run_id = tracking.model_run(cfg.experiment, m["config"])
        single = {name: m}
        for stem, fig in (("gradient_flow_init", fig_gradient_flow(cfg, single, m["config"]["architecture"])),
                          ("activation_distributions", fig_activation_distributions(cfg, single, m["config"]["architecture"])),
                          ("dead_dynamics", fig_dynamics(cfg, single))):
            tracking.log_figure(run_id, fig, f"figures/{stem}.png")
            plt.close(fig)
    key = tracking.comparison_key([m["config"]["run_key"] for m in metrics.values()])
    run_id = tracking.open_run(cfg.experiment, key, "comparison", kind="comparison",
                               params={"models": ",".join(names)}, replace=True)
    for stem in figures:
        tracking.log_artifact(run_id, paths.PLOTS / f"{stem}.{cfg.plot.format}", "figures")
    for path in (paths.SUMMARY_CSV, paths.SUMMARY_MD):
        tracking.log_artifact(run_id, path)
    tracking.finish(run_id)
    log.info("wrote %d figures and %s for %d models", len(figures), paths.SUMMARY_MD, len(names))


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    return cli.run_stage(_main)


if __name__ == "__main__":
    raise SystemExit(main())
