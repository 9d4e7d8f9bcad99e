"""Packs: the models of one architecture trained together as one stacked network.

The weights of M MLPs with the same hidden widths are stacked (``[M, in, out]`` per layer),
so on CUDA a training step is one batched GEMM per layer for all of them (``torch.baddbmm``),
not M launch-bound loops. On the CPU each model's layers are computed apart, with the calls a
pack of one makes (``Stack.apart``): there the BLAS splits a lone GEMM's reduction across
threads but a batch of GEMMs by model, and an elementwise kernel rounds a tensor's tail apart
from its body, so a stacked call would tie a model's last bits to its pack and the thread
count (docs/reproducibility.md).

Each model keeps everything it has alone: its seeded initial weights (built by ``mlp.build``,
as a model trained alone), its activation and options and implementation, its own batch order
(its seed's generator), its optimiser state, early stopping, best checkpoint, divergence
handling, neuron snapshots and weight histograms. A model that stops is taken out of the
stack (with its optimiser state), so it no longer changes and the others go on.

Pure work, like ``loop``: tensors in, one ``TrainResult`` per model out; ``on_epoch``,
``save_state`` and ``on_done`` let the stage log, checkpoint and write as it goes.
"""

from __future__ import annotations

import copy
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
from actlab.model.activations import Activation, prelu, prelu_derivative
from actlab.probes import weights
from actlab.probes.neurons import NeuronExtremes
from actlab.training.loop import EXTREMES_BATCH
from actlab.training.state import Member, ResumeState, TrainResult, resume, start
from actlab.training.stopping import DIVERGED

VALIDATION_BATCH = 4096  # images per stacked forward of the validation pass


def _activation_key(act: Activation) -> tuple:
    return (type(act).__name__, act.impl, tuple(sorted(act.options().items())))


def _runs(acts: list[Activation]) -> list[tuple[int, int, Activation]]:
    """(start, stop, activation) per run of consecutive models with the same activation."""
    runs: list[tuple[int, int, Activation]] = []
    for m, act in enumerate(acts):
        if runs and _activation_key(runs[-1][2]) == _activation_key(act):
            runs[-1] = (runs[-1][0], m + 1, runs[-1][2])
        else:
            runs.append((m, m + 1, act))
    return runs


