"""Test metrics of a trained network: pure work, tensors in, a dict out."""

from __future__ import annotations

import torch

from actlab.model import mlp


def evaluate(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, classes: list[str]) -> dict:
    """Test metrics of ``net`` on (x, y); confusion rows are true classes, columns predicted."""
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
