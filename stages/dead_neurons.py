"""Stage ``dead_neurons@<model>``: dead and saturated neurons at init and after training,
their per-epoch dynamics, gradient flow at init and activation distributions after training.

Writes ``metrics/dead_neurons/<model>.json`` (counts), ``.tsv`` (per epoch) and
``metrics/probes/<model>.json`` (histograms for the plot stage); logs all to the model's run.
Reads only ``probes.*`` (and the device): editing a probe setting never retrains.
"""

from __future__ import annotations

import json
import logging

import torch

from stages import cli, config, data, model, paths, probes, tracking
from stages.config import ProbeConfig
from stages.train import write_tsv

log = logging.getLogger("dead_neurons")


def counts(extremes: probes.NeuronExtremes, eps: float) -> dict:
    return {"dead": probes.count_summary(extremes.dead()),
            "saturated": probes.count_summary(extremes.saturated(eps))}


def dynamics(history: dict, eps: float) -> list[dict]:
    """Per epoch (0 = init) dead and saturated counts per layer on the training subset."""
    rows = []
    for epoch in range(len(history["max_abs_output"][0])):
        extremes = probes.NeuronExtremes([m[epoch] for m in history["max_abs_output"]],
                                         [m[epoch] for m in history["max_rel_derivative"]])
        c = counts(extremes, eps)
        row = {"epoch": epoch, "dead_total": c["dead"]["total"],
               "saturated_total": c["saturated"]["total"]}
        row.update({f"dead_layer{i}": n for i, n in enumerate(c["dead"]["per_layer"], 1)})
        row.update({f"saturated_layer{i}": n for i, n in enumerate(c["saturated"]["per_layer"], 1)})
        rows.append(row)
    return rows


def run(init: model.MLP, trained: model.MLP, x: torch.Tensor, y: torch.Tensor,
        pc: ProbeConfig) -> tuple[dict, dict]:
    """Counts on the whole of ``x`` for both networks, and the probe histograms."""
    result = {
        "saturation_eps": pc.saturation_eps,
        "images": len(x),
        "init": counts(probes.neuron_extremes(init, x, pc.batch_size), pc.saturation_eps),
        "trained": counts(probes.neuron_extremes(trained, x, pc.batch_size), pc.saturation_eps),
    }
    stats = {
        "gradient_flow_init": probes.gradient_flow(
            init, x[: pc.grad_batch_size], y[: pc.grad_batch_size], pc.hist_bins),
        "activations_trained": probes.activation_distributions(
            trained, x[: pc.activation_batch_size], pc.hist_bins),
    }
    return result, stats


def _main(model_name: str) -> None:
    cfg = config.load()
    cfg.model(model_name)  # an unknown name is a ConfigError before any work
    device = data.resolve_device(cfg.train.device)
    splits = data.load_prepared(device)
    init = model.load(paths.init_checkpoint(model_name), device)
    trained = model.load(paths.best_checkpoint(model_name), device)
    result, stats = run(init, trained, splits.x_train, splits.y_train, cfg.probes)
    history = torch.load(paths.neuron_history(model_name), weights_only=True)
    rows = dynamics(history, cfg.probes.saturation_eps)

    paths.dead_metrics(model_name).parent.mkdir(parents=True, exist_ok=True)
    paths.dead_metrics(model_name).write_text(json.dumps(result, indent=2) + "\n")
    write_tsv(paths.dead_history(model_name), rows)
    paths.probe_stats(model_name).parent.mkdir(parents=True, exist_ok=True)
    paths.probe_stats(model_name).write_text(json.dumps(stats) + "\n")

    run_id = tracking.model_run(cfg.experiment, model.read_config(model_name))
    final = {}
    for when in ("init", "trained"):
        for what in ("dead", "saturated"):
            summary = result[when][what]
            final[f"{what}/{when}/total"] = summary["total"]
            final[f"{what}/{when}/percent"] = summary["percent_total"]
            for i, n in enumerate(summary["per_layer"], 1):
                final[f"{what}/{when}/layer{i}"] = n
    tracking.log_metrics(run_id, final)
    tracking.log_rows(run_id, [{k if k == "epoch" else f"dynamics/{k}": v for k, v in r.items()}
                               for r in rows])
    for path in (paths.dead_metrics(model_name), paths.probe_stats(model_name)):
        tracking.log_artifact(run_id, path, "probes")
    d = result["init"]["dead"], result["trained"]["dead"]
    log.info("%s: dead neurons per layer at init %s, after training %s", model_name,
             d[0]["per_layer"], d[1]["per_layer"])


def main(argv: list[str] | None = None) -> int:
    return cli.run_model_stage(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
