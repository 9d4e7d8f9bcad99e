"""Load ``params.yaml`` once into frozen dataclasses and validate every key before any work.

The dataclasses mirror the file: ``cfg.train.lr`` is ``train.lr``. A bad value raises
``ConfigError`` whose message names the key, the value and what is allowed; the stages'
``main`` turns it into one line on stderr and exit code 2. Importing this module does not
import torch, so ``check_params`` validates the file in well under a second.

What an activation is and which options it takes is the activation registry's
(``actlab.model.registry.check`` validates those keys; ``check_params`` runs both): this module
knows activations by name only, so editing the registry reruns no stage that never builds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from actlab.config_reader import (
    MAX_SEED,
    NAME,
    Section,
    activation_options,
    architecture,
    closest,
    did_you_mean,
)
from actlab.errors import ConfigError
from actlab.identity import ModelSpec, lr_label, model_name, split_name

# IDX files through torchvision; MNIST-1D generated offline by the mnist1d package; the user's
# own arrays (.npz or CSV) in data/own/ (actlab.data: docs/datasets.md)
IDX_DATASETS = ("fashion_mnist", "mnist")
DATASETS = (*IDX_DATASETS, "mnist1d", "files")
OWN_DATA = "data/own"  # the user's files lie here: prepare depends on the folder (dvc.yaml)
MNIST1D_TRAIN_SPLIT = 0.8  # the mnist1d package's default: 80 % of the samples train
NORMALIZATIONS = ("fixed", "computed")
OPTIMIZERS = ("sgd", "adam")
PATIENCE_ON = ("val_acc", "val_loss", "either")
DEVICES = ("auto", "cpu", "cuda")
# How an activation is computed (train.activation_impl): PyTorch's fused kernels; the
# tutorials' formulas written out op by op (autograd derives the backward); or the formulas
# with a hand-written backward pass (a torch.autograd.Function per activation, as the MNIST
# custom-autograd tutorial writes it). The same function every way (actlab.model.activations).
IMPLS = ("fused", "formula", "manual")
# How the weights of an architecture start (architectures.<name>.init): PyTorch's default
# (the tutorials'), He/Kaiming (fan-in, with the activation's gain) or Glorot/Xavier.
INITS = ("default", "kaiming", "xavier")
OFFICIAL_TRAIN_IMAGES = 60000  # both IDX datasets; data.val_size of them validate, the rest train
MAX_SAMPLES = 10_000_000
MAX_EPOCHS = 10000
MAX_PACK = 4096  # models in one stacked network
MAX_BATCH = 65536
MAX_BINS = 1000
MAX_DPI = 600
MAX_WIDTH_INCHES = 50.0


@dataclass(frozen=True)
class Mnist1dConfig:
    """``data.mnist1d``: the generator's seed and sample count (its other arguments are the
    package's published defaults); 80 % of the samples train, the rest test."""

    seed: int
    samples: int

    @property
    def train_samples(self) -> int:
        return int(self.samples * MNIST1D_TRAIN_SPLIT)  # as mnist1d.data.make_dataset splits


@dataclass(frozen=True)
class FilesConfig:
    """``data.files``: the user's ``.npz`` or CSV files under data/own/, a CSV's label column."""

    path: str
    label: str


@dataclass(frozen=True)
class DataConfig:
    dataset: str
    mirror: str
    mnist1d: Mnist1dConfig
    files: FilesConfig
    val_size: int
    split_seed: int
    normalization: str
    mean: float
    std: float

    def train_examples(self) -> int | None:
        """Examples left to train after ``val_size`` validate; None for the user's files (known
        once they are read: ``check_sizes`` runs again then)."""
        if self.dataset in IDX_DATASETS:
            return OFFICIAL_TRAIN_IMAGES - self.val_size
        if self.dataset == "mnist1d":
            return self.mnist1d.train_samples - self.val_size
        return None


