"""The test set's own sampling error, measured: evaluate the trained models of an MNIST-1D run
on fresh test sets from the same generator, and set the spread of each comparison across them
beside what one test set predicts.

    python -m actlab.tools.fresh_test [--sets 20] [--verdicts] [--out FILE]

Each fresh set is the test part of ``data.mnist1d.samples`` sequences generated with seed
``data.mnist1d.seed + 1000 + k`` (k = 0 .. sets-1; never the data's own seed), normalised as
the prepared data were. Per comparison (an activation against the baseline, paired by seed, the
models held fixed): the standard deviation of the mean paired difference over the fresh sets,
with its 95 % chi-square interval, against the one predicted from the committed test set's
per-image predictions, sqrt(MS_image / (S I)) (``compare.fixed_models_variance``), and the image
component the verdicts add for new images, sqrt(b) (``compare.image_variance``).

``--verdicts``: instead, the pipeline's own comparison (``compare.compare_to_baseline``, as in
the result tables) with the fresh sets pooled into one test set of sets x samples sequences,
so that the images' share of each interval shrinks as a larger test set's would. The fresh
sets were no part of any recorded plan: these verdicts are exploratory.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from actlab import config, files, paths
from actlab.analysis import compare, stats, tables
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


def evaluate(
    cfg: config.Config, sets: int, committed: bool = True
) -> tuple[dict | None, list[dict]]:
    """Per model, which images of the committed test set (None unless ``committed``) and of
    each fresh set it classified correctly (bools)."""
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
    on_committed = None
    if committed:
        on_committed = {
            n: evaluation.correct(files.load_torch(paths.predictions(n)), tensors["test_labels"])[
                evaluation.BEST
            ].numpy()
            for n in names
        }
    fresh = []
    with torch.no_grad():
        for _, x, y in fresh_sets(cfg, meta, sets):
            fresh.append(correct_on(models, x, y))
    return on_committed, fresh


def _pairs(cfg: config.Config):
    """(architecture, activation, its models, the baseline's models) per comparison, the models
    in seed order (paired by seed)."""
    by_key = {}
    for name in cfg.model_names():
        spec = cfg.model_spec(name)
        by_key[spec.activation, spec.architecture, spec.seed] = name
    baseline = cfg.analysis.baseline
    for arch in cfg.models.architectures:

        def of(activation: str, arch=arch) -> list[str]:
            keys = [(activation, arch, seed) for seed in cfg.models.seeds]
            return [by_key[k] for k in keys if k in by_key]

        for activation in cfg.models.activations:
            if activation != baseline:
                yield arch, activation, of(activation), of(baseline)


def spread(cfg: config.Config, committed: dict, fresh: list[dict]) -> pd.DataFrame:
    """Per comparison: the spread of the mean paired difference over the fresh sets beside the
    one predicted from the committed test set."""
    baseline = cfg.analysis.baseline
    rows = []
    for arch, activation, own, base in _pairs(cfg):
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


def pooled_verdicts(cfg: config.Config, fresh: list[dict], classes: int) -> pd.DataFrame:
    """The pipeline's comparison of each activation with the baseline, paired by seed, on the
    fresh sets pooled into one test set: accuracies and per-image predictions over all of
    their sequences, the family and margin of ``analysis``; on the confirmatory seeds where
    ``analysis.confirm_seeds`` names them, as the result tables compare."""
    if len(cfg.train.lr) > 1:
        raise ConfigError(
            f"train.lr: a grid {list(cfg.train.lr)}; --verdicts compares the models of one "
            "rate: run it in a workspace with one train.lr (e.g. each activation's chosen rate)"
        )
    a = cfg.analysis
    confirm = set(a.confirm_seeds)
    specs = {name: cfg.model_spec(name) for name in fresh[0]}
    images = sum(len(f[next(iter(specs))]) for f in fresh)
    rows = []
    for arch in cfg.models.architectures:
        hits: dict[str, dict[int, np.ndarray]] = {}  # per activation and seed, over every set
        for name, spec in specs.items():
            if spec.architecture == arch and (not confirm or spec.seed in confirm):
                hits.setdefault(spec.activation, {})[spec.seed] = np.concatenate(
                    [f[name] for f in fresh]
                )
        accuracy = {
            activation: {seed: 100.0 * float(hit.mean()) for seed, hit in by_seed.items()}
            for activation, by_seed in hits.items()
        }
        result = compare.compare_to_baseline(
            accuracy,
            a.baseline,
            margin=a.equivalence_margin,
            chance=stats.chance(classes),
            alpha=a.alpha,
            correct=hits,
        )
        for activation, c in result.items():
            if activation == a.baseline:
                continue
            r = tables.comparison_columns(c)
            rows.append(
                {
                    "comparison": f"{activation}-{arch} vs {a.baseline}",
                    "seeds": str(c.n),
                    f"[adj. CI], these {images} sequences": tables.difference_text(r),
                    "[adj. CI], new images": tables.difference_text(r, new=True),
                    "p (adj.)": tables.p_text(r["p_adjusted"]),
                    "verdict": tables.verdict_text(r),
                }
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=20, help="fresh test sets to draw (>= 3)")
    parser.add_argument(
        "--verdicts",
        action="store_true",
        help="the verdicts with the fresh sets pooled into one test set (exploratory)",
    )
    parser.add_argument("--params", type=Path, default=paths.PARAMS)
    parser.add_argument("--out", type=Path, help="write the table here (default: stdout)")
    args = parser.parse_args(argv)
    if args.sets < 3:
        parser.error(f"--sets {args.sets}: at least 3 fresh sets give a spread")

    def run() -> None:
        cfg = config.load(args.params)
        committed, fresh = evaluate(cfg, args.sets, committed=not args.verdicts)
        if args.verdicts:
            from actlab.data.mnist1d import CLASSES

            emit(pooled_verdicts(cfg, fresh, len(CLASSES)), args.out)
        else:
            emit(spread(cfg, committed, fresh), args.out)

    return exit_code(run, catch=(ValueError, DataError))


if __name__ == "__main__":
    raise SystemExit(main())
