"""The train stage's Ray path without a cluster: the address and resource settings and their
errors, an unreachable address failing fast, nothing of Ray loaded without an address, and a
task's events (what a worker sends back) carrying the training a local run makes, bit for bit.
The e2e tests with a real cluster are in tests/test_e2e_ray.py."""

import dataclasses
import subprocess
import sys
import time

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from actlab.data import datasets
from actlab.errors import ConfigError
from actlab.training import cluster, loop, pack
from actlab.training.state import ResumeState
from tests.helpers.blobs import same_result, splits, train_config
from tests.helpers.e2e import free_port
from tests.test_pack import MATES
from tests.test_pack import spec as pack_spec


def test_no_address_trains_here():
    assert cluster.address({}) is None
    assert cluster.address({"RAY_ADDRESS": "  "}) is None
    assert cluster.address({"RAY_ADDRESS": " 10.0.0.1:6379 "}) == "10.0.0.1:6379"


def test_resources_default_to_one_cpu_and_one_gpu_per_task():
    need = cluster.resources({})
    assert need == cluster.Resources(1, 1.0)
    assert need.request("cpu") == {"num_cpus": 1, "num_gpus": 0}
    assert cluster.resources({"ACTLAB_RAY_GPUS": "0.25"}).request("cuda")["num_gpus"] == 0.25
    assert cluster.resources({"ACTLAB_RAY_CPUS": "4", "ACTLAB_RAY_GPUS": "2"}) == (
        cluster.Resources(4, 2.0)
    )


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=6))
def test_a_bad_cpu_count_names_the_variable_and_the_value(raw):
    digits = raw.strip()
    valid = not digits or (digits.isdigit() and int(digits) >= 1)  # empty: the default
    if valid:
        assert cluster.resources({"ACTLAB_RAY_CPUS": raw}).cpus >= 1
        return
    with pytest.raises(ConfigError, match=r"ACTLAB_RAY_CPUS=.*expected a whole number >= 1"):
        cluster.resources({"ACTLAB_RAY_CPUS": raw})


@pytest.mark.parametrize("raw", ["0", "-1", "1.5", "nan", "inf", "one"])
def test_a_bad_gpu_share_names_the_variable_and_the_value(raw):
    with pytest.raises(ConfigError, match=rf"ACTLAB_RAY_GPUS='{raw}': expected a fraction"):
        cluster.resources({"ACTLAB_RAY_GPUS": raw})


@pytest.mark.parametrize(
    ("addr", "where"),
    [("auto", None), ("10.0.0.1:6379", ("10.0.0.1", 6379)), ("head:6380", ("head", 6380))],
)
def test_addresses(addr, where):
    assert cluster._host_port(addr) == where


def test_a_ray_client_address_is_refused_with_the_address_to_give_instead():
    match = r"RAY_ADDRESS='ray://head:10001': Ray Client .* host:port"
    with pytest.raises(ConfigError, match=match):
        cluster._host_port("ray://head:10001")


NODES = [
    {"Alive": True, "Resources": {"CPU": 2.0}},
    {"Alive": True, "Resources": {"CPU": 16.0, "GPU": 1.0}},
    {"Alive": False, "Resources": {"CPU": 64.0, "GPU": 8.0}},  # gone: counts for nothing
]


def test_a_request_some_node_can_meet_passes():
    cluster.check_feasible(cluster.Resources(16, 1.0), "cuda", NODES)
    cluster.check_feasible(cluster.Resources(1, 0.25), "cuda", NODES)
    cluster.check_feasible(cluster.Resources(2, 4.0), "cpu", NODES)  # GPUs asked only on CUDA


@pytest.mark.parametrize(
    ("need", "device_type", "nodes", "message"),
    [
        (cluster.Resources(17, 1.0), "cpu", NODES, r"ACTLAB_RAY_CPUS=17: .*the largest has 16"),
        (cluster.Resources(1, 2.0), "cuda", NODES, r"ACTLAB_RAY_GPUS=2: .*the largest has 1"),
        (cluster.Resources(1, 1.0), "cuda", NODES[:1], r"train.device: 'cuda', but no node"),
    ],
)
def test_a_request_no_node_can_meet_names_the_setting(need, device_type, nodes, message):
    with pytest.raises(ConfigError, match=message):
        cluster.check_feasible(need, device_type, nodes)


@pytest.mark.parametrize("addr", ["head", "head:port", ":6379"])
def test_an_address_without_a_port_says_what_is_expected(addr):
    with pytest.raises(ConfigError, match=rf"RAY_ADDRESS='{addr}': expected host:port"):
        cluster._host_port(addr)


def test_an_unreachable_cluster_fails_fast_with_the_address_and_the_fix():
    addr = f"127.0.0.1:{free_port()}"  # nobody listens there
    start = time.monotonic()
    with pytest.raises(ConfigError) as err:
        cluster.connect(addr)
    assert time.monotonic() - start < 10
    message = str(err.value)
    assert message.startswith(f"RAY_ADDRESS={addr}: no Ray cluster answers there (")
    assert "ray start --head" in message and "unset RAY_ADDRESS" in message


