"""The train stage's packs on a Ray cluster (``RAY_ADDRESS``): the stage stays one DVC stage and
its driver (``driver.train_all``); each pack, or each model alone on the CPU, goes to the
cluster as one Ray task with its resource request, and its results come back here, where they
are written and logged as a pack trained here would be (``driver.GroupRuns``).

- A task is a streaming generator: the resume states of its models still training (with their
  MLflow rows since the last ones) come back at most every ``train.checkpoint_seconds``, each
  model's result as it stops, and its epoch about once a second for the progress bar.
- Where a model trains is not what it is: its run key, files and MLflow run are the ones a
  training here makes. On the CPU a task trains under ``ACTLAB_RAY_CPUS`` threads, which is
  what its bits depend on (docs/reproducibility.md); ``metrics/timing`` records the count.
- The workers run this driver's ``actlab`` (shipped as a Ray ``py_modules`` runtime env), so
  the code that trains is the code the run key hashes, whatever a node has installed.
- A worker or node lost: the pack is sent again from the last resume state that came back
  (else from the start), up to ``RETRIES`` times; the models it finished are written already.
- Ctrl-C or SIGTERM: the tasks are cancelled, the open runs closed as KILLED, and the resume
  states are on disk: the next ``dvc repro`` (here or on the cluster) continues from them.

Ray is imported here only, and only with an address: without one nothing of it loads.
"""

from __future__ import annotations

import copy
import logging
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path

import torch

import actlab
from actlab import device, interrupt
from actlab.config import TrainConfig
from actlab.data import datasets
from actlab.errors import USER_ERRORS, ConfigError
from actlab.identity import ModelSpec
from actlab.tracking import store
from actlab.training import driver, loop, pack
from actlab.training.state import ResumeState

log = logging.getLogger("train")

ENV_ADDRESS = "RAY_ADDRESS"  # Ray's own variable: `ray.init()` and `ray job submit` read it too
ENV_CPUS = "ACTLAB_RAY_CPUS"  # CPUs per task, and its torch threads on the CPU (default 1)
ENV_GPUS = "ACTLAB_RAY_GPUS"  # GPUs per pack on CUDA (default 1; 0.25: four packs share one)
RETRIES = 3  # times a pack is sent again after its worker or node was lost (Ray's default)
CONNECT_SECONDS = 5.0  # how long the address may take to answer before the stage gives up
POLL_SECONDS = 0.5  # between two looks at a stop request while the tasks run
PROGRESS_SECONDS = 1.0  # between two epoch events of a task


def address(env: Mapping[str, str] = os.environ) -> str | None:
    """The cluster's address, None to train here."""
    return env.get(ENV_ADDRESS, "").strip() or None


@dataclass(frozen=True)
class Resources:
    """What each task asks of the cluster."""

    cpus: int = 1
    gpus: float = 1.0

    def request(self, device_type: str) -> dict[str, float]:
        return {"num_cpus": self.cpus, "num_gpus": self.gpus if device_type == "cuda" else 0}


def resources(env: Mapping[str, str] = os.environ) -> Resources:
    """The resource request from ``ACTLAB_RAY_CPUS`` and ``ACTLAB_RAY_GPUS``."""

    def number(name: str, default: str, kind: type) -> float:
        raw = env.get(name, "").strip() or default
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or not value > 0 or (kind is float and value > 1 and value % 1):
            allowed = "a whole number >= 1" if kind is int else "a fraction in (0, 1] or whole"
            raise ConfigError(f"{name}={raw!r}: expected {allowed}")
        return value

    return Resources(int(number(ENV_CPUS, "1", int)), float(number(ENV_GPUS, "1", float)))


def _host_port(addr: str) -> tuple[str, int] | None:
    """Where a ``host:port`` address listens; None for ``auto``."""
    if addr in ("auto", "local"):
        return None
    gcs = "the head's GCS port, 6379 unless `ray start --head --port` said otherwise"
    if addr.startswith("ray://"):
        raise ConfigError(
            f"{ENV_ADDRESS}={addr!r}: Ray Client (ray://) cannot stream a task's results "
            f"back; give host:port ({gcs}) and run dvc repro on a machine of the cluster"
        )
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{ENV_ADDRESS}={addr!r}: expected host:port ({gcs}) or auto")
    return host.strip("[]"), int(port)


def _fix(addr: str) -> str:
    return (
        f"start one there (`ray start --head`, docs/scaling-out.md) or unset {ENV_ADDRESS} "
        "to train on this machine"
    )