@dataclass(frozen=True)
class ModelsConfig:
    """The DVC matrix: one model per activation x architecture x seed."""

    activations: tuple[str, ...]
    architectures: tuple[str, ...]
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class Architecture:
    """A named recipe: the hidden widths (their count is the depth) and the init scheme."""

    hidden: tuple[int, ...]
    init: str


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str
    lr: tuple[float, ...]  # one rate, or a grid: each model trains at one (ModelSpec.lr)
    momentum: float
    batch_size: int
    max_epochs: int
    patience: int  # epochs without a new best validation accuracy (or loss: patience_on)
    device: str
    activation_impl: str
    dynamics_subset: int
    probe_every: int = 1  # epochs between two probes of the dynamics subset
    pack_size: int | str = "auto"  # models per stacked network: auto, or a number >= 1
    checkpoint_seconds: float = 30.0  # at most this long between two resume states
    min_epochs: int = 1  # no early stop before this epoch (max_epochs still ends training)
    patience_on: str = "val_acc"  # what counts as progress: val_acc | val_loss | either
    early_stopping: bool = False  # False: every model trains max_epochs (a fixed budget)
    budgets: tuple[int, ...] = ()  # epochs < max_epochs: the best checkpoint within each, too

    @property
    def all_budgets(self) -> tuple[int, ...]:
        """The budgets whose best-validation checkpoints are kept, max_epochs last."""
        return (*self.budgets, self.max_epochs)

    def stacked(self, device_type: str) -> bool:
        """Whether models train as a stacked network (``actlab.training.pack``), even a pack of
        one: ``auto`` stacks on CUDA; on the CPU, where stacking brings nothing, models train
        one at a time."""
        return device_type == "cuda" if self.pack_size == "auto" else int(self.pack_size) > 1

    def resolved_pack_size(self, device_type: str, models: int) -> int:
        """``auto``: every model of an architecture in one pack on CUDA, one at a time on
        the CPU."""
        if self.pack_size == "auto":
            return max(1, models) if device_type == "cuda" else 1
        return int(self.pack_size)


@dataclass(frozen=True)
class ProbeConfig:
    saturation_eps: float
    saturated_fraction: float
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
class AnalysisConfig:
    """The analysis plan: recorded with every model when it trains (``records.plan``), so a
    comparison can say whether it follows the plan its models were trained under."""

    baseline: str = "relu"  # the activation every other one is compared with, paired by seed
    equivalence_margin: float = 0.5  # test-accuracy points: "equivalent" means within it
    delta: float = 1.0  # points: the smallest difference worth detecting (make plan)
    alpha: float = 0.05  # family-wise, per architecture: every activation vs the baseline
    power: float = 0.8  # make plan: the power the seeds it asks for should give
    confirm_seeds: tuple[int, ...] = ()  # fresh seeds a plan chose: confirmatory verdicts


@dataclass(frozen=True)
class MlflowConfig:
    experiment: str


@dataclass(frozen=True)
class Config:
    """All of params.yaml, one attribute per section."""

    data: DataConfig
    models: ModelsConfig
    architectures: Mapping[str, Architecture]
    activation_options: Mapping[str, Mapping[str, Any]]
    train: TrainConfig
    probes: ProbeConfig
    plot: PlotConfig
    analysis: AnalysisConfig
    mlflow: MlflowConfig

    def model_names(self) -> list[str]:
        """Every model of the matrix, in the order DVC expands it. With a grid of learning
        rates (``train.lr`` a list), each name carries its rate: ``relu-base-lr0.03-42``."""
        m, rates = self.models, self.train.lr
        grid = len(rates) > 1
        return [
            model_name(a, arch, s, lr if grid else None)
            for a in m.activations
            for arch in m.architectures
            for lr in rates
            for s in m.seeds
        ]

    def model_spec(self, name: str, inputs: int = 784, classes: int = 10) -> ModelSpec:
        """The spec of matrix item ``name``; reads only that architecture and activation. The
        data decide ``inputs`` and ``classes`` (the prepared data's meta)."""
        rates = {lr_label(lr): lr for lr in self.train.lr}
        grid = len(rates) > 1
        try:
            activation, arch, rate, seed = split_name(name, grid)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        if arch not in self.architectures:
            raise ConfigError(f"model {name!r}: no architectures.{arch} in params.yaml")
        if activation not in self.activation_options:
            raise ConfigError(f"model {name!r}: no activation_options.{activation} in params.yaml")
        if grid and rate not in rates:
            raise ConfigError(f"model {name!r}: {rate} is not in train.lr {list(self.train.lr)}")
        lr = rates[rate] if grid else self.train.lr[0]
        options = tuple(sorted(self.activation_options[activation].items()))
        recipe = self.architectures[arch]
        return ModelSpec(
            name,
            activation,
            options,
            arch,
            recipe.hidden,
            seed,
            recipe.init,
            lr=lr,
            inputs=inputs,
            classes=classes,
        )


