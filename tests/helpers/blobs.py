"""Small synthetic data the training tests learn in seconds, and train configs for it."""

import torch

from actlab import config
from actlab.data import datasets
from tests.helpers.params import reference_params


def splits(n_train=1024, n_val=256, seed=0):
    """Ten Gaussian blobs in 784 dimensions: learnable in one epoch, not trivially."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(10, 784, generator=g)

    def draw(n):
        y = torch.randint(0, 10, (n,), generator=g)
        return centres[y] + 2.0 * torch.randn(n, 784, generator=g), y

    (xt, yt), (xv, yv) = draw(n_train), draw(n_val)
    return datasets.Splits(xt, yt, xv, yv, xv, yv, meta={})


def train_config(**edits):
    edits = {
        "train__max_epochs": 1,
        "train__batch_size": 64,
        "train__dynamics_subset": 256,
        **edits,
    }
    return config.parse(reference_params(**edits)).train