def connect(addr: str) -> None:
    """Join the cluster at ``addr`` or fail within ``CONNECT_SECONDS`` with a ``ConfigError``
    that names the address and the fix (Ray itself would retry for minutes)."""
    where = _host_port(addr)
    if where is not None:
        try:
            socket.create_connection(where, timeout=CONNECT_SECONDS).close()
        except OSError as err:
            reason = "timed out" if isinstance(err, TimeoutError) else err.strerror or str(err)
            raise ConfigError(
                f"{ENV_ADDRESS}={addr}: no Ray cluster answers there ({reason}); {_fix(addr)}"
            ) from None
    import ray

    # ray.init puts its own SIGTERM handler in: the stage's (a stop request) goes back.
    handler = signal.getsignal(signal.SIGTERM)
    try:
        ray.init(
            address=addr,
            logging_level=logging.ERROR,
            log_to_driver=False,
            runtime_env={"py_modules": [str(Path(actlab.__file__).parent)]},
        )
    except ConnectionError as err:
        raise ConfigError(f"{ENV_ADDRESS}={addr}: {err}; {_fix(addr)}") from None
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, handler)


def check_feasible(need: Resources, device_type: str, nodes: list[dict]) -> None:
    """A request no node of the cluster (``ray.nodes()``) can meet would wait forever: a
    ``ConfigError`` that names the setting instead. (Against the nodes up now: an autoscaling
    cluster must have one of the size asked for.)"""
    alive = [n.get("Resources", {}) for n in nodes if n.get("Alive")]
    cpus = max((r.get("CPU", 0) for r in alive), default=0)
    gpus = max((r.get("GPU", 0) for r in alive), default=0)
    if need.cpus > cpus:
        raise ConfigError(
            f"{ENV_CPUS}={need.cpus}: no node of the Ray cluster has that many CPUs (the largest "
            f"has {cpus:g}); ask for fewer"
        )
    if device_type == "cuda" and gpus == 0:
        raise ConfigError(
            "train.device: 'cuda', but no node of the Ray cluster has a GPU; use auto or cpu"
        )
    if device_type == "cuda" and need.gpus > gpus:
        raise ConfigError(
            f"{ENV_GPUS}={need.gpus:g}: no node of the Ray cluster has that many GPUs (the "
            f"largest has {gpus:g}); ask for fewer, or a fraction to share one"
        )


def resolve_device(setting: str) -> torch.device:
    """``train.device`` on the cluster: ``auto`` is CUDA when the cluster has a GPU."""
    if setting != "auto":
        return torch.device(setting)
    import ray

    return torch.device("cuda" if ray.cluster_resources().get("GPU", 0) > 0 else "cpu")


# --- on a worker ------------------------------------------------------------------------------


_SPLITS: dict[tuple, datasets.Splits] = {}  # a warm worker's data, by checksum and device


def _splits_on(prepared: tuple[dict, dict], dev: torch.device) -> datasets.Splits:
    """The prepared data normalised here, on ``dev``, as a stage here does it (the device
    decides the last bits); kept for the worker's next task of the same data."""
    tensors, meta = prepared
    key = (meta.get("checksum"), str(dev))
    if key not in _SPLITS or key[0] is None:
        _SPLITS.clear()  # one dataset at a time: the last one
        _SPLITS[key] = datasets.splits_from(tensors, meta, dev)
    return _SPLITS[key]


def _to_cpu(value):
    """``value`` with every tensor on the CPU (a driver without a GPU reads it): through
    dicts, lists, tuples and dataclasses."""
    if torch.is_tensor(value):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        moved = {f.name: _to_cpu(getattr(value, f.name)) for f in fields(value) if f.init}
        return replace(value, **moved)
    return value


