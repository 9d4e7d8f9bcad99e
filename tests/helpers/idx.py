"""Write small, valid IDX files (the MNIST format) for tests."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.tobytes()


def make_arrays(n_train: int, n_test: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Learnable toy data: each class lights up its own band of rows, plus noise."""
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 60, (n, 28, 28))
        for i, label in enumerate(labels):
            images[i, 2 * label + 4 : 2 * label + 7, 4:24] += 180
        out[f"{prefix}-images-idx3-ubyte"] = images.clip(0, 255).astype(np.uint8)
        out[f"{prefix}-labels-idx1-ubyte"] = labels.astype(np.uint8)
    return out


def write_mirror(
    directory: Path, n_train: int = 600, n_test: int = 200, gz: bool = True, seed: int = 0
) -> dict[str, np.ndarray]:
    directory.mkdir(parents=True, exist_ok=True)
    arrays = make_arrays(n_train, n_test, seed)
    for name, array in arrays.items():
        data = idx_bytes(array)
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (directory / name).write_bytes(data)
    return arrays
