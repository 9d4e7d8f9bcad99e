"""Every file the stages read or write, named once; dvc.yaml declares the same paths."""

from __future__ import annotations

from pathlib import Path

RAW = Path("data/raw")                  # torchvision's root: data/raw/<Dataset>/raw/*-ubyte
PREPARED = Path("data/prepared")
PREPARED_TENSORS = PREPARED / "splits.pt"
PREPARED_META = PREPARED / "meta.json"
METRICS = Path("metrics")
PLOTS = METRICS / "plots"
SUMMARY_CSV = METRICS / "summary.csv"
SUMMARY_MD = METRICS / "summary.md"


def model_dir(model: str) -> Path:
    return Path("models") / model


def init_checkpoint(model: str) -> Path:
    return model_dir(model) / "init.pt"


def best_checkpoint(model: str) -> Path:
    return model_dir(model) / "best.pt"


def model_config(model: str) -> Path:
    return model_dir(model) / "config.json"


def neuron_history(model: str) -> Path:
    """Per-epoch per-neuron extremes on the dynamics subset (read by dead_neurons)."""
    return model_dir(model) / "neuron_history.pt"


def train_history(model: str) -> Path:
    """One row per epoch; its own directory so that dvc.yaml's top-level plots can name it."""
    return METRICS / "curves" / f"{model}.tsv"


def train_metrics(model: str) -> Path:
    return METRICS / "train" / f"{model}.json"


def train_timing(model: str) -> Path:
    """Wall times: outside every directory a later stage depends on, so that a rerun giving
    bit-identical metrics reruns nothing downstream (plot reads it for the table only)."""
    return METRICS / "timing" / f"{model}.json"


def eval_metrics(model: str) -> Path:
    return METRICS / "evaluate" / f"{model}.json"


def dead_metrics(model: str) -> Path:
    return METRICS / "dead_neurons" / f"{model}.json"


def dead_history(model: str) -> Path:
    """Dead/saturated counts per layer per epoch (0 = init)."""
    return METRICS / "dead_dynamics" / f"{model}.tsv"


def probe_stats(model: str) -> Path:
    """Gradient flow at init and activation distributions after training."""
    return METRICS / "probes" / f"{model}.json"
