import functools
import gzip
import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest
import torch
import torchvision

from actlab.config import DataConfig, FilesConfig, Mnist1dConfig
from actlab.data import datasets, sources
from actlab.errors import DataError
from tests.helpers.idx import NAMES, idx_bytes, make_arrays, write_mirror


def cfg(dataset="mnist", mirror="auto", val_size=100, normalization="fixed"):
    own = FilesConfig("data/own/example.npz", "label")
    return DataConfig(
        dataset, mirror, Mnist1dConfig(42, 5000), own, val_size, 42, normalization, 0.5, 0.5
    )


@pytest.mark.parametrize("gz", [True, False])
def test_mirror_is_copied_and_loaded_by_torchvision(tmp_path, gz):
    arrays = write_mirror(tmp_path / "mirror", n_train=300, n_test=50, gz=gz)
    raw_root = tmp_path / "raw"
    source = sources.fetch(cfg(mirror=str(tmp_path / "mirror")), raw_root)
    assert source == str(tmp_path / "mirror")
    raw = sources.load_raw(cfg(), raw_root)
    assert torch.equal(raw["train_images"], torch.from_numpy(arrays["train-images-idx3-ubyte"]))
    assert torch.equal(
        raw["test_labels"], torch.from_numpy(arrays["t10k-labels-idx1-ubyte"]).long()
    )
    assert raw["classes"] == torchvision.datasets.MNIST.classes


def test_auto_uses_the_raw_folder_first(tmp_path):
    write_mirror(sources.raw_folder("mnist", tmp_path / "raw"), gz=False)
    assert sources.fetch(cfg(), tmp_path / "raw") == str(
        sources.raw_folder("mnist", tmp_path / "raw")
    )


def test_an_explicit_mirror_wins_over_earlier_copies(tmp_path):
    """The user named it: it is used even though data/raw already holds other files."""
    write_mirror(sources.raw_folder("mnist", tmp_path / "raw"), n_train=120, n_test=30, gz=False)
    arrays = write_mirror(tmp_path / "mirror", n_train=300, n_test=50)
    assert sources.fetch(cfg(mirror=str(tmp_path / "mirror")), tmp_path / "raw") == str(
        tmp_path / "mirror"
    )
    raw = sources.load_raw(cfg(), tmp_path / "raw")
    assert torch.equal(
        raw["train_labels"], torch.from_numpy(arrays["train-labels-idx1-ubyte"]).long()
    )


def test_an_incomplete_explicit_mirror_stops_and_names_what_is_missing(tmp_path):
    write_mirror(sources.raw_folder("mnist", tmp_path / "raw"), gz=False)
    write_mirror(tmp_path / "mirror")
    (tmp_path / "mirror" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"data.mirror .*mirror: lacks t10k-labels-idx1-ubyte"):
        sources.fetch(cfg(mirror=str(tmp_path / "mirror")), tmp_path / "raw")


@pytest.mark.parametrize(
    "payload", [b"", b"not gzip at all", None], ids=["empty", "not-gzip", "truncated"]
)
def test_a_broken_gz_in_the_mirror_is_named_and_leaves_nothing_behind(tmp_path, payload):
    mirror = tmp_path / "mirror"
    write_mirror(mirror, n_train=120, n_test=30)
    broken = mirror / "train-images-idx3-ubyte.gz"
    whole = broken.read_bytes()
    broken.write_bytes(whole[: len(whole) // 2] if payload is None else payload)
    raw = tmp_path / "raw"
    with pytest.raises(DataError) as err:
        sources.fetch(cfg(mirror=str(mirror)), raw)
    message = str(err.value)
    expected = "truncated IDX file (0 bytes)" if payload == b"" else "a truncated or corrupt gzip"
    assert message.startswith(f"{broken}: {expected}")
    assert "fix: replace it" in message and "\n" not in message
    folder = sources.raw_folder("mnist", raw)
    assert not (folder / "train-images-idx3-ubyte").exists()
    assert not list(folder.glob(".*.tmp"))  # no partial copy left to break a later run


def test_candidate_order_includes_debian_for_fashion_mnist(tmp_path):
    assert sources.candidate_dirs(cfg("fashion_mnist"), tmp_path) == [
        tmp_path / "FashionMNIST" / "raw",
        Path("/usr/share/datasets/fashion-mnist"),
    ]
    assert sources.candidate_dirs(cfg("fashion_mnist", mirror="/m"), tmp_path) == [Path("/m")]
    assert sources.candidate_dirs(cfg("mnist"), tmp_path) == [tmp_path / "MNIST" / "raw"]


def serve(directory):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_torchvision_download_path_on_a_loopback_mirror(tmp_path, monkeypatch):
    """The real torchvision download code (URL, md5 check, gunzip) against tiny IDX files."""
    arrays = write_mirror(tmp_path / "www", n_train=300, n_test=50)
    server = serve(tmp_path / "www")
    try:
        resources = [
            (f"{n}.gz", hashlib.md5((tmp_path / "www" / f"{n}.gz").read_bytes()).hexdigest())
            for n in NAMES
        ]
        monkeypatch.setattr(
            torchvision.datasets.MNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"]
        )
        monkeypatch.setattr(torchvision.datasets.MNIST, "resources", resources)
        assert sources.fetch(cfg(), tmp_path / "raw") == "torchvision download"
    finally:
        server.shutdown()
    downloaded = sources.load_raw(cfg(), tmp_path / "raw")

    # Same prepared bytes whichever source the files came from.
    (tmp_path / "mirror").mkdir()
    write_mirror(tmp_path / "mirror", n_train=300, n_test=50)
    sources.fetch(cfg(mirror=str(tmp_path / "mirror")), tmp_path / "raw2")
    mirrored = sources.load_raw(cfg(), tmp_path / "raw2")
    a, meta_a = sources.prepare(cfg(), downloaded)
    b, meta_b = sources.prepare(cfg(), mirrored)
    assert meta_a == meta_b
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(
        downloaded["train_images"], torch.from_numpy(arrays["train-images-idx3-ubyte"])
    )


def test_no_source_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])
    monkeypatch.setattr(sources, "DEBIAN_DIRS", {"fashion_mnist": tmp_path / "no-debian"})
    with pytest.raises(DataError) as err:
        sources.fetch(cfg("fashion_mnist"), tmp_path / "raw")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("fashion_mnist: no IDX files found in ")
    for place in (tmp_path / "raw" / "FashionMNIST" / "raw", tmp_path / "no-debian"):
        assert str(place) in message
    assert "apt-get install dataset-fashion-mnist" in message and "data.mirror" in message


