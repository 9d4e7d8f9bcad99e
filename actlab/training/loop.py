"""The training loop: tensors in, a trained network's states and history out.

Pure work for the ``train`` stage: no files, no MLflow (``on_epoch`` lets the stage log each
epoch as it is made). Data stays on the device; batches are index slices of a per-epoch
permutation drawn from a seeded generator, and nothing in the batch loop waits for the device.
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from actlab import interrupt
from actlab.config import TrainConfig
from actlab.data import datasets
from actlab.errors import ConfigError
from actlab.identity import ModelSpec
from actlab.model import mlp
from actlab.probes import neurons, weights
from actlab.training import state
from actlab.training.state import ResumeState, TrainResult, start
from actlab.training.stopping import DIVERGED

log = logging.getLogger("train")
EXTREMES_BATCH = 4096  # images per forward of the per-epoch neuron probe


def make_optimizer(tc: TrainConfig, params, lr: float) -> torch.optim.Optimizer:
    # fused: one kernel per parameter for the whole update, on the CPU as on CUDA.
    if tc.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, fused=True)
    return torch.optim.SGD(params, lr=lr, momentum=tc.momentum, fused=True)


def train_epoch(
    net: mlp.MLP,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    order: torch.Tensor,
    batch_size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass over the full batches of ``order`` (drop_last, as in the reference).

    Returns the summed batch losses and the number of correct predictions as tensors on the
    device: nothing in the loop waits for the device (no ``.item()`` per batch).
    """
    net.train()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for b in range(len(order) // batch_size):
        idx = order[b * batch_size : (b + 1) * batch_size]
        # index_select, not x[idx]: the same rows, gathered 4x faster on the CPU.
        targets = y.index_select(0, idx)
        logits = net(x.index_select(0, idx))
        loss = F.cross_entropy(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach()
        correct += (logits.detach().argmax(1) == targets).sum()
    return loss_sum, correct


def epoch_extras(
    net: mlp.MLP, splits: datasets.Splits, histograms: weights.WeightHistograms | None = None
) -> dict:
    """What each epoch records besides training and the neuron probe: weight statistics and
    histograms of the first and last layer (with the gradients of the epoch's last batch),
    validation loss and accuracy."""
    weight_stats = weights.weight_stats(net)
    if histograms is not None:
        histograms.record(net)
    val_loss, predictions = mlp.predict(net, splits.x_val, splits.y_val)
    val_acc = (predictions == splits.y_val).double().mean().item()
    return {"weights": weight_stats, "val_loss": val_loss, "val_acc": val_acc}


def snapshot_neurons(net: mlp.MLP, subset: torch.Tensor) -> neurons.NeuronExtremes:
    """Each hidden neuron's max |output| and max |f'(z)| on the dynamics subset: taken at
    init, every ``train.probe_every``-th epoch and the epoch training stops at."""
    return neurons.neuron_extremes(net, subset, EXTREMES_BATCH)


def train_model(
    tc: TrainConfig,
    spec: ModelSpec,
    splits: datasets.Splits,
    dev: torch.device,
    on_epoch: Callable[[dict], None] = lambda row: None,
    *,
    resume: ResumeState | None = None,
    save_state: Callable[[ResumeState], None] | None = None,
) -> TrainResult:
    """Train until ``stopping`` says; ``on_epoch`` receives each epoch's row as it is made.

    ``save_state`` receives, after every epoch that training goes on from, everything needed
    to continue; passed back as ``resume``, training continues from there and ends
    bit-identical on the CPU to a run that was never stopped. Right after it, a stop request
    (``actlab.interrupt``) ends training by raising.
    """
    net, mb = start(spec, tc, dev) if resume is None else state.resume(spec, tc, dev, resume)
    optimizer = make_optimizer(tc, net.parameters(), spec.lr)
    x, y = splits.x_train, splits.y_train
    subset = x[: tc.dynamics_subset]  # the split is already a random permutation
    n_batches = len(x) // tc.batch_size
    if n_batches == 0:
        raise ConfigError(f"train.batch_size: {tc.batch_size} exceeds the {len(x)} training images")
    if resume is None:
        mb.snapshots = [snapshot_neurons(net, subset)]
    else:
        optimizer.load_state_dict(resume.optimizer)
        log.info("%s: resuming after epoch %d", spec.name, resume.epoch)
    for epoch in range(mb.epoch + 1, tc.max_epochs + 1):
        epoch_start = time.perf_counter()
        # Batches are slices of a per-epoch permutation drawn on the CPU: the same order on
        # any device.
        order = torch.randperm(len(x), generator=mb.generator).to(dev)
        loss_sum, correct = train_epoch(net, optimizer, x, y, order, tc.batch_size)
        extras = epoch_extras(net, splits, mb.histograms)
        row = {
            "epoch": epoch,
            "train_loss": loss_sum.item() / n_batches,
            "train_acc": correct.item() / (n_batches * tc.batch_size),
            "val_loss": extras["val_loss"],
            "val_acc": extras["val_acc"],
            **extras["weights"],
        }
        mb.epoch = epoch
        mb.history.append(row)
        improved, mb.stopped = mb.stop.update(tc, epoch, row)
        if mb.stopped or epoch % tc.probe_every == 0:
            mb.snapshots.append(snapshot_neurons(net, subset))
            mb.probe_epochs.append(epoch)
        mb.seconds += time.perf_counter() - epoch_start
        on_epoch({**row, "epoch_seconds": time.perf_counter() - epoch_start})
        if mb.stopped == DIVERGED:
            # Divergence is a result, not a crash: stop this model and keep its best
            # checkpoint from before (finite, or the initial weights if epoch 1 diverged).
            mb.diverged = epoch
            log.warning("%s: training loss not finite at epoch %d: diverged", spec.name, epoch)
            break
        if improved:
            mb.best_state = copy.deepcopy(net.state_dict())
        mb.end_of_epoch(tc.budgets)
        if mb.stopped:
            log.info(
                "%s: stopped at epoch %d (%s), best val acc %.4f at epoch %d",
                spec.name,
                epoch,
                mb.stopped,
                mb.stop.best_acc,
                mb.stop.best_epoch,
            )
            break
        if save_state is not None:
            save_state(mb.resume_state(net.state_dict(), optimizer.state_dict()))
        interrupt.check()  # a safe point: the state to resume from is saved
    return mb.result(len(subset), tc.budgets)


def summary(result: TrainResult, parameters: int) -> dict:
    """``metrics/train/<model>.json``: how training went. ``best_epoch`` 0: diverged in epoch
    1, and the kept checkpoint is the initial weights."""
    best = result.history[result.best_epoch - 1] if result.best_epoch else {}
    return {
        "parameters": parameters,
        "epochs_trained": len(result.history),
        "best_epoch": result.best_epoch,
        "best_val_acc": best.get("val_acc"),
        "best_val_loss": best.get("val_loss"),
        "train_acc_at_best": best.get("train_acc"),
        "diverged_at_epoch": result.diverged_at_epoch,
        "stopped": result.stopped,
        # train.budgets: the best epoch within each (best_epoch is max_epochs')
        "best_epoch_within": {str(b): e for b, (e, _) in sorted(result.budget_best.items())},
    }


def where() -> dict:
    """Where this process trains: its thread count (on the CPU another count can change a
    model's last bits, docs/reproducibility.md) and its host and pid (a Ray worker's, when the
    train stage sends its packs to a cluster)."""
    return {"threads": torch.get_num_threads(), "worker": f"{socket.gethostname()}:{os.getpid()}"}


def timing(result: TrainResult, dev: torch.device, trained_where: dict) -> dict:
    """Wall times: they differ between identical reruns, so they stay out of every output a
    later stage reads. With them where the model trained (``where()`` of the process that
    trained it)."""
    return {
        "device": str(dev),
        **trained_where,
        "seconds": round(result.seconds, 2),
        "seconds_per_epoch": round(result.seconds / len(result.history), 3),
    }


def describe(result: TrainResult, dev: torch.device) -> str:
    """One log line on a finished training."""
    best = result.history[result.best_epoch - 1]["val_acc"] if result.best_epoch else None
    diverged = result.diverged_at_epoch
    return (
        f"best val acc {'-' if best is None else f'{best:.4f}'} at epoch {result.best_epoch} "
        f"of {len(result.history)} ({result.seconds:.1f} s on {dev})"
        + ("" if diverged is None else f", diverged at epoch {diverged}")
    )
