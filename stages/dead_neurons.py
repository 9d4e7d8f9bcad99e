"""Stage ``dead_neurons``: dead, nearly dead and saturated neurons of every model at init and
after training (``actlab.probes.neurons`` defines them), their dynamics over the probed epochs,
gradient flow at init and activation distributions after training.

Writes ``metrics/dead_neurons/<model>.json`` (counts), ``metrics/dead_dynamics/<model>.tsv``
(per probed epoch) and ``metrics/distributions/<model>.json`` (per-layer histograms for the
plot stage); logs all to each model's run. Reads only ``probes.*`` (and the device): editing a
probe setting never retrains. One process for every model, the data loaded once; every model
is measured again on each rerun (two passes over the training images each).
"""

from __future__ import annotations

import logging

from actlab import stage_runner

log = logging.getLogger("dead_neurons")


def _main() -> None:
    # Imported here, not at the top: `--help` answers without torch.
    from tqdm import tqdm

    from actlab import config, device, files, interrupt, paths, records
    from actlab.data import datasets
    from actlab.model import mlp
    from actlab.probes import census
    from actlab.probes.neurons import NeuronHistory
    from actlab.tracking import report

    cfg = config.load()
    pc = cfg.probes
    dev = device.resolve(cfg.train.device)
    splits = datasets.load_prepared(dev)
    for name in tqdm(cfg.model_names(), desc="dead_neurons", unit="model", disable=None):
        record = records.read_record(name)
        init = mlp.load(paths.init_checkpoint(name), dev)
        best = mlp.load(paths.best_checkpoint(name), dev)
        result, distributions = census.measure(init, best, splits.x_train, splits.y_train, pc)
        history = NeuronHistory.from_dict(files.load_torch(paths.neuron_history(name)))
        rows = census.dynamics(history, pc.saturation_eps)

        files.write_json(paths.dead_neurons(name), result)
        files.write_tsv(paths.dead_dynamics(name), rows)
        files.write_json(paths.distributions(name), distributions, indent=None)
        report.log_dead_neurons(cfg.mlflow.experiment, record, result, rows)
        dead = result["init"]["dead"]["per_layer"], result["trained"]["dead"]["per_layer"]
        log.info("%s: dead neurons per layer at init %s, after training %s", name, *dead)
        interrupt.check()


def main(argv: list[str] | None = None) -> int:
    return stage_runner.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
