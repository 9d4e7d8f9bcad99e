"""Which results train keeps: a finished result is its record's run key plus every file."""

import json

from actlab import paths, records


def test_a_result_is_kept_by_its_run_key_whatever_code_wrote_its_record(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "relu-base-42"
    for path in paths.trained_outputs(name):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    # a record from code whose spec had other fields (no lr): its key still says what it is
    old = {"spec": {"name": name, "seed": 42}, "run_key": "k1", "mlflow_params": {}}
    paths.model_record(name).write_text(json.dumps(old))
    assert records.is_trained(name, "k1")
    assert not records.is_trained(name, "k2")
    paths.curves(name).unlink()
    assert not records.is_trained(name, "k1")  # a file missing: not a finished result
