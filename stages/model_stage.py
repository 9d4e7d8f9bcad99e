"""What the stages that read a trained model share: its record, the device, the data on it."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from stages import config, data, device, io, paths
from stages.config import Config


@dataclass
class TrainedModel:
    cfg: Config
    record: io.ModelRecord
    device: torch.device
    splits: data.Splits


def open_trained(model_name: str) -> TrainedModel:
    """params.yaml, the model's record (written by train), and the prepared data on the device."""
    cfg = config.load()
    record = io.read_record(paths.model_record(model_name))
    dev = device.resolve(cfg.train.device)
    return TrainedModel(cfg, record, dev, data.load_prepared(dev))
