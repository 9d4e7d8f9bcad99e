"""Gradient flow and activation distributions per layer, and the histogram every probe uses:
pure tensor functions for the ``dead_neurons`` stage (``metrics/distributions/``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from actlab.model.mlp import MLP

LOG10_RANGE = (-12.0, 2.0)  # histogram range of log10|gradient|; smaller values land in bin 0


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
