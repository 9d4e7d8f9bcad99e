"""Each tutorial preset: valid params, the tutorial's setup, and -S arguments that DVC itself
applies to params.yaml exactly as the preset means."""

import pytest
import yaml

from actlab import config
from actlab.errors import ConfigError
from actlab.tools import presets
from tests.helpers.params import reference_params


def with_preset(name, dataset=None):
    return config.parse(presets.apply(reference_params(), presets.edits(name, dataset)))


@pytest.mark.parametrize("name", list(presets.PRESETS))
def test_every_preset_gives_valid_params(name):
    assert with_preset(name).model_names()
    assert with_preset(name, "fashion_mnist").data.dataset == "fashion_mnist"


def test_the_custom_autograd_tutorial():
    cfg = with_preset("mnist-custom-autograd")
    assert cfg.data.dataset == "mnist" and (cfg.data.mean, cfg.data.std) == (0.1307, 0.3081)
    assert {cfg.model_spec(n).hidden_sizes for n in cfg.model_names()} == {(128, 64)}
    assert {cfg.model_spec(n).activation for n in cfg.model_names()} == {
        "relu",
        "tanh",
        "leakyrelu",
    }
    assert cfg.model_spec("leakyrelu-mlp_128_64-42").options == {"alpha": 0.01}
    t = cfg.train
    assert (t.activation_impl, t.lr, t.momentum, t.batch_size, t.max_epochs) == (
        "manual",
        (0.01,),
        0.0,
        64,
        25,
    )
    assert not t.early_stopping  # every epoch trains, as in the tutorial


def test_the_shallow_deep_tutorial():
    cfg = with_preset("mnist-shallow-deep")
    widths = {
        cfg.model_spec(n).architecture: cfg.model_spec(n).hidden_sizes for n in cfg.model_names()
    }
    assert widths == {"shallow_64x4": (64,) * 4, "deep_48x9": (48,) * 9}
    t = cfg.train
    assert (t.lr, t.momentum, t.batch_size, t.max_epochs) == ((0.01,), 0.9, 64, 30)


def test_the_default_preset_is_the_default():
    assert presets.edits("uva-tutorial3") == {}


@pytest.mark.parametrize("name", list(presets.PRESETS))
def test_dvc_applies_the_arguments_as_the_preset_means(name, tmp_path):
    from dvc.utils.hydra import apply_overrides

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(reference_params(), sort_keys=False))
    args = presets.dvc_arguments(name, "fashion_mnist")
    apply_overrides(params, [args[i + 1] for i, a in enumerate(args) if a == "-S"])
    expected = presets.apply(reference_params(), presets.edits(name, "fashion_mnist"))
    assert yaml.safe_load(params.read_text()) == expected


def test_an_unknown_preset_or_key_is_a_config_error():
    with pytest.raises(ConfigError, match="choose one of"):
        presets.edits("mnist")
    with pytest.raises(ConfigError, match="no such key"):
        presets.apply(reference_params(), {"train.lrr": 0.1})


def test_the_learning_rate_preset_trains_every_model_at_every_rate():
    cfg = with_preset("learning-rates")
    assert cfg.train.lr == (0.01, 0.03, 0.1)
    names = cfg.model_names()
    assert len(names) == 3 * len(config.parse(reference_params()).model_names())
    assert {cfg.model_spec(n).lr for n in names if n.startswith("elu-deep-")} == {0.01, 0.03, 0.1}


def test_all_activations_runs_every_registered_one_on_base_and_deep_kaiming():
    from actlab.model.registry import ACTIVATIONS

    cfg = with_preset("all-activations")
    assert cfg.models.activations == tuple(ACTIVATIONS) and len(ACTIVATIONS) == 15
    assert cfg.models.architectures == ("base", "deep_kaiming")
    assert cfg.models.seeds == (42, 43, 44)
    assert cfg.model_spec("prelu-base-42").options == {"init": 0.25, "per": "layer"}
    assert cfg.model_spec("gelu-deep_kaiming-44").init == "kaiming"
