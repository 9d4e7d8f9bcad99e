"""The test set's own sampling error, measured: evaluate the trained models of an MNIST-1D run
on fresh test sets from the same generator, and set the spread of each comparison across them
beside what one test set predicts.

    python -m actlab.tools.fresh_test [--sets 20] [--out FILE]

Each fresh set is the test part of ``data.mnist1d.samples`` sequences generated with seed
``data.mnist1d.seed + 1000 + k`` (k = 0 .. sets-1; never the data's own seed), normalised as
the prepared data were. Per comparison (an activation against the baseline, paired by seed, the
models held fixed): the standard deviation of the mean paired difference over the fresh sets,
with its 95 % chi-square interval, against the one predicted from the committed test set's
per-image predictions, sqrt(MS_image / (S I)) (``compare.fixed_models_variance``), and the image
component the verdicts add for new images, sqrt(b) (``compare.image_variance``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from actlab import config, files, paths
from actlab.analysis import compare
from actlab.config import Mnist1dConfig
from actlab.errors import ConfigError, DataError, exit_code
from actlab.tools.compare_runs import emit

OFFSET = 1000  # fresh seeds start here above the data's own


def fresh_sets(cfg: config.Config, meta: dict, sets: int):
    """(seed, features, labels) of each fresh test set, features normalised as the prepared
    data's ``meta`` says."""
    from actlab.data import datasets, mnist1d

    for k in range(sets):
        seed = cfg.data.mnist1d.seed + OFFSET + k
        raw = mnist1d.generate(Mnist1dConfig(seed, cfg.data.mnist1d.samples))
        yield seed, datasets.normalise_features(raw["test_features"], meta), raw["test_labels"]


def correct_on(models: dict, x, y) -> dict[str, np.ndarray]:
    from actlab.model import mlp

    out = {}
    for name, net in models.items():
        _, predicted = mlp.predict(net, x, y)
        out[name] = (predicted == y).numpy()
    return out


def measure(cfg: config.Config, sets: int) -> pd.DataFrame:
    import torch

    from actlab.data import datasets
    from actlab.model import evaluation, mlp

    if cfg.data.dataset != "mnist1d":
        raise ConfigError(
            f"data.dataset: {cfg.data.dataset!r}; fresh test sets need a generated dataset "
            "(mnist1d): run this in an MNIST-1D workspace (make preset PRESET=mnist1d)"
        )
    names = cfg.model_names()
    for name in names:
        if not paths.predictions(name).exists():
            raise DataError(f"{paths.predictions(name)}: missing; run `dvc repro evaluate`")
    models = {name: mlp.load(paths.best_checkpoint(name)) for name in names}
    tensors, meta = datasets.read_prepared()
    committed = {
        n: evaluation.correct(files.load_torch(paths.predictions(n)), tensors["test_labels"])[
            evaluation.BEST
        ].numpy()
        for n in names
    }
    fresh = []
    with torch.no_grad():
        for _, x, y in fresh_sets(cfg, meta, sets):
            fresh.append(correct_on(models, x, y))
    specs = {n: cfg.model_spec(n) for n in names}
    by_key = {(s.activation, s.architecture, s.seed): n for n, s in specs.items()}
    baseline = cfg.analysis.baseline
    rows = []
    for arch in cfg.models.architectures:

        def of(activation: str, arch=arch) -> list[str]:
            """The configuration's models in seed order (paired by seed)."""
            keys = [(activation, arch, seed) for seed in cfg.models.seeds]
            return [by_key[k] for k in keys if k in by_key]

        base = of(baseline)
        for activation in cfg.models.activations:
            if activation == baseline:
                continue
            own = of(activation)
            table = np.stack([committed[n] for n in own]), np.stack([committed[n] for n in base])
            predicted = math.sqrt(compare.fixed_models_variance(*table))
            b = compare.image_variance(*table)
            pairs = list(zip(own, base, strict=True))  # paired by seed
            diffs = [
                100.0 * float(np.mean([f[a].mean() - f[r].mean() for a, r in pairs])) for f in fresh
            ]
            sd = float(np.std(diffs, ddof=1))
            low, high = compare.sd_interval(sd, len(diffs) - 1, confidence=0.95)
            rows.append(
                {
                    "comparison": f"{activation}-{arch} vs {baseline}",
                    "mean difference on the fresh sets": f"{np.mean(diffs):+.2f}",
                    "measured SD over fresh sets": f"{sd:.3f} [{low:.3f}, {high:.3f}]",
                    "predicted from one test set": f"{predicted:.3f}",
                    "ratio measured / predicted": f"{sd / predicted:.2f}" if predicted else "",
                    "image share used by the verdicts, sqrt(b)": f"{math.sqrt(b):.3f}",
                }
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=20, help="fresh test sets to draw (>= 3)")
    parser.add_argument("--params", type=Path, default=paths.PARAMS)
    parser.add_argument("--out", type=Path, help="write the table here (default: stdout)")
    args = parser.parse_args(argv)
    if args.sets < 3:
        parser.error(f"--sets {args.sets}: at least 3 fresh sets give a spread")

    def run() -> None:
        emit(measure(config.load(args.params), args.sets), args.out)

    return exit_code(run, catch=(ValueError, DataError))


if __name__ == "__main__":
    raise SystemExit(main())
