"""Stage ``prepare``: raw IDX files, MNIST-1D's generator or the user's files -> checked,
split, compact tensors in ``data/prepared/``.

Outputs ``splits.pt`` (uint8 images, not 200 MB of float32, or float32 features; int64 labels)
and ``meta.json`` (sizes, split hash, mean/std, checksums of the decoded arrays). Normalisation
is applied on the device when the stages load the tensors. Logs the data facts to MLflow, in
one run per prepared dataset.
"""

from __future__ import annotations

import logging

from actlab import stage_runner

log = logging.getLogger("prepare")


def _main() -> None:
    # Imported here, not at the top: `--help` answers without torch.
    from actlab import config
    from actlab.data import datasets, sources
    from actlab.tracking import report

    cfg = config.load()
    source = sources.fetch(cfg.data)
    splits, meta = sources.prepare(cfg.data, sources.load_raw(cfg.data))
    datasets.write_prepared(splits, meta)
    sizes = meta["sizes"]
    log.info(
        "%s: %s train / %s val / %s test examples from %s",
        meta["dataset"],
        sizes["train"],
        sizes["val"],
        sizes["test"],
        source,
    )
    report.log_prepared(cfg, meta, source)


def main(argv: list[str] | None = None) -> int:
    return stage_runner.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