class Stack(torch.nn.Module):
    """M MLPs of the same widths as one network: per layer, weights ``[M, in, out]`` and
    biases ``[M, 1, out]``; the activations apply to runs of consecutive models that share
    one (so the models of a pack are ordered by activation)."""

    def __init__(self, nets: list[mlp.MLP]) -> None:
        super().__init__()
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for layer in zip(*(net.linears() for net in nets), strict=True):
            w = torch.stack([lin.weight.detach().t() for lin in layer]).contiguous()
            b = torch.stack([lin.bias.detach() for lin in layer]).unsqueeze(1).contiguous()
            self.weights.append(torch.nn.Parameter(w))
            self.biases.append(torch.nn.Parameter(b))
        # per hidden layer: (start, stop, activation) runs over the models
        self.runs = [
            _runs([net.hidden()[i][1] for net in nets]) for i in range(len(self.weights) - 1)
        ]
        # Learned activation parameters (PReLU's slopes), per hidden layer ``[M, 1, width]``:
        # model m's slopes are row m, its first one (per layer) or all (per neuron); rows of
        # other activations are never read, so their gradient is 0 and they never change.
        self.slopes = torch.nn.ParameterList()
        if any(act.learns for runs in self.runs for _, _, act in runs):
            hidden = zip(*(net.hidden() for net in nets), strict=True)
            for w, layer in zip(self.weights[:-1], hidden, strict=True):
                slope = torch.zeros(len(nets), 1, w.shape[2])
                for m, (_, act) in enumerate(layer):
                    if act.learns:
                        slope[m, 0, : act.weight.numel()] = act.weight.detach()
                self.slopes.append(torch.nn.Parameter(slope.to(w.device)))

    def tensors(self) -> list[torch.nn.Parameter]:
        """Every stacked parameter, in the order the optimiser and its state slices use."""
        return [*self.weights, *self.biases, *self.slopes]

    def _slope(self, i: int, a: int, b: int, act: Activation) -> torch.Tensor:
        return self.slopes[i][a:b, :, : act.weight.numel()]

    @property
    def size(self) -> int:
        return self.weights[0].shape[0]

    @property
    def apart(self) -> bool:
        """Each model computed on its own (the CPU), or all in one batched call (CUDA)."""
        return self.weights[0].device.type == "cpu"

    def _affine(self, i: int, h: torch.Tensor) -> torch.Tensor:
        w, b = self.weights[i], self.biases[i]
        if not self.apart:
            return torch.baddbmm(b, h, w)
        # unbind, not indexing: its backward stacks the M gradients once (indexing's would
        # write each into a zero tensor of the whole stack)
        parts = zip(b.unbind(0), h.unbind(0), w.unbind(0), strict=True)
        return torch.stack([torch.addmm(bm, hm, wm) for bm, hm, wm in parts])

    def _activate(self, i: int, z: torch.Tensor, derivative: bool = False) -> torch.Tensor:
        if self.apart:
            return torch.stack(
                [
                    self._apply(i, zm[None], m, m + 1, self.activation_of(i, m), derivative)[0]
                    for m, zm in enumerate(z.unbind(0))
                ]
            )
        runs = self.runs[i]
        if len(runs) == 1:
            return self._apply(i, z, *runs[0], derivative)
        return torch.cat([self._apply(i, z[a:b], a, b, act, derivative) for a, b, act in runs])

    def _apply(
        self, i: int, z: torch.Tensor, a: int, b: int, act: Activation, derivative: bool
    ) -> torch.Tensor:
        if act.learns:  # each model its own slopes
            slope = self._slope(i, a, b, act)
            return prelu_derivative(z, slope) if derivative else prelu(z, slope, act.impl)
        return act.derivative(z) if derivative else act(z)

    def layers(self, x: torch.Tensor):
        """Yield (z, h) per hidden layer, then the logits; ``x`` is ``[M, B, inputs]`` or one
        ``[B, inputs]`` batch that every model sees."""
        h = x.expand(self.size, *x.shape) if x.dim() == 2 else x
        last = len(self.weights) - 1
        for i in range(len(self.weights)):
            z = self._affine(i, h)
            if i == last:
                yield z, None
                return
            h = self._activate(i, z)
            yield z, h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *_, (logits, _) = self.layers(x)
        return logits

    def state_dict_of(self, m: int) -> dict[str, torch.Tensor]:
        """Model ``m``'s weights as ``mlp.MLP`` names them (on the device, copied)."""
        state = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            state[f"layers.{2 * i}.weight"] = w.detach()[m].t().contiguous()
            state[f"layers.{2 * i}.bias"] = b.detach()[m, 0].clone()
        for i, slope in self.slopes_of(m):
            state[f"layers.{2 * i + 1}.weight"] = slope.clone()
        return state

    def activation_of(self, i: int, m: int) -> Activation:
        return next(act for a, b, act in self.runs[i] if a <= m < b)

    def slopes_of(self, m: int) -> list[tuple[int, torch.Tensor]]:
        """Model ``m``'s learned slopes: (hidden layer, its slopes) where it has them."""
        out = []
        for i in range(len(self.slopes)):
            act = self.activation_of(i, m)
            if act.learns:
                out.append((i, self.slopes[i].detach()[m, 0, : act.weight.numel()]))
        return out

    def first_and_last(self, m: int) -> tuple[weights.Layer, weights.Layer]:
        def layer(i: int) -> weights.Layer:
            p = self.weights[i]
            return p.detach()[m].t(), None if p.grad is None else p.grad[m].t()

        return layer(0), layer(len(self.weights) - 1)


