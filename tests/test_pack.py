"""Packs: models of one architecture trained as one stacked network, each as if alone."""

import dataclasses
import io

import pytest
import torch

from actlab.identity import ModelSpec
from actlab.training import pack, schedule
from actlab.training.state import ResumeState
from tests.helpers.blobs import same_result as same
from tests.helpers.blobs import splits, train_config


def spec(activation, seed=42, options=(), hidden=(64, 32), lr=0.01):
    return ModelSpec(f"{activation}-base-{seed}", activation, options, "base", hidden, seed, lr=lr)


MATES = [
    spec("tanh"),
    spec("sigmoid", 43),
    spec("leakyrelu", 44, (("alpha", 0.1),)),
    spec("prelu", 46, (("per", "neuron"),)),  # learned slopes: stacked, sliced, resumed
]


def run(specs, dev="cpu", **edits):
    tc = train_config(**{"train__max_epochs": 4, "train__patience": 2, **edits})
    specs = [dataclasses.replace(s, lr=tc.lr[0]) for s in specs]  # the rate the test sets
    return pack.train_pack(tc, specs, splits(), torch.device(dev))


@pytest.mark.parametrize("threads", [1, 2, 3], indirect=True, ids="{}threads".format)
@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 0.01), ("adam", 3e-4)])
def test_a_model_does_not_depend_on_its_pack_mates(optimizer, lr, threads):
    """relu alone and in a pack of four (other activations, seeds, options): bit-identical,
    also when mates stop early and leave the stack (with their optimiser state), under one
    thread and several (three: work split mid-vector)."""
    edits = {"train__optimizer": optimizer, "train__lr": lr, "train__patience": 1}
    edits |= {"train__max_epochs": 6, "train__budgets": [2, 4]}  # best within each, too
    alone = run([spec("relu")], **edits)
    packed = run([spec("relu"), *MATES], **edits)
    assert same(alone["relu-base-42"], packed["relu-base-42"])
    epochs = {name: len(r.history) for name, r in packed.items()}
    assert min(epochs.values()) < epochs["relu-base-42"]  # a mate left the stack before relu


def test_each_model_starts_from_its_own_seeded_weights():
    from actlab.model import mlp

    packed = run([spec("relu"), *MATES])
    for s in [spec("relu"), *MATES]:
        built = mlp.build(s).state_dict()
        assert all(torch.equal(built[k], packed[s.name].init_state[k]) for k in built)


def test_a_diverging_model_stops_and_leaves_the_others_alone(threads):
    """At lr 3 the linear network's loss overflows in epoch 1; sigmoid and relu train on,
    exactly as they do without it."""
    edits = {"train__lr": 3.0, "train__patience": 4}
    others = [spec("sigmoid", 43), spec("relu", 44)]
    packed = run([spec("identity"), *others], **edits)
    assert packed["identity-base-42"].diverged_at_epoch == 1
    assert all(torch.isfinite(t).all() for t in packed["identity-base-42"].best_state.values())
    without = run(others, **edits)
    for s in others:
        assert packed[s.name].diverged_at_epoch is None
        assert same(packed[s.name], without[s.name])


class Stop(Exception):
    pass


def stopper(saved: dict, epoch: int = 2):
    """A ``save_state`` that keeps each state as the stage writes it (torch.save bytes) in
    ``saved`` and stops training right after epoch ``epoch``'s states."""

    def save_then_stop(states):
        for name, state in states.items():
            buffer = io.BytesIO()
            torch.save(state.to_dict(), buffer)
            saved[name] = buffer.getvalue()
        if next(iter(states.values())).epoch == epoch:
            raise Stop

    return save_then_stop


def loaded(saved: dict, skip=()) -> dict:
    return {
        name: ResumeState.from_dict(torch.load(io.BytesIO(raw), weights_only=True))
        for name, raw in saved.items()
        if name not in skip
    }


def test_a_stopped_pack_resumes_bit_identical(threads):
    """Stop right after the states of epoch 2 are saved; resume them as a pack: every model
    ends as it would have without the stop."""
    specs = [spec("relu"), *MATES]
    whole = run(specs)
    tc = train_config(train__max_epochs=4, train__patience=2)
    saved, done = {}, {}
    with pytest.raises(Stop):
        pack.train_pack(
            tc,
            specs,
            splits(),
            torch.device("cpu"),
            save_state=stopper(saved),
            on_done=lambda name, result: done.__setitem__(name, result),
        )
    states = loaded(saved, skip=done)
    rest = [s for s in specs if s.name in states]
    resumed = pack.train_pack(tc, rest, splits(), torch.device("cpu"), resumed=states)
    for name, result in {**done, **resumed}.items():
        assert same(result, whole[name]), name


def test_packs_hold_one_architecture_and_one_start():
    a, b = spec("relu"), spec("tanh", hidden=(32,))
    c, d = spec("elu"), spec("swish")
    assert schedule.packs([a, b, c, d], 1, {}) == [[a], [b], [c], [d]]
    assert schedule.packs([a, b, c, d], 2, {}) == [[a, c], [d], [b]]
    state = ResumeState(3, {}, {}, torch.zeros(1), [], 0.0, 0, {}, [], [], {}, 0.0)
    assert schedule.packs([a, b, c, d], 8, {"elu-base-42": state}) == [[a, d], [b], [c]]


