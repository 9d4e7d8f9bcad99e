"""One model's training state: as it starts (``start``), as it goes (``Member``), the resume
state a stopped training leaves and continues from (``ResumeState``, ``resume``), and what it
ends with (``TrainResult``). The loop and the pack keep a model's state the same way.

The resume state travels through ``torch.save`` as a plain dict of tensors and numbers
(``to_dict`` / ``from_dict``), which ``torch.load(weights_only=True)`` reads back.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from actlab.config import TrainConfig
from actlab.identity import ModelSpec
from actlab.model import mlp
from actlab.probes import weights
from actlab.probes.neurons import NeuronExtremes, NeuronHistory
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
    budget_best: dict = field(default_factory=dict)  # budget -> (its best epoch, that state)

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


@dataclass
class TrainResult:
    init_state: dict
    best_state: dict
    history: list[dict]
    best_epoch: int
    neuron_history: NeuronHistory
    weight_histograms: dict = field(default_factory=dict)  # weights.WeightHistograms.state()
    seconds: float = 0.0
    diverged_at_epoch: int | None = None  # the epoch whose training loss was not finite
    stopped: str | None = None  # why it stopped: stopping.PATIENCE, MAX_EPOCHS or DIVERGED
    # train.budgets: per budget, the best-validation epoch within it and its weights (CPU)
    budget_best: dict[int, tuple[int, dict]] = field(default_factory=dict)


@dataclass
class Member:
    """One model's training as it goes: everything it keeps alone, in a pack as in the loop."""

    spec: ModelSpec
    init_state: dict
    generator: torch.Generator
    histograms: weights.WeightHistograms
    snapshots: list[NeuronExtremes]
    probe_epochs: list[int] = field(default_factory=lambda: [0])
    history: list[dict] = field(default_factory=list)
    stop: Stopping = field(default_factory=Stopping)
    best_state: dict = field(default_factory=dict)
    epoch: int = 0  # the last epoch done
    seconds: float = 0.0
    diverged: int | None = None
    stopped: str | None = None
    optimizer: list[dict] = field(default_factory=list)  # in a pack: its optimiser slices
    budget_best: dict[int, tuple[int, dict]] = field(default_factory=dict)

    def end_of_epoch(self, budgets: tuple[int, ...]) -> None:
        """After the epoch's best checkpoint is settled: the best within a budget that ends
        here (``train.budgets``)."""
        if self.epoch in budgets:
            self.budget_best[self.epoch] = (self.stop.best_epoch, self.best_state)

    def resume_state(self, net: dict, optimizer: dict) -> ResumeState:
        """What this model continues from after its last epoch: its network's and its
        optimiser's state (whole, or its slices of a pack's) and everything it keeps."""
        return ResumeState(
            self.epoch,
            net,
            optimizer,
            self.generator.get_state(),
            self.history,
            self.stop.best_acc,
            self.stop.best_epoch,
            self.best_state,
            self.snapshots,
            self.probe_epochs,
            self.histograms.state(),
            self.seconds,
            best_loss=self.stop.best_loss,
            best_loss_epoch=self.stop.best_loss_epoch,
            budget_best=self.budget_best,
        )

    def result(self, subset_size: int, budgets: tuple[int, ...]) -> TrainResult:
        """What it ends with; a budget it did not reach (it stopped or diverged before) has
        its last best checkpoint."""
        kept = {
            b: self.budget_best.get(b, (self.stop.best_epoch, self.best_state)) for b in budgets
        }
        return TrainResult(
            self.init_state,
            {k: v.cpu() for k, v in self.best_state.items()},
            self.history,
            self.stop.best_epoch,
            NeuronHistory.of(self.snapshots, self.probe_epochs, subset_size),
            self.histograms.state(),
            self.seconds,
            self.diverged,
            self.stopped,
            {
                b: (epoch, {k: v.cpu() for k, v in state.items()})
                for b, (epoch, state) in kept.items()
            },
        )


def start(spec: ModelSpec, tc: TrainConfig, dev: torch.device) -> tuple[mlp.MLP, Member]:
    """A model as it starts: built and seeded (its weights, its batch order), the same alone
    and in a pack; its neuron snapshots are the trainer's to take."""
    net = mlp.build(spec, tc.activation_impl).to(dev)
    init_state = copy.deepcopy(net.state_dict())
    member = Member(
        spec,
        init_state,
        torch.Generator().manual_seed(spec.seed),
        weights.WeightHistograms(net),
        snapshots=[],
        best_state=init_state,
    )
    member.histograms.record(net)  # epoch 0: the initial weights
    return net, member


def resume(
    spec: ModelSpec, tc: TrainConfig, dev: torch.device, state: ResumeState
) -> tuple[mlp.MLP, Member]:
    """A model continued from its resume state (its optimiser's state is the trainer's to
    load: whole, or as its slices of a pack's)."""
    net, member = start(spec, tc, dev)
    net.load_state_dict(state.net)
    member.generator.set_state(state.generator)
    member.histograms.load(state.weight_histograms)
    member.snapshots, member.probe_epochs = state.snapshots, state.probe_epochs
    member.history, member.epoch, member.seconds = state.history, state.epoch, state.seconds
    member.stop = state.stopping()
    member.best_state = {k: v.to(dev) for k, v in state.best_state.items()}
    member.budget_best = {
        b: (epoch, {k: v.to(dev) for k, v in kept.items()})
        for b, (epoch, kept) in state.budget_best.items()
    }
    return net, member
