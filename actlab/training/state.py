"""Typed records of a training: the neuron history it writes for ``dead_neurons`` and the
resume state it leaves for a training that was stopped.

Both travel through ``torch.save`` as plain dicts of tensors and numbers (``to_dict`` /
``from_dict``), which ``torch.load(weights_only=True)`` reads back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from actlab.probes.neurons import NeuronExtremes
from actlab.training.stopping import Stopping


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


@dataclass
class ResumeState:
    """Everything a stopped training continues from, saved after an epoch it goes on from:
    resumed from it, training ends bit-identical on the CPU to a run never stopped."""

    epoch: int
    net: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    generator: torch.Tensor  # the batch-order generator's state
    history: list[dict]
    best_acc: float
    best_epoch: int
    best_state: dict[str, torch.Tensor]
    snapshots: list[NeuronExtremes]
    probe_epochs: list[int]
    weight_histograms: dict
    seconds: float
    run_id: str | None = None  # the MLflow run the training logs to
    best_loss: float = math.inf  # the lowest validation loss so far, and its epoch
    best_loss_epoch: int = 0

    def stopping(self) -> Stopping:
        """The early-stopping state to continue from."""
        return Stopping(self.best_acc, self.best_epoch, self.best_loss, self.best_loss_epoch)

    def to_dict(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["snapshots"] = [(s.max_abs_output, s.max_rel_derivative) for s in self.snapshots]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResumeState:
        return cls(**{**d, "snapshots": [NeuronExtremes(*s) for s in d["snapshots"]]})
