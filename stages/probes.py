"""Dead neurons, saturation, gradient flow and activation statistics: pure tensor functions.

Definitions (docs/reference.md, UvA tutorial 3):
- a neuron is **dead** when its activation output is exactly 0 for every image looked at (the
  tutorial's definition);
- **nearly dead** when its output is exactly 0 on at least a fraction ``f`` of the images;
- **saturated** when |f'(z)| < eps * max|f'| on at least a fraction ``f`` of the images: for
  ReLU this is the nearly-dead set, for sigmoid/tanh it is how a "dead" unit looks.
``neuron_census`` counts, per neuron, the images on which each holds, in one forward pass.
During training, ``neuron_extremes`` records per-neuron maxima (dead, and saturated on every
image, for any eps afterwards) on a subset, at init and every ``train.probe_every``-th epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from stages.mlp import MLP

LOG10_RANGE = (-12.0, 2.0)  # histogram range of log10|gradient|; smaller values land in bin 0


@dataclass
class NeuronExtremes:
    """Per hidden layer, per neuron: max |output| and max |f'(z)| / max|f'| over the images."""

    max_abs_output: list[torch.Tensor]
    max_rel_derivative: list[torch.Tensor]

    def dead(self) -> list[torch.Tensor]:
        return [m == 0 for m in self.max_abs_output]

    def saturated(self, eps: float) -> list[torch.Tensor]:
        return [m < eps for m in self.max_rel_derivative]


@torch.no_grad()
def neuron_extremes(net: MLP, x: torch.Tensor, batch_size: int) -> NeuronExtremes:
    """One frozen forward over ``x``, all hidden layers at once: each layer's outputs and its
    closed-form f'(z) come from the same pre-activations, no autograd."""
    was_training = net.training
    net.eval()
    hidden = net.hidden()
    max_out = [torch.zeros(lin.out_features, device=x.device) for lin, _ in hidden]
    max_der = [torch.zeros(lin.out_features, device=x.device) for lin, _ in hidden]
    for start in range(0, len(x), batch_size):
        h = x[start : start + batch_size]
        for i, (linear, activation) in enumerate(hidden):
            z = linear(h)
            h = activation(z)
            torch.maximum(max_out[i], h.abs().amax(0), out=max_out[i])
            torch.maximum(max_der[i], activation.derivative(z).abs().amax(0), out=max_der[i])
    net.train(was_training)
    # max(a / s) == max(a) / s exactly: division by a positive number is monotonic.
    scale = [act.max_abs_derivative() for _, act in hidden]
    return NeuronExtremes(max_out, [m / s for m, s in zip(max_der, scale, strict=True)])


@dataclass
class NeuronCensus:
    """Per hidden layer, per neuron: on how many of ``images`` its output is exactly 0, and on
    how many it is saturated (|f'(z)| < eps * max|f'|)."""

    images: int
    zero: list[torch.Tensor]
    saturated_count: list[torch.Tensor]

    def dead(self) -> list[torch.Tensor]:
        return [c == self.images for c in self.zero]

    def nearly_dead(self, fraction: float) -> list[torch.Tensor]:
        return [c >= fraction * self.images for c in self.zero]

    def saturated(self, fraction: float) -> list[torch.Tensor]:
        return [c >= fraction * self.images for c in self.saturated_count]

    def mean_fractions(self, counts: list[torch.Tensor]) -> list[float]:
        """Per layer, the mean over its neurons of the fraction of images counted."""
        return [round(c.double().mean().item() / self.images, 6) for c in counts]


@torch.no_grad()
def neuron_census(net: MLP, x: torch.Tensor, batch_size: int, eps: float) -> NeuronCensus:
    """One frozen forward over ``x``: per neuron, the images with output exactly 0 and those
    with |f'(z)| < eps * max|f'| (f' in closed form from the same pre-activations)."""
    was_training = net.training
    net.eval()
    hidden = net.hidden()
    zero = [torch.zeros(lin.out_features, dtype=torch.long, device=x.device) for lin, _ in hidden]
    saturated = [torch.zeros_like(z) for z in zero]
    limits = [eps * act.max_abs_derivative() for _, act in hidden]
    for start in range(0, len(x), batch_size):
        h = x[start : start + batch_size]
        for i, (linear, activation) in enumerate(hidden):
            z = linear(h)
            h = activation(z)
            zero[i] += (h == 0).sum(0)
            saturated[i] += (activation.derivative(z).abs() < limits[i]).sum(0)
    net.train(was_training)
    return NeuronCensus(len(x), zero, saturated)


