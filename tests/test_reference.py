"""The published dead-neuron counts at init (docs/reference.md) on the real FashionMNIST.

Needs the Debian package dataset-fashion-mnist (marker ``fmnist``; .ci/run installs it).
"""

import pytest

from actlab import config
from actlab.data import sources
from actlab.model import mlp
from actlab.probes import neurons
from tests.helpers.params import reference_params

REAL = sources.DEBIAN_DIRS["fashion_mnist"]
pytestmark = pytest.mark.fmnist


@pytest.fixture(scope="module")
def train_images(tmp_path_factory):
    cfg = config.parse(reference_params())
    raw_root = tmp_path_factory.mktemp("raw")
    assert sources.fetch(cfg.data, raw_root) == str(REAL)
    splits, meta = sources.prepare(cfg.data, sources.load_raw(cfg.data, raw_root))
    assert meta["sizes"] == {"train": 50000, "val": 10000, "test": 10000}
    return splits["train_images"].flatten(1).float().div(255).sub(0.5).div(0.5)


@pytest.mark.parametrize(
    "arch,expected",
    [
        ("base", [0, 0, 3, 10]),
        ("deep", [0, 0, 7, 27, 89, 60, 58, 61, 72, 56]),
    ],
)
def test_untrained_relu_dead_neurons_match_the_tutorial(train_images, arch, expected):
    cfg = config.parse(reference_params())
    net = mlp.build(cfg.model_spec(f"relu-{arch}-42"))  # the tutorial's seed
    extremes = neurons.neuron_extremes(net, train_images, cfg.probes.batch_size)
    assert neurons.count_summary(extremes.dead())["per_layer"] == expected
