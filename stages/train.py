"""Stage ``train``: train every MLP of the matrix that has no finished result, with early
stopping on validation accuracy; keep the others byte for byte.

A model's result is reused when ``models/<model>/record.json`` holds its run key (the params
that define it, the prepared data's checksum, the hash of the code that trains it) and its
files are all there: adding a seed trains only the new models. On CUDA the models of one
architecture train as one stacked network (``actlab.training.pack``); on the CPU one after
another (``train.pack_size``). Writes, per model, ``models/<model>/`` (init.pt, best.pt,
record.json, neuron_history.pt, weight_histograms.pt), ``metrics/train/<model>.json``,
``metrics/curves/<model>.tsv`` and ``metrics/timing/<model>.json``; logs params, per-epoch
metrics (step = epoch) and the checkpoint to the model's MLflow run. A stopped training
(SIGTERM, Ctrl-C, ``kill -9``) continues from its last resume state, in the same runs.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Any

from actlab import cli

log = logging.getLogger("train")


class Checkpoints:
    """Resume states and buffered MLflow rows, written together at an epoch boundary at most
    every ``train.checkpoint_seconds`` (and when a stop is requested): a GPU epoch of a second
    does not spend its time writing 42 models' states."""

    def __init__(self, seconds: float, runs: dict[str, str], keys: dict[str, str]) -> None:
        self.seconds, self.runs, self.keys = seconds, runs, keys  # runs: filled as they open
        self.rows: dict[str, list[dict]] = {}
        self.last = time.monotonic()

    def add_row(self, name: str, row: dict) -> None:
        self.rows[name].append(row)

    def flush(self, name: str) -> None:
        """At most one log_batch per run: every row since the last flush."""
        from actlab.tracking import store

        if self.rows[name]:
            store.log_rows(self.runs[name], self.rows[name])  # step = epoch
            self.rows[name] = []

    def save(self, states: dict) -> None:
        from actlab import files, interrupt, paths

        now = time.monotonic()
        if now - self.last < self.seconds and not interrupt.requested():
            return
        for name, state in states.items():
            state.run_id = self.runs[name]
            files.save_torch(paths.resume_state(self.keys[name]), state.to_dict())
        for name in states:
            self.flush(name)
        self.last = now


def _write(name, record, result, impl, dev) -> dict:
    """A trained model's files; returns its metrics."""
    from actlab import files, paths
    from actlab.model import mlp
    from actlab.training import loop

    spec = record.spec
    mlp.save(paths.init_checkpoint(name), result.init_state, spec, impl)
    mlp.save(paths.best_checkpoint(name), result.best_state, spec, impl)
    files.save_torch(paths.neuron_history(name), result.neuron_history.to_dict())
    files.save_torch(paths.weight_histograms(name), result.weight_histograms)
    files.write_tsv(paths.curves(name), result.history)
    metrics = loop.summary(result, record.parameters)
    files.write_json(paths.train(name), metrics)
    files.write_json(paths.timing(name), loop.timing(result, dev))
    # Last: the record's run key is what marks the model's files as a finished result
    # (``files.is_trained``), so a crash before it never passes older files off as new.
    files.write_record(paths.model_record(name), record)
    return metrics


def _main() -> None:
    # Imported here, not at the top: `--help` answers without torch.
    from tqdm import tqdm

    from actlab import config, files, records
    from actlab.data import datasets
    from actlab.training import device, schedule

    cfg = config.load()
    tc = cfg.train
    dev = device.resolve(tc.device)
    device.make_deterministic(dev)
    splits = datasets.load_prepared(dev)
    names = cfg.model_names()
    stacked = tc.stacked(dev.type)
    size = tc.resolved_pack_size(dev.type, len(names))
    code = records.code_hash("train")
    model_records = {}
    for name in names:
        spec = cfg.model_spec(name)
        params = records.model_params(
            spec, tc, splits.meta, device=dev.type, stacked=stacked, code=code
        )
        model_records[name] = records.ModelRecord(spec, records.run_key(params), params, 0)
    todo = [n for n in names if not files.is_trained(n, model_records[n].run_key)]
    log.info(
        "%d models: %d trained already (same run key), %d to train on %s",
        len(names),
        len(names) - len(todo),
        len(todo),
        dev,
    )
    resumed = schedule.resume_states({n: model_records[n].run_key for n in todo})
    bar = tqdm(total=len(todo), desc="train", unit="model", disable=None, file=sys.stderr)
    context = Context(tc, dev, splits, model_records, resumed, cfg.mlflow.experiment, stacked, bar)
    for group in schedule.packs([model_records[n].spec for n in todo], size, resumed):
        _train_group(context, group)
    bar.close()


