"""Stage ``dead_neurons@<model>``: dead, nearly dead and saturated neurons at init and after
training (``actlab.probes.neurons`` defines them), their dynamics over the probed epochs,
gradient flow at init and activation distributions after training.

Writes ``metrics/dead_neurons/<model>.json`` (counts), ``metrics/dead_dynamics/<model>.tsv``
(per probed epoch) and ``metrics/distributions/<model>.json`` (per-layer histograms for the
plot stage); logs all to the model's run. Reads only ``probes.*`` (and the device): editing a
probe setting never retrains.
"""

from __future__ import annotations

import logging

from actlab import cli

log = logging.getLogger("dead_neurons")


def _main(model_name: str) -> None:
    # Imported here, not at the top: `--help` and argument errors answer without torch.
    from actlab import files, paths
    from actlab.model import mlp, trained
    from actlab.probes import census
    from actlab.tracking import report
    from actlab.training.state import NeuronHistory

    m = trained.open_trained(model_name)
    pc = m.cfg.probes
    init = mlp.load(paths.init_checkpoint(model_name), m.device)
    best = mlp.load(paths.best_checkpoint(model_name), m.device)
    result, distributions = census.measure(init, best, m.splits.x_train, m.splits.y_train, pc)
    history = NeuronHistory.from_dict(files.load_torch(paths.neuron_history(model_name)))
    rows = census.dynamics(history, pc.saturation_eps)

    files.write_json(paths.dead_neurons(model_name), result)
    files.write_tsv(paths.dead_dynamics(model_name), rows)
    files.write_json(paths.distributions(model_name), distributions, indent=None)
    report.log_dead_neurons(m.cfg.mlflow.experiment, m.record, result, rows)
    dead = result["init"]["dead"]["per_layer"], result["trained"]["dead"]["per_layer"]
    log.info("%s: dead neurons per layer at init %s, after training %s", model_name, *dead)


def main(argv: list[str] | None = None) -> int:
    return cli.model_main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
