"""dvc.yaml must name every module a stage imports and every params key it reads.

A missing code dep means an edit to that module does not rerun the stage, and results silently
come from old code; a missing params key means an edit of it is ignored. Both are checked
against what the code really does: the import closure by ``ast`` (no execution), the params by
running every stage in-process on a tiny config through a config that records each key read.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from actlab import config
from tests.helpers.idx import write_mirror
from tests.helpers.params import ROOT, tiny_params

DVC_YAML = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
# The one read a stage does not declare: where train logs its run does not change the model,
# so renaming the MLflow experiment must not retrain (stages/train.py says so where it reads it).
UNDECLARED_ON_PURPOSE = {"train": {"mlflow.experiment"}}
# Modules that decide nothing in a stage's outputs, left out of dvc.yaml's deps so that an
# edit of them reruns nothing; test_e2e_reliability's forced rerun (identical bytes) guards it.
# The import closure does not go through them: what only they import only logs too.
NOT_DEPS = {
    "actlab.stage_runner": "parses the command line, sets up logging, maps errors to exit codes",
    "actlab.interrupt": "turns signals into stop requests; stops, never changes an output",
    "actlab.tracking.store": "the MLflow client and its logging primitives",
    "actlab.tracking.runs": "which MLflow run each thing logs to",
    "actlab.tracking.report": "what each stage logs to MLflow",
    "actlab.tracking.names": "what a metric is called in MLflow, and its unit there",
}


def module_file(module: str) -> Path:
    """``actlab.model.mlp`` -> actlab/model/mlp.py (a package: its __init__.py)."""
    path = ROOT / module.replace(".", "/")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def is_module(dotted: str) -> bool:
    path = ROOT / dotted.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").exists()


def stage_module(stage: str) -> str:
    (module,) = re.findall(r"python -m (stages\.\w+)", DVC_YAML[stage]["cmd"])
    return module


def imports(module: str) -> set[str]:
    """Modules of ``actlab`` and ``stages`` that ``module`` imports, at any depth of its code."""
    tree = ast.parse(module_file(module).read_text())
    found = set()
    ours = ("actlab", "stages")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] in ours}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ours:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                found.add(dotted if is_module(dotted) else node.module)
    return {m for m in found if not (ROOT / m.replace(".", "/")).is_dir()}


def closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            if current not in NOT_DEPS:
                todo += sorted(imports(current))
    return seen - set(NOT_DEPS)


def declared_modules(stage: str) -> set[str]:
    deps = [d if isinstance(d, str) else next(iter(d)) for d in DVC_YAML[stage]["deps"]]
    return {
        d.removesuffix(".py").replace("/", ".")
        for d in deps
        if d.startswith(("actlab/", "stages/")) and d.endswith(".py")
    }


def test_package_markers_hold_no_code():
    """Every ``__init__.py`` runs on import but is in no stage's deps: it must hold no code (a
    docstring at most) that could change an output."""
    for init in [*ROOT.glob("actlab/**/__init__.py"), ROOT / "stages" / "__init__.py"]:
        body = ast.parse(init.read_text()).body
        assert all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def test_stages_holds_the_six_stages_only():
    modules = {p.stem for p in (ROOT / "stages").glob("*.py")} - {"__init__"}
    assert modules == {stage_module(s).split(".")[1] for s in DVC_YAML}


@pytest.mark.parametrize("stage", sorted(DVC_YAML))
def test_every_imported_module_is_a_dep(stage):
    needed, declared = closure(stage_module(stage)), declared_modules(stage)
    missing = sorted(needed - declared)
    assert not missing, f"stage {stage}: dvc.yaml deps lack " + ", ".join(
        str(module_file(m).relative_to(ROOT)) for m in missing
    )
    extra = sorted(declared - needed)
    assert not extra, f"stage {stage}: dvc.yaml deps list modules it never imports: {extra}"


def test_no_stage_imports_another_stage():
    stage_modules = {stage_module(s) for s in DVC_YAML}
    for module in stage_modules:
        assert not (imports(module) & stage_modules), module


def test_the_check_catches_a_removed_dep(monkeypatch):
    """Proof that the test above can fail: drop files.py from dead_neurons' deps."""
    stage = dict(DVC_YAML["dead_neurons"])
    stage["deps"] = [d for d in stage["deps"] if d != "actlab/files.py"]
    monkeypatch.setitem(DVC_YAML, "dead_neurons", stage)
    with pytest.raises(
        AssertionError, match=r"stage dead_neurons: dvc.yaml deps lack actlab/files.py"
    ):
        test_every_imported_module_is_a_dep("dead_neurons")


# --- params ----------------------------------------------------------------------------------


class _RecordingMapping(dict):
    """A params mapping (architectures, activation_options) that records which keys are read."""

    def __init__(self, data: Mapping, path: str, seen: set[str]) -> None:
        super().__init__(data)
        self._path, self._seen = path, seen

    def __getitem__(self, key):
        self._seen.add(f"{self._path}.{key}")
        return super().__getitem__(key)

    def _whole(self):
        self._seen.add(self._path)

    def __iter__(self):
        self._whole()
        return super().__iter__()

    def items(self):
        self._whole()
        return super().items()

    def values(self):
        self._whole()
        return super().values()

    def get(self, key, default=None):
        return self[key] if key in self else default


