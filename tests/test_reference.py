"""The published dead-neuron counts at init (docs/reference.md) on the real FashionMNIST.

Needs the Debian package dataset-fashion-mnist (.ci/run installs it); skipped without it.
"""

import pytest

from stages import config, data, mlp, probes
from tests.conftest import reference_params

REAL = data.DEBIAN_DIRS["fashion_mnist"]


@pytest.fixture(scope="module")
def train_images(tmp_path_factory):
    if not all((REAL / f"{name}.gz").exists() for name in data.FILES):
        pytest.skip(
            f"real FashionMNIST not installed in {REAL} (apt-get install dataset-fashion-mnist)"
        )
    cfg = config.parse(reference_params())
    raw_root = tmp_path_factory.mktemp("raw")
    assert data.fetch(cfg.data, raw_root) == str(REAL)
    splits, meta = data.prepare(cfg.data, data.load_raw(cfg.data, raw_root))
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
    extremes = probes.neuron_extremes(net, train_images, cfg.probes.batch_size)
    assert probes.count_summary(extremes.dead())["per_layer"] == expected
