"""Stage ``prepare``: raw IDX files -> checked, split, compact tensors in ``data/prepared/``.

Outputs ``splits.pt`` (uint8 images, int64 labels per split: ~55 MB, not 200 MB of float32)
and ``meta.json`` (sizes, split hash, mean/std, checksums of the decoded arrays). Normalisation
is applied on the device when the stages load the tensors. Logs the data facts to MLflow, in
one run per prepared dataset.
"""

from __future__ import annotations

import dataclasses
import logging

from stages import cli

log = logging.getLogger("prepare")


def _main() -> None:
    # Imported here, not at the top: `--help` answers without torch.
    from stages import config, data, paths, runs, tracking

    cfg = config.load()
    source = data.fetch(cfg.data)
    splits, meta = data.prepare(cfg.data, data.load_raw(cfg.data))
    data.write_prepared(splits, meta)
    sizes = meta["sizes"]
    log.info(
        "%s: %s train / %s val / %s test images from %s",
        meta["dataset"],
        sizes["train"],
        sizes["val"],
        sizes["test"],
        source,
    )
    run_id = runs.open_run(
        runs.pipeline_experiment(cfg.mlflow.experiment),
        meta["checksum"][:32],
        f"data-{meta['dataset']}",
        kind="data",
        params={
            "data.source": source,
            **{f"data.{k}": v for k, v in dataclasses.asdict(cfg.data).items()},
            "data.checksum": meta["checksum"],
        },
        replace=True,
    )
    tracking.log_artifact(run_id, paths.PREPARED_META)
    tracking.finish(run_id)


def main(argv: list[str] | None = None) -> int:
    return cli.main(__doc__, _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
