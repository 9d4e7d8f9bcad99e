"""Which activations exist and which options each takes: torch-free, so that params.yaml
can be validated without importing torch. ``stages.activations`` implements exactly these
(a test checks names, options and defaults against its classes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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


ACTIVATIONS: dict[str, dict[str, Option]] = {
    "sigmoid": {},
    "tanh": {},
    "relu": {},
    "leakyrelu": {"alpha": Option(0.1, 0.0, strict=False)},
    "elu": {"alpha": Option(1.0, 0.0, strict=True)},
    "swish": {},
    "identity": {},
    "relu_custom": {},  # relu through an autograd.Function with a hand-written backward
}


def check_options(name: str, options: dict[str, Any]) -> dict[str, float]:
    """The options of activation ``name`` with defaults filled in; ``ValueError`` names the
    bad option, its value and the allowed range."""
    allowed = ACTIVATIONS[name]
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
