"""Activation functions written from their formulas, and the registry that names them.

Each is a plain elementwise ``nn.Module``; tests check every one against its ``torch.nn``
counterpart and with ``torch.autograd.gradcheck``. Adding an activation is one class, one
registry entry here and one entry in ``stages.catalog``, which names its options (the
constructor's keyword arguments, ``activation_options.<name>`` in params.yaml) and their ranges.
"""

from __future__ import annotations

import torch
from torch import nn

from stages.catalog import check_options


def _only(mask: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """x where mask, else 0: the input of a branch torch.where will discard, kept finite."""
    return torch.where(mask, x, torch.zeros_like(x))


def _stable_sigmoid(x: torch.Tensor) -> torch.Tensor:
    # Each branch only ever sees exp of a non-positive number, so neither the value nor the
    # gradient becomes inf/nan for the huge pre-activations of a saturated network.
    positive = x >= 0
    e = torch.exp(_only(~positive, x))
    return torch.where(positive, 1 / (1 + torch.exp(-_only(positive, x))), e / (1 + e))


class Sigmoid(nn.Module):
    """sigma(x) = 1 / (1 + exp(-x))"""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _stable_sigmoid(x)


class Tanh(nn.Module):
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)) = 2 sigma(2x) - 1"""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * _stable_sigmoid(2 * x) - 1


class ReLU(nn.Module):
    """relu(x) = max(x, 0); derivative 0 at x = 0, as in torch."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _only(x > 0, x)


class LeakyReLU(nn.Module):
    """leakyrelu(x) = x if x > 0 else alpha * x"""

    def __init__(self, alpha: float = 0.1) -> None:
        super().__init__()
        self.alpha = check_options("leakyrelu", {"alpha": alpha})["alpha"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x > 0, x, self.alpha * x)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class ELU(nn.Module):
    """elu(x) = x if x > 0 else alpha * (exp(x) - 1)"""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check_options("elu", {"alpha": alpha})["alpha"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        positive = x > 0  # the unused branch must not overflow for large positive x
        return torch.where(positive, x, self.alpha * torch.expm1(_only(~positive, x)))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Swish(nn.Module):
    """swish(x) = x * sigma(x)  (SiLU)"""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * _stable_sigmoid(x)


class Identity(nn.Module):
    """identity(x) = x: the linear control; the whole MLP collapses to one linear map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class _ReLUFunction(torch.autograd.Function):
    """ReLU with a hand-written backward pass, as in the MNIST tutorial."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        positive = x > 0
        ctx.save_for_backward(positive)
        return torch.where(positive, x, torch.zeros_like(x))

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (positive,) = ctx.saved_tensors
        return grad_output * positive.to(grad_output.dtype)


class ReLUCustom(nn.Module):
    """relu(x) through ``torch.autograd.Function`` with the derivative 1[x > 0] written by hand."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ReLUFunction.apply(x)


REGISTRY: dict[str, type[nn.Module]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leakyrelu": LeakyReLU,
    "elu": ELU,
    "swish": Swish,
    "identity": Identity,
    "relu_custom": ReLUCustom,
}


def make_activation(name: str, options: dict | None = None) -> nn.Module:
    """The activation ``name`` with its options; KeyError/TypeError/ValueError on bad input."""
    return REGISTRY[name](**(options or {}))
