"""Stage ``prepare``: raw IDX files -> checked, split, compact tensors in ``data/prepared/``.

Outputs ``splits.pt`` (uint8 images, int64 labels per split: ~55 MB, not 200 MB of float32)
and ``meta.json`` (sizes, split hash, mean/std, checksums of the decoded arrays). Normalisation
is applied on the device when the stages load the tensors.
"""

from __future__ import annotations

import argparse
import json
import logging

import torch

from stages import cli, config, paths, tracking
from stages.config import DataConfig
from stages.data import fetch, load_raw, prepare

log = logging.getLogger("prepare")


def run(cfg: DataConfig) -> tuple[dict[str, torch.Tensor], dict, str]:
    source = fetch(cfg)
    splits, meta = prepare(cfg, load_raw(cfg))
    return splits, meta, source


def _main() -> None:
    cfg = config.load()
    splits, meta, source = run(cfg.data)
    paths.PREPARED.mkdir(parents=True, exist_ok=True)
    torch.save(splits, paths.PREPARED_TENSORS)
    paths.PREPARED_META.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    log.info("%s: %s train / %s val / %s test images from %s", meta["dataset"],
             *meta["sizes"].values(), source)
    # The data facts also go to MLflow, in one run per prepared dataset.
    run_id = tracking.open_run(
        cfg.experiment, meta["checksum"][:32], f"data-{meta['dataset']}", kind="data",
        params={"data.source": source, **{f"data.{k}": v for k, v in vars(cfg.data).items()},
                "data.checksum": meta["checksum"]},
        replace=True,
    )
    tracking.log_artifact(run_id, paths.PREPARED_META)
    tracking.finish(run_id)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    return cli.run_stage(_main)


if __name__ == "__main__":
    raise SystemExit(main())
