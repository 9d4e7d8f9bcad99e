import os

import pytest
import yaml

from actlab import config
from actlab.errors import ConfigError
from actlab.model import registry
from tests.helpers.params import ROOT
from tests.helpers.params import reference_params as params


def test_defaults_are_the_reference_configuration():
    cfg = config.parse(params())
    assert cfg.data.dataset == "fashion_mnist" and cfg.data.val_size == 10000
    assert (cfg.data.mean, cfg.data.std) == (0.5, 0.5)
    assert cfg.architectures["base"] == config.Architecture((512, 256, 256, 128), "default")
    assert cfg.architectures["deep"] == config.Architecture((256,) * 5 + (128,) * 5, "default")
    assert (cfg.train.lr, cfg.train.momentum, cfg.train.batch_size) == ((0.01,), 0.9, 256)
    assert (cfg.train.max_epochs, cfg.train.patience, cfg.models.seeds) == (50, 7, (42, 43, 44))
    assert cfg.activation_options["leakyrelu"] == {"alpha": 0.1}
    assert cfg.model_names()[:3] == ["sigmoid-base-42", "sigmoid-base-43", "sigmoid-base-44"]
    assert cfg.model_spec("relu-deep-42").hidden_sizes == cfg.architectures["deep"].hidden
    assert cfg.model_spec("relu-deep_kaiming-43").init == "kaiming"


