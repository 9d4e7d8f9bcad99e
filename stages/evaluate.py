"""Stage ``evaluate@<model>``: test loss, accuracy, per-class accuracy and confusion matrix
of the best checkpoint -> ``metrics/evaluate/<model>.json`` and the model's MLflow run."""

from __future__ import annotations

import json
import logging

import torch

from stages import cli, config, data, model, paths, tracking

log = logging.getLogger("evaluate")


def run(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, classes: list[str]) -> dict:
    loss, predicted = model.predict(net, x, y)
    n = len(classes)
    confusion = torch.bincount(y * n + predicted, minlength=n * n).reshape(n, n).cpu()
    per_class = (confusion.diag().double() / confusion.sum(1).clamp_min(1)).tolist()
    return {
        "test_loss": loss,
        "test_acc": confusion.diag().sum().item() / len(y),
        "per_class_acc": dict(zip(classes, per_class, strict=True)),
        "confusion_matrix": confusion.tolist(),  # rows: true class, columns: predicted
    }


def _main(model_name: str) -> None:
    cfg = config.load()
    cfg.model(model_name)  # an unknown name is a ConfigError before any work
    device = data.resolve_device(cfg.train.device)
    splits = data.load_prepared(device)
    net = model.load(paths.best_checkpoint(model_name), device)
    result = run(net, splits.x_test, splits.y_test, splits.meta["classes"])
    out = paths.eval_metrics(model_name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")

    run_id = tracking.model_run(cfg.experiment, model.read_config(model_name))
    per_class = {f"test_acc/{c.replace('/', '-')}": v for c, v in result["per_class_acc"].items()}
    tracking.log_metrics(run_id, {"test_loss": result["test_loss"],
                                  "test_acc": result["test_acc"], **per_class})
    tracking.log_artifact(run_id, out)
    log.info("%s: test accuracy %.4f, loss %.4f", model_name, result["test_acc"], result["test_loss"])


def main(argv: list[str] | None = None) -> int:
    return cli.run_model_stage(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
