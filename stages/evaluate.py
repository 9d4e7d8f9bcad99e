"""Stage ``evaluate``: test loss, accuracy, per-class accuracy and confusion matrix of every
model's best checkpoint, and test loss and accuracy of its best checkpoint within each of
``train.budgets`` -> ``metrics/evaluate/<model>.json`` and each model's MLflow run; the class
each checkpoint predicts for each test image -> ``metrics/predictions/<model>.pt`` (uint8, one
tensor per checkpoint: what the paired analysis of the test images reads).

One process for every model of the matrix, the test set loaded once on the device; a
checkpoint takes one forward pass over the 10 000 test images, so all are evaluated on each
rerun.
"""

from __future__ import annotations

import logging

from actlab import stage_runner

log = logging.getLogger("evaluate")


def _main() -> None:
    # Imported here, not at the top: `--help` answers without torch.
    from tqdm import tqdm

    from actlab import config, device, files, interrupt, paths, records
    from actlab.data import datasets
    from actlab.model import evaluation, mlp
    from actlab.tracking import report

    cfg = config.load()
    dev = device.resolve(cfg.train.device)
    splits = datasets.load_prepared(dev)
    x, y, classes = splits.x_test, splits.y_test, splits.meta["classes"]
    for name in tqdm(cfg.model_names(), desc="evaluate", unit="model", disable=None):
        record = records.read_record(name)
        result, best = evaluation.evaluate(
            mlp.load(paths.best_checkpoint(name), dev), x, y, classes
        )
        predictions = {evaluation.BEST: best}
        result["budgets"] = {}
        for budget, (epoch, net) in mlp.load_budgets(paths.budget_checkpoints(name), dev).items():
            metrics, predictions[str(budget)] = evaluation.evaluate(net, x, y, classes)
            keep = ("test_acc", "test_loss")
            result["budgets"][str(budget)] = {"epoch": epoch, **{k: metrics[k] for k in keep}}
        files.write_json(paths.evaluate(name), result)
        files.save_torch(paths.predictions(name), predictions)
        report.log_evaluation(cfg.mlflow.experiment, record, result)
        log.info("%s: test accuracy %.4f, loss %.4f", name, result["test_acc"], result["test_loss"])
        interrupt.check()


def main(argv: list[str] | None = None) -> int:
    return stage_runner.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
