"""A model's identity: its spec, its name, its configuration's name. Torch-free, and it imports
nothing of the project, so every layer can name a model the same way.

A model is ``<activation>-<architecture>-<seed>``, with ``-lr<rate>-`` before the seed when
``train.lr`` is a grid (``relu-base-lr0.03-42``). A **configuration** is everything that defines
a model but its seed: its name is the model's without ``-<seed>`` (``relu-base``, or
``relu-base-lr0.03`` under a grid, where each rate's seeds are the repeats of its own
configuration). The MLflow parent run of a configuration, the tables' ``configuration``
column and every tool's labels use that one name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple


def lr_label(lr: float) -> str:
    """A learning rate as a model's name carries it: ``lr0.03`` (positional: no '-')."""
    return "lr" + format(Decimal(repr(lr)), "f")


def configuration_name(activation: str, architecture: str, lr: float | None = None) -> str:
    """``<activation>-<architecture>``, and ``-lr<rate>`` when the rate is one of a grid."""
    return "-".join([activation, architecture, *([] if lr is None else [lr_label(lr)])])


def model_name(activation: str, architecture: str, seed: int, lr: float | None = None) -> str:
    """``<configuration>-<seed>``; ``lr`` only when ``train.lr`` is a grid."""
    return f"{configuration_name(activation, architecture, lr)}-{seed}"


def configuration_of(model: str) -> str:
    """The configuration a model name belongs to: the name without its seed."""
    return model.rsplit("-", 1)[0]


class NameParts(NamedTuple):
    activation: str
    architecture: str
    rate: str | None  # the name's ``lr<rate>`` part under a grid, else None
    seed: int


def split_name(name: str, grid: bool) -> NameParts:
    """The parts of a model name; ``ValueError`` when it has not the form a matrix (with or
    without a grid of rates) gives its models."""
    parts = name.split("-")
    if len(parts) != (4 if grid else 3) or not parts[-1].isdigit():
        form = "<activation>-<architecture>-" + ("lr<rate>-" if grid else "") + "<seed>"
        raise ValueError(f"model {name!r}: expected {form}")
    return NameParts(parts[0], parts[1], parts[2] if grid else None, int(parts[-1]))


@dataclass(frozen=True)
class ModelSpec:
    """What defines one trained network; ``name`` is its ``model_name``."""

    name: str
    activation: str
    activation_options: tuple[tuple[str, Any], ...]
    architecture: str
    hidden_sizes: tuple[int, ...]
    seed: int
    init: str = "default"
    lr: float = field(kw_only=True)  # the learning rate it trains at
    # The data decide these (the prepared data's meta): FashionMNIST's 28 x 28 pixels and ten
    # classes unless a dataset says otherwise.
    inputs: int = field(default=784, kw_only=True)
    classes: int = field(default=10, kw_only=True)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.activation_options)

    @property
    def configuration(self) -> str:
        return configuration_of(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "activation": self.activation,
            "activation_options": self.options,
            "architecture": self.architecture,
            "hidden_sizes": list(self.hidden_sizes),
            "seed": self.seed,
            "init": self.init,
            "lr": self.lr,
            "inputs": self.inputs,
            "classes": self.classes,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelSpec:
        return cls(
            d["name"],
            d["activation"],
            tuple(sorted(d["activation_options"].items())),
            d["architecture"],
            tuple(d["hidden_sizes"]),
            d["seed"],
            d["init"],
            lr=d["lr"],
            inputs=d.get("inputs", 784),  # records written before other datasets existed
            classes=d.get("classes", 10),
        )