def corrupt(tmp_path, name, payload):
    folder = sources.raw_folder("mnist", tmp_path)
    write_mirror(folder, n_train=120, n_test=30, gz=False)
    (folder / name).write_bytes(payload)
    return folder / name


@pytest.mark.parametrize(
    "name,payload,expected",
    [
        ("train-images-idx3-ubyte", b"\x00\x00", "truncated IDX file"),
        (
            "train-images-idx3-ubyte",
            idx_bytes(make_arrays(120, 30)["train-labels-idx1-ubyte"]),
            "magic number 2049, expected 2051",
        ),
        (
            "t10k-images-idx3-ubyte",
            idx_bytes(make_arrays(120, 30)["t10k-images-idx3-ubyte"])[:-5],
            "bytes for 30 items, expected",
        ),
        (
            "t10k-images-idx3-ubyte",
            idx_bytes(make_arrays(120, 30)["t10k-images-idx3-ubyte"][:, :14]),
            r"item shape \(14, 28\), expected \(28, 28\)",
        ),
        (
            "t10k-labels-idx1-ubyte",
            idx_bytes(make_arrays(120, 29)["t10k-labels-idx1-ubyte"]),
            "29 labels for 30 images",
        ),
    ],
)
def test_corrupt_files_are_named(tmp_path, name, payload, expected):
    path = corrupt(tmp_path, name, payload)
    with pytest.raises(DataError, match=expected) as err:
        sources.load_raw(cfg(), tmp_path)
    assert str(path.parent) in str(err.value)


def test_gz_mirror_with_corrupt_content_is_caught_when_extracted(tmp_path):
    mirror = tmp_path / "mirror"
    write_mirror(mirror, n_train=120, n_test=30)
    (mirror / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01junk"))
    with pytest.raises(DataError, match=f"^{mirror}/train-labels-idx1-ubyte.gz: 8 bytes for"):
        sources.fetch(cfg(mirror=str(mirror)), tmp_path / "raw")


def test_split_is_torch_random_split():
    train, val = sources.split_indices(600, 100, 42)
    torch.manual_seed(42)
    ref_train, ref_val = torch.utils.data.random_split(range(600), [500, 100])
    assert train.tolist() == list(ref_train.indices) and val.tolist() == list(ref_val.indices)
    with pytest.raises(DataError, match="data.val_size: 600 must be between 1 and 599"):
        sources.split_indices(600, 600, 42)


def test_prepare_and_load_normalise_like_totensor_normalize(tmp_path):
    write_mirror(sources.raw_folder("mnist", tmp_path), n_train=300, n_test=50, gz=False)
    raw = sources.load_raw(cfg(), tmp_path)
    splits, meta = sources.prepare(cfg(), raw)
    assert meta["sizes"] == {"train": 200, "val": 100, "test": 50}
    assert splits["train_images"].dtype == torch.uint8
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    torch.save(splits, prepared / "splits.pt")
    (prepared / "meta.json").write_text(json.dumps(meta))
    loaded = datasets.load_prepared("cpu", prepared)
    expected = torchvision.transforms.Normalize((0.5,), (0.5,))(
        splits["val_images"].float().div(255).unsqueeze(1)
    ).flatten(1)
    assert torch.equal(loaded.x_val, expected)

    computed, meta_c = sources.prepare(cfg(normalization="computed"), raw)
    pixels = splits["train_images"].double() / 255
    assert meta_c["normalization"]["mean"] == pytest.approx(pixels.mean().item(), abs=1e-6)
    assert meta_c["checksum"] != meta["checksum"]
