import pytest
import torch
from torch import nn

from actlab.model import evaluation


class Fixed(nn.Module):
    """Predicts the class stored in the first feature."""

    def forward(self, x):
        return nn.functional.one_hot(x[:, 0].long(), 3).float() * 10


def test_confusion_matrix_and_per_class_accuracy():
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 1, 1, 1, 0, 2])
    result, classes = evaluation.evaluate(
        Fixed(), predicted.float().unsqueeze(1), y, ["a", "b", "c"]
    )
    assert result["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert result["per_class_acc"] == {"a": 0.5, "b": 1.0, "c": 0.5}
    assert result["test_acc"] == pytest.approx(4 / 6)
    assert classes.dtype == torch.uint8 and classes.tolist() == predicted.tolist()
    right = evaluation.correct({"best": classes}, y)["best"]
    assert right.tolist() == [True, False, True, True, False, True]
