"""The params the tests build their configs from. Tests never read the workspace's params.yaml:
a user may have edited it. They start from ``reference_params()``, a copy of the committed
defaults (a test compares the two)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# The reference configuration of UvA DL tutorial 3 (docs/reference.md), as params.yaml holds it.
_REFERENCE: dict[str, Any] = {
    "data": {
        "dataset": "fashion_mnist",
        "mirror": "auto",
        "mnist1d": {"seed": 42, "samples": 5000},
        "files": {"path": "data/own/example.npz", "label": "label"},
        "val_size": 10000,
        "split_seed": 42,
        "normalization": "fixed",
        "mean": 0.5,
        "std": 0.5,
    },
    "models": {
        "activations": ["sigmoid", "tanh", "relu", "leakyrelu", "elu", "swish", "identity"],
        "architectures": ["base", "deep"],
        "seeds": [42, 43, 44],
    },
    "architectures": {
        "base": {"hidden": [512, 256, 256, 128], "init": "default"},
        "deep": {"hidden": [256] * 5 + [128] * 5, "init": "default"},
        "deep_kaiming": {"hidden": [256] * 5 + [128] * 5, "init": "kaiming"},
        "deep_xavier": {"hidden": [256] * 5 + [128] * 5, "init": "xavier"},
        "mlp_128_64": {"hidden": [128, 64], "init": "default"},
        "shallow_64x4": {"hidden": [64] * 4, "init": "default"},
        "deep_48x9": {"hidden": [48] * 9, "init": "default"},
        "mnist1d_mlp": {"hidden": [256, 256], "init": "default"},
        "mnist1d_deep": {"hidden": [256] * 6, "init": "default"},
    },
    "activation_options": {
        "sigmoid": {},
        "tanh": {},
        "relu": {},
        "leakyrelu": {"alpha": 0.1},
        "elu": {"alpha": 1.0},
        "swish": {},
        "identity": {},
        "gelu": {"approximate": "none"},
        "selu": {},
        "mish": {},
        "softplus": {"beta": 1.0, "threshold": 20.0},
        "celu": {"alpha": 1.0},
        "hardswish": {},
        "relu6": {},
        "prelu": {"init": 0.25, "per": "layer"},
    },
    "train": {
        "optimizer": "sgd",
        "lr": 0.01,
        "momentum": 0.9,
        "batch_size": 256,
        "max_epochs": 50,
        "patience": 7,
        "min_epochs": 20,
        "patience_on": "either",
        "early_stopping": False,
        "budgets": [12, 25],
        "device": "auto",
        "activation_impl": "fused",
        "dynamics_subset": 10000,
        "probe_every": 1,
        "pack_size": "auto",
        "checkpoint_seconds": 30,
    },
    "probes": {
        "saturation_eps": 1e-3,
        "saturated_fraction": 0.99,
        "batch_size": 1024,
        "grad_batch_size": 256,
        "activation_batch_size": 1024,
        "hist_bins": 60,
    },
    "plot": {
        "dpi": 110,
        "width": 12.0,
        "format": "png",
    },
    "analysis": {
        "baseline": "relu",
        "equivalence_margin": 0.5,
        "delta": 1.0,
        "alpha": 0.05,
        "power": 0.8,
        "confirm_seeds": [],
    },
    "mlflow": {"experiment": "actlab"},
}


def reference_params(**edits: Any) -> dict[str, Any]:
    """A fresh copy of the reference params with ``section__key=value`` edits; ``...`` deletes."""
    raw = copy.deepcopy(_REFERENCE)
    for dotted, value in edits.items():
        *parents, last = dotted.split("__")
        node = raw
        for key in parents:
            node = node[key]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return raw


def tiny_params(mirror: Path, **edits: Any) -> dict[str, Any]:
    """A config that runs the whole pipeline in seconds on ``tests.idx.write_mirror`` data."""
    tiny = {
        "data__dataset": "mnist",
        "data__mirror": str(mirror),
        "data__val_size": 200,
        "models__activations": ["relu"],
        "models__architectures": ["tiny"],
        "models__seeds": [42],
        "architectures__tiny": {"hidden": [16, 8], "init": "default"},
        "train__max_epochs": 4,
        "train__budgets": [2],
        "train__lr": 0.1,
        "train__batch_size": 64,
        "train__dynamics_subset": 300,
        "probes__batch_size": 128,
        "probes__grad_batch_size": 64,
        "probes__activation_batch_size": 128,
        "plot__dpi": 40,
        "plot__width": 8.0,
    }
    return reference_params(**{**tiny, **edits})
