"""What the ``dead_neurons`` stage measures of a trained model, from its init and best
checkpoints and the neuron history training wrote: pure work, tensors in, dicts out."""

from __future__ import annotations

import torch

from actlab.config import ProbeConfig
from actlab.model.mlp import MLP
from actlab.probes import layers, neurons


def dynamics(history: neurons.NeuronHistory, eps: float) -> list[dict]:
    """Per probed epoch (0 = init, then every ``train.probe_every``-th and the last) dead and
    saturated (on every image) counts per layer on the training subset that train probed."""
    rows = []
    for row, epoch in enumerate(history.epochs):
        snapshot = history.snapshot(row)
        dead = neurons.count_summary(snapshot.dead())
        saturated = neurons.count_summary(snapshot.saturated(eps))
        out = {"epoch": epoch, "dead_total": dead["total"], "saturated_total": saturated["total"]}
        out.update({f"dead_layer{i}": n for i, n in enumerate(dead["per_layer"], 1)})
        out.update({f"saturated_layer{i}": n for i, n in enumerate(saturated["per_layer"], 1)})
        rows.append(out)
    return rows


def measure(
    init: MLP, trained: MLP, x: torch.Tensor, y: torch.Tensor, pc: ProbeConfig
) -> tuple[dict, dict]:
    """Counts on the whole of ``x`` for both networks, and the per-layer distributions
    (gradient flow at init, activations after training)."""

    def census(net: MLP) -> dict:
        counted = neurons.neuron_census(net, x, pc.batch_size, pc.saturation_eps)
        return neurons.census_summary(counted, pc.saturated_fraction)

    result = {
        "saturation_eps": pc.saturation_eps,
        "saturated_fraction": pc.saturated_fraction,
        "images": len(x),
        "init": census(init),
        "trained": census(trained),
    }
    distributions = {
        "gradient_flow_init": layers.gradient_flow(
            init, x[: pc.grad_batch_size], y[: pc.grad_batch_size], pc.hist_bins
        ),
        "activations_trained": layers.activation_distributions(
            trained, x[: pc.activation_batch_size], pc.hist_bins
        ),
    }
    return result, distributions
