"""MNIST-1D (Greydanus & Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024), made
offline by the ``mnist1d`` package's own generator: 40-point sequences of ten classes.

Only ``mnist1d.data.make_dataset`` runs, never ``get_dataset`` (whose default path downloads a
pickle): every argument is the package's published default (``get_dataset_args``) but the seed
and the sample count, ``data.mnist1d.seed`` and ``data.mnist1d.samples``. The package splits 80 %
train / 20 % test; ``data.val_size`` of the training part validate, as for the other datasets.
The same params give the same bytes; another seed draws other sequences, a fresh test set.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from actlab.config import Mnist1dConfig

CLASSES = [str(digit) for digit in range(10)]  # the ten digit templates


def arguments(cfg: Mnist1dConfig) -> dict:
    """The generator's arguments: the package's defaults, with our seed and sample count."""
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    args.update(seed=cfg.seed, num_samples=cfg.samples)
    del args["url"]  # only get_dataset's download path reads it
    return args


def generate(cfg: Mnist1dConfig) -> dict:
    """Float32 sequences and int64 labels of the train and test parts, with the class names.
    The generator seeds numpy's and Python's global generators; their states are put back."""
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    saved = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(ObjectView(arguments(cfg)))
    finally:
        np.random.set_state(saved[0])
        random.setstate(saved[1])
    return {
        "train_features": torch.from_numpy(data["x"].astype(np.float32)),
        "train_labels": torch.from_numpy(data["y"].astype(np.int64)),
        "test_features": torch.from_numpy(data["x_test"].astype(np.float32)),
        "test_labels": torch.from_numpy(data["y_test"].astype(np.int64)),
        "classes": CLASSES,
    }


def version() -> str:
    from importlib.metadata import version as installed

    return installed("mnist1d")