def _data(d: Section) -> DataConfig:
    dataset = d.choice("dataset", DATASETS)
    g = d.section("mnist1d")
    mnist1d = Mnist1dConfig(
        seed=g.integer("seed", minimum=0, maximum=MAX_SEED),
        samples=g.integer("samples", minimum=100, maximum=MAX_SAMPLES),
    )
    g.done()
    if mnist1d.samples % 10:
        raise ConfigError(
            f"data.mnist1d.samples: {mnist1d.samples} is not a multiple of 10; the generator "
            "makes samples // 10 per class, so use e.g. "
            f"{mnist1d.samples - mnist1d.samples % 10}"
        )
    f = d.section("files")
    own = FilesConfig(path=f.string("path"), label=f.string("label"))
    f.done()
    data = DataConfig(
        dataset=dataset,
        mirror=d.string("mirror"),
        mnist1d=mnist1d,
        files=own,
        val_size=d.integer("val_size", minimum=1, maximum=MAX_SAMPLES),
        split_seed=d.integer("split_seed", minimum=0, maximum=MAX_SEED),
        normalization=d.choice("normalization", NORMALIZATIONS),
        mean=d.number("mean"),
        std=d.number("std", positive=True),
    )
    d.done()
    if dataset in IDX_DATASETS and data.val_size >= OFFICIAL_TRAIN_IMAGES:
        raise ConfigError(
            f"data.val_size: {data.val_size} must be below the {OFFICIAL_TRAIN_IMAGES} "
            f"training images of {dataset}"
        )
    if dataset == "mnist1d" and data.val_size >= mnist1d.train_samples:
        raise ConfigError(
            f"data.val_size: {data.val_size} must be below the {mnist1d.train_samples} training "
            f"samples of data.mnist1d.samples {mnist1d.samples} (80 % of them); lower it, e.g. "
            f"{mnist1d.train_samples // 4}"
        )
    if dataset in IDX_DATASETS and data.mirror != "auto":
        if not Path(data.mirror).expanduser().is_dir():
            raise ConfigError(
                f"data.mirror: {data.mirror!r} is not a directory; use auto, or a directory "
                "holding the four IDX files (.gz or not)"
            )
    if dataset == "files":
        check_own_path(own.path)
    return data


def check_own_path(path: str) -> None:
    """``data.files.path`` names a file or folder inside data/own/ (prepare depends on that
    folder, so DVC sees an edit of the data as it sees one of the code)."""
    where = Path(path)
    inside = not where.is_absolute() and where.parts[:2] == tuple(OWN_DATA.split("/"))
    if not path or not inside or ".." in where.parts:
        raise ConfigError(
            f"data.files.path: {path!r} is not inside {OWN_DATA}/; copy your .npz file (or "
            f"folder of CSV files) into {OWN_DATA}/ and name it there, e.g. "
            f"{OWN_DATA}/mine.npz: prepare depends on that folder, so DVC reruns it when the "
            "data change"
        )


def check_sizes(train: TrainConfig, examples: int, why: str) -> None:
    """The batch and the probes' subset fit in the ``examples`` that train (``why``: what
    left that many)."""
    if train.batch_size > examples:
        raise ConfigError(
            f"train.batch_size: {train.batch_size} exceeds the {examples} training examples "
            f"{why}; lower one of them"
        )
    if train.dynamics_subset > examples:
        raise ConfigError(
            f"train.dynamics_subset: {train.dynamics_subset} exceeds the {examples} training "
            f"examples {why}; lower it to at most {examples}"
        )


