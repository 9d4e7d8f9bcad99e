"""What the stages that read a trained model share: its record, the device, the data on it."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from actlab import config, files, paths
from actlab.config import Config
from actlab.data import datasets
from actlab.records import ModelRecord
from actlab.training import device


@dataclass
class TrainedModel:
    cfg: Config
    record: ModelRecord
    device: torch.device
    splits: datasets.Splits


def open_trained(model_name: str) -> TrainedModel:
    """params.yaml, the model's record (written by train), and the prepared data on the device."""
    cfg = config.load()
    record = files.read_record(paths.model_record(model_name))
    dev = device.resolve(cfg.train.device)
    return TrainedModel(cfg, record, dev, datasets.load_prepared(dev))