def train_task(
    tc: TrainConfig,
    specs: list[ModelSpec],
    prepared: tuple[dict, dict],
    device_type: str,
    resumed: dict[str, ResumeState],
    threads: int,
) -> Iterator[tuple]:
    """One pack (or one model) on a worker, as events: ``("started", loop.where())`` first,
    then ``("epoch", n)``, ``("checkpoint", rows, states)``, ``("done", name, result, rows,
    loop.where())``. The training runs in a thread and hands its events over a queue, so the
    generator yields them as they come."""
    dev = torch.device(device_type)
    if dev.type == "cpu":
        torch.set_num_threads(threads)
    device.make_deterministic(dev)
    splits = _splits_on(prepared, dev)
    events: queue.Queue = queue.Queue()
    rows: dict[str, list[dict]] = {spec.name: [] for spec in specs}
    clock = {"checkpoint": time.monotonic(), "epoch": 0.0}

    def on_epoch(name: str, row: dict) -> None:
        rows[name].append(row)

    def save_state(states: dict[str, ResumeState]) -> None:
        now = time.monotonic()
        if now - clock["checkpoint"] < tc.checkpoint_seconds:
            return
        clock["checkpoint"] = now
        # copies on the CPU: the training goes on changing the tensors while the event travels
        events.put(("checkpoint", {n: rows[n] for n in states}, _to_cpu(copy.deepcopy(states))))
        for name in states:
            rows[name] = []

    def on_progress(epoch: int) -> None:
        now = time.monotonic()
        if now - clock["epoch"] >= PROGRESS_SECONDS:
            clock["epoch"] = now
            events.put(("epoch", epoch))

    def on_done(name: str, result: loop.TrainResult) -> None:
        events.put(("done", name, _to_cpu(result), rows.pop(name), loop.where()))

    failed: list[BaseException] = []

    def work() -> None:
        try:
            if tc.stacked(dev.type):
                pack.train_pack(
                    tc,
                    specs,
                    splits,
                    dev,
                    resumed=resumed,
                    on_epoch=on_epoch,
                    save_state=save_state,
                    on_done=on_done,
                    on_progress=on_progress,
                )
                return
            (spec,) = specs

            def row_of_alone(row: dict) -> None:
                on_epoch(spec.name, row)
                on_progress(row["epoch"])

            result = loop.train_model(
                tc,
                spec,
                splits,
                dev,
                on_epoch=row_of_alone,
                resume=resumed.get(spec.name),
                save_state=lambda state: save_state({spec.name: state}),
            )
            on_done(spec.name, result)
        except BaseException as err:  # raised again by the generator, so Ray sends it back
            failed.append(err)
        finally:
            events.put(None)

    yield ("started", loop.where())
    thread = threading.Thread(target=work, name="train-pack", daemon=True)
    thread.start()
    while (event := events.get()) is not None:
        yield event
    thread.join()
    if failed:
        raise failed[0]


# --- on the driver ----------------------------------------------------------------------------


@dataclass
class Submission:
    """A pack on the cluster: its runs and files here, what is left of it, and the resume
    states it would continue from."""

    runs: driver.GroupRuns
    left: set[str]
    states: dict[str, ResumeState] = field(default_factory=dict)
    retries: int = RETRIES
    opened: bool = False  # its MLflow runs (once it first started)

    def specs(self) -> list[ModelSpec]:
        return [spec for spec in self.runs.group if spec.name in self.left]


def run_groups(
    c: driver.Context, groups: list[list[ModelSpec]], prepared: tuple[dict, dict]
) -> None:
    """``driver.GroupRunner`` on the cluster ``connect`` joined: every pack sent at once (the
    cluster queues what its resources cannot run yet), each event handled as it comes back."""
    import ray
    from ray.exceptions import RayTaskError, RuntimeEnvSetupError

    lost = _lost_errors()
    need = resources()
    check_feasible(need, c.dev.type, ray.nodes())
    task = ray.remote(
        num_returns="streaming",
        max_retries=0,  # sent again here, from the last resume state, not from the start
        max_calls=0,  # workers stay warm between tasks (Ray's GPU default starts one per task)
    )(train_task).options(**need.request(c.dev.type))
    # ``prepared`` (``datasets.read_prepared()``) once in the object store: each worker
    # normalises it on its device, as a stage there would
    prepared = ray.put(prepared)

    def submit(sub: Submission):
        states = {n: s for n, s in sub.states.items() if n in sub.left}
        return task.remote(c.tc, sub.specs(), prepared, c.dev.type, states, need.cpus)

    pending = {}
    with ExitStack() as closing:
        try:
            for group in groups:
                runs = driver.GroupRuns(c, group)
                closing.enter_context(store.guard(runs.open_runs))  # closes what stays open
                names = {spec.name for spec in group}
                states = {n: s for n, s in c.resumed.items() if n in names}
                sub = Submission(runs, names, states)
                pending[submit(sub)] = sub
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
                interrupt.check()
                for gen in ready:
                    sub = pending[gen]
                    try:
                        event = ray.get(next(gen))
                    except StopIteration:
                        del pending[gen]
                        if sub.left:
                            raise RuntimeError(
                                f"a Ray task ended without {sorted(sub.left)}"
                            ) from None
                        continue
                    except RayTaskError as err:  # the training's own error: it would repeat
                        del pending[gen]
                        cause = getattr(err, "cause", None)
                        if isinstance(cause, USER_ERRORS):
                            raise cause from None  # its one-line message, as here
                        raise err.as_instanceof_cause() from None
                    except RuntimeEnvSetupError as err:
                        del pending[gen]
                        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
                        raise ConfigError(
                            f"the Ray cluster could not install this checkout's actlab code "
                            f"for its workers (py_modules): {first}"
                        ) from None
                    except lost as err:  # its worker, node or results lost: sent again
                        del pending[gen]
                        _cancel(ray, gen)  # if it still runs somewhere, it trains no more
                        pending[_again(sub, err, submit)] = sub
                        continue
                    _handle(sub, event)
        except BaseException:
            for gen in pending:  # first: a task still running would feed the drain forever
                _cancel(ray, gen)
            _drain(ray, pending)  # what finished before the stop is kept, not trained again
            raise


