"""Datasets through torchvision, offline mirrors, IDX checks, the seeded split, normalisation.

Raw files are looked for (docs/errors-and-recovery.md), in order: torchvision's own raw folder under
``data/raw/``, the directory named by ``data.mirror``, and for FashionMNIST the Debian package
``dataset-fashion-mnist``; if none holds all four IDX files, torchvision downloads them.
Whatever the source, the decoded arrays are the same and so are the prepared bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from actlab import files, paths
from actlab.config import DataConfig
from actlab.errors import DataError

log = logging.getLogger(__name__)

TORCHVISION = {"fashion_mnist": "FashionMNIST", "mnist": "MNIST"}  # torchvision.datasets.<name>
DEBIAN_DIRS = {"fashion_mnist": Path("/usr/share/datasets/fashion-mnist")}
FILES = {  # IDX file -> (magic number, trailing dims)
    "train-images-idx3-ubyte": (2051, (28, 28)),
    "train-labels-idx1-ubyte": (2049, ()),
    "t10k-images-idx3-ubyte": (2051, (28, 28)),
    "t10k-labels-idx1-ubyte": (2049, ()),
}


def dataset_class(dataset: str) -> type:
    """The torchvision dataset class; torchvision is imported only by the stages that read IDX."""
    import torchvision

    return getattr(torchvision.datasets, TORCHVISION[dataset])


def raw_folder(dataset: str, raw_root: Path = paths.RAW) -> Path:
    return raw_root / TORCHVISION[dataset] / "raw"


def candidate_dirs(cfg: DataConfig, raw_root: Path = paths.RAW) -> list[Path]:
    """Where the IDX files are looked for, in order. An explicit ``data.mirror`` is the only
    place: the user named it, so it wins over earlier copies and is never silently skipped."""
    if cfg.mirror != "auto":
        return [Path(cfg.mirror).expanduser()]
    dirs = [raw_folder(cfg.dataset, raw_root)]
    if cfg.dataset in DEBIAN_DIRS:
        dirs.append(DEBIAN_DIRS[cfg.dataset])
    return dirs


def _copy_idx(src: Path, target: Path) -> None:
    """``src`` (gzip or not) decompressed into ``target/`` and checked, through a temporary
    file renamed into place: a failure never leaves a partial or empty file behind, and the
    error names ``src``, the file to replace."""
    dest = target / src.name.removesuffix(".gz")
    tmp = target / f".{dest.name}.tmp"
    fix = "fix: replace it with an intact copy of the IDX file, or point data.mirror elsewhere"
    try:
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        check_idx(tmp, dest.name)
        os.replace(tmp, dest)
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        kind = "a truncated or corrupt gzip file" if src.suffix == ".gz" else "unreadable"
        raise DataError(f"{src}: {kind} ({type(err).__name__}: {err}); {fix}") from None
    except DataError as err:
        reason = str(err).removeprefix(f"{tmp}: ").split("; delete")[0]
        raise DataError(f"{src}: {reason}; {fix}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _find(directory: Path, name: str) -> Path | None:
    for path in (directory / name, directory / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def fetch(cfg: DataConfig, raw_root: Path = paths.RAW) -> str:
    """Make torchvision's raw folder hold the four IDX files; return where they came from."""
    target = raw_folder(cfg.dataset, raw_root)
    looked = candidate_dirs(cfg, raw_root)
    for directory in looked:
        found = [_find(directory, name) for name in FILES]
        if not all(found):
            if cfg.mirror != "auto":
                missing = [name for name, path in zip(FILES, found, strict=True) if not path]
                raise DataError(
                    f"data.mirror {directory}: lacks {', '.join(missing)} (.gz or not); fix: "
                    "put all four IDX files there, or set data.mirror to auto"
                )
            continue
        if directory != target:
            target.mkdir(parents=True, exist_ok=True)
            for src in found:
                _copy_idx(src, target)
        log.info("%s: using the IDX files in %s", cfg.dataset, directory)
        return str(directory)
    cls = dataset_class(cfg.dataset)
    try:
        for train in (True, False):
            cls(str(raw_root), train=train, download=True)
    except Exception as err:  # torchvision raises RuntimeError/URLError/OSError offline
        places = ", ".join(str(d) for d in looked)
        fixes = "connect to the network so torchvision can download it"
        if cfg.dataset == "fashion_mnist":
            fixes += ", or `apt-get install dataset-fashion-mnist`"
        fixes += ", or set data.mirror to a directory holding the four IDX files"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(
            f"{cfg.dataset}: no IDX files found in {places} and the download failed ({first}); "
            f"fix: {fixes}"
        ) from None
    return "torchvision download"


