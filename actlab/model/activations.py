"""Activation functions, each in three implementations, and their closed-form derivatives.

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
import math
import sys

import torch
import torch.nn.functional as F
from torch import nn

from actlab.config import IMPLS
from actlab.model.registry import ACTIVATIONS, check_options


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
    """An elementwise activation: ``forward`` in one of three implementations, ``derivative``.
    ``learns``: it has a parameter the optimiser trains (PReLU's slopes)."""

    learns = False

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

    def options(self) -> dict[str, float | str]:
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

    def __init__(self, alpha: float, impl: str = "fused") -> None:
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

    def __init__(self, alpha: float, impl: str = "fused") -> None:
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


class GELU(Activation):
    """gelu(x) = x Phi(x), Phi the standard normal CDF: 0.5 x (1 + erf(x / sqrt 2));
    gelu' = Phi(x) + x phi(x). ``approximate: tanh``: 0.5 x (1 + tanh(k (x + 0.044715 x³))),
    k = sqrt(2 / pi), as PyTorch and the GPT-2 code write it."""

    def __init__(self, approximate: str, impl: str = "fused") -> None:
        super().__init__(impl)
        self.approximate = approximate

    def options(self):
        return {"approximate": self.approximate}

    def fused(self, x):
        return F.gelu(x, approximate=self.approximate)

    def formula(self, x):
        if self.approximate == "tanh":
            return 0.5 * x * (1 + torch.tanh(_GELU_K * (x + _GELU_C * x**3)))
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))

    def derivative(self, z):
        if self.approximate == "tanh":
            t = torch.tanh(_GELU_K * (z + _GELU_C * z**3))
            return 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * _GELU_K * (1 + 3 * _GELU_C * z**2)
        cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
        return cdf + z * torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)


_GELU_K = math.sqrt(2 / math.pi)
_GELU_C = 0.044715

# SELU's constants (Klambauer et al. 2017), as torch.nn.SELU has them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class SELU(Activation):
    """selu(x) = scale * (x if x > 0 else alpha (exp(x) - 1)), alpha ~ 1.6733, scale ~ 1.0507
    (self-normalising: zero mean and unit variance are a fixed point with LeCun init);
    selu' = scale for x > 0, scale alpha exp(x) for x <= 0."""

    def fused(self, x):
        return F.selu(x)

    def formula(self, x):
        positive = x > 0
        return _SELU_SCALE * torch.where(
            positive, x, _SELU_ALPHA * torch.expm1(_only(~positive, x))
        )

    def derivative(self, z):
        positive = z > 0
        return torch.where(
            positive,
            torch.full_like(z, _SELU_SCALE),
            _SELU_SCALE * _SELU_ALPHA * torch.exp(_only(~positive, z)),
        )


def _softplus(x: torch.Tensor) -> torch.Tensor:
    """log(1 + exp(x)), as x + log(1 + exp(-x)) for x > 0: no overflow for large x (and
    autograd's gradient at 0 is sigma(0) = 1/2)."""
    positive = x > 0
    return torch.where(
        positive,
        x + torch.log1p(torch.exp(-_only(positive, x))),
        torch.log1p(torch.exp(_only(~positive, x))),
    )


class Mish(Activation):
    """mish(x) = x tanh(softplus(x));  mish' = tanh(sp) + x (1 - tanh²(sp)) sigma(x)."""

    def fused(self, x):
        return F.mish(x)

    def formula(self, x):
        return x * torch.tanh(_softplus(x))

    def derivative(self, z):
        t = torch.tanh(_softplus(z))
        return t + z * (1 - t**2) * torch.sigmoid(z)