def test_without_an_address_nothing_of_ray_is_imported():
    code = (
        "import sys; import stages.train; from actlab.training import cluster, driver; "
        "assert cluster.address({}) is None; "
        "assert not [m for m in sys.modules if m == 'ray' or m.startswith('ray.')], 'ray'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def prepared():
    """The blobs as ``read_prepared`` gives them: features, labels and their meta."""
    s = splits()
    meta = {"normalization": {"mean": 0.0, "std": 1.0}}  # the blobs as they are
    tensors = {}
    for split, (x, y) in {
        "train": (s.x_train, s.y_train),
        "val": (s.x_val, s.y_val),
        "test": (s.x_test, s.y_test),
    }.items():
        tensors[f"{split}_features"], tensors[f"{split}_labels"] = x, y
    return tensors, meta


def events(tc, specs, resumed=None, threads=1):
    """Every event of a task run here, the thread count it set put back."""
    before = torch.get_num_threads()
    try:
        return list(cluster.train_task(tc, specs, prepared(), "cpu", resumed or {}, threads))
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("every", [0, 3600], ids=["checkpoint-every-epoch", "no-checkpoint"])
def test_a_task_sends_back_the_training_of_a_model_alone(every):
    """The events of a model alone: its result bit for bit as here, and its rows, split over
    the checkpoints and the end, are its whole history in order."""
    threads_before = torch.get_num_threads()
    tc = train_config(
        train__max_epochs=3, train__early_stopping=False, train__checkpoint_seconds=every
    )
    spec = dataclasses.replace(pack_spec("tanh"), lr=tc.lr[0])
    got = events(tc, [spec])
    torch.set_num_threads(1)  # the task's count: the bits depend on it
    try:
        here = loop.train_model(tc, spec, splits(), torch.device("cpu"))
    finally:
        torch.set_num_threads(threads_before)
    (done,) = [e for e in got if e[0] == "done"]
    _, name, result, last_rows, where = done
    assert name == spec.name and where["threads"] == 1 and same_result(result, here)
    checkpoints = [e for e in got if e[0] == "checkpoint"]
    assert len(checkpoints) == (2 if every == 0 else 0)  # after epochs 1 and 2: it goes on
    rows = [r for _, by_name, _ in checkpoints for r in by_name[spec.name]] + last_rows
    assert [{k: v for k, v in r.items() if k != "epoch_seconds"} for r in rows] == here.history
    assert [states[spec.name].epoch for _, _, states in checkpoints] == [1, 2][: len(checkpoints)]


def test_a_task_resumed_from_a_checkpoint_it_sent_ends_as_if_never_stopped():
    """What the driver sends again after a worker was lost: the pack from its last state."""
    tc = train_config(
        train__max_epochs=4, train__patience=2, train__checkpoint_seconds=0, train__pack_size=4
    )
    specs = [dataclasses.replace(s, lr=tc.lr[0]) for s in MATES]
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the task's count
    try:
        whole = pack.train_pack(tc, specs, splits(), torch.device("cpu"))
    finally:
        torch.set_num_threads(before)
    first = events(tc, specs)
    states = next(e[2] for e in first if e[0] == "checkpoint")  # after epoch 1
    assert {s.epoch for s in states.values()} == {1}
    again = events(tc, [s for s in specs if s.name in states], resumed=states)
    results = {e[1]: e[2] for e in again if e[0] == "done"}
    assert results.keys() == whole.keys()
    assert all(same_result(results[n], whole[n]) for n in whole)


def test_a_worker_normalises_the_data_as_a_stage_there_would_and_keeps_them():
    tensors, meta = prepared()
    meta = {**meta, "checksum": "abc"}
    first = cluster._splits_on((tensors, meta), torch.device("cpu"))
    assert torch.equal(first.x_train, datasets.splits_from(tensors, meta, "cpu").x_train)
    assert cluster._splits_on((tensors, meta), torch.device("cpu")) is first  # a warm worker


def test_events_carry_cpu_tensors_through_dataclasses_and_containers():
    state = ResumeState(
        1,
        {"w": torch.ones(2)},
        {"slices": [{"m": torch.zeros(1)}]},
        torch.zeros(3),
        [],
        0.5,
        1,
        {},
        [],
        [0],
        {},
        1.0,
    )
    moved = cluster._to_cpu({"a": (state, [torch.ones(1)])})
    again = moved["a"][0]
    assert isinstance(again, ResumeState) and again.epoch == 1
    assert torch.equal(again.net["w"], torch.ones(2))
    assert again.optimizer["slices"][0]["m"].device.type == "cpu"


@pytest.mark.cuda
def test_events_from_a_cuda_worker_hold_no_cuda_tensor():
    moved = cluster._to_cpu({"w": torch.ones(2, device="cuda")})
    assert moved["w"].device.type == "cpu"
