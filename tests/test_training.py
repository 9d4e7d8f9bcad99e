"""The training loop on small synthetic data: implementations agree, reruns are bit-identical,
initialisation schemes do what they say."""

import dataclasses

import pytest
import torch

from actlab.identity import ModelSpec
from actlab.model import mlp
from actlab.model.activations import kaiming_gain
from actlab.model.registry import ACTIVATIONS
from actlab.probes import census, layers, weights
from actlab.probes.neurons import NeuronHistory
from actlab.training import loop, stopping
from actlab.training.state import ResumeState
from tests.helpers.blobs import same_result, splits, train_config


def spec(activation="tanh", arch="base", seed=42, init="default", hidden=(64, 32)):
    return ModelSpec(
        f"{activation}-{arch}-{seed}", activation, (), arch, hidden, seed, init, lr=0.01
    )


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_implementation_gives_the_same_accuracy_after_one_epoch(activation):
    """fused kernels, formulas through autograd, formulas with a hand-written backward."""
    results = {}
    for impl in ("fused", "formula", "manual"):
        tc = train_config(train__activation_impl=impl)
        r = loop.train_model(tc, spec(activation), splits(), torch.device("cpu"))
        results[impl] = r.history[0]["val_acc"]
    assert results["fused"] == pytest.approx(results["formula"], abs=0.001)  # 0.1 pp
    assert results["fused"] == pytest.approx(results["manual"], abs=0.001)


def test_cpu_training_is_bit_identical_across_reruns(threads):
    tc = train_config(train__max_epochs=2)
    a = loop.train_model(tc, spec(), splits(), torch.device("cpu"))
    b = loop.train_model(tc, spec(), splits(), torch.device("cpu"))
    assert all(torch.equal(a.best_state[k], b.best_state[k]) for k in a.best_state)
    assert a.history == b.history


def test_seed_sets_the_same_initial_weights_for_every_activation():
    """Paired comparisons: one seed, one architecture -> the same starting point."""
    relu = mlp.build(spec("relu")).state_dict()
    tanh = mlp.build(spec("tanh")).state_dict()
    assert all(torch.equal(relu[k], tanh[k]) for k in relu)


def test_init_schemes():
    hidden = (512, 256)
    default = mlp.build(spec("relu", hidden=hidden))
    kaiming = mlp.build(spec("relu", init="kaiming", hidden=hidden))
    xavier = mlp.build(spec("tanh", init="xavier", hidden=hidden))
    # PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), std 1/sqrt(3 fan_in)
    assert default.linears()[0].weight.std().item() == pytest.approx((3 * 784) ** -0.5, rel=0.02)
    # He: N(0, 2 / fan_in) for relu; the output layer is linear (gain 1); zero biases
    assert kaiming.linears()[0].weight.std().item() == pytest.approx((2 / 784) ** 0.5, rel=0.02)
    assert kaiming.linears()[1].weight.std().item() == pytest.approx((2 / 512) ** 0.5, rel=0.02)
    assert kaiming.linears()[-1].weight.std().item() == pytest.approx((1 / 256) ** 0.5, rel=0.1)
    assert all(torch.equal(lin.bias, torch.zeros_like(lin.bias)) for lin in kaiming.linears())
    # Glorot: U(-a, a), a = sqrt(6 / (fan_in + fan_out)), std a / sqrt(3)
    a = (6 / (784 + 512)) ** 0.5
    w = xavier.linears()[0].weight
    assert w.abs().max().item() <= a and w.std().item() == pytest.approx(a / 3**0.5, rel=0.02)
    assert kaiming_gain("leakyrelu", {"alpha": 0.1}) == pytest.approx((2 / 1.01) ** 0.5)
    assert kaiming_gain("tanh", {}) == pytest.approx(5 / 3)


def test_divergence_stops_the_model_and_keeps_the_last_finite_best():
    """lr 1e6 with plain SGD: the loss overflows within the first epochs."""
    tc = train_config(train__max_epochs=5, train__lr=1e6, train__momentum=0.0)
    diverging = dataclasses.replace(spec("relu"), lr=1e6)
    result = loop.train_model(tc, diverging, splits(), torch.device("cpu"))
    assert result.diverged_at_epoch is not None and result.stopped == "diverged"
    assert len(result.history) == result.diverged_at_epoch  # stopped there
    assert all(torch.isfinite(t).all() for t in result.best_state.values())
    assert result.best_epoch < result.diverged_at_epoch
    sane = loop.train_model(train_config(), spec("relu"), splits(), torch.device("cpu"))
    assert sane.diverged_at_epoch is None


class Killed(Exception):
    pass