def _lost_errors() -> tuple[type[Exception], ...]:
    """The errors after which a pack is sent again: its worker, its node or its results
    lost. Any other error of Ray's is raised."""
    from ray import exceptions as e

    return (
        e.WorkerCrashedError,
        e.NodeDiedError,
        e.LocalRayletDiedError,
        e.OutOfMemoryError,
        e.ObjectLostError,  # and OwnerDiedError, ObjectReconstructionFailedError
    )


def _drain(ray, pending: dict) -> None:
    """Handle every event the cancelled tasks had sent back (their objects outlive them), on
    the way out: a model that finished is written and its run closed; of the resume states
    only each pack's latest is written, with every row before it (a driver that lagged its
    workers may hold hundreds)."""
    from ray.exceptions import RayError

    with interrupt.held():  # a second stop request must not cut this short
        for gen, sub in pending.items():
            checkpointed = False
            try:
                while gen.next_ready():
                    event = ray.get(next(gen))
                    checkpointed |= event[0] == "checkpoint"
                    _handle(sub, event, save=False)
            except (StopIteration, RayError):
                pass
            if checkpointed and sub.states:
                sub.runs.checkpoints.save(sub.states, force=True)


def _cancel(ray, gen) -> None:
    try:
        ray.cancel(gen, force=True)
    except Exception as err:  # finished or gone already: nothing to stop
        log.debug("cancel: %s", err)


def _again(sub: Submission, err: Exception, submit):
    """Send a pack again after its worker was lost, from its last resume state."""
    if sub.retries == 0:
        raise RuntimeError(
            f"{', '.join(sorted(sub.left))}: the Ray worker was lost {RETRIES + 1} times "
            f"(last: {type(err).__name__}); the resume states are saved, `dvc repro` continues"
        ) from err
    sub.retries -= 1
    epoch = max((s.epoch for s in sub.states.values()), default=0)
    where = f"epoch {epoch}" if sub.states else "the start"
    log.warning(
        "%s: the Ray worker was lost (%s): sent again from %s",
        ", ".join(sorted(sub.left)),
        type(err).__name__,
        where,
    )
    return submit(sub)


def _handle(sub: Submission, event: tuple, save: bool = True) -> None:
    """One event of a task; ``save``: write a checkpoint's resume states (else only keep them
    and their rows, for a later save)."""
    kind, *body = event
    runs = sub.runs
    if kind == "started":  # the runs open when the pack trains, not while it waits its turn
        if not sub.opened:
            runs.open_all()
            sub.opened = True
            for name, state in sorted(sub.states.items()):  # the worker's log stays there
                log.info("%s: resuming after epoch %d (%s)", name, state.epoch, body[0]["worker"])
    elif kind == "epoch":
        runs.progress(body[0])
    elif kind == "checkpoint":
        rows, states = body
        for name, new in rows.items():
            runs.checkpoints.rows[name].extend(new)
        sub.states = states
        if save:
            runs.checkpoints.save(states, force=True)  # the worker kept to checkpoint_seconds
    elif kind == "done":
        name, result, rows, where = body
        runs.checkpoints.rows[name].extend(rows)
        runs.done(name, result, where)
        sub.left.discard(name)
        sub.states.pop(name, None)
    else:
        raise ValueError(f"unknown event {kind!r} from a Ray task")
