"""Benchmark: the train stage on a local Ray cluster against the same stage without Ray, in one
run (docs/scaling-out.md, "What Ray costs").

It copies the project into a temp workspace with this workspace's prepared data and params
(``train.max_epochs`` set by ``--epochs``), starts a Ray head on 127.0.0.1 with ``--workers``
one-CPU workers, and in each round runs ``python -m stages.train`` from no trained model twice,
back to back: here (torch's default thread count) and with ``RAY_ADDRESS`` (each task one
thread). Prints

1. the wall times and their ratio (median over rounds), and the worker processes the Ray run's
   models trained in (warm workers: one per CPU, not one per task);
2. what a pack costs beyond its training loop, one at a time with every CPU
   (``ACTLAB_RAY_CPUS``): from the stage's wall with 1 and with ``1 + --extra`` packs of
   relu-base (1 epoch), minus their training loops (``metrics/timing``), divided by the extra
   packs: submitting, starting, the result back, written and logged;
3. what a stage costs once beyond its packs (start-up, the data loaded; with Ray connecting,
   the code and the data shipped, the workers started).

Usage: python bench/ray.py [--epochs 2] [--rounds 1] [--workers 2] [--single 3] [--extra 4]
       [--keep DIR]
Needs the prepared data (``dvc repro prepare``) and Ray (``pip install -e '.[ray]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the tests' loopback head and project copy
from tests.helpers.e2e import copy_project  # noqa: E402
from tests.helpers.ray_head import LOOPBACK, ray_head  # noqa: E402


def workspace(folder: Path, epochs: int, matrix: dict | None) -> Path:
    """The project's tracked files, this workspace's params (``epochs``, ``matrix`` edits)
    and prepared data (linked), no results."""
    copy_project(folder, skip=("metrics/", "models/", "docs/"), skip_names=("dvc.lock",))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"]["max_epochs"] = epochs
    params["train"]["budgets"] = [b for b in params["train"]["budgets"] if b < epochs]
    params["models"].update(matrix or {})
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    prepared = ROOT / "data" / "prepared"
    if not (prepared / "splits.pt").exists():
        sys.exit("bench/ray.py: no prepared data: run `dvc repro prepare` first")
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "prepared").symlink_to(prepared)
    return folder


def train(folder: Path, env: dict[str, str]) -> float:
    """Wall seconds of the train stage from no trained model."""
    for name in ("models", "metrics", ".actlab"):
        shutil.rmtree(folder / name, ignore_errors=True)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "stages.train"],
        cwd=folder,
        env={
            **os.environ,
            "DVC_ROOT": str(folder),
            "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
            **env,
        },
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"the train stage failed:\n{result.stderr[-3000:]}")
    return seconds


def timings(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "metrics/timing").glob("*.json"))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=2, help="train.max_epochs of every model")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray head")
    ap.add_argument("--single", type=int, default=3, help="rounds of the per-pack overhead")
    ap.add_argument("--extra", type=int, default=4, help="packs beyond the first, per round")
    ap.add_argument("--keep", type=Path, help="work in DIR and keep it (default: a temp dir)")
    args = ap.parse_args()

    base = args.keep or Path(tempfile.mkdtemp(prefix="actlab-bench-ray-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        matrix_ws = workspace(base / "matrix", args.epochs, None)
        pack = {"activations": ["relu"], "architectures": ["base"]}
        single_ws = workspace(base / "single", 1, {**pack, "seeds": [42]})
        many_ws = workspace(
            base / "many", 1, {**pack, "seeds": list(range(42, 42 + args.extra + 1))}
        )
        start = time.perf_counter()
        with ray_head(cpus=args.workers) as head:
            print(
                f"Ray head with {args.workers} CPUs started in {time.perf_counter() - start:.1f} s"
            )
            on_ray = {"RAY_ADDRESS": head.address, **LOOPBACK}
            ratios, here_s, ray_s = [], [], []
            for r in range(args.rounds):
                here = train(matrix_ws, {})
                here_threads = {t["threads"] for t in timings(matrix_ws)}
                ray = train(matrix_ws, on_ray)
                ray_timings = timings(matrix_ws)
                ratios.append(ray / here)
                here_s.append(here)
                ray_s.append(ray)
                print(
                    f"round {r + 1}: {len(ray_timings)} models, {args.epochs} epoch(s) each: "
                    f"here {here:.1f} s ({sorted(here_threads)} threads), "
                    f"Ray {ray:.1f} s ({args.workers} workers x 1 thread)"
                )
            workers = {t["worker"] for t in ray_timings}
            print(
                f"1. train stage, Ray / here: {statistics.median(ratios):.3f} "
                f"(median of {args.rounds}; here {statistics.median(here_s):.1f} s, "
                f"Ray {statistics.median(ray_s):.1f} s)"
            )
            print(f"   the Ray run's {len(ray_timings)} models trained in {len(workers)} workers")

            # One task at a time with every CPU (ACTLAB_RAY_CPUS), as a stage here trains:
            # what a pack costs beyond its training, from the stage's wall with 1 and with
            # 1 + extra packs, both sides in each round.
            alone = {**on_ray, "ACTLAB_RAY_CPUS": str(args.workers)}
            cost: dict[str, list[float]] = {"here": [], "Ray": []}
            fixed: dict[str, list[float]] = {"here": [], "Ray": []}
            for _ in range(args.single):
                for side, env in (("here", {}), ("Ray", alone)):
                    one = train(single_ws, env) - timings(single_ws)[0]["seconds"]
                    many = train(many_ws, env) - sum(t["seconds"] for t in timings(many_ws))
                    cost[side].append((many - one) / args.extra)
                    fixed[side].append(one - cost[side][-1])
            here_pack, ray_pack = (statistics.median(cost[k]) for k in ("here", "Ray"))
            print(
                f"2. per pack (relu-base, 1 epoch, one at a time), beyond its training loop: "
                f"here {here_pack:.2f} s, Ray {ray_pack:.2f} s (submit, start, the result back, "
                f"written and logged; median of {args.single})"
            )
            here_fixed, ray_fixed = (statistics.median(fixed[k]) for k in ("here", "Ray"))
            print(
                f"3. once per train stage, beyond its packs: here {here_fixed:.2f} s, Ray "
                f"{ray_fixed:.2f} s (Ray: connecting, the code and the data shipped, the workers "
                "started)"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
