"""Where tensors live and how deterministic the arithmetic is (``train.device``)."""

from __future__ import annotations

import os

import torch


def resolve(setting: str) -> torch.device:
    """``auto`` picks CUDA when a GPU is visible, else the CPU."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def make_deterministic(device: torch.device) -> None:
    """Same params -> same bits on the CPU, and the deterministic kernels on CUDA."""
    if device.type == "cuda":
        # cuBLAS needs this before its first call for deterministic algorithms.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
