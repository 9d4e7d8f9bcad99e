"""Load ``params.yaml`` once into frozen dataclasses and validate every key before any work.

A bad value raises ``ConfigError`` whose message names the key, the value and what is allowed;
the stages' ``main`` turns it into one line on stderr and exit code 2.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stages.activations import REGISTRY

DATASETS = ("fashion_mnist", "mnist")
NORMALIZATIONS = ("fixed", "computed")
OPTIMIZERS = ("sgd", "adam")
DEVICES = ("auto", "cpu", "cuda")
_NAME = re.compile(r"^[a-z0-9_]+$")  # model names join matrix items with '-', so no '-' inside


class ConfigError(ValueError):
    """A value in params.yaml that the pipeline cannot use."""


@dataclass(frozen=True)
class DataConfig:
    dataset: str
    mirror: str
    val_size: int
    split_seed: int
    normalization: str
    mean: float
    std: float


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str
    lr: float
    momentum: float
    batch_size: int
    max_epochs: int
    patience: int
    seed: int
    device: str
    dynamics_subset: int


@dataclass(frozen=True)
class ProbeConfig:
    saturation_eps: float
    batch_size: int
    grad_batch_size: int
    activation_batch_size: int
    hist_bins: int


@dataclass(frozen=True)
class PlotConfig:
    dpi: int
    width: float
    format: str


@dataclass(frozen=True)
class ModelSpec:
    """One trained model: a matrix item ``<activation>-<architecture>[-<seed>]``."""

    name: str
    activation: str
    activation_options: tuple[tuple[str, Any], ...]
    architecture: str
    hidden_sizes: tuple[int, ...]
    seed: int

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.activation_options)


@dataclass(frozen=True)
class Config:
    data: DataConfig
    activations: tuple[str, ...]
    architecture_names: tuple[str, ...]
    extra_seeds: tuple[int, ...]
    architectures: dict[str, tuple[int, ...]]
    activation_options: dict[str, dict[str, Any]]
    train: TrainConfig
    probes: ProbeConfig
    plot: PlotConfig
    experiment: str

    def model_names(self) -> list[str]:
        """Every model in DVC's matrix order: ``train.seed`` models, then ``extra_seeds`` ones."""
        pairs = [f"{a}-{arch}" for a in self.activations for arch in self.architecture_names]
        return pairs + [f"{p}-{seed}" for p in pairs for seed in self.extra_seeds]

    def models(self) -> list[ModelSpec]:
        return [self.model(name) for name in self.model_names()]

    def model(self, name: str) -> ModelSpec:
        if name not in self.model_names():
            raise ConfigError(
                f"unknown model {name!r}; params.yaml defines: {', '.join(self.model_names())}"
            )
        activation, arch, *seed = name.split("-")
        options = tuple(sorted(self.activation_options[activation].items()))
        return ModelSpec(name, activation, options, arch, self.architectures[arch],
                         int(seed[0]) if seed else self.train.seed)