@pytest.mark.parametrize(
    "edits,expected",
    [
        (
            {"models__activations": ["relu", "swiglu"]},
            r"models.activations: unknown name 'swiglu'; use any of sigmoid, tanh, relu, "
            r"leakyrelu, elu, swish, identity, gelu, selu, mish, softplus, celu, hardswish, "
            r"relu6, prelu",
        ),
        ({"models__activations": []}, r"models.activations: \[\] must be a non-empty list"),
        (
            {"data__dataset": "cifar10"},
            r"data.dataset: 'cifar10' is not allowed; use one of fashion_mnist, mnist",
        ),
        (
            {"architectures__base__hidden": []},
            r"architectures.base.hidden: \[\] must be a non-empty list of hidden widths",
        ),
        (
            {"architectures__base__hidden": [512, 0]},
            r"architectures.base.hidden: width 0 must be a positive integer",
        ),
        (
            {"architectures__base__hidden": [512, -3]},
            r"architectures.base.hidden: width -3 must be a positive integer",
        ),
        ({"architectures__base__hidden": [512, 2.5]}, r"width 2.5 must be a positive integer"),
        ({"train__lr": 0}, r"train.lr: 0 must be > 0"),
        ({"train__lr": -0.1}, r"train.lr: -0.1 must be > 0"),
        ({"train__lr": "fast"}, r"train.lr: 'fast' must be a number"),
        ({"train__patience": 0}, r"train.patience: 0 must be >= 1"),
        ({"train__lr": [0.01, -1]}, r"train.lr\[1\]: -1 must be > 0"),
        ({"train__lr": [0.01, "0.1"]}, r"train.lr\[1\]: must be a number, not the string '0.1'"),
        ({"train__lr": [0.01, 0.01]}, r"train.lr: \[0.01, 0.01\] lists a number twice"),
        ({"train__lr": []}, r"train.lr: \[\] must be a number or a list of 1 to 64 numbers"),
        ({"train__min_epochs": 0}, r"train.min_epochs: 0 must be >= 1"),
        (
            {"analysis__baseline": "gelu"},
            r"analysis.baseline: 'gelu' is not in models.activations \['sigmoid', 'tanh', 'relu', "
            r"'leakyrelu', 'elu', 'swish', 'identity'\]; name one of them",
        ),
        ({"analysis__equivalence_margin": 0}, r"analysis.equivalence_margin: 0 must be > 0"),
        ({"analysis__alpha": 0.5}, r"analysis.alpha: 0.5 must be < 0.5"),
        ({"analysis__power": 0.01}, r"analysis.power: 0.01 must be above analysis.alpha 0.05"),
        ({"analysis__delta": -1}, r"analysis.delta: -1 must be > 0"),
        (
            {"analysis__confirm_seeds": [42, 1000]},
            r"analysis.confirm_seeds: 1000 is not in models.seeds \[42, 43, 44\]; a confirmatory",
        ),
        ({"analysis__confirm_seeds": 42}, r"analysis.confirm_seeds: 42 must be a list of integers"),
        ({"train__budgets": [12, 50]}, r"train.budgets: 50 is not below train.max_epochs 50"),
        ({"train__budgets": [12, "x"]}, r"train.budgets\[1\]: 'x' must be an integer"),
        ({"train__budgets": [12, 12]}, r"train.budgets: \[12, 12\] lists a number twice"),
        ({"train__early_stopping": "yes"}, r"train.early_stopping: 'yes' must be true or false"),
        ({"train__early_stopping": "true"}, r"must be true or false \(drop the quotes\)"),
        (
            {"train__patience_on": "loss"},
            r"train.patience_on: 'loss' is not allowed \(did you mean 'val_loss'\?\); use one of "
            r"val_acc, val_loss, either",
        ),
        ({"train__batch_size": 0}, r"train.batch_size: 0 must be >= 1"),
        ({"train__max_epochs": True}, r"train.max_epochs: True must be an integer"),
        (
            {"train__device": "tpu"},
            r"train.device: 'tpu' is not allowed \(did you mean 'cpu'\?\); use one of auto, cpu, "
            r"cuda",
        ),
        (
            {"train__optimizer": "rmsprop"},
            r"train.optimizer: 'rmsprop' is not allowed; use one of sgd, adam",
        ),
        ({"train__lr": ...}, r"train.lr: missing key in params.yaml"),
        ({"data": ...}, r"data: missing key in params.yaml"),
        ({"train__learning_rate": 0.1}, r"train.learning_rate: unknown key \(a typo\?\)"),
        ({"probes__saturation_eps": 0}, r"probes.saturation_eps: 0 must be > 0"),
        ({"probes__saturation_eps": -1e-3}, r"probes.saturation_eps: -0.001 must be > 0"),
        ({"probes__saturation_eps": 1.5}, r"probes.saturation_eps: 1.5 must be < 1"),
        ({"probes__batch_size": 0}, r"probes.batch_size: 0 must be >= 1"),
        ({"train__dynamics_subset": 0}, r"train.dynamics_subset: 0 must be >= 1"),
        ({"train__probe_every": 0}, r"train.probe_every: 0 must be >= 1"),
        ({"train__probe_every": 1.5}, r"train.probe_every: 1.5 must be an integer"),
        (
            {"activation_options__leakyrelu": {"alpha": -1}},
            r"activation_options.leakyrelu.alpha must be >= 0",
        ),
        ({"activation_options__elu": {"alpha": 0}}, r"activation_options.elu.alpha must be > 0"),
        (
            {"activation_options__relu": {"alpha": 0.1}},
            r"activation_options.relu.alpha: unknown option for relu; allowed: none",
        ),
        ({"activation_options__tanh": ...}, r"activation_options.tanh: missing; every activation"),
        ({"activation_options__swiglu": {}}, r"activation_options.swiglu: unknown activation"),
        (
            {"activation_options__gelu": {"approximate": "fast"}},
            r"activation_options.gelu.approximate must be one of none, tanh, got 'fast'",
        ),
        (
            {"activation_options__softplus": {"beta": 0}},
            r"activation_options.softplus.beta must be > 0, got 0",
        ),
        (
            {"activation_options__softplus": {"beta": 1, "threshold": -5}},
            r"activation_options.softplus.threshold must be > 0, got -5",
        ),
        ({"activation_options__celu": {"alpha": 0}}, r"activation_options.celu.alpha must be > 0"),
        (
            {"activation_options__prelu": {"init": 1.5}},
            r"activation_options.prelu.init must be <= 1, got 1.5",
        ),
        (
            {"activation_options__prelu": {"init": -0.1}},
            r"activation_options.prelu.init must be >= 0, got -0.1",
        ),
        (
            {"activation_options__prelu": {"per": "channel"}},
            r"activation_options.prelu.per must be one of layer, neuron, got 'channel'",
        ),
        (
            {"activation_options__selu": {"alpha": 1.67}},
            r"activation_options.selu.alpha: unknown option for selu; allowed: none",
        ),
        (
            {"activation_options__hardswish": {"beta": 1}},
            r"activation_options.hardswish.beta: unknown option for hardswish; allowed: none",
        ),
        (
            {"models__architectures": ["base", "huge"]},
            r"models.architectures: 'huge' has no recipe under architectures; name one of base",
        ),
        (
            {"models__architectures": ["base-2"]},
            r"models.architectures: 'base-2' must be a name of \[a-z0-9_\]",
        ),
        ({"models__architectures": ["base", "base"]}, r"lists a name twice"),
        ({"data__std": 0}, r"data.std: 0 must be > 0"),
        ({"data__val_size": 0}, r"data.val_size: 0 must be >= 1"),
        ({"mlflow__experiment": ""}, r"mlflow.experiment: '' must be a non-empty string"),
        ({"plot__dpi": 5}, r"plot.dpi: 5 must be >= 20"),
        (
            {"models__seeds": [43, 43]},
            r"models.seeds: \[43, 43\] must be a non-empty list of distinct integers",
        ),
        (
            {"models__seeds": [-1]},
            r"models.seeds: \[-1\] must be a non-empty list of distinct integers >= 0",
        ),
        ({"models__seeds": []}, r"models.seeds: \[\] must be a non-empty list"),
        ({"models__seeds": ...}, r"models.seeds: missing key"),
        ({"train__lr": "0.1"}, r"train.lr: must be a number, not the string '0.1'"),
        ({"train__batch_size": "64"}, r"train.batch_size: must be an integer, not the string '64'"),
        ({"train__lr": float("inf")}, r"train.lr: inf must be a finite number"),
        ({"data__mean": float("nan")}, r"data.mean: nan must be a finite number"),
        ({"data__std": float("inf")}, r"data.std: inf must be a finite number"),
        ({"train__momentum": 1.0}, r"train.momentum: 1.0 must be < 1.0"),
        ({"train__batch_size": 100000}, r"train.batch_size: 100000 must be <= 65536"),
        (
            {"train__batch_size": 60000},
            r"train.batch_size: 60000 must be <= 65536|train.batch_size: 60000 exceeds the 50000",
        ),
        ({"data__val_size": 59999}, r"train.batch_size: 256 exceeds the 1 training examples"),
        (
            {"data__val_size": 60000},
            r"data.val_size: 60000 must be below the 60000 training images",
        ),
        ({"train__dynamics_subset": 50001}, r"train.dynamics_subset: 50001 exceeds the 50000"),
        ({"architectures__base__hidden": [10**9]}, r"width 1000000000 must be <= 65536"),
        ({"plot__dpi": 100000}, r"plot.dpi: 100000 must be <= 600"),
        ({"plot__width": float("inf")}, r"plot.width: inf must be a finite number"),
        ({"models__seeds": [99999999999999999999999]}, r"models.seeds: .* <= 4294967295"),
        (
            {"data__mirror": "/nonexistent/mirror"},
            r"data.mirror: '/nonexistent/mirror' is not a dir",
        ),
        ({"train__max_epochs": 10**6}, r"train.max_epochs: 1000000 must be <= 10000"),
        ({"train__lr": float("inf")}, r"train.lr: inf must be a finite number"),
        ({"data__std": float("nan")}, r"data.std: nan must be a finite number"),
        (
            {"activation_options__elu": {"alpha": "1"}},
            r"activation_options.elu.alpha must be a number, not '1' \(drop the quotes\)",
        ),
        (
            {"architectures__unused": {"hidden": [0], "init": "default"}},
            r"architectures.unused.hidden: width 0 must be a positive integer",
        ),
        (
            {"architectures__base__init": "orthogonal"},
            r"architectures.base.init: 'orthogonal' is not allowed; use one of default, kaiming",
        ),
        (
            {"architectures__base": [512, 256]},
            r"architectures.base: \[512, 256\] is a list; an architecture is a recipe: "
            r"{hidden: \[512, 256\], init: default}",
        ),
        ({"architectures__base__init": ...}, r"architectures.base.init: missing key"),
        ({"probes__saturated_fraction": 0}, r"probes.saturated_fraction: 0 must be > 0"),
        ({"probes__saturated_fraction": 1.5}, r"probes.saturated_fraction: 1.5 must be <= 1"),
    ],
)
def test_bad_values_name_key_value_and_fix(edits, expected):
    """What check_params runs: the file's keys, then the activations' (the registry's)."""
    with pytest.raises(ConfigError, match=expected):
        registry.check(config.parse(params(**edits)))


