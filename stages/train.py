"""Stage ``train@<model>``: train one MLP with early stopping on validation accuracy.

Writes ``models/<model>/`` (init.pt, best.pt, record.json, neuron_history.pt,
weight_histograms.pt),
``metrics/train/<model>.json``, ``metrics/curves/<model>.tsv`` and ``metrics/timing/``; logs
params, per-epoch metrics (step = epoch) and the checkpoint to the model's MLflow run. Same
params on the CPU -> bit-identical outputs.
"""

from __future__ import annotations

import hashlib
import logging

from stages import cli

log = logging.getLogger("train")


def _main(model_name: str) -> None:
    # Imported here, not at the top: `--help` and argument errors answer without torch.
    from stages import config, data, device, io, paths, runs, tracking, training

    cfg = config.load()
    spec = cfg.model_spec(model_name)
    dev = device.resolve(cfg.train.device)
    device.make_deterministic(dev)
    splits = data.load_prepared(dev)
    params = runs.model_params(spec, cfg.train, splits.meta)
    record = io.ModelRecord(spec, runs.run_key(params), params, parameters=0)
    # The one params key train reads without declaring it in dvc.yaml: where the run is
    # logged does not change the model, so renaming the experiment must not retrain.
    experiment = cfg.mlflow.experiment
    # A training stopped by kill -9, a reboot or the OOM killer left its state after its last
    # epoch: continue from there, in the same MLflow run.
    resume_path = paths.resume_state(record.run_key)
    resume = io.load_torch(resume_path) if resume_path.exists() else None
    if resume is None:
        run_id = runs.start_training_run(experiment, record)
    else:
        run_id = runs.resume_training_run(experiment, record, resume["run_id"])

    def save_state(state: dict) -> None:
        with tracking.uninterrupted():
            io.save_torch(resume_path, {**state, "run_id": run_id})

    with tracking.guard(run_id):  # every way out of here closes the run
        result = training.train_model(
            cfg.train,
            spec,
            splits,
            dev,
            on_epoch=lambda row: tracking.log_rows(run_id, [row]),  # step = epoch
            resume=resume,
            save_state=save_state,
        )
        _write_and_log(model_name, cfg, dev, record, result, run_id)
    resume_path.unlink(missing_ok=True)


def _write_and_log(model_name, cfg, dev, record, result, run_id) -> None:
    """The trained model's files, and its metrics, checkpoint and status in MLflow."""
    from stages import io, mlp, paths, runs, tracking

    spec, params = record.spec, record.mlflow_params
    n_params = sum(t.numel() for t in result.init_state.values())
    record = io.ModelRecord(spec, record.run_key, params, n_params)
    impl = cfg.train.activation_impl
    with tracking.uninterrupted():
        mlp.save(paths.init_checkpoint(model_name), result.init_state, spec, impl)
        mlp.save(paths.best_checkpoint(model_name), result.best_state, spec, impl)
        io.save_torch(paths.neuron_history(model_name), result.neuron_history)
        io.save_torch(paths.weight_histograms(model_name), result.weight_histograms)
    io.write_record(paths.model_record(model_name), record)
    io.write_tsv(paths.curves(model_name), result.history)
    # best_epoch 0: diverged in epoch 1, the kept checkpoint is the initial weights.
    best = result.history[result.best_epoch - 1] if result.best_epoch else {}
    epochs = len(result.history)
    metrics = {
        "parameters": n_params,
        "epochs_trained": epochs,
        "best_epoch": result.best_epoch,
        "best_val_acc": best.get("val_acc"),
        "best_val_loss": best.get("val_loss"),
        "train_acc_at_best": best.get("train_acc"),
        "diverged_at_epoch": result.diverged_at_epoch,
    }
    io.write_json(paths.train(model_name), metrics)
    timing = {
        "device": str(dev),
        "seconds": round(result.seconds, 2),
        "seconds_per_epoch": round(result.seconds / epochs, 3),
    }
    io.write_json(paths.timing(model_name), timing)

    numbers = {k: v for k, v in metrics.items() if v is not None}
    tracking.log_metrics(
        run_id,
        {**numbers, "train_seconds": result.seconds, "seconds_per_epoch": result.seconds / epochs},
    )
    diverged = result.diverged_at_epoch
    tracking.set_tags(
        run_id, {"device": str(dev), "diverged": "no" if diverged is None else f"epoch {diverged}"}
    )
    tracking.log_artifact(run_id, paths.best_checkpoint(model_name), "checkpoint")
    tracking.log_artifact(run_id, paths.model_record(model_name), "checkpoint")
    tracking.log_artifact(run_id, paths.curves(model_name))
    tracking.finish(run_id)
    sha = hashlib.sha256(paths.best_checkpoint(model_name).read_bytes()).hexdigest()
    runs.settle_training_run(cfg.mlflow.experiment, run_id, record, sha)
    log.info(
        "%s: best val acc %s at epoch %d of %d (%.1f s on %s)%s",
        model_name,
        f"{best['val_acc']:.4f}" if best else "-",
        result.best_epoch,
        epochs,
        result.seconds,
        dev,
        "" if diverged is None else f", diverged at epoch {diverged}",
    )


def main(argv: list[str] | None = None) -> int:
    return cli.model_main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
