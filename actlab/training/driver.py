"""The ``train`` stage's work: train every model of the matrix that has no finished result, one
pack (or one model) at a time, and write, log and close each model as it finishes.

A model's result is reused when its record holds its run key (``records.is_trained``). Resume
states and the epochs' MLflow rows are written together, at most every
``train.checkpoint_seconds``; a stopped training continues from its last resume state, in the
same MLflow run. The training itself is ``loop`` (one model) or ``pack`` (a stacked pack).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from actlab import files, interrupt, paths, records
from actlab.config import Config, TrainConfig
from actlab.data import datasets
from actlab.model import mlp
from actlab.records import ModelRecord
from actlab.tracking import report, runs, store
from actlab.training import loop, pack, schedule
from actlab.training.state import ResumeState

log = logging.getLogger("train")


def model_records(cfg: Config, dev: torch.device, meta: Mapping) -> dict[str, ModelRecord]:
    """Every model of the matrix with its run key (the parameter count is filled in once it
    trained)."""
    tc, names = cfg.train, cfg.model_names()
    stacked = tc.stacked(dev.type)
    code = records.code_hash("train")
    recorded = records.plan(cfg)  # before the results: the plan each model trains under
    out = {}
    for name in names:
        spec = cfg.model_spec(name, meta["features"], len(meta["classes"]))
        params = records.model_params(spec, tc, meta, device=dev.type, stacked=stacked, code=code)
        out[name] = ModelRecord(spec, records.run_key(params), params, 0, recorded)
    return out


class Checkpoints:
    """Resume states and buffered MLflow rows, written together at an epoch boundary at most
    every ``train.checkpoint_seconds`` (and when a stop is requested): a GPU epoch of a second
    does not spend its time writing 42 models' states."""

    def __init__(self, seconds: float, runs: dict[str, str], keyed: Mapping[str, ModelRecord]):
        self.seconds, self.runs, self.records = seconds, runs, keyed  # runs: filled as they open
        self.rows: dict[str, list[dict]] = {}
        self.last = time.monotonic()

    def add_row(self, name: str, row: dict) -> None:
        self.rows[name].append(row)

    def flush(self, name: str) -> None:
        """At most one log_batch per run: every row since the last flush."""
        if self.rows[name]:
            store.log_rows(self.runs[name], self.rows[name])  # step = epoch
            self.rows[name] = []

    def save(self, states: dict[str, ResumeState], force: bool = False) -> None:
        """``force``: now, whatever the time (a Ray worker already kept to it)."""
        now = time.monotonic()
        if not force and now - self.last < self.seconds and not interrupt.requested():
            return
        for name, state in states.items():
            state.run_id = self.runs[name]
            files.save_torch(paths.resume_state(self.records[name].run_key), state.to_dict())
        for name in states:
            self.flush(name)
        self.last = now


def write_result(
    record: ModelRecord, result: loop.TrainResult, impl: str, dev, where: dict
) -> dict:
    """A trained model's files; returns its training metrics. ``where``: ``loop.where()`` of
    the process that trained it (a Ray worker's, not this one's, on a cluster)."""
    name, spec = record.spec.name, record.spec
    mlp.save(paths.init_checkpoint(name), result.init_state, spec, impl)
    mlp.save(paths.best_checkpoint(name), result.best_state, spec, impl)
    mlp.save_budgets(paths.budget_checkpoints(name), result.budget_best, spec, impl)
    files.save_torch(paths.neuron_history(name), result.neuron_history.to_dict())
    files.save_torch(paths.weight_histograms(name), result.weight_histograms)
    files.write_tsv(paths.curves(name), result.history)
    metrics = loop.summary(result, record.parameters)
    files.write_json(paths.train(name), metrics)
    files.write_json(paths.timing(name), loop.timing(result, dev, where))
    records.write_record(name, record)  # last: it marks the files as a finished result
    return metrics


@dataclass
class Context:
    tc: TrainConfig
    dev: torch.device
    records: dict[str, ModelRecord]
    resumed: dict[str, ResumeState]
    # The one params key train reads without declaring it in dvc.yaml: where the runs are
    # logged does not change a model, so renaming the experiment must not retrain.
    experiment: str
    stacked: bool
    bar: Any  # a tqdm bar


# Trains the packs of a Context with the data it holds: ``train_groups`` here, one after
# another, or ``actlab.training.cluster.run_groups`` on a Ray cluster.
GroupRunner = Callable[[Context, list[list]], None]