def check_idx(path: Path, name: str | None = None) -> int:
    """Check magic number, shape and size of one IDX file (``name``: which of the four it is,
    by default its file name); return its item count."""
    magic, dims = FILES[name or path.name]
    data = path.read_bytes()
    fix = f"delete {path} (and its mirror copy if corrupt) so that it is fetched again"
    if len(data) < 8:
        raise DataError(f"{path}: truncated IDX file ({len(data)} bytes); {fix}")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"{path}: magic number {found}, expected {magic}; not this IDX file; {fix}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if shape[1:] != dims:
        raise DataError(f"{path}: item shape {shape[1:]}, expected {dims}; {fix}")
    expected = header + shape[0] * (28 * 28 if dims else 1)
    if len(data) != expected:
        raise DataError(
            f"{path}: {len(data)} bytes for {shape[0]} items, expected {expected}; {fix}"
        )
    return shape[0]


def load_raw(cfg: DataConfig, raw_root: Path = paths.RAW) -> dict[str, torch.Tensor]:
    """Checked uint8 images and int64 labels of the official train and test sets."""
    folder = raw_folder(cfg.dataset, raw_root)
    counts = {name: check_idx(folder / name) for name in FILES}
    for split in ("train", "t10k"):
        n_images, n_labels = (
            counts[f"{split}-images-idx3-ubyte"],
            counts[f"{split}-labels-idx1-ubyte"],
        )
        if n_images != n_labels:
            raise DataError(
                f"{folder / f'{split}-labels-idx1-ubyte'}: {n_labels} labels for {n_images} "
                "images; "
                "the files do not belong together: delete them so that they are fetched again"
            )
    cls = dataset_class(cfg.dataset)
    train = cls(str(raw_root), train=True, download=False)
    test = cls(str(raw_root), train=False, download=False)
    for name, labels in (
        ("train-labels-idx1-ubyte", train.targets),
        ("t10k-labels-idx1-ubyte", test.targets),
    ):
        if labels.numel() and int(labels.max()) >= len(cls.classes):
            raise DataError(
                f"{folder / name}: label {int(labels.max())} outside 0..9: a corrupt file; fix: "
                "replace it (or the mirror's copy) with an intact one"
            )
    return {
        "train_images": train.data,
        "train_labels": train.targets.long(),
        "test_images": test.data,
        "test_labels": test.targets.long(),
        "classes": list(cls.classes),
    }


def sha256(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest()


def split_indices(n: int, val_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Same permutation as torch.utils.data.random_split(range(n), [n - val, val]) seeded."""
    if not 0 < val_size < n:
        raise DataError(f"data.val_size: {val_size} must be between 1 and {n - 1} for {n} images")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[: n - val_size], perm[n - val_size :]


def prepare(cfg: DataConfig, raw: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split and describe the data: uint8 tensors per split plus a JSON-able meta dict."""
    train_idx, val_idx = split_indices(len(raw["train_labels"]), cfg.val_size, cfg.split_seed)
    splits = {
        "train_images": raw["train_images"][train_idx].clone(),
        "train_labels": raw["train_labels"][train_idx].clone(),
        "val_images": raw["train_images"][val_idx].clone(),
        "val_labels": raw["train_labels"][val_idx].clone(),
        "test_images": raw["test_images"].clone(),
        "test_labels": raw["test_labels"].clone(),
    }
    if cfg.normalization == "computed":
        pixels = splits["train_images"].double() / 255
        mean, std = round(pixels.mean().item(), 6), round(pixels.std().item(), 6)
    else:
        mean, std = cfg.mean, cfg.std
    checksums = {k: sha256(v) for k, v in raw.items() if k != "classes"}
    meta = {
        "dataset": cfg.dataset,
        "classes": raw["classes"],
        "sizes": {s: len(splits[f"{s}_labels"]) for s in ("train", "val", "test")},
        "split": {"seed": cfg.split_seed, "sha256": sha256(torch.cat([train_idx, val_idx]))},
        "normalization": {"mode": cfg.normalization, "mean": mean, "std": std},
        "checksums": checksums,
    }
    meta["checksum"] = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()
    return splits, meta


@dataclass
class Splits:
    """Normalised float images (N, 784) and labels, resident on one device."""

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


def load_prepared(device: torch.device | str = "cpu", prepared: Path = paths.PREPARED) -> Splits:
    """Normalised float images on ``device``, as the stages train and evaluate on them."""
    tensors, meta = read_prepared(prepared)
    mean, std = meta["normalization"]["mean"], meta["normalization"]["std"]

    def images(name: str) -> torch.Tensor:
        # Same arithmetic as ToTensor() then Normalize((mean,), (std,)), in place: one float
        # copy of the images at a time, not three.
        return tensors[name].to(device).flatten(1).float().div_(255).sub_(mean).div_(std)

    return Splits(
        images("train_images"),
        tensors["train_labels"].to(device),
        images("val_images"),
        tensors["val_labels"].to(device),
        images("test_images"),
        tensors["test_labels"].to(device),
        meta,
    )
