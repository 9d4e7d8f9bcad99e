"""What a metric is called in MLflow, and its unit there: accuracy in percent everywhere.

The files keep their names and units (``metrics/curves/<model>.tsv``: ``val_acc`` as a fraction,
the tables in percent). In MLflow every accuracy is in percent, and accuracy and loss carry the
prefixes ``accuracy/`` and ``cross_entropy/``: the run page groups its charts by the text before
the last ``/`` and orders the groups alphabetically, so a model's run opens on its accuracy and
loss, before ``dead/``, ``dynamics/``, ``grads/`` and ``weights/``. The configuration runs'
aggregates join the same group (``accuracy/test_mean``), so one column family in the runs table
holds the models' and the configurations' test accuracy.
"""

from __future__ import annotations

# file name -> MLflow name; the values of FRACTIONS are scaled to percent
RENAMED = {
    "train_acc": "accuracy/train",
    "val_acc": "accuracy/val",
    "test_acc": "accuracy/test",
    "best_val_acc": "accuracy/best_val",
    "train_acc_at_best": "accuracy/train_at_best",
    "train_loss": "cross_entropy/train",
    "val_loss": "cross_entropy/val",
    "test_loss": "cross_entropy/test",
    "best_val_loss": "cross_entropy/best_val",
    # a configuration's aggregates across its seeds (already in percent)
    "test_acc_mean": "accuracy/test_mean",
    "test_acc_std": "accuracy/test_std",
    "test_acc_ci_low": "accuracy/test_ci_low",
    "test_acc_ci_high": "accuracy/test_ci_high",
    "pi_low": "accuracy/test_pi_low",  # the 95 % prediction interval of one more seed
    "pi_high": "accuracy/test_pi_high",
    "reference_test_acc": "accuracy/published",
    "best_val_acc_mean": "accuracy/best_val_mean",
    "best_val_acc_std": "accuracy/best_val_std",
}
FRACTIONS = {"train_acc", "val_acc", "test_acc", "best_val_acc", "train_acc_at_best"}
WITHIN = "test_acc_within_"  # test_acc_within_<budget>: a fraction, per earlier budget


# The order a run's metrics are first logged in: MLflow lists them so, and its compare view's
# parallel-coordinates plot opens on the first one the runs share.
FIRST = ("accuracy/test", "accuracy/val", "accuracy/best_val", "accuracy/train")


def first_accuracy(keys: list[str]) -> list[str]:
    """``keys`` with the accuracies of ``FIRST`` ahead of the rest (else in their order)."""
    rank = {k: i for i, k in enumerate(FIRST)}
    return sorted(keys, key=lambda k: rank.get(k, len(FIRST)))


def metric(key: str, value: float) -> tuple[str, float]:
    """The MLflow name and value of a metric logged from the files."""
    if key.startswith(WITHIN):
        return f"accuracy/test_within_{key.removeprefix(WITHIN)}", percent(value)
    if key in FRACTIONS:
        return RENAMED[key], percent(value)
    return RENAMED.get(key, key), float(value)


def percent(fraction: float) -> float:
    """A fraction in percent, without the float noise of the product (0.7397 -> 73.97)."""
    return round(100.0 * float(fraction), 6)


def rounded(key: str, value: float) -> float:
    """An aggregate as the runs table shows it: two decimals, as the tables (-8.48, not
    -8.476666666666667); a p-value (``p_…``) whole, so that 0.049996 never reads 0.05 beside
    a verdict it decided. The files keep every digit."""
    return float(value) if key.startswith("p_") else round(float(value), 2)
