"""Stage ``evaluate@<model>``: test loss, accuracy, per-class accuracy and confusion matrix
of the best checkpoint -> ``metrics/evaluate/<model>.json`` and the model's MLflow run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from stages import cli

if TYPE_CHECKING:  # the stage imports torch only once it works, not for `--help`
    import torch

log = logging.getLogger("evaluate")


def evaluate(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, classes: list[str]) -> dict:
    """Test metrics of ``net`` on (x, y); confusion rows are true classes, columns predicted."""
    from stages import mlp

    loss, predicted = mlp.predict(net, x, y)
    n = len(classes)
    confusion = (y * n + predicted).bincount(minlength=n * n).reshape(n, n).cpu()
    per_class = (confusion.diag().double() / confusion.sum(1).clamp_min(1)).tolist()
    return {
        "test_loss": loss,
        "test_acc": confusion.diag().sum().item() / len(y),
        "per_class_acc": dict(zip(classes, per_class, strict=True)),
        "confusion_matrix": confusion.tolist(),
    }


def _main(model_name: str) -> None:
    from stages import io, mlp, model_stage, paths, runs, tracking

    m = model_stage.open_trained(model_name)
    net = mlp.load(paths.best_checkpoint(model_name), m.device)
    result = evaluate(net, m.splits.x_test, m.splits.y_test, m.splits.meta["classes"])
    out = paths.evaluate(model_name)
    io.write_json(out, result)

    run_id = runs.model_run(m.cfg.mlflow.experiment, m.record)
    tracking.log_metrics(run_id, {"test_loss": result["test_loss"], "test_acc": result["test_acc"]})
    # Per-class accuracy and the confusion matrix: detail, in the artifact, not as ten metrics.
    tracking.log_artifact(run_id, out, "evaluate")
    log.info(
        "%s: test accuracy %.4f, loss %.4f", model_name, result["test_acc"], result["test_loss"]
    )


def main(argv: list[str] | None = None) -> int:
    return cli.model_main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