def recording(obj, seen: set[str], path: str = ""):
    """A copy of a config dataclass whose field reads add the params key to ``seen``."""
    names = {f.name for f in dataclasses.fields(obj)}

    class Recording(type(obj)):
        def __getattribute__(self, name):
            value = object.__getattribute__(self, name)
            if name not in names:
                return value
            key = f"{path}.{name}" if path else name
            if dataclasses.is_dataclass(value):
                return recording(value, seen, key)
            if isinstance(value, Mapping):
                return _RecordingMapping(value, key, seen)
            seen.add(key)
            return value

    copy = object.__new__(Recording)
    for name in names:
        object.__setattr__(copy, name, getattr(obj, name))
    return copy


def declared_params(stage: str, item: Mapping[str, str]) -> set[str]:
    params = DVC_YAML[stage].get("params", [])
    keys = {p if isinstance(p, str) else next(iter(p)) for p in params}
    return {re.sub(r"\$\{item\.(\w+)\}", lambda m: str(item[m.group(1)]), k) for k in keys}


def covered(key: str, declared: set[str]) -> bool:
    return any(key == d or key.startswith(d + ".") for d in declared)


@pytest.fixture(scope="module")
def params_read(tmp_path_factory):
    """Run every stage in-process on a tiny config; the params keys each one read."""
    from actlab.tracking import store
    from stages import check_params, dead_neurons, evaluate, plot, prepare, train

    root = tmp_path_factory.mktemp("workspace")
    write_mirror(root / "mirror", n_train=500, n_test=100)
    raw = tiny_params(root / "mirror", train__max_epochs=2, train__budgets=[1], data__val_size=100)
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mp.setattr(store, "repo_root", lambda: root)
    real_load = config.load
    seen: dict[str, set[str]] = {}
    runs = [
        ("check_params", check_params, []),
        ("prepare", prepare, []),
        ("train", train, []),
        ("evaluate", evaluate, []),
        ("dead_neurons", dead_neurons, []),
        ("plot", plot, []),
    ]
    try:
        for stage, module, argv in runs:
            seen[stage] = set()
            mp.setattr(config, "load", lambda *a, s=seen[stage]: recording(real_load(*a), s))
            assert module.main(argv) == 0, stage
    finally:
        mp.undo()
    return seen, {"activation": "relu", "arch": "tiny", "seed": "42"}


@pytest.mark.parametrize("stage", ["prepare", "train", "evaluate", "dead_neurons", "plot"])
def test_every_params_key_read_is_declared(params_read, stage):
    seen, item = params_read
    declared = declared_params(stage, item)
    undeclared = sorted(
        k for k in seen[stage] - UNDECLARED_ON_PURPOSE.get(stage, set()) if not covered(k, declared)
    )
    assert not undeclared, f"stage {stage} reads params it does not declare: {undeclared}"
    unread = sorted(d for d in declared if not any(covered(k, {d}) for k in seen[stage]))
    assert not unread, f"stage {stage} declares params it never reads: {unread}"


def test_check_params_depends_on_the_whole_file(params_read):
    """It validates every key, an unknown one too: the whole file is its dep, so whatever it
    reads (the registry's check reads the activations, the plan's check whether train.lr is a
    grid, the data check which dataset it is) is declared; a new read shows up here to be
    looked at."""
    seen, _ = params_read
    deps = [d if isinstance(d, str) else next(iter(d)) for d in DVC_YAML["check_params"]["deps"]]
    assert "params.yaml" in deps and "params" not in DVC_YAML["check_params"]
    allowed = {"models.activations", "activation_options", "train.lr", "data.dataset"}
    assert seen["check_params"] <= allowed


def test_the_check_catches_an_undeclared_param(params_read, monkeypatch):
    """Proof that the params test can fail: plot without data.dataset (its reference lookup)."""
    stage = dict(DVC_YAML["plot"])
    stage["params"] = [p for p in stage["params"] if p != "data.dataset"]
    monkeypatch.setitem(DVC_YAML, "plot", stage)
    with pytest.raises(
        AssertionError,
        match=r"stage plot reads params it does not declare: "
        r"\['data.dataset'\]",
    ):
        test_every_params_key_read_is_declared(params_read, "plot")


# --- the package graph -----------------------------------------------------------------------


def unit(module: str) -> str:
    """The unit of the package graph a module belongs to: its subpackage (``actlab.model``),
    or itself for a module of the package root (``actlab.config``)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def package_graph() -> dict[str, set[str]]:
    """unit -> the other units its modules import (at any depth of their code, lazy imports
    and type-only ones included)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "actlab").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        targets = {unit(m) for m in imports(module) if m.startswith("actlab")}
        graph.setdefault(unit(module), set()).update(targets - {unit(module)})
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as the list of its nodes (first repeated last), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_graph_has_no_cycle():
    """Subpackages and root modules import one another one way only (config never imports the
    model, probes never the training), so each can be read and changed from the bottom up."""
    cycle = find_cycle(package_graph())
    assert cycle is None, "import loop: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_loop():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    graph = package_graph()
    graph["actlab.config"].add("actlab.model")  # config validating with the registry
    assert find_cycle(graph) is not None


def test_prepare_needs_no_model_code():
    """Editing an activation, the registry or a model's records does not rerun prepare."""
    needed = closure(stage_module("prepare"))
    assert not {m for m in needed if m.startswith(("actlab.model", "actlab.training"))}
    assert "actlab.records" not in needed
