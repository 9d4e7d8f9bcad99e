"""What identifies a trained model, in the files DVC tracks: its record (spec, run key, the
params that define it) and everything the stages wrote about it, as typed records, written and
read here (through ``actlab.files``).

The run key hashes the params that define a model and the prepared data's checksum: it names
the model's MLflow run and its resume state. Nothing here talks to MLflow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actlab import files, paths
from actlab.config import Config, TrainConfig
from actlab.identity import ModelSpec

if TYPE_CHECKING:
    import pandas as pd


def stable_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


# How training is scheduled, not what it computes: out of the run key.
SCHEDULING = ("pack_size", "checkpoint_seconds")
# What decides a model only with early stopping on: out of the run key under a fixed budget.
EARLY_STOPPING = ("patience", "min_epochs", "patience_on")


# The checkout this code runs from: dvc.yaml and the modules it names lie there.
CODE_ROOT = Path(__file__).resolve().parents[1]


def code_hash(stage: str = "train", root: Path = CODE_ROOT) -> str:
    """A hash of the code that decides ``stage``'s outputs: the Python files dvc.yaml lists as
    its deps (a test keeps that list equal to the modules it imports)."""
    import yaml

    deps = yaml.safe_load((root / "dvc.yaml").read_text())["stages"][stage]["deps"]
    names = sorted(d for d in (x if isinstance(x, str) else next(iter(x)) for x in deps))
    digest = hashlib.sha256()
    for name in (n for n in names if n.endswith(".py")):
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def model_params(
    spec: ModelSpec,
    train: TrainConfig,
    data_meta: Mapping,
    *,
    device: str,
    stacked: bool,
    code: str,
) -> dict[str, Any]:
    """Everything that defines a trained model, flattened ``train.lr`` style: its spec (with
    ``train.lr`` its own rate, not the grid), the
    training settings that change its numbers (the device type it trains on, not the
    ``train.device`` setting; ``stacked``: trained in a pack, whose kernels differ from a
    network's alone), the hash of the code that trains it, and the data facts from the
    prepared data's meta (what it is, not where it was read from)."""
    params = {
        f"model.{k}": v for k, v in spec.to_dict().items() if k not in ("activation_options", "lr")
    }
    params.update({f"activation.{k}": v for k, v in spec.options.items()})
    train_params = dataclasses.asdict(train)
    left_out = SCHEDULING if train.early_stopping else SCHEDULING + EARLY_STOPPING
    params.update({f"train.{k}": v for k, v in train_params.items() if k not in left_out})
    params["train.lr"] = spec.lr  # its own rate: the grid it is one of does not define it
    params["train.device"] = device
    params["train.stacked"] = stacked
    params["code.train"] = code
    norm = data_meta["normalization"]
    params.update(
        {
            "data.dataset": data_meta["dataset"],
            "data.val_size": data_meta["sizes"]["val"],
            "data.split_seed": data_meta["split"]["seed"],
            "data.normalization": norm["mode"],
            # per-feature statistics (a list) are in the checksum; a run's param holds a word
            "data.mean": norm["mean"] if not isinstance(norm["mean"], list) else "per feature",
            "data.std": norm["std"] if not isinstance(norm["std"], list) else "per feature",
            "data.checksum": data_meta["checksum"],
        }
    )
    return params


def run_key(model_params: Mapping[str, Any]) -> str:
    return stable_hash(dict(model_params))


@dataclass(frozen=True)
class ModelRecord:
    """``models/<model>/record.json``: what train knows about a model that later stages need.

    The spec rebuilds the network; the run key finds its MLflow run (and the params create it
    where it is missing); the parameter count goes into the tables; the plan is the analysis
    plan it was trained under (``plan`` below; None in records written before
    plans were recorded), which is not part of the run key: a model keeps its plan when a
    later edit of ``analysis.*`` reuses it.
    """

    spec: ModelSpec
    run_key: str
    mlflow_params: Mapping[str, Any]
    parameters: int
    plan: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "run_key": self.run_key,
            "mlflow_params": dict(self.mlflow_params),
            "parameters": self.parameters,
            "plan": None if self.plan is None else dict(self.plan),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelRecord:
        return cls(
            ModelSpec.from_dict(d["spec"]),
            d["run_key"],
            d["mlflow_params"],
            d["parameters"],
            d.get("plan"),
        )


@dataclass
class ModelMetrics:
    """Everything the earlier stages wrote about one model."""

    record: ModelRecord
    train: Mapping[str, Any]
    history: pd.DataFrame  # per epoch: losses, accuracies
    evaluate: Mapping[str, Any]
    dead: Mapping[str, Any]  # counts at init and after training
    dynamics: pd.DataFrame  # dead/saturated per layer per probed epoch
    distributions: Mapping[str, Any]  # gradient flow at init, activation histograms trained
    weights: Mapping[str, Any] | None = None  # per-epoch first/last layer histograms (train)


def write_record(name: str, record: ModelRecord) -> None:
    """``models/<name>/record.json``: written last, its run key is what marks the model's files
    as a finished result (``is_trained``), so a crash before it never passes older files off
    as new."""
    files.write_json(paths.model_record(name), record.to_dict())


def read_record(name: str) -> ModelRecord:
    return ModelRecord.from_dict(files.read_json(paths.model_record(name)))


def read_model_metrics(name: str) -> ModelMetrics:
    """Everything the earlier stages wrote about model ``name``."""
    return ModelMetrics(
        record=read_record(name),
        train=files.read_json(paths.train(name)),
        history=files.read_tsv(paths.curves(name)),
        evaluate=files.read_json(paths.evaluate(name)),
        dead=files.read_json(paths.dead_neurons(name)),
        dynamics=files.read_tsv(paths.dead_dynamics(name)),
        distributions=files.read_json(paths.distributions(name)),
        weights=files.load_torch(paths.weight_histograms(name)),
    )


def is_trained(name: str, run_key: str) -> bool:
    """Model ``name`` has a finished result of exactly this run key: its record holds the key
    and every file train writes for it is there. Only the key is read: a record written by
    other code (another layout of the spec) is simply not this result."""
    record = paths.model_record(name)
    if not record.exists() or files.read_json(record).get("run_key") != run_key:
        return False
    return all(path.exists() for path in paths.trained_outputs(name))


FAMILY = "every activation vs the baseline, per architecture and budget"


def plan(cfg: Config) -> dict[str, Any]:
    """The analysis plan a model trained now records (``ModelRecord.plan``): the baseline, the
    margin, delta, alpha, the power, the family, the budgets, the stopping rule and the
    confirmatory seeds (``actlab.analysis.plan`` compares it with a comparison's)."""
    a, t = cfg.analysis, cfg.train
    return {
        "baseline": a.baseline,
        "equivalence_margin": a.equivalence_margin,
        "delta": a.delta,
        "alpha": a.alpha,
        "power": a.power,
        "family": FAMILY,
        "budgets": list(t.all_budgets),
        "stopping": "patience" if t.early_stopping else "fixed budget",
        "confirm_seeds": list(a.confirm_seeds),
    }