@dataclass
class Context:
    tc: Any
    dev: Any
    splits: Any
    records: dict
    resumed: dict
    # The one params key train reads without declaring it in dvc.yaml: where the runs are
    # logged does not change a model, so renaming the experiment must not retrain.
    experiment: str
    stacked: bool
    bar: Any


def _train_group(c: Context, group: list) -> None:
    """Train one pack (or one model): open its runs, train, and write, log and close each
    model as it stops."""
    from actlab import interrupt, paths, records
    from actlab.tracking import report, runs, store
    from actlab.training import loop, pack

    open_runs: dict[str, str] = {}
    keys = {s.name: c.records[s.name].run_key for s in group}
    checkpoints = Checkpoints(c.tc.checkpoint_seconds, open_runs, keys)

    def open_all() -> None:
        for spec in group:
            record = c.records[spec.name]
            if spec.name in c.resumed:
                state = c.resumed[spec.name]
                run_id = runs.resume_training_run(c.experiment, record, state.run_id)
                open_runs[spec.name] = run_id
                store.log_rows(run_id, state.history, only_changed=True)  # rows a kill lost
            else:
                open_runs[spec.name] = runs.start_training_run(c.experiment, record)
            checkpoints.rows[spec.name] = []

    def done(name: str, result: loop.TrainResult) -> None:
        # One unit: a stop request waits until the model's files are written and its run is
        # closed, so a finished model is never lost or left RUNNING.
        with interrupt.held():
            n_params = sum(t.numel() for t in result.init_state.values())
            spec, params = c.records[name].spec, c.records[name].mlflow_params
            record = records.ModelRecord(spec, keys[name], params, n_params)
            checkpoints.flush(name)
            metrics = _write(name, record, result, c.tc.activation_impl, c.dev)
            report.log_trained(
                c.experiment, open_runs[name], record, metrics, result.seconds, c.dev
            )
            del open_runs[name]
            paths.resume_state(keys[name]).unlink(missing_ok=True)
        c.bar.update(1)
        log.info("%s: %s", name, loop.describe(result, c.dev))

    def progress(epoch: int) -> None:
        c.bar.set_postfix(pack=len(group), epoch=epoch)
        if c.bar.disable:  # no TTY for a bar: one log line per epoch instead
            log.info("%s: epoch %d done", ", ".join(open_runs) or "-", epoch)

    with store.guard(open_runs):  # every way out closes the runs still open
        open_all()
        if c.stacked:
            pack.train_pack(
                c.tc,
                group,
                c.splits,
                c.dev,
                resumed=c.resumed,
                on_epoch=checkpoints.add_row,
                save_state=checkpoints.save,
                on_done=done,
                on_progress=progress,
            )
            return
        (spec,) = group

        def on_epoch(row: dict) -> None:
            checkpoints.add_row(spec.name, row)
            progress(row["epoch"])

        result = loop.train_model(
            c.tc,
            spec,
            c.splits,
            c.dev,
            on_epoch=on_epoch,
            resume=c.resumed.get(spec.name),
            save_state=lambda state: checkpoints.save({spec.name: state}),
        )
        done(spec.name, result)


def main(argv: list[str] | None = None) -> int:
    return cli.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
