"""The resume state a stopped training leaves, to continue from.

It travels through ``torch.save`` as a plain dict of tensors and numbers (``to_dict`` /
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
