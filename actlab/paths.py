"""Every file the stages read or write, named once; dvc.yaml declares the same paths.

Paths are relative to the repository root, where DVC runs every stage.
"""

from __future__ import annotations

from pathlib import Path

PARAMS = Path("params.yaml")
PARAMS_OK = Path("data/params_ok.json")  # check_params' constant stamp; prepare depends on it
RAW = Path("data/raw")  # torchvision's root: data/raw/<Dataset>/raw/*-ubyte
PREPARED = Path("data/prepared")
PREPARED_TENSORS = PREPARED / "splits.pt"
PREPARED_META = PREPARED / "meta.json"
MODELS = Path("models")
# Resume states of trainings in progress: outside every DVC output (DVC deletes those before a
# stage runs) and git-ignored; one file per run key, removed when its training completes.
RESUME = Path(".actlab") / "resume"
METRICS = Path("metrics")
PLOTS = METRICS / "plots"
SUMMARY_CSV = METRICS / "summary.csv"  # one row per configuration, statistics across seeds
MODELS_CSV = METRICS / "models.csv"  # one row per trained model
SUMMARY_MD = METRICS / "summary.md"  # both tables
RESULTS = METRICS / "results"  # Markdown tables that README.md and docs/ show (docs_tables)
AGGREGATES = METRICS / "aggregates.json"  # per configuration: what dvc metrics/exp show list
# One row per model and epoch, current models only: what dvc.yaml's plots draw, a line a model.
EPOCHS = METRICS / "epochs.tsv"
DEAD_EPOCHS = METRICS / "dead_epochs.tsv"


def model_dir(model: str) -> Path:
    return MODELS / model


def init_checkpoint(model: str) -> Path:
    return model_dir(model) / "init.pt"


def best_checkpoint(model: str) -> Path:
    return model_dir(model) / "best.pt"


def budget_checkpoints(model: str) -> Path:
    """The best checkpoint within each of ``train.budgets`` (the max_epochs one is best.pt)."""
    return model_dir(model) / "budgets.pt"


def predictions(model: str) -> Path:
    """The class it predicts for each test image, per budget (written by evaluate)."""
    return METRICS / "predictions" / f"{model}.pt"


def model_record(model: str) -> Path:
    """The model's record: spec, run key, MLflow params, parameter count (``ModelRecord``)."""
    return model_dir(model) / "record.json"


def neuron_history(model: str) -> Path:
    """Per-neuron extremes on the dynamics subset at each probed epoch (read by dead_neurons)."""
    return model_dir(model) / "neuron_history.pt"


def weight_histograms(model: str) -> Path:
    """Per-epoch histograms of the first and last layer's weights and gradients (read by plot)."""
    return model_dir(model) / "weight_histograms.pt"


def trained_outputs(model: str) -> list[Path]:
    """Every file train writes for a model (its timing aside)."""
    return [
        init_checkpoint(model),
        best_checkpoint(model),
        budget_checkpoints(model),
        model_record(model),
        neuron_history(model),
        weight_histograms(model),
        curves(model),
        train(model),
    ]


def curves(model: str) -> Path:
    """One row per epoch; its own directory so that dvc.yaml's top-level plots can name it."""
    return METRICS / "curves" / f"{model}.tsv"


def train(model: str) -> Path:
    return METRICS / "train" / f"{model}.json"


def timing(model: str) -> Path:
    """Wall times: outside every directory a later stage depends on and out of the tables, so
    that a rerun giving bit-identical metrics reruns nothing downstream."""
    return METRICS / "timing" / f"{model}.json"


def evaluate(model: str) -> Path:
    return METRICS / "evaluate" / f"{model}.json"


def dead_neurons(model: str) -> Path:
    return METRICS / "dead_neurons" / f"{model}.json"


def dead_dynamics(model: str) -> Path:
    """Dead/saturated counts per layer per probed epoch (0 = init)."""
    return METRICS / "dead_dynamics" / f"{model}.tsv"


def distributions(model: str) -> Path:
    """Per layer: gradient flow at init and activation distributions after training."""
    return METRICS / "distributions" / f"{model}.json"


def resume_state(run_key: str) -> Path:
    return RESUME / f"{run_key}.pt"


def weights_figure(model: str, fmt: str) -> Path:
    """A model's weight-histogram figure (written by plot)."""
    return PLOTS / "weights" / f"{model}.{fmt}"


def result_table(stem: str) -> Path:
    """``metrics/results/<stem>.md``: one table the README or docs/ show."""
    return RESULTS / f"{stem}.md"