def stopped_and_resumed(tc, model, stop_after: int):
    """The model trained until its state after epoch ``stop_after`` is saved (through bytes, as
    the stage writes it to disk), killed there, then resumed from that state."""
    import io as bytes_io

    saved = {}

    def save_then_die(state):
        buffer = bytes_io.BytesIO()
        torch.save(state.to_dict(), buffer)
        saved["state"] = buffer.getvalue()
        if state.epoch == stop_after:
            raise Killed

    with pytest.raises(Killed):
        loop.train_model(tc, model, splits(), torch.device("cpu"), save_state=save_then_die)
    state = ResumeState.from_dict(torch.load(bytes_io.BytesIO(saved["state"]), weights_only=True))
    return loop.train_model(tc, model, splits(), torch.device("cpu"), resume=state)


@pytest.mark.parametrize(
    ("stop_after", "probe_every", "activation"),
    [(1, 1, "tanh"), (3, 1, "tanh"), (3, 2, "tanh"), (4, 2, "tanh"), (3, 1, "prelu")],
)
def test_a_stopped_training_resumes_bit_identical(stop_after, probe_every, activation, threads):
    """Stop right after the state of epoch k is saved, resume from it: every result equals
    that of a run that was never stopped (PReLU: with its learned slopes and their momentum)."""

    tc = train_config(train__max_epochs=6, train__patience=6, train__probe_every=probe_every)
    model = spec(activation)
    whole = loop.train_model(tc, model, splits(), torch.device("cpu"))

    assert same_result(stopped_and_resumed(tc, model, stop_after), whole)


def test_probe_every_k_epochs_records_the_same_rows_as_every_epoch():
    """train.probe_every: 3 probes at init, epochs 3 and 6, and the last epoch (7), with
    exactly the values that probing every epoch gives there; training itself is untouched."""

    def run(k):
        tc = train_config(train__max_epochs=7, train__patience=7, train__probe_every=k)
        return loop.train_model(tc, spec("relu"), splits(), torch.device("cpu"))

    every, sparse = run(1), run(3)
    assert every.history == sparse.history
    assert every.neuron_history.epochs == list(range(8))
    assert sparse.neuron_history.epochs == [0, 3, 6, 7]
    for key in ("max_abs_output", "max_rel_derivative"):
        for a, b in zip(
            getattr(every.neuron_history, key), getattr(sparse.neuron_history, key), strict=True
        ):
            assert a.shape[0] == 8 and b.shape[0] == 4
            assert torch.equal(a[[0, 3, 6, 7]], b)
    rows = census.dynamics(sparse.neuron_history, 1e-3)
    assert [r["epoch"] for r in rows] == [0, 3, 6, 7]
    every_rows = census.dynamics(every.neuron_history, 1e-3)
    assert rows == [r for r in every_rows if r["epoch"] in (0, 3, 6, 7)]
    saved = NeuronHistory.from_dict(sparse.neuron_history.to_dict())
    assert census.dynamics(saved, 1e-3) == rows  # what dead_neurons reads back


@pytest.mark.parametrize(
    ("edits", "stopped_at"),
    [({"train__patience": 1, "train__lr": 1e-9}, 2), ({"train__lr": 1e30}, 1)],
    ids=["early stop", "divergence"],
)
def test_the_epoch_training_stops_at_is_probed(edits, stopped_at):
    """However training ends, its last epoch is in the neuron history, whatever probe_every."""
    tc = train_config(train__max_epochs=9, train__probe_every=5, **edits)
    relu = dataclasses.replace(spec("relu"), lr=tc.lr[0])
    result = loop.train_model(tc, relu, splits(), torch.device("cpu"))
    assert len(result.history) == stopped_at
    assert result.neuron_history.epochs == [0, stopped_at]


def test_weight_histograms_every_epoch_on_fixed_bins():

    tc = train_config(train__max_epochs=3, train__patience=3)
    result = loop.train_model(tc, spec("tanh", hidden=(16, 8)), splits(), torch.device("cpu"))
    h = result.weight_histograms
    epochs = len(result.history)
    bins = weights.WEIGHT_BINS
    first, last = result.init_state["layers.0.weight"], result.init_state["layers.4.weight"]
    for label, w in (("first", first), ("last", last)):
        counts, grads = h["counts"][f"{label}/weights"], h["counts"][f"{label}/grads_log10"]
        assert counts.shape == (epochs + 1, bins) and grads.shape == (epochs, bins)
        assert (counts.sum(1) == w.numel()).all() and (grads.sum(1) == w.numel()).all()
        edges = h["edges"][f"{label}/weights"]
        r = weights.WEIGHT_RANGE_OF_INIT * w.abs().max()
        assert torch.allclose(edges[[0, -1]], torch.stack([-r, r]))
        assert torch.equal(counts[0], layers.fixed_histogram(w, bins, -float(r), float(r)))
        assert not torch.equal(counts[0], counts[-1])  # the weights moved
        assert h["edges"][f"{label}/grads_log10"][[0, -1]].tolist() == [-10.0, 0.0]