class _Section:
    """Reads one mapping of params.yaml, remembering the dotted path for error messages."""

    def __init__(self, raw: Any, path: str) -> None:
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping, got {raw!r}")
        self.raw, self.path, self.used = raw, path, set()

    def _get(self, key: str) -> tuple[str, Any]:
        where = f"{self.path}.{key}" if self.path else key
        if key not in self.raw:
            raise ConfigError(f"{where}: missing key in params.yaml")
        self.used.add(key)
        return where, self.raw[key]

    def section(self, key: str) -> _Section:
        where, value = self._get(key)
        return _Section(value, where)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        where, value = self._get(key)
        if value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not allowed; use one of {', '.join(allowed)}")
        return value

    def string(self, key: str) -> str:
        where, value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: {value!r} must be a non-empty string")
        return value

    def integer(self, key: str, minimum: int | None = None) -> int:
        where, value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {value!r} must be an integer")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{where}: {value!r} must be >= {minimum}")
        return value

    def number(self, key: str, *, positive: bool = False, minimum: float | None = None) -> float:
        where, value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {value!r} must be a number")
        if positive and not value > 0:
            raise ConfigError(f"{where}: {value!r} must be > 0")
        if minimum is not None and not value >= minimum:
            raise ConfigError(f"{where}: {value!r} must be >= {minimum}")
        return float(value)

    def names(self, key: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
        where, value = self._get(key)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: {value!r} must be a non-empty list of names")
        for item in value:
            if allowed is not None and item not in allowed:
                raise ConfigError(
                    f"{where}: unknown name {item!r}; use any of {', '.join(allowed)}"
                )
            if not isinstance(item, str) or not _NAME.match(item):
                raise ConfigError(f"{where}: {item!r} must be a name of [a-z0-9_] (no '-')")
        if len(set(value)) != len(value):
            raise ConfigError(f"{where}: {value!r} lists a name twice")
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            where = f"{self.path}.{unknown[0]}" if self.path else unknown[0]
            raise ConfigError(
                f"{where}: unknown key (a typo?); allowed here: {', '.join(sorted(self.used))}"
            )


def _widths(section: _Section, name: str) -> tuple[int, ...]:
    where, value = section._get(name)
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: {value!r} must be a non-empty list of hidden widths")
    for width in value:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ConfigError(f"{where}: width {width!r} must be a positive integer")
    return tuple(value)


def _activation_options(section: _Section, name: str) -> dict[str, Any]:
    where, value = section._get(name)
    value = {} if value is None else value
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {value!r} must be a mapping of options ({{}} for none)")
    signature = inspect.signature(REGISTRY[name].__init__)
    allowed = [p.name for p in signature.parameters.values()
               if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD]
    for key in value:
        if key not in allowed:
            hint = ", ".join(allowed) if allowed else "none: use {}"
            raise ConfigError(f"{where}.{key}: unknown option for {name}; allowed: {hint}")
    try:
        REGISTRY[name](**value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {value!r}: {err}") from None
    return dict(value)


def parse(raw: Any) -> Config:
    """Validate the parsed YAML and build the Config; the first bad key raises ConfigError."""
    root = _Section(raw, "")

    d = root.section("data")
    data = DataConfig(
        dataset=d.choice("dataset", DATASETS),
        mirror=d.string("mirror"),
        val_size=d.integer("val_size", minimum=1),
        split_seed=d.integer("split_seed", minimum=0),
        normalization=d.choice("normalization", NORMALIZATIONS),
        mean=d.number("mean"),
        std=d.number("std", positive=True),
    )
    d.done()

    m = root.section("models")
    activations = m.names("activations", tuple(REGISTRY))
    architecture_names = m.names("architectures")
    where, extra_seeds = m._get("extra_seeds")
    if not isinstance(extra_seeds, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in extra_seeds
    ) or len(set(extra_seeds)) != len(extra_seeds):
        raise ConfigError(f"{where}: {extra_seeds!r} must be a list of distinct integers >= 0 "
                          "([] for none)")
    m.done()

    a = root.section("architectures")
    architectures = {name: _widths(a, name) for name in architecture_names}
    a.used = set(a.raw)  # architectures not in models.architectures are allowed, kept for later

    o = root.section("activation_options")
    for name in activations:
        if name not in o.raw:
            raise ConfigError(
                f"activation_options.{name}: missing; every activation in models.activations "
                f"needs an entry (use {{}} when it has no options)"
            )
    options = {name: _activation_options(o, name) for name in activations}
    for name in o.raw:
        if name not in REGISTRY:
            raise ConfigError(
                f"activation_options.{name}: unknown activation; known: {', '.join(REGISTRY)}"
            )

    t = root.section("train")
    train = TrainConfig(
        optimizer=t.choice("optimizer", OPTIMIZERS),
        lr=t.number("lr", positive=True),
        momentum=t.number("momentum", minimum=0.0),
        batch_size=t.integer("batch_size", minimum=1),
        max_epochs=t.integer("max_epochs", minimum=1),
        patience=t.integer("patience", minimum=1),
        seed=t.integer("seed", minimum=0),
        device=t.choice("device", DEVICES),
        dynamics_subset=t.integer("dynamics_subset", minimum=1),
    )
    t.done()

    p = root.section("probes")
    probes = ProbeConfig(
        saturation_eps=p.number("saturation_eps", positive=True),
        batch_size=p.integer("batch_size", minimum=1),
        grad_batch_size=p.integer("grad_batch_size", minimum=1),
        activation_batch_size=p.integer("activation_batch_size", minimum=1),
        hist_bins=p.integer("hist_bins", minimum=2),
    )
    p.done()
    if probes.saturation_eps >= 1:
        raise ConfigError(
            f"probes.saturation_eps: {probes.saturation_eps!r} must be < 1 "
            "(a fraction of the activation's largest derivative)"
        )

    g = root.section("plot")
    plot = PlotConfig(
        dpi=g.integer("dpi", minimum=20),
        width=g.number("width", positive=True),
        format=g.choice("format", ("png",)),
    )
    g.done()

    f = root.section("mlflow")
    experiment = f.string("experiment")
    f.done()
    root.done()

    if train.seed in extra_seeds:
        raise ConfigError(
            f"models.extra_seeds: {train.seed} is train.seed already (the models without a "
            "seed suffix); list only the additional seeds"
        )
    if train.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("train.device: 'cuda' but no CUDA GPU is visible; use auto or cpu")
    return Config(
        data, activations, architecture_names, tuple(extra_seeds), architectures, options, train,
        probes, plot, experiment,
    )


def load(path: str | Path = "params.yaml") -> Config:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; run from the repository root") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}".replace("\n", " ")) from None
    return parse(raw)