def test_cuda_without_gpu_is_rejected(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="train.device: 'cuda' but no CUDA GPU is visible"):
        config.parse(params(train__device="cuda"))


def test_unknown_model_name():
    with pytest.raises(ConfigError, match="model 'relu-huge-42': no architectures.huge"):
        config.parse(params()).model_spec("relu-huge-42")
    with pytest.raises(ConfigError, match="model 'relu-base': expected <activation>-<arch"):
        config.parse(params()).model_spec("relu-base")
    with pytest.raises(ConfigError, match="model 'gelu-base-42': no activation_options.gelu"):
        config.parse(params(activation_options__gelu=...)).model_spec("gelu-base-42")


def test_a_grid_of_learning_rates_is_a_matrix_axis_named_in_each_model():
    cfg = config.parse(
        params(
            models__activations=["relu"],
            models__architectures=["base"],
            models__seeds=[42, 43],
            train__lr=[0.00001, 0.1],
        )
    )
    names = cfg.model_names()
    assert names == [
        "relu-base-lr0.00001-42",
        "relu-base-lr0.00001-43",
        "relu-base-lr0.1-42",
        "relu-base-lr0.1-43",
    ]
    spec = cfg.model_spec("relu-base-lr0.1-43")
    assert (spec.lr, spec.seed, spec.configuration) == (0.1, 43, "relu-base-lr0.1")
    with pytest.raises(ConfigError, match=r"lr0.3 is not in train.lr \[1e-05, 0.1\]"):
        cfg.model_spec("relu-base-lr0.3-42")
    with pytest.raises(ConfigError, match="expected <activation>-<architecture>-lr<rate>-<seed>"):
        cfg.model_spec("relu-base-42")
    one = config.parse(params(train__lr=0.03))
    assert one.model_spec("relu-base-42").lr == 0.03 and "relu-base-42" in one.model_names()