def parse(raw: Any) -> Config:
    """Validate the parsed YAML and build the Config; the first bad key raises ConfigError."""
    root = Section(raw, "")

    data = _data(root.section("data"))

    m = root.section("models")
    models = ModelsConfig(
        activations=m.names("activations"),
        architectures=m.names("architectures"),
        seeds=m.seeds("seeds"),
    )
    m.done()

    a = root.section("architectures")
    for name in models.architectures:  # a missing architecture is named before any other
        if name not in a.raw:
            raise ConfigError(
                f"models.architectures: {name!r} has no recipe under architectures"
                f"{did_you_mean(name, a.raw)}; name one of {', '.join(map(str, a.raw))}, or "
                f"add architectures.{name}: {{hidden: [...], init: default}}"
            )
    for name in a.raw:
        if not isinstance(name, str) or not NAME.match(name):
            raise ConfigError(f"architectures.{name}: must be a name of [a-z0-9_] (no '-')")
    architectures = {name: Architecture(*architecture(a, name, INITS)) for name in a.raw}

    o = root.section("activation_options")
    options = {name: activation_options(o, name) for name in o.raw}

    t = root.section("train")
    train = TrainConfig(
        optimizer=t.choice("optimizer", OPTIMIZERS),
        lr=t.numbers("lr", positive=True),
        momentum=t.number("momentum", minimum=0.0, below=1.0),
        batch_size=t.integer("batch_size", minimum=1, maximum=MAX_BATCH),
        max_epochs=t.integer("max_epochs", minimum=1, maximum=MAX_EPOCHS),
        patience=t.integer("patience", minimum=1),
        device=t.choice("device", DEVICES),
        activation_impl=t.choice("activation_impl", IMPLS),
        dynamics_subset=t.integer("dynamics_subset", minimum=1),
        probe_every=t.integer("probe_every", minimum=1, maximum=MAX_EPOCHS),
        pack_size=t.auto_or_integer("pack_size", minimum=1, maximum=MAX_PACK),
        checkpoint_seconds=t.number("checkpoint_seconds", minimum=0.0),
        min_epochs=t.integer("min_epochs", minimum=1, maximum=MAX_EPOCHS),
        patience_on=t.choice("patience_on", PATIENCE_ON),
        early_stopping=t.boolean("early_stopping"),
        budgets=t.integers("budgets", minimum=1),
    )
    t.done()
    late = [b for b in train.budgets if b >= train.max_epochs]
    if late:
        raise ConfigError(
            f"train.budgets: {late[0]} is not below train.max_epochs {train.max_epochs}; "
            "list the earlier budgets only (max_epochs is always one)"
        )
    train_images = data.train_examples()
    if train_images is not None:
        check_sizes(train, train_images, f"left by data.val_size {data.val_size}")
    else:
        train_images = MAX_BATCH

    p = root.section("probes")
    probes = ProbeConfig(
        saturation_eps=p.number("saturation_eps", positive=True),
        saturated_fraction=p.number("saturated_fraction", positive=True),
        batch_size=p.integer("batch_size", minimum=1, maximum=MAX_BATCH),
        grad_batch_size=p.integer("grad_batch_size", minimum=1, maximum=train_images),
        activation_batch_size=p.integer("activation_batch_size", minimum=1, maximum=train_images),
        hist_bins=p.integer("hist_bins", minimum=2, maximum=MAX_BINS),
    )
    p.done()
    if probes.saturation_eps >= 1:
        raise ConfigError(
            f"probes.saturation_eps: {probes.saturation_eps!r} must be < 1 "
            "(a fraction of the activation's largest derivative)"
        )
    if probes.saturated_fraction > 1:
        raise ConfigError(
            f"probes.saturated_fraction: {probes.saturated_fraction!r} must be <= 1 "
            "(the fraction of training images on which a neuron is saturated)"
        )

    g = root.section("plot")
    plot = PlotConfig(
        dpi=g.integer("dpi", minimum=20, maximum=MAX_DPI),
        width=g.number("width", positive=True, maximum=MAX_WIDTH_INCHES),
        format=g.choice("format", ("png",)),
    )
    g.done()

    n = root.section("analysis")
    analysis = AnalysisConfig(
        baseline=n.string("baseline"),
        equivalence_margin=n.number("equivalence_margin", positive=True, maximum=100.0),
        delta=n.number("delta", positive=True, maximum=100.0),
        alpha=n.number("alpha", positive=True, below=0.5),
        power=n.number("power", positive=True, below=1.0),
        confirm_seeds=n.integers("confirm_seeds", minimum=0, maximum=MAX_SEED),
    )
    n.done()
    if analysis.baseline not in models.activations:
        # an activation of the matrix with no options entry is likely the misspelt one
        strays = [a for a in models.activations if a not in options]
        close = closest(analysis.baseline, strays)
        typo = "" if close is None else f" (is {close!r} a typo of it?)"
        raise ConfigError(
            f"analysis.baseline: {analysis.baseline!r} is not in models.activations "
            f"{list(models.activations)}{typo}; name one of them (every other is compared with "
            "it)"
        )
    if analysis.power <= analysis.alpha:
        raise ConfigError(
            f"analysis.power: {analysis.power!r} must be above analysis.alpha {analysis.alpha!r}"
        )
    missing = [s for s in analysis.confirm_seeds if s not in models.seeds]
    if missing:
        raise ConfigError(
            f"analysis.confirm_seeds: {missing[0]} is not in models.seeds "
            f"{list(models.seeds)}; a confirmatory seed must be trained (add it to models.seeds)"
        )

    f = root.section("mlflow")
    mlflow = MlflowConfig(experiment=f.string("experiment"))
    f.done()
    root.done()

    if train.device == "cuda":
        import torch  # only here: validating any other setting needs no torch

        if not torch.cuda.is_available():
            raise ConfigError("train.device: 'cuda' but no CUDA GPU is visible; use auto or cpu")
    return Config(data, models, architectures, options, train, probes, plot, analysis, mlflow)


def load(path: str | Path = "params.yaml") -> Config:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; run from the repository root") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}".replace("\n", " ")) from None
    return parse(raw)