def test_fixed_histogram_counts_like_histc_and_clamps_on_request():
    values = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.49, 0.5, 1.0, 3.0, float("nan")])
    assert layers.fixed_histogram(values, 4, -1.0, 1.0).tolist() == [1, 1, 2, 2]  # like histc
    assert (
        layers.fixed_histogram(values, 4, -1.0, 1.0).tolist()
        == torch.histc(values[:-1], 4, -1.0, 1.0).long().tolist()
    )
    assert layers.fixed_histogram(values, 4, -1.0, 1.0, clamp=True).tolist() == [2, 1, 2, 3]


def _rows(*epochs):
    """(val_acc, val_loss) per epoch as the rows ``Stopping.update`` takes."""
    return [{"train_loss": 1.0, "val_acc": a, "val_loss": v} for a, v in epochs]


def _stops(rows, **edits):
    tc = train_config(**{"train__max_epochs": 50, **edits})
    stop = stopping.Stopping()
    for epoch, row in enumerate(rows, 1):
        improved, why = stop.update(tc, epoch, row)
        if why:
            return epoch, why, stop.best_epoch
    return None, None, stop.best_epoch


# At chance: accuracy flat at 0.10 from epoch 1, the loss still falling every epoch.
LEARNING_AT_CHANCE = _rows(*[(0.10, 2.31 - 0.001 * e) for e in range(12)])


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        ({"train__patience_on": "val_acc", "train__patience": 3}, (4, "patience", 1)),
        ({"train__patience_on": "either", "train__patience": 3}, (None, None, 1)),
        ({"train__patience_on": "val_loss", "train__patience": 3}, (None, None, 1)),
        (
            {"train__patience_on": "val_acc", "train__patience": 3, "train__min_epochs": 10},
            (10, "patience", 1),
        ),
        ({"train__patience_on": "val_acc", "train__max_epochs": 6}, (6, "max_epochs", 1)),
    ],
)
def test_early_stopping_waits_for_the_progress_it_is_told_to(edits, expected):
    assert _stops(LEARNING_AT_CHANCE, **edits) == expected


def test_either_stops_when_accuracy_and_loss_have_both_stalled():
    rows = _rows((0.5, 1.0), (0.6, 0.9), (0.7, 0.95), (0.65, 0.8), (0.6, 0.85), (0.6, 0.9))
    # best accuracy at 3, lowest loss at 4: patience 2 counts from epoch 4
    assert _stops(rows, train__patience=2, train__patience_on="either") == (6, "patience", 3)
    assert _stops(rows, train__patience=2, train__patience_on="val_acc") == (5, "patience", 3)
    assert _stops(rows, train__patience=2, train__patience_on="val_loss") == (6, "patience", 3)


def test_a_loss_that_is_not_finite_stops_as_diverged_without_a_new_best():
    tc = train_config(train__max_epochs=50)
    stop = stopping.Stopping()
    stop.update(tc, 1, {"train_loss": 1.0, "val_acc": 0.5, "val_loss": 1.0})
    nan = {"train_loss": float("nan"), "val_acc": 0.9, "val_loss": 0.1}
    assert stop.update(tc, 2, nan) == (False, "diverged") and stop.best_epoch == 1


def test_a_fixed_budget_trains_every_model_max_epochs():
    """Early stopping off (the default): no patience ends a model; each keeps its best epoch."""
    tc = train_config(train__max_epochs=6, train__patience=1, train__early_stopping=False)
    result = loop.train_model(tc, spec("relu"), splits(), torch.device("cpu"))
    assert len(result.history) == 6 and result.stopped == stopping.MAX_EPOCHS
    accs = [row["val_acc"] for row in result.history]
    assert result.best_epoch == accs.index(max(accs)) + 1


@pytest.mark.parametrize("stop_after", [None, 3])
def test_each_budget_keeps_the_best_checkpoint_within_it(stop_after, threads):
    """train.budgets [2, 4] of 6 epochs: the best-validation epoch among the first 2 and the
    first 4, with that epoch's weights; the same when training was stopped at epoch 3 and
    resumed (the budgets' states travel in the resume state)."""

    tc = train_config(
        train__max_epochs=6, train__budgets=[2, 4], train__early_stopping=False, train__lr=0.05
    )
    model = spec("tanh")
    whole = loop.train_model(tc, model, splits(), torch.device("cpu"))
    accs = [row["val_acc"] for row in whole.history]
    for budget in (2, 4):
        epoch, state = whole.budget_best[budget]
        assert epoch == accs.index(max(accs[:budget])) + 1
        rerun = loop.train_model(
            train_config(
                train__max_epochs=epoch,
                train__budgets=[],
                train__early_stopping=False,
                train__lr=0.05,
            ),
            model,
            splits(),
            torch.device("cpu"),
        )
        assert all(torch.equal(state[k], v) for k, v in rerun.best_state.items())
    if stop_after is None:
        return
    assert same_result(stopped_and_resumed(tc, model, stop_after), whole)
