"""Dead, nearly dead and saturated neurons: pure tensor functions.

Definitions (docs/reference.md, UvA tutorial 3):
- a neuron is **dead** when its activation output is exactly 0 for every image looked at (the
  tutorial's definition);
- **nearly dead** when its output is exactly 0 on at least a fraction ``f`` of the images;
- **saturated** when |f'(z)| < eps * max|f'| on at least a fraction ``f`` of the images: for
  ReLU this is the nearly-dead set, for sigmoid/tanh it is how a "dead" unit looks.
``neuron_census`` counts, per neuron, the images on which each holds, in one forward pass.
During training, ``neuron_extremes`` records per-neuron maxima (dead, and saturated on every
image, for any eps afterwards) on a subset, at init and every ``train.probe_every``-th epoch;
``NeuronHistory`` holds them for the ``dead_neurons`` stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from actlab.model.mlp import MLP


@dataclass
class NeuronExtremes:
    """Per hidden layer, per neuron: max |output| and max |f'(z)| / max|f'| over the images."""

    max_abs_output: list[torch.Tensor]
    max_rel_derivative: list[torch.Tensor]

    def dead(self) -> list[torch.Tensor]:
        return [m == 0 for m in self.max_abs_output]

    def saturated(self, eps: float) -> list[torch.Tensor]:
        return [m < eps for m in self.max_rel_derivative]


@dataclass
class NeuronHistory:
    """``models/<model>/neuron_history.pt``: per hidden layer, one row per probed epoch (0 =
    init) of each neuron's max |output| and max |f'(z)| / max|f'| on the dynamics subset."""

    max_abs_output: list[torch.Tensor]  # per layer: [probed epochs, neurons]
    max_rel_derivative: list[torch.Tensor]
    subset_size: int
    epochs: list[int]  # the epoch of each row

    @classmethod
    def of(cls, snapshots: list[NeuronExtremes], epochs: list[int], subset_size: int):
        if len(snapshots) != len(epochs):
            raise ValueError(f"{len(snapshots)} neuron snapshots for {len(epochs)} epochs")
        layers = range(len(snapshots[0].max_abs_output))
        return cls(
            # one by one: a resumed training holds snapshots on the CPU and on the device
            [torch.stack([s.max_abs_output[i].cpu() for s in snapshots]) for i in layers],
            [torch.stack([s.max_rel_derivative[i].cpu() for s in snapshots]) for i in layers],
            subset_size,
            list(epochs),
        )

    def snapshot(self, row: int) -> NeuronExtremes:
        """The neurons as probed at ``self.epochs[row]``."""
        return NeuronExtremes(
            [m[row] for m in self.max_abs_output], [m[row] for m in self.max_rel_derivative]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_abs_output": self.max_abs_output,
            "max_rel_derivative": self.max_rel_derivative,
            "subset_size": self.subset_size,
            "epochs": self.epochs,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NeuronHistory:
        history = cls(d["max_abs_output"], d["max_rel_derivative"], d["subset_size"], d["epochs"])
        if any(len(m) != len(history.epochs) for m in history.max_abs_output):
            raise ValueError(f"neuron history: {len(history.epochs)} epochs, other row counts")
        return history


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
