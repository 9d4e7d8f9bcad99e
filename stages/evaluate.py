"""Stage ``evaluate``: test loss, accuracy, per-class accuracy and confusion matrix of every
model's best checkpoint -> ``metrics/evaluate/<model>.json`` and each model's MLflow run.

One process for every model of the matrix, the test set loaded once on the device; a model
takes one forward pass over the 10 000 test images, so all are evaluated on each rerun.
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
    for name in tqdm(cfg.model_names(), desc="evaluate", unit="model", disable=None):
        record = records.read_record(name)
        net = mlp.load(paths.best_checkpoint(name), dev)
        result = evaluation.evaluate(net, splits.x_test, splits.y_test, splits.meta["classes"])
        files.write_json(paths.evaluate(name), result)
        report.log_evaluation(cfg.mlflow.experiment, record, result)
        log.info("%s: test accuracy %.4f, loss %.4f", name, result["test_acc"], result["test_loss"])
        interrupt.check()


def main(argv: list[str] | None = None) -> int:
    return stage_runner.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
