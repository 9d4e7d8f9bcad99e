"""Weight statistics and per-epoch weight histograms of the first and last layer: what each
training epoch records besides its losses (pure tensor functions for the training loop).
"""

from __future__ import annotations

import torch

from actlab.model.mlp import MLP
from actlab.probes.layers import fixed_histogram


def weight_stats(net: MLP) -> dict[str, float]:
    """Weights and their current gradients of the first and last Linear layer."""
    stats = {}
    linears = net.linears()
    for label, linear in (("first", linears[0]), ("last", linears[-1])):
        w = linear.weight.detach()
        stats[f"weights/{label}/mean"] = w.mean()
        stats[f"weights/{label}/std"] = w.std()
        if linear.weight.grad is not None:
            g = linear.weight.grad.detach()
            stats[f"grads/{label}/mean_abs"] = g.abs().mean()
            stats[f"grads/{label}/std"] = g.std()
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

    def __init__(self, net: MLP) -> None:
        linears = net.linears()
        self.edges: dict[str, torch.Tensor] = {}
        for label, linear in zip(self.LAYERS, (linears[0], linears[-1]), strict=True):
            r = WEIGHT_RANGE_OF_INIT * max(float(linear.weight.detach().abs().max()), 1e-12)
            self.edges[f"{label}/weights"] = torch.linspace(-r, r, WEIGHT_BINS + 1)
            self.edges[f"{label}/grads_log10"] = torch.linspace(*GRAD_LOG10_RANGE, WEIGHT_BINS + 1)
        self.counts: dict[str, list[torch.Tensor]] = {key: [] for key in self.edges}

    def record(self, net: MLP) -> None:
        """Add this epoch's row (on the device: no wait for it)."""
        linears = net.linears()
        for label, linear in zip(self.LAYERS, (linears[0], linears[-1]), strict=True):
            self._add(f"{label}/weights", linear.weight.detach())
            if linear.weight.grad is not None:
                g = linear.weight.grad.detach().abs()
                self._add(f"{label}/grads_log10", torch.log10(g.clamp_min(1e-30)))

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
