"""Stage ``evaluate@<model>``: test loss, accuracy, per-class accuracy and confusion matrix
of the best checkpoint -> ``metrics/evaluate/<model>.json`` and the model's MLflow run."""

from __future__ import annotations

import logging

from actlab import cli

log = logging.getLogger("evaluate")


def _main(model_name: str) -> None:
    # Imported here, not at the top: `--help` and argument errors answer without torch.
    from actlab import files, paths
    from actlab.model import evaluation, mlp, trained
    from actlab.tracking import report

    m = trained.open_trained(model_name)
    net = mlp.load(paths.best_checkpoint(model_name), m.device)
    result = evaluation.evaluate(net, m.splits.x_test, m.splits.y_test, m.splits.meta["classes"])
    files.write_json(paths.evaluate(model_name), result)
    report.log_evaluation(m.cfg.mlflow.experiment, m.record, result)
    log.info(
        "%s: test accuracy %.4f, loss %.4f", model_name, result["test_acc"], result["test_loss"]
    )


def main(argv: list[str] | None = None) -> int:
    return cli.model_main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
