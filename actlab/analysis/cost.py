"""What training cost: seconds per epoch, and how long to a fixed validation accuracy, per
configuration (activation x architecture) over its seeds.

Pure: a model's timing (``metrics/timing/<model>.json``) and curves
(``metrics/curves/<model>.tsv``) in, pandas DataFrames out; ``actlab.tools.cost``
reads the files and writes the table. Wall times differ between identical reruns, so this
table is no DVC output and no stage reads it: a rerun that gives bit-identical metrics still
reruns nothing downstream.

Every timing is labelled with the device it ran on, and a configuration whose seeds ran on
different devices gets one row per device: a mean over a CPU's and a GPU's seconds is the
time of neither.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from actlab.identity import ModelSpec, configuration_of

DEFAULT_THRESHOLD = 0.85  # validation accuracy (a fraction, as the curves hold it)
TITLE = "Training cost per configuration"


@dataclass(frozen=True)
class ModelCost:
    """One trained model's cost. ``epoch_reached`` is the first epoch (1-based, as the curves
    number them) whose validation accuracy is at least the threshold; None: never."""

    model: str
    activation: str
    architecture: str
    seed: int
    device: str
    seconds_per_epoch: float
    epochs: int
    epoch_reached: int | None

    @property
    def configuration(self) -> str:
        return configuration_of(self.model)

    @property
    def seconds_to_reach(self) -> float | None:
        """``epoch_reached x seconds_per_epoch``: an approximation, not a measured time. The
        mean epoch of the whole training stands in for the epochs up to the threshold (first
        epochs can be slower, warm-up, or faster), it includes each epoch's validation pass,
        and it leaves out the set-up before the first epoch. In a pack (several models as one
        stacked network) a model's seconds are its share of the pack's epochs."""
        if self.epoch_reached is None:
            return None
        return self.epoch_reached * self.seconds_per_epoch


def first_epoch_reaching(history: pd.DataFrame, threshold: float) -> int | None:
    """The first epoch whose ``val_acc`` is at least ``threshold`` (reaching it exactly
    counts), or None when no epoch does (a NaN, e.g. after divergence, does not)."""
    reached = history.loc[history["val_acc"] >= threshold, "epoch"]
    return None if reached.empty else int(reached.iloc[0])


def model_cost(
    spec: ModelSpec, timing: Mapping[str, Any], history: pd.DataFrame, threshold: float
) -> ModelCost:
    """A model's cost from its timing file's ``device`` and ``seconds_per_epoch`` and its
    curves (one row per epoch trained)."""
    return ModelCost(
        model=spec.name,
        activation=spec.activation,
        architecture=spec.architecture,
        seed=spec.seed,
        device=str(timing["device"]),
        seconds_per_epoch=float(timing["seconds_per_epoch"]),
        epochs=len(history),
        epoch_reached=first_epoch_reaching(history, threshold),
    )


def _spread(values: Sequence[float], prefix: str) -> dict[str, float | None]:
    if not values:
        return {f"{prefix}_mean": None, f"{prefix}_min": None, f"{prefix}_max": None}
    return {
        f"{prefix}_mean": sum(values) / len(values),
        f"{prefix}_min": min(values),
        f"{prefix}_max": max(values),
    }


def configuration_costs(costs: Sequence[ModelCost]) -> pd.DataFrame:
    """One row per configuration and device: the seeds that ran there, seconds per epoch,
    epochs trained, and, over the seeds that reached the threshold, the epoch and the
    seconds (``ModelCost.seconds_to_reach``) to reach it; ``reached`` of ``seeds`` did.

    Rows by architecture, then activation, then device, each in the order the models come
    (``Config.model_names``' order keeps params.yaml's)."""
    groups: dict[tuple[str, str, str], list[ModelCost]] = {}
    for c in costs:
        groups.setdefault((c.architecture, c.activation, c.device), []).append(c)
    rank = {
        field: {v: i for i, v in enumerate(dict.fromkeys(getattr(c, field) for c in costs))}
        for field in ("architecture", "activation", "device")
    }
    order = sorted(
        groups,
        key=lambda k: (rank["architecture"][k[0]], rank["activation"][k[1]], rank["device"][k[2]]),
    )
    rows = []
    for arch, activation, device in order:
        group = groups[(arch, activation, device)]
        reached = [c for c in group if c.epoch_reached is not None]
        rows.append(
            {
                "configuration": group[0].configuration,
                "activation": activation,
                "architecture": arch,
                "device": device,
                "seeds": len(group),
                "reached": len(reached),
                **_spread([c.seconds_per_epoch for c in group], "seconds_per_epoch"),
                **_spread([float(c.epochs) for c in group], "epochs"),
                **_spread([float(c.epoch_reached) for c in reached], "epoch_reached"),
                **_spread([c.seconds_to_reach for c in reached], "seconds_to_reach"),
            }
        )
    return pd.DataFrame(rows)


def percent(threshold: float) -> str:
    """0.85 -> '85 %'."""
    return f"{100 * threshold:.10g} %"


def seconds(value: float) -> str:
    """Three significant digits, never an exponent: 1.22, 0.0531, 61.0, 1234."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def _mean_range(mean: float, low: float, high: float, fmt) -> str:
    return fmt(mean) if low == high else f"{fmt(mean)} ({fmt(low)}–{fmt(high)})"


def _epochs(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _reaching(r: Mapping[str, Any], prefix: str, fmt) -> str:
    seeds, reached = int(r["seeds"]), int(r["reached"])
    if reached == 0:
        return f"not reached (0/{seeds} seeds)"
    text = _mean_range(r[f"{prefix}_mean"], r[f"{prefix}_min"], r[f"{prefix}_max"], fmt)
    return text if reached == seeds else f"{text}, {reached}/{seeds} seeds reached"


def readable(configurations: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The configuration costs as a person reads them: mean (min–max) over the seeds, and
    "k/n seeds reached" where not every seed reached the threshold (the numbers are then
    those of the k that did)."""
    at = percent(threshold)
    rows = []
    for _, r in configurations.iterrows():
        rows.append(
            {
                "configuration": r["configuration"],
                "device": r["device"],
                "seeds": int(r["seeds"]),
                "s / epoch": _mean_range(
                    r["seconds_per_epoch_mean"],
                    r["seconds_per_epoch_min"],
                    r["seconds_per_epoch_max"],
                    seconds,
                ),
                "epochs trained": _mean_range(
                    r["epochs_mean"], r["epochs_min"], r["epochs_max"], _epochs
                ),
                f"first epoch val acc ≥ {at}": _reaching(r, "epoch_reached", _epochs),
                f"s to val acc ≥ {at} (≈ epochs × s / epoch)": _reaching(
                    r, "seconds_to_reach", seconds
                ),
            }
        )
    return pd.DataFrame(rows)


def explanation(threshold: float) -> str:
    """The paragraph above the table."""
    return (
        f"Wall time per epoch (`metrics/timing/<model>.json`) on the device each model trained "
        f"on, and the first epoch whose validation accuracy reached {percent(threshold)} "
        f"(`metrics/curves/<model>.tsv`): mean (min–max) over the seeds, and over only the "
        f"seeds that reached it where not all did. Seconds to reach it are that epoch × the "
        f"model's mean seconds per epoch, an approximation. Wall times differ between "
        f"identical reruns: this table is no DVC output (`make cost` writes it)."
    )
