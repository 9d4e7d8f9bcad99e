"""Test metrics of a trained network: pure work, tensors in, a dict and its predictions out."""

from __future__ import annotations

import torch

from actlab.model import mlp

BEST = "best"  # the predictions of best.pt (the best checkpoint within max_epochs)


def evaluate(
    net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, classes: list[str]
) -> tuple[dict, torch.Tensor]:
    """Test metrics of ``net`` on (x, y) (confusion rows are true classes, columns predicted)
    and its predicted class per image (uint8, on the CPU: what a paired analysis of the test
    images needs)."""
    loss, predicted = mlp.predict(net, x, y)
    n = len(classes)
    confusion = (y * n + predicted).bincount(minlength=n * n).reshape(n, n).cpu()
    per_class = (confusion.diag().double() / confusion.sum(1).clamp_min(1)).tolist()
    metrics = {
        "test_loss": loss,
        "test_acc": confusion.diag().sum().item() / len(y),
        "per_class_acc": dict(zip(classes, per_class, strict=True)),
        "confusion_matrix": confusion.tolist(),
    }
    return metrics, predicted.to(torch.uint8).cpu()


def correct(predictions: dict[str, torch.Tensor], labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per checkpoint (``BEST`` and each budget): which test images it classified correctly."""
    labels = labels.cpu().to(torch.uint8)
    return {key: p == labels for key, p in predictions.items()}
