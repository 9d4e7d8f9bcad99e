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
        "train__budgets": [],
        "train__early_stopping": True,  # the tests of early stopping and of packs that shrink
        "train__min_epochs": 1,  # early stopping as soon as patience allows,
        "train__patience_on": "val_acc",  # on accuracy alone (blobs' loss falls for long)
        "train__batch_size": 64,
        "train__dynamics_subset": 256,
        **edits,
    }
    return config.parse(reference_params(**edits)).train


def same_result(a, b) -> bool:
    """Two ``TrainResult`` of one model, bit for bit: history, best epoch and checkpoint (and
    within each budget), divergence, neuron history, weight histograms (edges and counts)."""
    return (
        a.history == b.history
        and a.budget_best.keys() == b.budget_best.keys()
        and all(
            a.budget_best[k][0] == b.budget_best[k][0]
            and all(torch.equal(v, b.budget_best[k][1][n]) for n, v in a.budget_best[k][1].items())
            for k in a.budget_best
        )
        and a.best_epoch == b.best_epoch
        and a.diverged_at_epoch == b.diverged_at_epoch
        and a.best_state.keys() == b.best_state.keys()
        and all(torch.equal(a.best_state[k], b.best_state[k]) for k in a.best_state)
        and a.neuron_history.epochs == b.neuron_history.epochs
        and all(
            torch.equal(x, y)
            for x, y in zip(
                a.neuron_history.max_abs_output + a.neuron_history.max_rel_derivative,
                b.neuron_history.max_abs_output + b.neuron_history.max_rel_derivative,
                strict=True,
            )
        )
        and all(
            a.weight_histograms[part].keys() == b.weight_histograms[part].keys()
            and all(
                torch.equal(a.weight_histograms[part][k], b.weight_histograms[part][k])
                for k in a.weight_histograms[part]
            )
            for part in ("edges", "counts")
        )
    )
