"""Stage ``train@<model>``: train one MLP with early stopping on validation accuracy.

Writes ``models/<model>/`` (init.pt, best.pt, record.json, neuron_history.pt,
weight_histograms.pt), ``metrics/train/<model>.json``, ``metrics/curves/<model>.tsv`` and
``metrics/timing/``; logs params, per-epoch metrics (step = epoch) and the checkpoint to the
model's MLflow run. Same params on the CPU -> bit-identical outputs. A training stopped by
``kill -9`` (or a reboot) continues from its last epoch, in the same MLflow run.
"""

from __future__ import annotations

import logging

from actlab import cli

log = logging.getLogger("train")


def _main(model_name: str) -> None:
    # Imported here, not at the top: `--help` and argument errors answer without torch.
    from actlab import config, files, paths, records
    from actlab.data import datasets
    from actlab.model import mlp
    from actlab.tracking import report, runs, store
    from actlab.training import device, loop
    from actlab.training.state import ResumeState

    cfg = config.load()
    spec = cfg.model_spec(model_name)
    dev = device.resolve(cfg.train.device)
    device.make_deterministic(dev)
    splits = datasets.load_prepared(dev)
    params = records.model_params(spec, cfg.train, splits.meta)
    record = records.ModelRecord(spec, records.run_key(params), params, parameters=0)
    # The one params key train reads without declaring it in dvc.yaml: where the run is
    # logged does not change the model, so renaming the experiment must not retrain.
    experiment = cfg.mlflow.experiment
    resume_path = paths.resume_state(record.run_key)
    resume = ResumeState.from_dict(files.load_torch(resume_path)) if resume_path.exists() else None
    if resume is None:
        run_id = runs.start_training_run(experiment, record)
    else:
        run_id = runs.resume_training_run(experiment, record, resume.run_id)

    def save_state(state: ResumeState) -> None:
        state.run_id = run_id
        files.save_torch(resume_path, state.to_dict())

    with store.guard(run_id):  # every way out of here closes the run
        result = loop.train_model(
            cfg.train,
            spec,
            splits,
            dev,
            on_epoch=lambda row: store.log_rows(run_id, [row]),  # step = epoch
            resume=resume,
            save_state=save_state,
        )
        record = records.ModelRecord(
            spec, record.run_key, params, sum(t.numel() for t in result.init_state.values())
        )
        impl = cfg.train.activation_impl
        mlp.save(paths.init_checkpoint(model_name), result.init_state, spec, impl)
        mlp.save(paths.best_checkpoint(model_name), result.best_state, spec, impl)
        files.save_torch(paths.neuron_history(model_name), result.neuron_history.to_dict())
        files.save_torch(paths.weight_histograms(model_name), result.weight_histograms)
        files.write_record(paths.model_record(model_name), record)
        files.write_tsv(paths.curves(model_name), result.history)
        metrics = loop.summary(result, record.parameters)
        files.write_json(paths.train(model_name), metrics)
        files.write_json(paths.timing(model_name), loop.timing(result, dev))
        report.log_trained(experiment, run_id, record, metrics, result.seconds, dev)
    resume_path.unlink(missing_ok=True)
    log.info("%s: %s", model_name, loop.describe(result, dev))


def main(argv: list[str] | None = None) -> int:
    return cli.model_main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