def train_all(
    cfg: Config, dev: torch.device, meta: Mapping, progress_bar, runner: GroupRunner
) -> None:
    """Train the models without a finished result, in packs of ``train.pack_size``: ``meta``
    is the prepared data's, ``progress_bar(total=n)`` makes the bar that counts the models
    (tqdm's signature), ``runner`` trains the packs."""
    tc = cfg.train
    keyed = model_records(cfg, dev, meta)
    todo = [n for n, r in keyed.items() if not records.is_trained(n, r.run_key)]
    log.info(
        "%d models: %d trained already (same run key), %d to train on %s",
        len(keyed),
        len(keyed) - len(todo),
        len(todo),
        dev,
    )
    resumed = schedule.resume_states({n: keyed[n].run_key for n in todo})
    bar = progress_bar(total=len(todo))
    stacked = tc.stacked(dev.type)
    context = Context(tc, dev, keyed, resumed, cfg.mlflow.experiment, stacked, bar)
    size = tc.resolved_pack_size(dev.type, len(keyed))
    groups = schedule.packs([keyed[n].spec for n in todo], size, resumed)
    runner(context, groups)
    bar.close()


def train_groups(c: Context, groups: list[list], splits: datasets.Splits) -> None:
    """The ``GroupRunner`` here (with ``functools.partial`` for ``splits``): one pack after
    another."""
    for group in groups:
        train_group(c, group, splits)


class GroupRuns:
    """One pack's (or one model's) MLflow runs and files: opened together; each model's
    written, logged and closed as it finishes, wherever it trained."""

    def __init__(self, c: Context, group: list) -> None:
        self.c, self.group = c, group
        self.open_runs: dict[str, str] = {}  # name -> run id, while the model trains
        self.checkpoints = Checkpoints(c.tc.checkpoint_seconds, self.open_runs, c.records)

    def open_all(self) -> None:
        c = self.c
        for spec in self.group:
            record = c.records[spec.name]
            if spec.name in c.resumed:
                state = c.resumed[spec.name]
                run_id = runs.resume_training_run(c.experiment, record, state.run_id)
                self.open_runs[spec.name] = run_id
                store.log_rows(run_id, state.history, only_changed=True)  # rows a kill lost
            else:
                self.open_runs[spec.name] = runs.start_training_run(c.experiment, record)
            self.checkpoints.rows[spec.name] = []

    def done(self, name: str, result: loop.TrainResult, where: dict | None = None) -> None:
        """``where``: ``loop.where()`` of the process that trained it, when not this one."""
        c = self.c
        # One unit: a stop request waits until the model's files are written and its run is
        # closed, so a finished model is never lost or left RUNNING.
        with interrupt.held():
            n_params = sum(t.numel() for t in result.init_state.values())
            record = dataclasses.replace(c.records[name], parameters=n_params)
            self.checkpoints.flush(name)
            where = where or loop.where()
            metrics = write_result(record, result, c.tc.activation_impl, c.dev, where)
            report.log_trained(
                c.experiment, self.open_runs[name], record, metrics, result.seconds, c.dev
            )
            del self.open_runs[name]
            paths.resume_state(record.run_key).unlink(missing_ok=True)
        c.bar.update(1)
        log.info("%s: %s", name, loop.describe(result, c.dev))

    def progress(self, epoch: int) -> None:
        c = self.c
        c.bar.set_postfix(pack=len(self.group), epoch=epoch)
        if c.bar.disable:  # no TTY for a bar: one log line per epoch instead
            log.info("%s: epoch %d done", ", ".join(self.open_runs) or "-", epoch)


def train_group(c: Context, group: list, splits: datasets.Splits) -> None:
    """Train one pack (or one model) here: open its runs, train, and write, log and close
    each model as it stops."""
    g = GroupRuns(c, group)
    with store.guard(g.open_runs):  # every way out closes the runs still open
        g.open_all()
        if c.stacked:
            pack.train_pack(
                c.tc,
                group,
                splits,
                c.dev,
                resumed=c.resumed,
                on_epoch=g.checkpoints.add_row,
                save_state=g.checkpoints.save,
                on_done=g.done,
                on_progress=g.progress,
            )
            return
        (spec,) = group
        g.done(spec.name, _train_alone(c, spec, splits, g.checkpoints, g.progress))


def _train_alone(
    c: Context,
    spec,
    splits: datasets.Splits,
    checkpoints: Checkpoints,
    progress: Callable[[int], None],
) -> loop.TrainResult:
    def on_epoch(row: dict) -> None:
        checkpoints.add_row(spec.name, row)
        progress(row["epoch"])

    return loop.train_model(
        c.tc,
        spec,
        splits,
        c.dev,
        on_epoch=on_epoch,
        resume=c.resumed.get(spec.name),
        save_state=lambda state: checkpoints.save({spec.name: state}),
    )
