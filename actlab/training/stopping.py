"""When a model stops training, and which of its epochs it keeps: one rule for a model trained
alone (``loop``) and one in a pack (``pack``).

The kept checkpoint is the epoch with the best validation accuracy. By default every model
trains ``train.max_epochs`` epochs: a fixed budget, so the comparison does not depend on a
stopping rule (and a pack keeps its shape for the whole run). With
``train.early_stopping: true`` training waits ``train.patience`` epochs without progress, and
never stops before ``train.min_epochs``:
what counts as progress is ``train.patience_on``: a new best validation accuracy
(``val_acc``), a new lowest validation loss (``val_loss``), or either (``either``). With
``either`` a model still learning at chance level (its loss falling while its accuracy has
not moved yet) is not stopped for it: early stopping then does not decide which activations
"fail".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from actlab.config import TrainConfig

PATIENCE = "patience"  # stopped early: no progress for train.patience epochs
MAX_EPOCHS = "max_epochs"  # trained to train.max_epochs (maybe still improving)
DIVERGED = "diverged"  # its training loss was not finite


@dataclass
class Stopping:
    """A model's early-stopping state; ``update`` after each epoch."""

    best_acc: float = -1.0
    best_epoch: int = 0  # the kept checkpoint's epoch (0: the initial weights)
    best_loss: float = math.inf
    best_loss_epoch: int = 0

    def update(self, tc: TrainConfig, epoch: int, row: dict) -> tuple[bool, str | None]:
        """Take epoch ``epoch``'s row (``train_loss``, ``val_acc``, ``val_loss``) into account:
        whether it is the new checkpoint to keep, and why training stops after it (``None``:
        it goes on)."""
        if not math.isfinite(row["train_loss"]):
            return False, DIVERGED
        improved = row["val_acc"] > self.best_acc
        if improved:
            self.best_acc, self.best_epoch = row["val_acc"], epoch
        if row["val_loss"] < self.best_loss:
            self.best_loss, self.best_loss_epoch = row["val_loss"], epoch
        last_progress = {
            "val_acc": self.best_epoch,
            "val_loss": self.best_loss_epoch,
            "either": max(self.best_epoch, self.best_loss_epoch),
        }[tc.patience_on]
        patient = epoch >= tc.min_epochs and epoch - last_progress >= tc.patience
        if tc.early_stopping and patient:
            return improved, PATIENCE
        if epoch >= tc.max_epochs:
            return improved, MAX_EPOCHS
        return improved, None