def census_summary(census: NeuronCensus, fraction: float) -> dict:
    """Dead, nearly dead and saturated counts per layer, and the mean fractions per layer."""
    return {
        "dead": count_summary(census.dead()),
        "nearly_dead": count_summary(census.nearly_dead(fraction)),
        "saturated": count_summary(census.saturated(fraction)),
        "mean_zero_fraction_per_layer": census.mean_fractions(census.zero),
        "mean_saturated_fraction_per_layer": census.mean_fractions(census.saturated_count),
    }


def count_summary(masks: list[torch.Tensor]) -> dict:
    """Counts and percentages per layer, totals and the worst layer of boolean neuron masks."""
    counts = [int(m.sum()) for m in masks]
    widths = [m.numel() for m in masks]
    pct = [round(100 * c / w, 2) for c, w in zip(counts, widths, strict=True)]
    total, neurons = sum(counts), sum(widths)
    worst = max(range(len(pct)), key=lambda i: pct[i])
    return {
        "per_layer": counts,
        "percent_per_layer": pct,
        "total": total,
        "percent_total": round(100 * total / neurons, 2),
        "worst_layer": worst + 1,
        "worst_layer_percent": pct[worst],
    }


def fixed_histogram(
    values: torch.Tensor, bins: int, lo: float, hi: float, *, clamp: bool = False
) -> torch.Tensor:
    """Counts (int64, on the values' device) of ``values`` in ``bins`` equal bins over
    [lo, hi], the last bin closed; values outside are dropped, or counted in the edge bins
    with ``clamp``; non-finite values never. ``torch.histc`` would do, but it has no
    deterministic CUDA kernel (it raises under ``torch.use_deterministic_algorithms``);
    ``torch.bincount`` without weights has."""
    v = values.detach().flatten().double()
    v = v[torch.isfinite(v)]  # a diverged model's NaN/inf are not counted
    if clamp:
        v = v.clamp(lo, hi)
    else:
        v = v[(v >= lo) & (v <= hi)]
    width = (hi - lo) or 1.0  # all values equal: one bin takes them
    index = ((v - lo) * (bins / width)).floor().long().clamp_(0, bins - 1)
    return torch.bincount(index, minlength=bins)


def _histogram(values: torch.Tensor, bins: int, lo: float, hi: float) -> dict:
    counts = fixed_histogram(values, bins, lo, hi)
    return {"edges": torch.linspace(lo, hi, bins + 1).tolist(), "counts": counts.tolist()}


def tensor_summary(values: torch.Tensor) -> dict:
    v = values.detach().flatten().double().cpu()
    q = torch.quantile(v.abs(), torch.tensor([0.05, 0.5, 0.95], dtype=torch.float64)).tolist()
    return {
        "mean": v.mean().item(),
        "std": v.std().item(),
        "mean_abs": v.abs().mean().item(),
        "min": v.min().item(),
        "max": v.max().item(),
        "abs_q05": q[0],
        "abs_q50": q[1],
        "abs_q95": q[2],
    }


def gradient_flow(net: MLP, x: torch.Tensor, y: torch.Tensor, bins: int) -> list[dict]:
    """Cross-entropy weight gradients per Linear layer on one batch: summary and histograms."""
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    layers = []
    for i, linear in enumerate(net.linears(), start=1):
        g = linear.weight.grad.detach()
        log_abs = torch.log10(g.abs().clamp_min(10 ** LOG10_RANGE[0]))
        layers.append(
            {
                "layer": i,
                "shape": list(g.shape),
                "summary": tensor_summary(g),
                "hist_log10_abs": _histogram(log_abs, bins, *LOG10_RANGE),
                "hist": _histogram(g, bins, g.min().item(), g.max().item()),
            }
        )
    net.zero_grad()
    return layers


@torch.no_grad()
def activation_distributions(net: MLP, x: torch.Tensor, bins: int) -> list[dict]:
    """Per hidden layer: histogram and summary of the activation outputs on ``x``."""
    net.eval()
    layers, h = [], x
    for i, (linear, activation) in enumerate(net.hidden(), start=1):
        h = activation(linear(h))
        summary = tensor_summary(h)
        summary["fraction_zero"] = (h == 0).double().mean().item()
        lo, hi = h.min().item(), h.max().item()
        layers.append({"layer": i, "summary": summary, "hist": _histogram(h, bins, lo, hi)})
    return layers


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
