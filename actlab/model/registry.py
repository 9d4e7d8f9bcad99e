"""The activation registry: every fact about an activation, in one table, torch-free.

Per activation: its options (``activation_options.<name>`` in params.yaml) with their defaults
and ranges, the class in ``actlab.model.activations`` that implements it (its three
implementations and its closed-form derivative), and its Kaiming gain. ``check`` validates
params.yaml's activation names and options from this table without importing torch
(``check_params`` runs it after ``actlab.config``); a test checks that every entry builds,
trains one step and initialises under every init scheme.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from actlab.config import Config
from actlab.config_reader import did_you_mean
from actlab.errors import ConfigError


@dataclass(frozen=True)
class Option:
    """A numeric option: ``value > minimum`` when ``strict``, else ``value >= minimum``; and
    ``value <= maximum`` when there is one."""

    default: float
    minimum: float
    strict: bool
    maximum: float | None = None

    def check(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = " (drop the quotes)" if isinstance(value, str) else ""
            raise ValueError(f"{key} must be a number, not {value!r}{hint}")
        if not math.isfinite(value):
            raise ValueError(f"{key} must be a finite number, got {value!r}")
        if not (value > self.minimum if self.strict else value >= self.minimum):
            bound = ">" if self.strict else ">="
            raise ValueError(f"{key} must be {bound} {self.minimum:g}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{key} must be <= {self.maximum:g}, got {value!r}")
        return float(value)


@dataclass(frozen=True)
class Choice:
    """An option that takes one of a few words."""

    default: str
    choices: tuple[str, ...]

    def check(self, key: str, value: Any) -> str:
        if value not in self.choices:
            raise ValueError(f"{key} must be one of {', '.join(self.choices)}, got {value!r}")
        return value


@dataclass(frozen=True)
class Gain:
    """The Kaiming gain: ``torch.nn.init.calculate_gain(nonlinearity, options[param])``."""

    nonlinearity: str
    param: str | None = None


@dataclass(frozen=True)
class ActivationInfo:
    implementation: str  # the class in actlab.model.activations
    gain: Gain
    options: dict[str, Option | Choice] = field(default_factory=dict)


# Kaiming gains: PyTorch's (torch.nn.init.calculate_gain) where it has one: selu's is 3/4,
# prelu's is leaky_relu's at its initial slope. It has none for elu, swish, gelu, mish, celu,
# softplus, hardswish and relu6: each is the identity (or close to it) for large positive
# inputs and near 0 (or bounded) for negative ones, so they take ReLU's sqrt(2), as is common
# practice (docs/activations.md).
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
    "gelu": ActivationInfo("GELU", Gain("relu"), {"approximate": Choice("none", ("none", "tanh"))}),
    "selu": ActivationInfo("SELU", Gain("selu")),
    "mish": ActivationInfo("Mish", Gain("relu")),
    "softplus": ActivationInfo(
        "Softplus",
        Gain("relu"),
        {"beta": Option(1.0, 0.0, strict=True), "threshold": Option(20.0, 0.0, strict=True)},
    ),
    "celu": ActivationInfo("CELU", Gain("relu"), {"alpha": Option(1.0, 0.0, strict=True)}),
    "hardswish": ActivationInfo("Hardswish", Gain("relu")),
    "relu6": ActivationInfo("ReLU6", Gain("relu")),
    "prelu": ActivationInfo(
        "PReLU",
        Gain("leaky_relu", "init"),
        {
            "init": Option(0.25, 0.0, strict=False, maximum=1.0),
            "per": Choice("layer", ("layer", "neuron")),
        },
    ),
}


def check_options(name: str, options: dict[str, Any]) -> dict[str, float | str]:
    """The options of activation ``name`` with defaults filled in; ``ValueError`` names the
    bad option, its value and the allowed range."""
    allowed = ACTIVATIONS[name].options
    checked = {}
    for key, value in options.items():
        if key not in allowed:
            hint = ", ".join(allowed) if allowed else "none: use {}"
            raise ValueError(f"{key}: unknown option for {name}; allowed: {hint}")
        checked[key] = allowed[key].check(key, value)
    return {key: checked.get(key, spec.default) for key, spec in allowed.items()}


def check(cfg: Config) -> Config:
    """``cfg``'s activations are known and their options valid (``ConfigError`` names the
    key, the value and what is allowed); returns ``cfg``."""
    known = ", ".join(ACTIVATIONS)
    for name in cfg.models.activations:
        if name not in ACTIVATIONS:
            hint = did_you_mean(name, ACTIVATIONS)
            raise ConfigError(
                f"models.activations: unknown name {name!r}{hint}; use any of {known}"
            )
        if name not in cfg.activation_options:
            raise ConfigError(
                f"activation_options.{name}: missing; every activation in models.activations "
                f"needs an entry (use {{}} when it has no options)"
            )
    for name, options in cfg.activation_options.items():
        if name not in ACTIVATIONS:
            raise ConfigError(f"activation_options.{name}: unknown activation; known: {known}")
        try:
            check_options(name, options)
        except ValueError as err:  # its message starts with the option's name
            raise ConfigError(f"activation_options.{name}.{err}") from None
    return cfg
