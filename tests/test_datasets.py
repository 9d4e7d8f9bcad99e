"""MNIST-1D generated offline, the user's own files and their checks, and prepare's handling
of feature datasets (split, per-feature normalisation, loading)."""

import random
import socket

import numpy as np
import pandas as pd
import pytest
import torch

from actlab import config
from actlab.config import DataConfig, FilesConfig, Mnist1dConfig
from actlab.data import datasets, mnist1d, sources, user
from actlab.errors import ConfigError, DataError
from tests.helpers.params import reference_params


@pytest.fixture
def no_network(monkeypatch):
    """Any socket opened fails: generation must not touch the network."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_mnist1d_is_generated_offline_and_deterministic(no_network):
    np.random.seed(123)
    random.seed(123)
    before = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(123)
    a = mnist1d.generate(Mnist1dConfig(seed=3, samples=500))
    assert (np.random.random(), random.random()) == before  # the global generators put back
    b = mnist1d.generate(Mnist1dConfig(seed=3, samples=500))
    other = mnist1d.generate(Mnist1dConfig(seed=4, samples=500))
    assert a["train_features"].shape == (400, 40) and a["test_features"].shape == (100, 40)
    assert a["train_features"].dtype == torch.float32 and a["train_labels"].dtype == torch.int64
    for key in ("train_features", "train_labels", "test_features", "test_labels"):
        assert torch.equal(a[key], b[key]), key
    assert not torch.equal(a["test_features"], other["test_features"])  # a fresh test set
    assert sorted(a["train_labels"].unique().tolist()) == list(range(10))


def test_mnist1d_uses_the_published_defaults_but_seed_and_size():
    args = mnist1d.arguments(Mnist1dConfig(seed=9, samples=1000))
    assert args["seed"] == 9 and args["num_samples"] == 1000
    assert args["final_seq_length"] == 40 and args["train_split"] == 0.8
    assert args["iid_noise_scale"] == 2e-2 and args["corr_noise_scale"] == 0.25
    assert "url" not in args  # never the download path


def data_config(dataset="mnist1d", normalization="computed", val_size=100, path="", **kw):
    return DataConfig(
        dataset,
        "auto",
        Mnist1dConfig(kw.get("seed", 1), kw.get("samples", 600)),
        FilesConfig(path, "label"),
        val_size,
        42,
        normalization,
        0.0,
        1.0,
    )


def test_prepare_mnist1d_splits_normalises_per_feature_and_loads(tmp_path, no_network):
    cfg = data_config()
    splits, meta = sources.prepare(cfg, sources.load_raw(cfg))
    assert meta["features"] == 40 and meta["sizes"] == {"train": 380, "val": 100, "test": 120}
    assert meta["generator"]["seed"] == 1 and len(meta["normalization"]["mean"]) == 40
    again = sources.prepare(cfg, sources.load_raw(cfg))
    assert again[1]["checksum"] == meta["checksum"]  # byte-identical for the same params
    datasets.write_prepared(splits, meta, tmp_path)
    loaded = datasets.load_prepared("cpu", tmp_path)
    assert loaded.x_train.shape == (380, 40) and loaded.x_test.shape == (120, 40)
    assert torch.allclose(loaded.x_train.mean(0), torch.zeros(40), atol=1e-4)
    assert torch.allclose(loaded.x_train.std(0), torch.ones(40), atol=1e-3)


def test_fixed_normalisation_of_features_is_the_scalar_pair(tmp_path):
    cfg = data_config(normalization="fixed")
    splits, meta = sources.prepare(cfg, sources.load_raw(cfg))
    assert meta["normalization"] == {"mode": "fixed", "mean": 0.0, "std": 1.0}
    datasets.write_prepared(splits, meta, tmp_path)
    loaded = datasets.load_prepared("cpu", tmp_path)
    assert torch.equal(loaded.x_test, splits["test_features"])


def test_a_constant_feature_keeps_std_one():
    mean, std = sources.normalization(
        data_config(), torch.tensor([[1.0, 5.0], [3.0, 5.0]], dtype=torch.float32)
    )
    assert mean == [2.0, 5.0] and std[1] == 1.0


# The user's files --------------------------------------------------------------------------


def arrays(n_train=60, n_test=20, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y_train = np.arange(n_train) % classes
    y_test = np.arange(n_test) % classes
    return {
        "x_train": rng.normal(size=(n_train, features)).astype(np.float32),
        "y_train": y_train,
        "x_test": rng.normal(size=(n_test, features)).astype(np.float32),
        "y_test": y_test,
    }


def test_npz_is_read_as_float_rows_and_int_labels(tmp_path):
    a = arrays()
    a["x_train"] = a["x_train"].reshape(60, 5, 1)  # any trailing shape is flattened
    np.savez(tmp_path / "d.npz", **a)
    out = user.read(tmp_path / "d.npz")
    assert out["x_train"].shape == (60, 5) and out["x_train"].dtype == np.float32
    assert out["y_test"].dtype == np.int64 and "x_val" not in out


def test_csv_folder_with_its_own_validation_split(tmp_path):
    a = arrays()
    for split in ("train", "val", "test"):
        x, y = (a["x_test"], a["y_test"]) if split != "train" else (a["x_train"], a["y_train"])
        table = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)])
        table.insert(2, "kind", y)  # the label column may sit anywhere
        table.to_csv(tmp_path / f"{split}.csv", index=False)
    out = user.read(tmp_path, label="kind")
    assert out["x_val"].shape == (20, 5) and out["y_train"].tolist() == a["y_train"].tolist()


def test_prepare_keeps_the_users_validation_split(tmp_path):
    a = arrays()
    np.savez(tmp_path / "d.npz", **a, x_val=a["x_test"][:7], y_val=a["y_test"][:7])
    cfg = data_config("files", path=str(tmp_path / "d.npz"), val_size=10000)
    splits, meta = sources.prepare(cfg, sources.load_raw(cfg))
    assert meta["sizes"] == {"train": 60, "val": 7, "test": 20}
    assert meta["classes"] == ["0", "1", "2"] and meta["features"] == 5
    assert torch.equal(splits["val_features"], torch.from_numpy(a["x_test"][:7]))


def broken(name):
    """``arrays()`` with one defect, and the message it must give."""
    a = arrays()
    if name == "missing array":
        del a["y_test"]
        return a, r"no array 'y_test' \(it holds x_test, x_train, y_train\); fix: np.savez"
    if name == "1-d features":
        a["x_train"] = a["x_train"][:, 0]
        return a, r"\[x_train\]: shape \(60,\), expected \(examples, features\)"
    if name == "text features":
        a["x_test"] = a["x_test"].astype(str)
        return a, r"\[x_test\]: dtype <U\d+, not numeric"
    if name == "labels 1..k":
        a["y_train"], a["y_test"] = a["y_train"] + 1, a["y_test"] + 1
        return a, r"\[y_train\]: class 0 has no training example; labels are 0..3"
    if name == "negative label":
        a["y_test"][0] = -1
        return a, r"\[y_test\]: label -1 is negative"
    if name == "fractional labels":
        a["y_train"] = a["y_train"] + 0.5
        return a, r"\[y_train\]: labels of dtype float64 that are not whole numbers"
    if name == "one-hot labels":
        a["y_train"] = np.eye(3)[a["y_train"]]
        return a, r"\[y_train\]: shape \(60, 3\), expected \(60,\).*y.argmax\(1\)"
    if name == "nan":
        a["x_train"][7, 2] = np.nan
        a["x_train"][9, 0] = np.inf
        return a, r"\[x_train\]: 2 NaN or inf values \(the first in row 7\)"
    if name == "class missing from train":
        a["y_train"][a["y_train"] == 2] = 0
        return a, r"\[y_train\]: class 2 has no training example \(it is in y_test\)"
    if name == "test wider than train":
        a["x_test"] = np.hstack([a["x_test"], a["x_test"][:, :1]])
        return a, r"\[x_test\]: 6 features per example, x_train has 5"
    if name == "label count":
        a["y_test"] = a["y_test"][:-1]
        return a, r"\[y_test\]: 19 labels for 20 examples"
    if name == "x_val alone":
        a["x_val"] = a["x_test"]
        return a, r"x_val without y_val"
    raise AssertionError(name)


DEFECTS = [
    "missing array",
    "1-d features",
    "text features",
    "labels 1..k",
    "negative label",
    "fractional labels",
    "one-hot labels",
    "nan",
    "class missing from train",
    "test wider than train",
    "label count",
    "x_val alone",
]


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_defect_of_a_users_npz_is_one_line_naming_file_array_and_fix(tmp_path, defect):
    a, expected = broken(defect)
    path = tmp_path / "d.npz"
    np.savez(path, **a)
    with pytest.raises(DataError, match=expected) as err:
        user.read(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "fix:" in message


def test_csv_errors_name_the_file_and_column(tmp_path):
    a = arrays()
    train = pd.DataFrame(a["x_train"]).assign(label=a["y_train"])
    train.to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DataError, match=r"test.csv: not found; fix: a folder of CSV data holds"):
        user.read(tmp_path)
    test = pd.DataFrame(a["x_test"]).assign(label=a["y_test"], colour="red")
    test.to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(DataError, match=r"test.csv: column 'colour' is not numeric; fix: encode"):
        user.read(tmp_path)
    with pytest.raises(DataError, match=r"train.csv: no label column 'y' \(its columns: 0, 1,"):
        user.read(tmp_path, label="y")


def test_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(DataError, match=r"mine.npz: not found; fix: copy your .npz file"):
        user.read(tmp_path / "mine.npz")
    (tmp_path / "mine.txt").write_text("1,2\n")
    with pytest.raises(DataError, match=r"neither a .npz file nor a folder of CSV files"):
        user.read(tmp_path / "mine.txt")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"bad.npz: not a readable .npz file"):
        user.read(tmp_path / "bad.npz")


# Config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        (
            {"data__dataset": "mnist1d", "data__val_size": 4000},
            r"data.val_size: 4000 must be below the 4000 training samples of "
            r"data.mnist1d.samples 5000 \(80 % of them\); lower it, e.g. 1000",
        ),
        (
            {"data__dataset": "mnist1d", "data__mnist1d": {"seed": 1, "samples": 1005}},
            r"data.mnist1d.samples: 1005 is not a multiple of 10; .* use e.g. 1000",
        ),
        (
            {"data__dataset": "mnist1d", "data__mnist1d": {"seed": 1, "samples": 50}},
            r"data.mnist1d.samples: 50 must be >= 100",
        ),
        (
            {"data__dataset": "mnist1d", "data__val_size": 500},
            r"train.dynamics_subset: 10000 exceeds the 3500 training examples left by "
            r"data.val_size 500; lower it to at most 3500",
        ),
        (
            {"data__dataset": "files", "data__files": {"path": "/tmp/x.npz", "label": "y"}},
            r"data.files.path: '/tmp/x.npz' is not inside data/own/; copy your .npz",
        ),
        (
            {"data__dataset": "files", "data__files": {"path": "data/own/../x.npz", "label": "y"}},
            r"data.files.path: 'data/own/../x.npz' is not inside data/own/",
        ),
        ({"data__mnist1d": {"seed": 1}}, r"data.mnist1d.samples: missing key"),
    ],
)
def test_bad_data_values_name_key_value_and_fix(edits, expected):
    with pytest.raises(ConfigError, match=expected):
        config.parse(reference_params(**edits))


def test_the_users_files_are_checked_with_the_batch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/own").mkdir(parents=True)
    np.savez(tmp_path / "data/own/d.npz", **arrays())
    own = {"path": "data/own/d.npz", "label": "label"}
    cfg = config.parse(reference_params(data__dataset="files", data__files=own))
    with pytest.raises(DataError, match=r"data.val_size: 10000 must be below the 60 training"):
        user.check_config(cfg)
    cfg = config.parse(reference_params(data__dataset="files", data__files=own, data__val_size=10))
    with pytest.raises(ConfigError, match=r"train.batch_size: 256 exceeds the 50 training"):
        user.check_config(cfg)
    cfg = config.parse(
        reference_params(
            data__dataset="files",
            data__files=own,
            data__val_size=10,
            train__batch_size=16,
            train__dynamics_subset=50,
        )
    )
    user.check_config(cfg)  # fits