@pytest.mark.cuda
def test_cuda_reruns_are_bit_identical(deterministic):
    """On CUDA, with deterministic algorithms: a pack trained twice gives the same bits."""
    first = run([spec("relu"), *MATES], dev="cuda")
    again = run([spec("relu"), *MATES], dev="cuda")
    assert all(same(first[n], again[n]) for n in first)


@pytest.mark.cuda
def test_cuda_a_model_does_not_depend_on_its_pack_mates(deterministic):
    """On CUDA: relu alone and in a pack of four. cuBLAS may pick another batched kernel for
    another number of matrices; this test says whether it does on the GPU it runs on."""
    alone = run([spec("relu")], dev="cuda")
    packed = run([spec("relu"), *MATES], dev="cuda")
    assert same(alone["relu-base-42"], packed["relu-base-42"])


@pytest.mark.parametrize("impl", ["fused", "formula", "manual"])
@pytest.mark.parametrize("per", ["layer", "neuron"])
def test_prelu_learns_its_slopes_in_a_pack_as_alone(per, impl, threads):
    """PReLU's slopes are stacked with the weights: alone (pack of one) and beside mates of
    other activations, a PReLU model trains bit for bit the same, its slopes move away from
    their start, are in its best checkpoint under torch.nn.PReLU's name and in its epoch rows."""
    from actlab.training import loop

    prelu = spec("prelu", 45, (("init", 0.25), ("per", per)))
    edits = {"train__activation_impl": impl, "train__max_epochs": 3, "train__patience": 3}
    alone = run([prelu], **edits)["prelu-base-45"]
    packed = run([prelu, *MATES], **edits)["prelu-base-45"]
    assert same(alone, packed)
    tc = train_config(**{"train__max_epochs": 3, "train__patience": 3, **edits})
    plain = loop.train_model(tc, dataclasses.replace(prelu, lr=tc.lr[0]), splits(), "cpu")
    width = {"layer": 1, "neuron": 64}[per]
    for result in (plain, alone):  # the training loop's own optimiser: the same learning
        slopes = result.best_state["layers.1.weight"]
        assert slopes.shape == (width,) and result.init_state["layers.1.weight"].eq(0.25).all()
        assert not torch.equal(slopes, result.init_state["layers.1.weight"])
        row = result.history[result.best_epoch - 1]
        assert {"prelu/layer1/slope", "prelu/layer2/slope"} <= row.keys()
        assert ("prelu/layer1/slope_std" in row) == (per == "neuron")
        assert row["prelu/layer1/slope"] == pytest.approx(slopes.mean().item())
    torch.testing.assert_close(
        plain.best_state["layers.1.weight"],
        alone.best_state["layers.1.weight"],
        rtol=1e-3,
        atol=1e-4,
    )


@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 0.01), ("adam", 3e-4)])
def test_models_saved_in_packs_with_and_without_prelu_resume_together(optimizer, lr, threads):
    """After a change of train.pack_size between a stop and its resume, models saved in a pack
    without learned slopes resume beside a PReLU model: bit-identical to no interruption."""
    edits = {"train__optimizer": optimizer, "train__lr": lr}
    prelu, relu, tanh = (
        dataclasses.replace(s, lr=lr) for s in (spec("prelu", 46), spec("relu"), spec("tanh", 43))
    )
    whole = run([prelu, relu, tanh], **edits)
    tc = train_config(train__max_epochs=4, train__patience=2, **edits)
    saved = {}
    for group in ([prelu, relu], [tanh]):  # two packs, one with slopes, one without
        with pytest.raises(Stop):
            pack.train_pack(tc, group, splits(), torch.device("cpu"), save_state=stopper(saved))
    states = loaded(saved)
    resumed = pack.train_pack(
        tc, [prelu, relu, tanh], splits(), torch.device("cpu"), resumed=states
    )
    for name, result in resumed.items():
        assert same(result, whole[name]), name


@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 0.01), ("adam", 3e-4)])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "prelu"])
def test_the_loop_and_a_pack_of_one_agree_to_float_rounding(activation, optimizer, lr, threads):
    """Not bit for bit: the loop's layers are torch.nn.Linear (weights [out, in], a fused
    optimiser, the loss's own mean), a pack's are stacked [in, out] with a foreach optimiser.
    After three epochs they agree to float32 rounding: the same epochs, weights within 1e-5."""
    from actlab.training import loop

    edits = {"train__optimizer": optimizer, "train__lr": lr, "train__max_epochs": 3}
    model = spec(activation, lr=lr)
    tc = train_config(train__patience=3, **edits)
    alone = loop.train_model(tc, model, splits(), "cpu")
    packed = run([model], train__patience=3, **edits)[model.name]
    assert alone.best_epoch == packed.best_epoch and len(alone.history) == len(packed.history)
    for a, b in zip(alone.history, packed.history, strict=True):
        assert a["val_acc"] == b["val_acc"] and a["val_loss"] == pytest.approx(b["val_loss"])
    for k, w in alone.best_state.items():
        torch.testing.assert_close(packed.best_state[k], w, rtol=1e-5, atol=1e-6)
