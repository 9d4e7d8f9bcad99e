"""Stage ``dead_neurons@<model>``: dead, nearly dead and saturated neurons at init and after
training (``stages.probes`` defines them), their dynamics over the probed epochs, gradient
flow at init and activation distributions after training.

Writes ``metrics/dead_neurons/<model>.json`` (counts), ``metrics/dead_dynamics/<model>.tsv``
(per probed epoch) and ``metrics/probes/<model>.json`` (histograms for the plot stage); logs all to
the model's run. Reads only ``probes.*`` (and the device): editing a probe setting never
retrains.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from stages import cli

if TYPE_CHECKING:  # the stage imports torch only once it works, not for `--help`
    import torch

    from stages import mlp
    from stages.config import ProbeConfig

log = logging.getLogger("dead_neurons")
WHATS = ("dead", "nearly_dead", "saturated")


def dynamics(history: dict, eps: float) -> list[dict]:
    """Per probed epoch (0 = init, then every ``train.probe_every``-th) dead and saturated
    (on every image) counts per layer on the training subset that train probed."""
    from stages import probes

    # A history written before train.probe_every existed holds every epoch from 0.
    epochs = history.get("epochs", range(len(history["max_abs_output"][0])))
    if len(epochs) != len(history["max_abs_output"][0]):
        raise ValueError(f"neuron history: {len(epochs)} epochs for a different number of rows")
    rows = []
    for row, epoch in enumerate(epochs):
        extremes = probes.NeuronExtremes(
            [m[row] for m in history["max_abs_output"]],
            [m[row] for m in history["max_rel_derivative"]],
        )
        dead = probes.count_summary(extremes.dead())
        saturated = probes.count_summary(extremes.saturated(eps))
        row = {"epoch": epoch, "dead_total": dead["total"], "saturated_total": saturated["total"]}
        row.update({f"dead_layer{i}": n for i, n in enumerate(dead["per_layer"], 1)})
        row.update({f"saturated_layer{i}": n for i, n in enumerate(saturated["per_layer"], 1)})
        rows.append(row)
    return rows


def measure(
    init: mlp.MLP, trained: mlp.MLP, x: torch.Tensor, y: torch.Tensor, pc: ProbeConfig
) -> tuple[dict, dict]:
    """Counts on the whole of ``x`` for both networks, and the probe histograms."""
    from stages import probes

    def census(net: mlp.MLP) -> dict:
        counted = probes.neuron_census(net, x, pc.batch_size, pc.saturation_eps)
        return probes.census_summary(counted, pc.saturated_fraction)

    result = {
        "saturation_eps": pc.saturation_eps,
        "saturated_fraction": pc.saturated_fraction,
        "images": len(x),
        "init": census(init),
        "trained": census(trained),
    }
    stats = {
        "gradient_flow_init": probes.gradient_flow(
            init, x[: pc.grad_batch_size], y[: pc.grad_batch_size], pc.hist_bins
        ),
        "activations_trained": probes.activation_distributions(
            trained, x[: pc.activation_batch_size], pc.hist_bins
        ),
    }
    return result, stats


def mlflow_metrics(result: dict) -> dict[str, float]:
    """``dead/init/total``, ``saturated/trained/layer3``, ... from ``measure``'s counts."""
    flat = {}
    for when in ("init", "trained"):
        for what in WHATS:
            summary = result[when][what]
            flat[f"{what}/{when}/total"] = summary["total"]
            flat[f"{what}/{when}/percent"] = summary["percent_total"]
            for i, n in enumerate(summary["per_layer"], 1):
                flat[f"{what}/{when}/layer{i}"] = n
    return flat


def _main(model_name: str) -> None:
    from stages import io, mlp, model_stage, paths, runs, tracking

    m = model_stage.open_trained(model_name)
    pc = m.cfg.probes
    init = mlp.load(paths.init_checkpoint(model_name), m.device)
    trained = mlp.load(paths.best_checkpoint(model_name), m.device)
    result, stats = measure(init, trained, m.splits.x_train, m.splits.y_train, pc)
    rows = dynamics(io.load_torch(paths.neuron_history(model_name)), pc.saturation_eps)

    io.write_json(paths.dead_neurons(model_name), result)
    io.write_tsv(paths.dead_dynamics(model_name), rows)
    io.write_json(paths.probes(model_name), stats, indent=None)

    run_id = runs.model_run(m.cfg.mlflow.experiment, m.record)
    tracking.log_metrics(run_id, mlflow_metrics(result))
    per_epoch = [{k if k == "epoch" else f"dynamics/{k}": v for k, v in r.items()} for r in rows]
    tracking.log_rows(run_id, per_epoch, only_changed=True)  # a rerun adds no duplicates
    # Both files are <model>.json: each in its own artifact folder, or one would replace the other.
    tracking.log_artifact(run_id, paths.dead_neurons(model_name), "dead_neurons")
    tracking.log_artifact(run_id, paths.probes(model_name), "probes")
    dead = result["init"]["dead"]["per_layer"], result["trained"]["dead"]["per_layer"]
    log.info("%s: dead neurons per layer at init %s, after training %s", model_name, *dead)


def main(argv: list[str] | None = None) -> int:
    return cli.model_main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
