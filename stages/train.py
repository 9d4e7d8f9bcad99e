"""Stage ``train``: train every MLP of the matrix that has no finished result, with early
stopping on validation accuracy; keep the others byte for byte.

A model's result is reused when ``models/<model>/record.json`` holds its run key (the params
that define it, the prepared data's checksum, the hash of the code that trains it) and its
files are all there: adding a seed trains only the new models. On CUDA the models of one
architecture train as one stacked network (``actlab.training.pack``); on the CPU one after
another (``train.pack_size``). Writes, per model, ``models/<model>/`` (init.pt, best.pt,
record.json, neuron_history.pt, weight_histograms.pt), ``metrics/train/<model>.json``,
``metrics/curves/<model>.tsv`` and ``metrics/timing/<model>.json``; logs params, per-epoch
metrics (step = epoch) and the checkpoint to the model's MLflow run. A stopped training
(SIGTERM, Ctrl-C, ``kill -9``) continues from its last resume state, in the same runs.
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
    from actlab.training import driver

    cfg = config.load()
    dev = device.resolve(cfg.train.device)
    device.make_deterministic(dev)
    splits = datasets.load_prepared(dev)
    bar = partial(tqdm, desc="train", unit="model", disable=None, file=sys.stderr)
    driver.train_all(cfg, dev, splits, bar)


def main(argv: list[str] | None = None) -> int:
    return stage_runner.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