class Softplus(Activation):
    """softplus(x) = log(1 + exp(beta x)) / beta, and x where beta x > threshold (as torch);
    softplus' = sigma(beta x), and 1 above the threshold."""

    def __init__(self, beta: float, threshold: float, impl: str = "fused") -> None:
        super().__init__(impl)
        self.beta, self.threshold = float(beta), float(threshold)

    def options(self):
        return {"beta": self.beta, "threshold": self.threshold}

    def fused(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def formula(self, x):
        return torch.where(self.beta * x > self.threshold, x, _softplus(self.beta * x) / self.beta)

    def derivative(self, z):
        bz = self.beta * z
        return torch.where(bz > self.threshold, torch.ones_like(z), torch.sigmoid(bz))


class CELU(ELU):
    """celu(x) = x if x > 0 else alpha (exp(x / alpha) - 1): ELU with a derivative that is 1
    at 0 for every alpha (continuously differentiable);  celu' = exp(x / alpha) for x <= 0.
    ELU's option (alpha), its own formulas."""

    def fused(self, x):
        return F.celu(x, self.alpha)

    def formula(self, x):
        positive = x > 0
        return torch.where(positive, x, self.alpha * torch.expm1(_only(~positive, x) / self.alpha))

    def derivative(self, z):
        positive = z > 0
        return torch.where(
            positive, torch.ones_like(z), torch.exp(_only(~positive, z) / self.alpha)
        )


class Hardswish(Activation):
    """hardswish(x) = x relu6(x + 3) / 6: exactly 0 for x <= -3, x for x >= 3;
    hardswish' = 0 for x <= -3, x / 3 + 1/2 between, 1 for x >= 3 (torch's values at -3, 3)."""

    def fused(self, x):
        return F.hardswish(x)

    def formula(self, x):
        return torch.where(x <= -3, torch.zeros_like(x), torch.where(x >= 3, x, x * (x + 3) / 6))

    def derivative(self, z):
        return torch.where(
            z <= -3, torch.zeros_like(z), torch.where(z < 3, z / 3 + 0.5, torch.ones_like(z))
        )


class ReLU6(Activation):
    """relu6(x) = min(max(x, 0), 6): exactly 0 below 0, flat at 6 above 6;
    relu6' = 1 on (0, 6), 0 elsewhere (0 at both kinks, as in torch)."""

    def fused(self, x):
        return F.relu6(x)

    def formula(self, x):
        return torch.where(x >= 6, torch.full_like(x, 6.0), _only(x > 0, x))

    def derivative(self, z):
        return ((z > 0) & (z < 6)).to(z.dtype)


class PReLU(Activation):
    """prelu(x) = x if x > 0 else a x, with the slope ``a`` learned: one per layer
    (``per: layer``, as torch.nn.PReLU()) or one per neuron (``per: neuron``), starting at
    ``init`` (He et al. 2015: 0.25). prelu' = 1 for x > 0, a for x <= 0 (torch's value at 0).

    The slopes are a parameter (``weight``, as torch.nn.PReLU names it): saved in the
    checkpoints and trained by the optimiser. ``max_abs_derivative`` is 1, the positive side's
    slope: a neuron is saturated on an image where its learned |a| falls below eps."""

    learns = True

    def __init__(self, init: float, per: str, impl: str = "fused", width: int = 1) -> None:
        super().__init__(impl)
        self.init, self.per = float(init), per
        self.weight = nn.Parameter(torch.full((width if per == "neuron" else 1,), self.init))

    def options(self):
        return {"init": self.init, "per": self.per}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return prelu(x, self.weight, self.impl)

    def formula(self, x):
        return prelu(x, self.weight, "formula")

    def derivative(self, z):
        return prelu_derivative(z, self.weight)

    def max_abs_derivative(self) -> float:
        return 1.0


def prelu(x: torch.Tensor, slope: torch.Tensor, impl: str) -> torch.Tensor:
    """PReLU of ``x`` with ``slope`` broadcast over it (``[k]`` for a ``[B, n]`` batch; in a
    pack ``[M, 1, k]`` for ``[M, B, n]``, where PyTorch's kernel takes no per-model slope, so
    ``fused`` is the formula there: the same values)."""
    if impl == "manual":
        return _PReLUHandWritten.apply(x, slope)
    if impl == "fused" and slope.dim() == 1:
        return F.prelu(x, slope)
    return torch.where(x > 0, x, slope * x)


def prelu_derivative(z: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
    return torch.where(z > 0, torch.ones_like(z), slope.detach())


class _PReLUHandWritten(torch.autograd.Function):
    """PReLU with its backward written by hand: d/dx = 1 or a; d/da = x where x <= 0, summed
    over everything the slope is shared by."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, slope)
        return torch.where(x > 0, x, slope * x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        x, slope = ctx.saved_tensors
        positive = x > 0
        grad_x = grad_output * torch.where(positive, torch.ones_like(x), slope)
        grad_slope = (grad_output * _only(~positive, x)).sum_to_size(slope.shape)
        return grad_x, grad_slope


def activation_class(name: str) -> type[Activation]:
    """The class that implements registered activation ``name``."""
    return getattr(sys.modules[__name__], ACTIVATIONS[name].implementation)


def make_activation(
    name: str, options: dict | None = None, impl: str = "fused", width: int = 1
) -> Activation:
    """The activation ``name`` with its options checked against the registry (defaults filled
    in); KeyError for an unknown name, ValueError for a bad option. ``width``: the layer's
    neurons, for an activation that learns a parameter per neuron (PReLU)."""
    cls = activation_class(name)
    extra = {"width": width} if cls.learns else {}
    return cls(**check_options(name, dict(options or {})), impl=impl, **extra)


def kaiming_gain(name: str, options: dict) -> float:
    """The He/Kaiming gain of activation ``name`` with ``options`` (the registry's choice)."""
    gain = ACTIVATIONS[name].gain
    param = check_options(name, dict(options))[gain.param] if gain.param else None
    return nn.init.calculate_gain(gain.nonlinearity, param)
