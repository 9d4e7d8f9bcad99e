"""The tutorials this project grew from, each runnable in one command: ``make preset
PRESET=<name>`` (``python -m actlab.tools.presets <name>``).

A preset is a set of ``params.yaml`` edits run as a DVC experiment (``dvc exp run --temp -n
<name> -S key=value ...``): params.yaml and the workspace's results stay as they are, the
results land in an experiment that ``dvc exp show`` lists beside the others, ``dvc exp apply``
brings into the workspace and ``dvc exp push`` shares, and the models log to the same MLflow
store, with the preset's name in their run names. The architectures the presets use are named
recipes in ``params.yaml`` (outside the default matrix), so every edit is of a key that exists.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from actlab.errors import ConfigError, exit_code
from actlab.model.registry import ACTIVATIONS

MNIST_NORMALIZATION = {"data.normalization": "fixed", "data.mean": 0.1307, "data.std": 0.3081}


@dataclass(frozen=True)
class Preset:
    summary: str
    source: str
    edits: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "uva-tutorial3": Preset(
        "FashionMNIST, MLP [512, 256, 256, 128] and a deep [256 x5, 128 x5], seven activations,"
        " SGD 0.01 momentum 0.9, batch 256, 50 epochs: the default params.yaml",
        "UvA Deep Learning tutorial 3, Activation Functions (docs/reference.md)",
    ),
    "mnist-custom-autograd": Preset(
        "MNIST, MLP 784-128-64-10, relu / tanh / leaky relu (alpha 0.01) each with a "
        "hand-written backward pass, plain SGD 0.01, batch 64, 25 epochs",
        "the MNIST custom-autograd tutorial (docs/reference.md)",
        {
            "data.dataset": "mnist",
            **MNIST_NORMALIZATION,
            "models.activations": ["relu", "tanh", "leakyrelu"],
            "models.architectures": ["mlp_128_64"],
            "activation_options.leakyrelu.alpha": 0.01,
            "train.activation_impl": "manual",
            "train.optimizer": "sgd",
            "train.lr": 0.01,
            "train.momentum": 0.0,
            "train.batch_size": 64,
            "train.max_epochs": 25,  # the tutorial trains every epoch, as the fixed budget does
            "train.budgets": [12],
        },
    ),
    "mnist-shallow-deep": Preset(
        "MNIST, four hidden layers of 64 against nine of 48, sigmoid / tanh / relu / leaky "
        "relu (alpha 0.01), SGD 0.01 momentum 0.9, batch 64, 30 epochs, weight histograms",
        "the MNIST shallow-vs-deep tutorial (docs/reference.md)",
        {
            "data.dataset": "mnist",
            **MNIST_NORMALIZATION,
            "models.activations": ["sigmoid", "tanh", "relu", "leakyrelu"],
            "models.architectures": ["shallow_64x4", "deep_48x9"],
            "activation_options.leakyrelu.alpha": 0.01,
            "train.optimizer": "sgd",
            "train.lr": 0.01,
            "train.momentum": 0.9,
            "train.batch_size": 64,
            "train.max_epochs": 30,
            "train.budgets": [15],
        },
    ),
    "learning-rates": Preset(
        "the default matrix with each activation at its own learning rate: SGD at 0.01, 0.03 "
        "and 0.1, the rate chosen per activation and architecture on validation "
        "accuracy, the comparison made at the chosen rates and the verdicts of each single "
        "rate beside it",
        "a fair comparison tunes each candidate (docs/results.md, Learning rates)",
        {"train.lr": [0.01, 0.03, 0.1]},
    ),
    "mnist1d": Preset(
        "MNIST-1D generated offline (4 000 train, 500 of them validate, 1 000 test, 40 "
        "features), the paper's MLP 40-256-256-10 and a deep 6 x 256, all fifteen activations, "
        "Adam 0.01, batch 100, 200 epochs (about the paper's 6 000-8 000 steps)",
        "Greydanus & Kobak, ICML 2024 (docs/datasets.md, docs/reference.md)",
        {
            "data.dataset": "mnist1d",
            "data.val_size": 500,
            "data.normalization": "fixed",  # the generator centres and scales the data already
            "data.mean": 0.0,
            "data.std": 1.0,
            "models.activations": list(ACTIVATIONS),
            "models.architectures": ["mnist1d_mlp", "mnist1d_deep"],
            "train.optimizer": "adam",
            "train.lr": 0.01,
            "train.batch_size": 100,
            "train.max_epochs": 200,
            "train.budgets": [50, 100],
            "train.dynamics_subset": 3500,
        },
    ),
    "all-activations": Preset(
        "all fifteen activations (the seven above and GELU, SELU, Mish, Softplus, CELU, "
        "Hardswish, ReLU6, PReLU) on the base network and on the deep one with Kaiming init, "
        "three seeds, the default training otherwise",
        "the activations people reach for today (docs/activations.md, docs/results.md)",
        {"models.activations": list(ACTIVATIONS), "models.architectures": ["base", "deep_kaiming"]},
    ),
}


def edits(name: str, dataset: str | None = None) -> dict[str, Any]:
    """The params edits of a preset, with the dataset replaced when ``dataset`` is given."""
    if name not in PRESETS:
        raise ConfigError(f"preset {name!r} does not exist; choose one of {', '.join(PRESETS)}")
    result = dict(PRESETS[name].edits)
    if dataset is not None:
        result["data.dataset"] = dataset
    return result


def apply(params: dict, changes: dict[str, Any]) -> dict:
    """``params`` (a parsed params.yaml) with dotted-key ``changes`` applied, as ``-S`` does."""
    result = json.loads(json.dumps(params))
    for key, value in changes.items():
        *parents, leaf = key.split(".")
        node = result
        for part in parents:
            node = node[part]
        if leaf not in node:
            raise ConfigError(f"preset edit {key}: params.yaml has no such key")
        node[leaf] = value
    return result


def dvc_arguments(
    name: str, dataset: str | None = None, queue: bool = False, extra: tuple[str, ...] = ()
) -> list[str]:
    """``dvc exp run`` with the preset's edits as ``-S key=value`` (lists as JSON), then the
    ``extra`` ``key=value`` edits of the user, which win."""
    args = ["exp", "run", "--queue" if queue else "--temp", "-n", name]
    for key, value in edits(name, dataset).items():
        args += ["-S", f"{key}={json.dumps(value) if isinstance(value, list) else value}"]
    for edit in extra:
        args += ["-S", edit]
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", choices=list(PRESETS), nargs="?")
    parser.add_argument("--dataset", help="run on another dataset, e.g. fashion_mnist offline")
    parser.add_argument("--queue", action="store_true", help="queue it (dvc queue start runs it)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one more params edit on top of the preset (as dvc exp run -S), e.g. "
        "'models.seeds=[42]'; repeatable",
    )
    parser.add_argument("--name", help="the experiment's name (default: the preset's)")
    parser.add_argument("--dry-run", action="store_true", help="print the dvc command only")
    args = parser.parse_args(argv)
    if args.preset is None:
        for name, preset in PRESETS.items():
            print(f"{name}: {preset.summary}\n    from {preset.source}")
        return 0
    return exit_code(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    command = ["dvc", *dvc_arguments(args.preset, args.dataset, args.queue, tuple(args.set))]
    if args.name:
        command[command.index("-n") + 1] = args.name
    print(shlex.join(command), file=sys.stderr)
    if args.dry_run:
        return 0
    return subprocess.run([shutil.which("dvc") or "dvc", *command[1:]]).returncode


if __name__ == "__main__":
    raise SystemExit(main())
