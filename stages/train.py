"""Stage ``train``: train every MLP of the matrix that has no finished result for its budget of
``train.max_epochs`` epochs (or until early stopping, ``train.early_stopping``), keeping its
best-validation checkpoint within each budget; keep the others byte for byte.

A model's result is reused when ``models/<model>/record.json`` holds its run key (the params
that define it, the prepared data's checksum, the hash of the code that trains it) and its
files are all there: adding a seed trains only the new models. On CUDA the models of one
architecture train as one stacked network (``actlab.training.pack``); on the CPU one after
another (``train.pack_size``). Writes, per model, ``models/<model>/`` (init.pt, best.pt,
budgets.pt, record.json with the analysis plan it trained under, neuron_history.pt,
weight_histograms.pt), ``metrics/train/<model>.json``, ``metrics/curves/<model>.tsv`` and
``metrics/timing/<model>.json``; logs params, per-epoch metrics (step = epoch), the plan and
the checkpoint to the model's MLflow run. A stopped training (SIGTERM, Ctrl-C, ``kill -9``)
continues from its last resume state, in the same runs. The work is
``actlab.training.driver``'s; with ``RAY_ADDRESS`` set, its packs train on that Ray cluster
(``actlab.training.cluster``, docs/scaling-out.md) and come back here to be written and logged.
"""

from __future__ import annotations

import sys

from actlab import stage_runner


def _main() -> None:
    # Imported here, not at the top: `--help` answers without torch.
    from functools import partial

    from tqdm import tqdm

    from actlab import config, device
    from actlab.data import datasets
    from actlab.training import cluster, driver

    cfg = config.load()
    bar = partial(tqdm, desc="train", unit="model", disable=None, file=sys.stderr)
    address = cluster.address()
    if address is None:
        dev = device.resolve(cfg.train.device)
        device.make_deterministic(dev)
        splits = datasets.load_prepared(dev)
        driver.train_all(cfg, dev, splits.meta, bar, partial(driver.train_groups, splits=splits))
        return
    cluster.resources()  # a bad request fails before the cluster is joined
    cluster.connect(address)
    dev = cluster.resolve_device(cfg.train.device)
    # the data go to the workers as prepare wrote them; each normalises them on its device
    prepared = datasets.read_prepared()
    driver.train_all(cfg, dev, prepared[1], bar, partial(cluster.run_groups, prepared=prepared))


def main(argv: list[str] | None = None) -> int:
    return stage_runner.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