def make_optimizer(tc: TrainConfig, stack: Stack, lr: float) -> torch.optim.Optimizer:
    # One tensor per layer for all models: the update is elementwise, so each model's slice
    # is updated as it would be alone. foreach, not fused: the fused CPU kernel treats the
    # tail of a tensor apart from its body, which would tie a model's bits to its position.
    params = stack.tensors()
    if tc.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, foreach=True)
    return torch.optim.SGD(params, lr=lr, momentum=tc.momentum, foreach=True)


def _slices(optimizer: torch.optim.Optimizer, params: list, m: int) -> list[dict]:
    """Model ``m``'s slice of the optimiser state, per parameter (copies)."""
    out = []
    for p in params:
        state = optimizer.state.get(p, {})
        out.append(
            {k: (v[m].clone() if torch.is_tensor(v) and v.dim() else v) for k, v in state.items()}
        )
    return out


def _restack(optimizer: torch.optim.Optimizer, params: list, members: list[Member]) -> None:
    """Set the optimiser state of the stacked ``params`` from the members' slices (none for
    models that start: their state starts empty, as alone)."""
    if len({bool(mb.optimizer) for mb in members}) > 1:
        raise ValueError("a pack holds models that start or models that resume, not both")
    if not members[0].optimizer:
        return
    for j, p in enumerate(params):
        # A model saved in a pack without learned slopes has no slice of the slope tensors
        # (its pack had none): zeros, the state its rows of them would have had, since they
        # never get a gradient (only a learning activation reads its rows).
        slices = [mb.optimizer[j] if j < len(mb.optimizer) else {} for mb in members]
        reference = next((s for s in slices if s), None)
        if reference is None:
            continue
        state = {}
        for k, v in reference.items():
            if torch.is_tensor(v) and v.dim():
                rows = [s[k] if k in s else torch.zeros_like(v) for s in slices]
                state[k] = torch.stack(rows).to(p.device)
            else:
                state[k] = v.clone() if torch.is_tensor(v) else v
        optimizer.state[p] = state


@torch.no_grad()
def _snapshot(stack: Stack, subset: torch.Tensor) -> list[NeuronExtremes]:
    """Every model's neuron snapshot on ``subset``, all models in each stacked forward."""
    was_training = stack.training
    stack.eval()
    widths = [w.shape[2] for w in stack.weights[:-1]]
    max_out = [torch.zeros(stack.size, n, device=subset.device) for n in widths]
    max_der = [torch.zeros(stack.size, n, device=subset.device) for n in widths]
    for start_ in range(0, len(subset), EXTREMES_BATCH):
        for i, (z, h) in enumerate(stack.layers(subset[start_ : start_ + EXTREMES_BATCH])):
            if h is None:
                break
            torch.maximum(max_out[i], h.abs().amax(1), out=max_out[i])
            der = stack._activate(i, z, derivative=True)
            torch.maximum(max_der[i], der.abs().amax(1), out=max_der[i])
    stack.train(was_training)
    snapshots = []
    for m in range(stack.size):
        scale = [stack.activation_of(i, m).max_abs_derivative() for i in range(len(stack.runs))]
        snapshots.append(
            NeuronExtremes(  # copies: a view would carry (and save) every model's rows
                [t[m].clone() for t in max_out],
                [t[m] / s for t, s in zip(max_der, scale, strict=True)],
            )
        )
    return snapshots


