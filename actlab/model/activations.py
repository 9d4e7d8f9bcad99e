"""Activation functions, each in two implementations, and their closed-form derivatives.

- ``fused`` (the default, ``train.activation_impl``): PyTorch's own kernels (``torch.tanh``,
  ``F.silu``, ...), one pass over memory forward and one backward.
- ``formula``: written from the formulas, as the tutorials teach them; the tests check the
  fused ones against these (values and gradients, float64, a grid including ±30 and exact 0).
- ``manual``: the formula forward with a hand-written backward pass: a
  ``torch.autograd.Function`` whose backward is ``grad_output * f'(z)``, the closed form below
  (checked with ``gradcheck`` in float64 and against the fused kernels' gradients).

Every activation also has its derivative ``f'(z)`` in closed form (``derivative``), tested
against autograd, so the probes get f'(z) from the same forward pass without autograd.
Adding an activation is one class here and one entry in ``actlab.model.registry``, which
names the class, its options (the constructor's keyword arguments,
``activation_options.<name>`` in params.yaml) with their ranges, and its Kaiming gain.
"""

from __future__ import annotations

import functools
import sys

import torch
import torch.nn.functional as F
from torch import nn

from actlab.model.registry import ACTIVATIONS, IMPLS, check_options


def _only(mask: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """x where mask, else 0: the input of a branch torch.where will discard, kept finite."""
    return torch.where(mask, x, torch.zeros_like(x))


def _stable_sigmoid(x: torch.Tensor) -> torch.Tensor:
    # Each branch only ever sees exp of a non-positive number, so neither the value nor the
    # gradient becomes inf/nan for the huge pre-activations of a saturated network.
    positive = x >= 0
    e = torch.exp(_only(~positive, x))
    return torch.where(positive, 1 / (1 + torch.exp(-_only(positive, x))), e / (1 + e))


class Activation(nn.Module):
    """An elementwise activation: ``forward`` in one of two implementations, ``derivative``."""

    def __init__(self, impl: str = "fused") -> None:
        super().__init__()
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {', '.join(IMPLS)}, got {impl!r}")
        self.impl = impl

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.impl == "fused":
            return self.fused(x)
        if self.impl == "manual":
            return _HandWritten.apply(x, self)
        return self.formula(x)

    def fused(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def formula(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def derivative(self, z: torch.Tensor) -> torch.Tensor:
        """f'(z) in closed form (at a kink, the value torch's autograd gives)."""
        raise NotImplementedError

    def options(self) -> dict[str, float]:
        return {}

    def max_abs_derivative(self) -> float:
        """max |f'(z)| over the reals: 0.25 for sigmoid, 1 for tanh/relu, ~1.0998 for swish."""
        return _max_abs_derivative(type(self), tuple(sorted(self.options().items())))

    def extra_repr(self) -> str:
        return ", ".join([f"{k}={v}" for k, v in self.options().items()] + [f"impl={self.impl}"])


class _HandWritten(torch.autograd.Function):
    """Any activation with its backward pass written by hand: the forward computes the formula
    and keeps z; the backward multiplies the incoming gradient by f'(z) in closed form."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, activation: Activation) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.activation = activation
        return activation.formula(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.activation.derivative(x), None


@functools.cache
def _max_abs_derivative(cls: type[Activation], options: tuple) -> float:
    # Once per activation and options: a float64 grid fine enough for every derivative here
    # (each has its maximum at 0, at the kink, or for swish near 2.4).
    z = torch.linspace(-30, 30, 60001, dtype=torch.float64)
    return float(cls(**dict(options)).derivative(z).abs().max())


class Sigmoid(Activation):
    """sigma(x) = 1 / (1 + exp(-x));  sigma' = sigma (1 - sigma)"""

    def fused(self, x):
        return torch.sigmoid(x)

    def formula(self, x):
        return _stable_sigmoid(x)

    def derivative(self, z):
        s = torch.sigmoid(z)
        return s * (1 - s)


class Tanh(Activation):
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)) = 2 sigma(2x) - 1;  tanh' = 1 - tanh²"""

    def fused(self, x):
        return torch.tanh(x)

    def formula(self, x):
        return 2 * _stable_sigmoid(2 * x) - 1

    def derivative(self, z):
        return 1 - torch.tanh(z) ** 2


class ReLU(Activation):
    """relu(x) = max(x, 0); derivative 1[x > 0] (0 at x = 0, as in torch)."""

    def fused(self, x):
        return torch.relu(x)

    def formula(self, x):
        return _only(x > 0, x)

    def derivative(self, z):
        return (z > 0).to(z.dtype)


class LeakyReLU(Activation):
    """leakyrelu(x) = x if x > 0 else alpha * x"""

    def __init__(self, alpha: float = 0.1, impl: str = "fused") -> None:
        super().__init__(impl)
        self.alpha = float(alpha)

    def options(self):
        return {"alpha": self.alpha}

    def fused(self, x):
        return F.leaky_relu(x, self.alpha)

    def formula(self, x):
        return torch.where(x > 0, x, self.alpha * x)

    def derivative(self, z):
        return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, self.alpha))


class ELU(Activation):
    """elu(x) = x if x > 0 else alpha * (exp(x) - 1);  elu'(x) = alpha exp(x) for x <= 0"""

    def __init__(self, alpha: float = 1.0, impl: str = "fused") -> None:
        super().__init__(impl)
        self.alpha = float(alpha)

    def options(self):
        return {"alpha": self.alpha}

    def fused(self, x):
        return F.elu(x, self.alpha)

    def formula(self, x):
        positive = x > 0  # the unused branch must not overflow for large positive x
        return torch.where(positive, x, self.alpha * torch.expm1(_only(~positive, x)))

    def derivative(self, z):
        positive = z > 0
        return torch.where(
            positive, torch.ones_like(z), self.alpha * torch.exp(_only(~positive, z))
        )


class Swish(Activation):
    """swish(x) = x * sigma(x) (SiLU);  swish' = sigma (1 + x (1 - sigma))"""

    def fused(self, x):
        return F.silu(x)

    def formula(self, x):
        return x * _stable_sigmoid(x)

    def derivative(self, z):
        s = torch.sigmoid(z)
        return s * (1 + z * (1 - s))


class Identity(Activation):
    """identity(x) = x: the linear control; the whole MLP collapses to one linear map."""

    def fused(self, x):
        return x

    def formula(self, x):
        return x

    def derivative(self, z):
        return torch.ones_like(z)


def activation_class(name: str) -> type[Activation]:
    """The class that implements registered activation ``name``."""
    return getattr(sys.modules[__name__], ACTIVATIONS[name].implementation)


def make_activation(name: str, options: dict | None = None, impl: str = "fused") -> Activation:
    """The activation ``name`` with its options checked against the registry (defaults filled
    in); KeyError for an unknown name, ValueError for a bad option."""
    return activation_class(name)(**check_options(name, dict(options or {})), impl=impl)


def kaiming_gain(name: str, options: dict) -> float:
    """The He/Kaiming gain of activation ``name`` with ``options`` (the registry's choice)."""
    gain = ACTIVATIONS[name].gain
    param = check_options(name, dict(options))[gain.param] if gain.param else None
    return nn.init.calculate_gain(gain.nonlinearity, param)
