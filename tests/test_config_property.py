"""Property test: any mutation of the default params either loads into a Config that satisfies
every documented invariant, or raises ConfigError; never another exception."""

import copy
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actlab import config
from actlab.errors import ConfigError
from actlab.model import registry
from tests.helpers.params import reference_params

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**25), max_value=10**25),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["0.1", "64", "auto", "relu", "", "-1"]),
    st.lists(st.integers(min_value=-5, max_value=10**10), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def paths(tree, prefix=()):
    """Every (path to a key) in the nested params."""
    for key, value in tree.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from paths(value, (*prefix, key))


ALL_PATHS = sorted(paths(reference_params()), key=str)


@st.composite
def mutated(draw):
    raw = copy.deepcopy(reference_params())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(ALL_PATHS))
        node = raw
        for key in path[:-1]:
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            if not isinstance(node, dict):
                continue
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                node[path[-1]] = draw(ODD_VALUES)
            elif action == "delete":
                node.pop(path[-1], None)
            else:
                node[draw(st.text(min_size=1, max_size=6))] = draw(ODD_VALUES)
    return raw


def check_invariants(cfg: config.Config) -> None:
    d, t, p, g = cfg.data, cfg.train, cfg.probes, cfg.plot
    train_images = config.OFFICIAL_TRAIN_IMAGES - d.val_size
    assert 1 <= d.val_size < config.OFFICIAL_TRAIN_IMAGES
    assert math.isfinite(d.mean) and math.isfinite(d.std) and d.std > 0
    assert t.lr and all(math.isfinite(lr) and lr > 0 for lr in t.lr) and 0 <= t.momentum < 1
    assert len(set(t.lr)) == len(t.lr) and len(set(cfg.model_names())) == len(cfg.model_names())
    assert 1 <= t.min_epochs <= config.MAX_EPOCHS and t.patience_on in config.PATIENCE_ON
    assert 1 <= t.batch_size <= train_images and 1 <= t.dynamics_subset <= train_images
    assert 1 <= t.max_epochs <= config.MAX_EPOCHS and t.patience >= 1
    assert isinstance(t.probe_every, int) and 1 <= t.probe_every <= config.MAX_EPOCHS
    assert 0 < p.saturation_eps < 1 and 0 < p.saturated_fraction <= 1
    assert 20 <= g.dpi <= config.MAX_DPI and 0 < g.width <= config.MAX_WIDTH_INCHES
    assert all(0 <= s < 2**32 for s in cfg.models.seeds)
    for name in cfg.model_names():
        spec = cfg.model_spec(name)
        assert spec.hidden_sizes and all(1 <= w <= 65536 for w in spec.hidden_sizes)
        assert spec.init in ("default", "kaiming", "xavier")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_params_load_validly_or_raise_config_error(raw):
    try:
        cfg = registry.check(config.parse(raw))
    except ConfigError:
        return
    check_invariants(cfg)
