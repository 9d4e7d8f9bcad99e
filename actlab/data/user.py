"""The user's own data (``data.dataset: files``): a ``.npz`` of ``x_train, y_train, x_test,
y_test`` (and optionally ``x_val, y_val``), or a folder of ``train.csv``, ``test.csv`` (and
optionally ``val.csv``) whose ``data.files.label`` column holds the class and every other
column a feature. docs/datasets.md has a worked example.

Everything is checked before any stage deletes an output (``check_params`` reads the files),
and each problem is one line naming the file, the array or column, and the fix: a missing
array, a shape that is not (examples, features), a dtype that is not numeric, labels that are
not 0..k-1, NaN or inf, a class with no training example, a test set wider than the training
set. Torch-free: numpy reads the ``.npz``, pandas the CSV files.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from actlab import config
from actlab.errors import DataError

SPLITS = ("train", "val", "test")  # val is optional
NPZ_EXAMPLE = "np.savez(path, x_train=x, y_train=y, x_test=x2, y_test=y2)"


def read(path: str | Path, label: str = "label") -> dict[str, np.ndarray]:
    """The checked arrays: ``x_<split>`` float32 (examples, features), ``y_<split>`` int64,
    for train and test, and val when the files hold it."""
    path = Path(path)
    if path.is_dir():
        arrays, where = _read_csv(path, label)
    elif path.suffix == ".npz" and path.is_file():
        arrays, where = _read_npz(path), {}
    elif path.exists():
        raise DataError(
            f"{path}: neither a .npz file nor a folder of CSV files; fix: save your arrays "
            f"with {NPZ_EXAMPLE}, or put train.csv and test.csv in a folder"
        )
    else:
        raise DataError(
            f"{path}: not found; fix: copy your .npz file (or folder of CSV files) there, or "
            "point data.files.path at it"
        )
    return check(arrays, lambda name: where.get(name, f"{path} [{name}]"))


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):  # np.load would take it for a pickle
        raise DataError(f"{path}: not a readable .npz file (not a zip archive); fix: {NPZ_EXAMPLE}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as err:  # object arrays need pickle, which a data file must not
        raise DataError(
            f"{path}: holds an object array ({err}); fix: save numeric arrays only"
        ) from None
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable .npz file ({err}); fix: {NPZ_EXAMPLE}") from None
    for name in ("x_train", "y_train", "x_test", "y_test"):
        if name not in arrays:
            held = ", ".join(sorted(arrays)) or "no arrays"
            raise DataError(f"{path}: no array {name!r} (it holds {held}); fix: {NPZ_EXAMPLE}")
    if ("x_val" in arrays) != ("y_val" in arrays):
        have, lack = ("x_val", "y_val") if "x_val" in arrays else ("y_val", "x_val")
        raise DataError(f"{path}: {have} without {lack}; fix: save both, or neither")
    return arrays


def _read_csv(folder: Path, label: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    import pandas as pd

    arrays, where = {}, {}
    for split in SPLITS:
        path = folder / f"{split}.csv"
        if not path.is_file():
            if split == "val":
                continue
            raise DataError(
                f"{path}: not found; fix: a folder of CSV data holds train.csv and test.csv "
                "(and val.csv if you want your own validation split)"
            )
        try:
            table = pd.read_csv(path)
        except (ValueError, OSError) as err:  # pandas' ParserError and EmptyDataError
            raise DataError(f"{path}: not a readable CSV file ({err})".replace("\n", " ")) from None
        if label not in table.columns:
            columns = ", ".join(map(str, table.columns[:8]))
            raise DataError(
                f"{path}: no label column {label!r} (its columns: {columns}); fix: name the "
                "label column in data.files.label"
            )
        features = table.drop(columns=[label])
        text = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
        if text:
            raise DataError(
                f"{path}: column {text[0]!r} is not numeric; fix: encode it as numbers (e.g. one "
                "column per category) or drop it"
            )
        arrays[f"x_{split}"] = features.to_numpy()
        arrays[f"y_{split}"] = table[label].to_numpy()
        where[f"x_{split}"] = f"{path} (features)"
        where[f"y_{split}"] = f"{path} column {label!r}"
    return arrays, where


def check(arrays: dict[str, np.ndarray], where) -> dict[str, np.ndarray]:
    """The arrays checked and converted; ``where(name)`` says where an array came from."""
    splits = [s for s in SPLITS if f"x_{s}" in arrays]
    out: dict[str, np.ndarray] = {}
    for split in splits:
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        out[f"x_{split}"] = _features(x, where(f"x_{split}"))
        out[f"y_{split}"] = _labels(y, len(out[f"x_{split}"]), where(f"y_{split}"))
    width = out["x_train"].shape[1]
    for split in splits[1:]:
        other = out[f"x_{split}"].shape[1]
        if other != width:
            raise DataError(
                f"{where(f'x_{split}')}: {other} features per example, x_train has {width}; "
                "fix: give every split the same features in the same order"
            )
    trained = set(np.unique(out["y_train"]).tolist())
    k = 1 + max(int(out[f"y_{s}"].max()) for s in splits)
    missing = sorted(set(range(k)) - trained)
    if missing:
        elsewhere = [s for s in splits if missing[0] in set(out[f"y_{s}"].tolist())]
        seen = f" (it is in y_{elsewhere[0]})" if elsewhere else ""
        raise DataError(
            f"{where('y_train')}: class {missing[0]} has no training example{seen}; labels "
            f"are 0..{k - 1}, and a network cannot learn a class it never sees; fix: add "
            "examples of it to the training split, or renumber the classes 0..k-1 without gaps"
        )
    if k < 2:
        raise DataError(f"{where('y_train')}: one class only; a classifier needs two or more")
    return out


def _features(x: np.ndarray, where: str) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise DataError(
            f"{where}: dtype {x.dtype}, not numeric; fix: store features as numbers (float32)"
        )
    if x.ndim < 2 or x.shape[0] == 0:
        raise DataError(
            f"{where}: shape {x.shape}, expected (examples, features); fix: one row per "
            "example (a single feature is x.reshape(-1, 1))"
        )
    x = x.reshape(len(x), -1).astype(np.float32)  # images (N, H, W) become (N, H * W)
    bad = ~np.isfinite(x)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(
            f"{where}: {int(bad.sum())} NaN or inf values (the first in row {row}); fix: "
            "drop those examples or fill the values in"
        )
    return x


def _labels(y: np.ndarray, rows: int, where: str) -> np.ndarray:
    if y.ndim != 1:
        raise DataError(
            f"{where}: shape {y.shape}, expected ({rows},): one class index per example (not "
            "one-hot); fix: y.argmax(1) for one-hot labels"
        )
    if len(y) != rows:
        raise DataError(
            f"{where}: {len(y)} labels for {rows} examples; fix: one label per row of features"
        )
    integral = y.dtype.kind in "iu" or (
        y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all()
    )
    if not integral:
        raise DataError(
            f"{where}: labels of dtype {y.dtype} that are not whole numbers; fix: number the "
            "classes 0..k-1, e.g. np.unique(y, return_inverse=True)[1]"
        )
    if len(y) and y.min() < 0:
        raise DataError(
            f"{where}: label {y.min()} is negative; labels are the classes 0..k-1; fix: "
            "np.unique(y, return_inverse=True)[1] renumbers them"
        )
    return y.astype(np.int64)


def check_config(cfg: config.Config) -> None:
    """What ``check_params`` checks of the data before any output is deleted: the user's files
    (read and checked whole) and that the batch fits the examples they leave to train."""
    if cfg.data.dataset != "files":
        return
    files = cfg.data.files
    arrays = read(files.path, files.label)
    n = len(arrays["y_train"])
    if "y_val" in arrays:
        config.check_sizes(cfg.train, n, f"in {files.path}")
        return
    if cfg.data.val_size >= n:
        raise DataError(
            f"data.val_size: {cfg.data.val_size} must be below the {n} training examples of "
            f"{files.path}; lower it, or give the files a validation split (x_val, y_val)"
        )
    config.check_sizes(
        cfg.train, n - cfg.data.val_size, f"left by data.val_size {cfg.data.val_size}"
    )
