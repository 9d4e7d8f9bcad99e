"""The comparison table: one row per trained model, from what the earlier stages wrote.

Pure: metrics in, a pandas DataFrame out. The published numbers the table is compared with,
and their sources, are in docs/reference.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from stages.io import ModelRecord

# UvA DL tutorial 3, test accuracy (%) of [512, 256, 256, 128] on FashionMNIST
# (docs/reference.md, "Published test accuracy").
REFERENCE_TEST_ACC = {
    "sigmoid": 10.00,
    "tanh": 87.59,
    "relu": 88.62,
    "leakyrelu": 88.92,
    "elu": 87.27,
    "swish": 88.73,
}
REFERENCE_WIDTHS = (512, 256, 256, 128)


@dataclass
class ModelMetrics:
    """Everything the earlier stages wrote about one model."""

    record: ModelRecord
    train: Mapping[str, Any]
    timing: Mapping[str, Any]
    history: pd.DataFrame  # per epoch: losses, accuracies
    evaluate: Mapping[str, Any]
    dead: Mapping[str, Any]  # counts at init and after training
    dynamics: pd.DataFrame  # dead/saturated per layer per epoch
    probes: Mapping[str, Any]  # gradient flow and activation histograms


def reference_acc(dataset: str, record: ModelRecord) -> float | None:
    """The published test accuracy of this model's configuration, if there is one."""
    if dataset == "fashion_mnist" and record.spec.hidden_sizes == REFERENCE_WIDTHS:
        return REFERENCE_TEST_ACC.get(record.spec.activation)
    return None


def summary_table(dataset: str, metrics: Mapping[str, ModelMetrics]) -> pd.DataFrame:
    rows = []
    for name, m in metrics.items():
        spec, d = m.record.spec, m.dead
        rows.append(
            {
                "model": name,
                "activation": spec.activation,
                "architecture": spec.architecture,
                "seed": spec.seed,
                "parameters": m.train["parameters"],
                "epochs": m.train["epochs_trained"],
                "best_val_acc": round(100 * m.train["best_val_acc"], 2),
                "test_acc": round(100 * m.evaluate["test_acc"], 2),
                "reference_test_acc": reference_acc(dataset, m.record),
                "dead_init": d["init"]["dead"]["total"],
                "dead_trained": d["trained"]["dead"]["total"],
                "dead_worst_layer_pct_init": d["init"]["dead"]["worst_layer_percent"],
                "dead_worst_layer_pct_trained": d["trained"]["dead"]["worst_layer_percent"],
                "saturated_init": d["init"]["saturated"]["total"],
                "saturated_trained": d["trained"]["saturated"]["total"],
                "saturated_worst_layer_pct_trained": d["trained"]["saturated"][
                    "worst_layer_percent"
                ],
                "train_seconds": m.timing["seconds"],
            }
        )
    return pd.DataFrame(rows)