def test_seeds_are_a_matrix_axis_in_dvc_order():
    cfg = config.parse(
        params(
            models__activations=["relu", "tanh"],
            models__architectures=["base"],
            models__seeds=[42, 43],
        )
    )
    assert cfg.model_names() == ["relu-base-42", "relu-base-43", "tanh-base-42", "tanh-base-43"]
    assert cfg.model_spec("tanh-base-43").seed == 43 and cfg.model_spec("relu-base-42").seed == 42


def test_validation_needs_no_torch():
    """check_params answers fast: config (and the stage) never import torch for valid params."""
    import subprocess
    import sys

    code = (
        "import sys, stages.check_params, actlab.config as c; "
        "from tests.helpers.params import reference_params as p; c.parse(p()); "
        "print(sorted(m for m in ('torch', 'torchvision', 'mlflow') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"


def test_not_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(bad)
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "nope.yaml")


def test_stage_main_turns_config_error_into_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    from stages import train

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params(train__lr=-1)))
    monkeypatch.chdir(tmp_path)
    assert train.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: train.lr: -1 must be > 0"]
    assert not (tmp_path / "models").exists() and not (tmp_path / "mlflow.db").exists()


@pytest.mark.skipif(
    os.environ.get("ACTLAB_CHECK_DEFAULTS") != "1",
    reason="the project's own drift check (.ci/run sets ACTLAB_CHECK_DEFAULTS=1): a user's "
    "committed params.yaml is theirs to change",
)
def test_the_tests_reference_params_are_the_committed_defaults():
    """The tests build their configs from a copy of the defaults (tests/helpers/params.py), not
    from the workspace's params.yaml, which a user may have edited: in the project's CI the
    copy must equal the committed file. A user who commits params of their own (as dvc exp and
    teams do) never runs this check."""
    import subprocess

    committed = subprocess.run(
        ["git", "show", "HEAD:params.yaml"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert params() == yaml.safe_load(committed)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda raw: raw["models"].update(activations=["reul", "tanh"]),
            r"analysis.baseline: 'relu' is not in models.activations \['reul', 'tanh'\] \(is "
            r"'reul' a typo of it\?\); name one of them",
        ),
        (
            lambda raw: raw["models"].update(activations=["reul", "relu"]),
            r"models.activations: unknown name 'reul' \(did you mean 'relu'\?\); use any of",
        ),
        (
            lambda raw: raw["train"].update(max_epoch=raw["train"].pop("max_epochs")),
            r"train.max_epochs: missing key in params.yaml; is 'max_epoch' beside it a typo of "
            r"'max_epochs'\?",
        ),
        (
            lambda raw: raw.update(trian=raw.pop("train")),
            r"^train: missing key in params.yaml; is 'trian' beside it a typo of 'train'\?",
        ),
        (
            lambda raw: raw["train"].update(patiense=3),
            r"train.patiense: unknown key \(did you mean 'patience'\?\); allowed here:",
        ),
        (
            lambda raw: raw["models"].update(architectures=["deeep"]),
            r"models.architectures: 'deeep' has no recipe under architectures \(did you mean "
            r"'deep'\?\)",
        ),
        (
            lambda raw: raw["train"].update(optimizer="adma"),
            r"train.optimizer: 'adma' is not allowed \(did you mean 'adam'\?\)",
        ),
        (
            lambda raw: raw["models"].update(activations=["swiglu", "relu"]),
            r"unknown name 'swiglu'; use any of",  # nothing close enough: no guess
        ),
    ],
)
def test_typos_get_did_you_mean(edit, expected):
    raw = params()
    edit(raw)
    with pytest.raises(ConfigError, match=expected):
        registry.check(config.parse(raw))
