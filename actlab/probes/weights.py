"""Weight statistics and per-epoch weight histograms of the first and last layer: what each
training epoch records besides its losses (pure tensor functions for the training loop).
"""

from __future__ import annotations

import torch

from actlab.model.mlp import MLP
from actlab.probes.layers import fixed_histogram

# A layer's weight matrix and its current gradient (None before the first backward pass).
Layer = tuple[torch.Tensor, "torch.Tensor | None"]


def first_and_last(net: MLP) -> tuple[Layer, Layer]:
    """The weights and gradients of the first and last Linear layer of ``net``."""
    linears = net.linears()
    return tuple((lin.weight.detach(), lin.weight.grad) for lin in (linears[0], linears[-1]))


def slopes(net: MLP) -> list[tuple[int, torch.Tensor]]:
    """(hidden layer, its learned slopes) for each layer whose activation learns (PReLU)."""
    return [(i, act.weight.detach()) for i, (_, act) in enumerate(net.hidden()) if act.learns]


def weight_stats_tensors(
    layers: tuple[Layer, Layer], learned: list[tuple[int, torch.Tensor]] = ()
) -> dict[str, torch.Tensor]:
    """Mean and std of the weights, mean |g| and std of their gradients, as 0-d tensors on the
    weights' device (no wait for it); and per hidden layer (counted from 1) with learned
    slopes, their mean (PReLU: the slope itself, or the mean of one per neuron) and, per
    neuron, their spread."""
    stats = {}
    for i, values in learned:
        stats[f"prelu/layer{i + 1}/slope"] = values.mean()
        if values.numel() > 1:
            stats[f"prelu/layer{i + 1}/slope_std"] = values.std()
    for label, (w, g) in zip(("first", "last"), layers, strict=True):
        stats[f"weights/{label}/mean"] = w.mean()
        stats[f"weights/{label}/std"] = w.std()
        if g is not None:
            g = g.detach()
            stats[f"grads/{label}/mean_abs"] = g.abs().mean()
            stats[f"grads/{label}/std"] = g.std()
    return stats


def weight_stats(net: MLP) -> dict[str, float]:
    """Weights and their current gradients of the first and last Linear layer."""
    stats = weight_stats_tensors(first_and_last(net), slopes(net))
    values = torch.stack(list(stats.values())).tolist()  # one copy to the host, not eight
    return dict(zip(stats, values, strict=True))


# Per-epoch histograms of the first and last layer (train): fixed bins, so epochs compare.
WEIGHT_BINS = 60
WEIGHT_RANGE_OF_INIT = 4.0  # weights: +-4 x the layer's largest initial |w|
GRAD_LOG10_RANGE = (-10.0, 0.0)  # weight gradients: log10 |g|


class WeightHistograms:
    """The first and last Linear layer's weights, and log10 |g| of their weight gradients, as
    counts on bins fixed at initialisation, one row per epoch (weights from epoch 0 = init,
    gradients, of each epoch's last batch, from epoch 1). A value beyond the range is counted
    in the edge bin; an exact-zero gradient in the lowest."""

    LAYERS = ("first", "last")

    def __init__(self, net: MLP | tuple[Layer, Layer]) -> None:
        layers = first_and_last(net) if isinstance(net, MLP) else net
        self.edges: dict[str, torch.Tensor] = {}
        for label, (w, _) in zip(self.LAYERS, layers, strict=True):
            r = WEIGHT_RANGE_OF_INIT * max(float(w.abs().max()), 1e-12)
            self.edges[f"{label}/weights"] = torch.linspace(-r, r, WEIGHT_BINS + 1)
            self.edges[f"{label}/grads_log10"] = torch.linspace(*GRAD_LOG10_RANGE, WEIGHT_BINS + 1)
        self.counts: dict[str, list[torch.Tensor]] = {key: [] for key in self.edges}

    def record(self, net: MLP | tuple[Layer, Layer]) -> None:
        """Add this epoch's row (on the device: no wait for it)."""
        layers = first_and_last(net) if isinstance(net, MLP) else net
        for label, (w, g) in zip(self.LAYERS, layers, strict=True):
            self._add(f"{label}/weights", w)
            if g is not None:
                self._add(f"{label}/grads_log10", torch.log10(g.detach().abs().clamp_min(1e-30)))

    def _add(self, key: str, values: torch.Tensor) -> None:
        lo, hi = float(self.edges[key][0]), float(self.edges[key][-1])
        self.counts[key].append(fixed_histogram(values, WEIGHT_BINS, lo, hi, clamp=True))

    def state(self) -> dict:
        """Edges and counts (epochs x bins, int64) on the CPU: what train saves."""
        counts = {
            k: torch.stack([row.cpu() for row in v]) if v else torch.zeros(0, WEIGHT_BINS)
            for k, v in self.counts.items()
        }
        return {"edges": dict(self.edges), "counts": counts}

    def load(self, state: dict) -> None:
        """Continue from a saved ``state`` (a resumed training)."""
        self.edges = dict(state["edges"])
        self.counts = {k: list(v) for k, v in state["counts"].items()}