@torch.no_grad()
def _validate(stack: Stack, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per model: mean cross-entropy and accuracy on (x, y), as tensors on the device."""
    stack.eval()
    loss = torch.zeros(stack.size, device=x.device, dtype=torch.float64)
    correct = torch.zeros(stack.size, device=x.device, dtype=torch.long)
    for s in range(0, len(x), VALIDATION_BATCH):
        logits, targets = stack(x[s : s + VALIDATION_BATCH]), y[s : s + VALIDATION_BATCH]
        flat = F.cross_entropy(
            logits.flatten(0, 1), targets.repeat(stack.size), reduction="none"
        ).view(stack.size, -1)
        loss += flat.sum(1)
        correct += (logits.argmax(2) == targets).sum(1)
    stack.train()
    return loss / len(x), correct.double() / len(x)


def train_epoch(
    stack: Stack,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    orders: torch.Tensor,
    batch_size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass of every model over the full batches of its own order (``orders[m]``):
    one gather, one batched GEMM per layer and one optimiser step per batch for all models.
    Returns per model the summed batch losses and the correct predictions, on the device:
    nothing in the loop waits for it."""
    size = stack.size
    loss_sum = torch.zeros(size, device=x.device)
    correct = torch.zeros(size, device=x.device, dtype=torch.long)
    stack.train()
    for b in range(orders.shape[1] // batch_size):
        idx = orders[:, b * batch_size : (b + 1) * batch_size].reshape(-1)
        targets = y.index_select(0, idx).view(size, -1)
        logits = stack(x.index_select(0, idx).view(size, batch_size, -1))
        losses = (
            F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
            .view(size, -1)
            .mean(1)
        )
        optimizer.zero_grad()
        losses.sum().backward()
        optimizer.step()
        loss_sum += losses.detach()
        correct += (logits.detach().argmax(2) == targets).sum(1)
    return loss_sum, correct


def train_pack(
    tc: TrainConfig,
    specs: list[ModelSpec],
    splits: datasets.Splits,
    dev: torch.device,
    *,
    resumed: dict[str, ResumeState] | None = None,
    on_epoch: Callable[[str, dict], None] = lambda name, row: None,
    save_state: Callable[[dict[str, ResumeState]], None] | None = None,
    on_done: Callable[[str, TrainResult], None] = lambda name, result: None,
    on_progress: Callable[[int], None] = lambda epoch: None,
) -> dict[str, TrainResult]:
    """Train ``specs`` (same hidden widths) as one stack until each stops.

    ``on_epoch(name, row)`` gets each model's epoch row; ``on_done(name, result)`` each model's
    result when it stops; ``save_state`` the resume state of every model still training after
    an epoch (the stage decides whether to write it); a stop request is raised right after.
    """
    if len({(s.hidden_sizes, s.lr) for s in specs}) != 1:
        raise ValueError(
            "a pack holds models of one architecture (the same hidden widths) and learning rate"
        )
    lr = specs[0].lr
    resumed = resumed or {}
    x, y = splits.x_train, splits.y_train
    subset = x[: tc.dynamics_subset]
    n_batches = len(x) // tc.batch_size
    if n_batches == 0:
        raise ConfigError(f"train.batch_size: {tc.batch_size} exceeds the {len(x)} training images")
    # Consecutive runs of one activation: a stacked layer applies each in one call.
    specs = sorted(specs, key=lambda s: (s.activation, sorted(s.options.items())))
    nets, members = [], []
    for spec in specs:
        if spec.name in resumed:
            net, member = resume(spec, tc, dev, resumed[spec.name])
            member.optimizer = [
                {k: (v.to(dev) if torch.is_tensor(v) and v.dim() else v) for k, v in s.items()}
                for s in resumed[spec.name].optimizer["slices"]
            ]
        else:
            net, member = start(spec, tc, dev)
        nets.append(net)
        members.append(member)
    stack = Stack(nets)
    del nets
    fresh = [m for m, mb in enumerate(members) if not mb.snapshots]
    if fresh:
        snapshots = _snapshot(stack, subset)
        for m in fresh:
            members[m].snapshots = [snapshots[m]]
    params = stack.tensors()
    optimizer = make_optimizer(tc, stack, lr)
    _restack(optimizer, params, members)
    results: dict[str, TrainResult] = {}
    while members:
        epoch_start = time.perf_counter()
        size = stack.size
        orders = torch.stack([torch.randperm(len(x), generator=mb.generator) for mb in members]).to(
            dev
        )
        loss_sum, correct = train_epoch(stack, optimizer, x, y, orders, tc.batch_size)
        val_loss, val_acc = _validate(stack, splits.x_val, splits.y_val)
        stats = [
            weights.weight_stats_tensors(stack.first_and_last(m), stack.slopes_of(m))
            for m in range(size)
        ]
        for m, mb in enumerate(members):
            mb.histograms.record(stack.first_and_last(m))
        # One copy to the host per epoch for every model's numbers.
        numbers = torch.cat(
            [
                (loss_sum / n_batches).double(),
                correct.double() / (n_batches * tc.batch_size),
                val_loss,
                val_acc,
                *[torch.stack(list(s.values())).double() for s in stats],
            ]
        ).tolist()
        rows = []
        offset = 4 * size  # then each model's statistics, as many as it has
        for m, mb in enumerate(members):
            mb.epoch += 1
            values = numbers[offset : offset + len(stats[m])]
            offset += len(stats[m])
            rows.append(
                {
                    "epoch": mb.epoch,
                    "train_loss": numbers[m],
                    "train_acc": numbers[size + m],
                    "val_loss": numbers[2 * size + m],
                    "val_acc": numbers[3 * size + m],
                    **dict(zip(stats[m], values, strict=True)),
                }
            )
        stopping = []
        probe = False
        for m, (mb, row) in enumerate(zip(members, rows, strict=True)):
            mb.history.append(row)
            improved, mb.stopped = mb.stop.update(tc, mb.epoch, row)
            if mb.stopped or mb.epoch % tc.probe_every == 0:
                probe = True
            if mb.stopped == DIVERGED:
                mb.diverged = mb.epoch
            elif improved:
                mb.best_state = stack.state_dict_of(m)
            mb.end_of_epoch(tc.budgets)
            if mb.stopped:
                stopping.append(m)
        if probe:
            snapshots = _snapshot(stack, subset)
            for m, mb in enumerate(members):
                last = m in stopping
                if last or mb.epoch % tc.probe_every == 0:
                    mb.snapshots.append(snapshots[m])
                    mb.probe_epochs.append(mb.epoch)
        seconds = time.perf_counter() - epoch_start
        for mb, row in zip(members, rows, strict=True):
            mb.seconds += seconds / size  # the pack's epoch, shared
            on_epoch(mb.spec.name, {**row, "epoch_seconds": seconds})
        on_progress(max(mb.epoch for mb in members))
        if stopping:
            keep = [m for m in range(size) if m not in stopping]
            for m in stopping:
                mb = members[m]
                results[mb.spec.name] = mb.result(len(subset), tc.budgets)
                on_done(mb.spec.name, results[mb.spec.name])
            if not keep:
                break
            for m in keep:
                members[m].optimizer = _slices(optimizer, params, m)
            members = [members[m] for m in keep]
            stack = _take(stack, keep)
            params = stack.tensors()
            optimizer = make_optimizer(tc, stack, lr)
            _restack(optimizer, params, members)
        if save_state is not None:
            params = stack.tensors()
            save_state(
                {
                    mb.spec.name: mb.resume_state(
                        stack.state_dict_of(m), {"slices": _slices(optimizer, params, m)}
                    )
                    for m, mb in enumerate(members)
                }
            )
        interrupt.check()  # a safe point: the states to resume from are saved
    return results


def _take(stack: Stack, keep: list[int]) -> Stack:
    """The stack of the models ``keep`` (weights copied, runs of activations recomputed)."""
    new = copy.copy(stack)
    torch.nn.Module.__init__(new)
    new.weights = torch.nn.ParameterList(
        torch.nn.Parameter(w.detach()[keep].contiguous()) for w in stack.weights
    )
    new.biases = torch.nn.ParameterList(
        torch.nn.Parameter(b.detach()[keep].contiguous()) for b in stack.biases
    )
    new.slopes = torch.nn.ParameterList(
        torch.nn.Parameter(s.detach()[keep].contiguous()) for s in stack.slopes
    )
    new.runs = []
    for runs in stack.runs:
        acts = [act for a, b, act in runs for _ in range(a, b)]
        new.runs.append(_runs([acts[m] for m in keep]))
    return new
