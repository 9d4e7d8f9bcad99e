"""The prepared data every stage after ``prepare`` loads: tensors per split and their meta
(``actlab.data.sources`` makes them), as normalised float rows on a device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from actlab import files, paths
from actlab.errors import DataError


@dataclass
class Splits:
    """Normalised float rows (N, features: 784 pixels for the image datasets) and labels,
    resident on one device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    meta: dict


def write_prepared(
    splits: dict[str, torch.Tensor], meta: dict, prepared: Path = paths.PREPARED
) -> None:
    files.save_torch(prepared / paths.PREPARED_TENSORS.name, splits)
    files.write_json(prepared / paths.PREPARED_META.name, meta)


def read_prepared(prepared: Path = paths.PREPARED) -> tuple[dict[str, torch.Tensor], dict]:
    """The uint8 tensors per split and the meta dict, as ``prepare`` wrote them."""
    tensors_path = prepared / paths.PREPARED_TENSORS.name
    if not tensors_path.exists():
        raise DataError(f"{tensors_path}: missing; run `dvc repro prepare` first")
    return files.load_torch(tensors_path), files.read_json(prepared / paths.PREPARED_META.name)


def normalise_features(
    features: torch.Tensor, meta: dict, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Float32 feature rows normalised as the prepared data's meta says (a scalar pair, or a
    mean and std per feature)."""
    norm = meta["normalization"]
    centre = torch.as_tensor(norm["mean"], dtype=torch.float32, device=device)
    scale = torch.as_tensor(norm["std"], dtype=torch.float32, device=device)
    return features.to(device).float().sub(centre).div_(scale)


def load_prepared(device: torch.device | str = "cpu", prepared: Path = paths.PREPARED) -> Splits:
    """Normalised float rows on ``device``, as the stages train and evaluate on them."""
    return splits_from(*read_prepared(prepared), device)


def splits_from(tensors: dict[str, torch.Tensor], meta: dict, device: torch.device | str) -> Splits:
    """``read_prepared``'s tensors normalised on ``device`` (where it is done decides the last
    bits: CUDA divides by a scalar as a multiplication by its reciprocal)."""
    mean, std = meta["normalization"]["mean"], meta["normalization"]["std"]
    if "train_features" in tensors:

        def rows(split: str) -> torch.Tensor:
            return normalise_features(tensors[f"{split}_features"], meta, device)

    else:

        def rows(split: str) -> torch.Tensor:
            # Same arithmetic as ToTensor() then Normalize((mean,), (std,)), in place: one
            # float copy of the images at a time, not three.
            images = tensors[f"{split}_images"].to(device)
            return images.flatten(1).float().div_(255).sub_(mean).div_(std)

    return Splits(
        rows("train"),
        tensors["train_labels"].to(device),
        rows("val"),
        tensors["val_labels"].to(device),
        rows("test"),
        tensors["test_labels"].to(device),
        meta,
    )
