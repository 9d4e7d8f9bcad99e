"""The activation registry: every fact about an activation, in one table, torch-free.

Per activation: its options (``activation_options.<name>`` in params.yaml) with their defaults
and ranges, the class in ``actlab.model.activations`` that implements it (its three
implementations and its closed-form derivative), and its Kaiming gain. ``check_params``
validates params.yaml from this table without importing torch; a test checks that every
entry builds, trains one step and initialises under every init scheme.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# How an activation is computed (train.activation_impl): PyTorch's fused kernels; the
# tutorials' formulas written out op by op (autograd derives the backward); or the formulas
# with a hand-written backward pass (a torch.autograd.Function per activation, as the MNIST
# custom-autograd tutorial writes it). The same function every way.
IMPLS = ("fused", "formula", "manual")

# How the weights of an architecture start (architectures.<name>.init): PyTorch's default
# (the tutorials'), He/Kaiming (fan-in, with the activation's gain) or Glorot/Xavier.
INITS = ("default", "kaiming", "xavier")


@dataclass(frozen=True)
class Option:
    """A numeric option: ``value > minimum`` when ``strict``, else ``value >= minimum``."""

    default: float
    minimum: float
    strict: bool


@dataclass(frozen=True)
class Gain:
    """The Kaiming gain: ``torch.nn.init.calculate_gain(nonlinearity, options[param])``."""

    nonlinearity: str
    param: str | None = None


@dataclass(frozen=True)
class ActivationInfo:
    implementation: str  # the class in actlab.model.activations
    gain: Gain
    options: dict[str, Option] = field(default_factory=dict)


# PyTorch has no gain for elu and swish: both are the identity for large positive inputs and
# near 0 for negative ones, so they take ReLU's sqrt(2), as is common practice.
ACTIVATIONS: dict[str, ActivationInfo] = {
    "sigmoid": ActivationInfo("Sigmoid", Gain("sigmoid")),
    "tanh": ActivationInfo("Tanh", Gain("tanh")),
    "relu": ActivationInfo("ReLU", Gain("relu")),
    "leakyrelu": ActivationInfo(
        "LeakyReLU", Gain("leaky_relu", "alpha"), {"alpha": Option(0.1, 0.0, strict=False)}
    ),
    "elu": ActivationInfo("ELU", Gain("relu"), {"alpha": Option(1.0, 0.0, strict=True)}),
    "swish": ActivationInfo("Swish", Gain("relu")),
    "identity": ActivationInfo("Identity", Gain("linear")),
}


def check_options(name: str, options: dict[str, Any]) -> dict[str, float]:
    """The options of activation ``name`` with defaults filled in; ``ValueError`` names the
    bad option, its value and the allowed range."""
    allowed = ACTIVATIONS[name].options
    checked = {}
    for key, value in options.items():
        if key not in allowed:
            hint = ", ".join(allowed) if allowed else "none: use {}"
            raise ValueError(f"{key}: unknown option for {name}; allowed: {hint}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = " (drop the quotes)" if isinstance(value, str) else ""
            raise ValueError(f"{key} must be a number, not {value!r}{hint}")
        if not math.isfinite(value):
            raise ValueError(f"{key} must be a finite number, got {value!r}")
        spec = allowed[key]
        if not (value > spec.minimum if spec.strict else value >= spec.minimum):
            bound = ">" if spec.strict else ">="
            raise ValueError(f"{key} must be {bound} {spec.minimum:g}, got {value!r}")
        checked[key] = float(value)
    return {key: checked.get(key, spec.default) for key, spec in allowed.items()}
