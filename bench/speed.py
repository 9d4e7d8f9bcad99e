"""Benchmark: how fast training runs, against the tutorials' loop and against the GEMMs alone.

Everything is measured in one run of this script, on one machine, and printed as ratios:

1. samples/s of the tutorials' loop (torchvision ``FashionMNIST`` + ``ToTensor`` +
   ``Normalize``, ``DataLoader(shuffle=True, batch 256, drop_last)``, SGD momentum) and of
   ``actlab.training.loop.train_epoch`` on the same network, and their ratio;
2. each activation's training step against the plain matrix multiplies of that step (the
   forward and backward GEMMs of the same shapes, nothing else): GEMM time / step time,
   the two timed back to back in each round, the median of the rounds' ratios;
3. the per-epoch extras (validation pass, dead/saturated dynamics probe, weight statistics
   and histograms) as a fraction of the epoch's training time, paired the same way, and
   the same with ``train.probe_every: 2`` (the probe on every other epoch);
4. a stage process from launch to its first real work: ``python -m stages.evaluate --help``
   and ``check_params`` on the default params;
5. a no-op ``dvc repro`` of the workspace (only meaningful when up to date);
6. peak memory (``ru_maxrss``) of a training process on the full data;
8. packs (``actlab.training.pack``) of 1, 3, 21 and 42 base and deep networks: the time of
   one step for all, per model step, and the model steps per second against a single
   model's step (``loop.train_epoch``) timed back to back in the same rounds.

The whole pipeline against the sum of its training loops (7) comes from a real
``dvc repro``: ``--pipeline-log`` reads the wall time that ``make repro`` printed and sums
``metrics/timing/``.

Needs the prepared data (``dvc repro prepare``). Usage:
    python bench/speed.py [--device cpu|cuda] [--batches 60] [--repeats 3]
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

import torch
import torch.nn.functional as F
from timing import paired_ratio, timed  # bench/timing.py, beside this script

from actlab import device, paths
from actlab.config import TrainConfig
from actlab.data import datasets
from actlab.identity import ModelSpec
from actlab.model import mlp
from actlab.model.registry import ACTIVATIONS
from actlab.probes import weights
from actlab.training import loop, pack

ROOT = Path(__file__).resolve().parents[1]
BASE = (512, 256, 256, 128)
OPTIONS = {"leakyrelu": {"alpha": 0.1}, "elu": {"alpha": 1.0}}
TRAIN = TrainConfig("sgd", (0.01,), 0.9, 256, 1, 1, "auto", "fused", 10000)  # the reference's


DEEP = (256,) * 5 + (128,) * 5
PACK_SIZES = (1, 3, 21, 42)


def spec(activation: str, hidden=BASE, seed: int = 42) -> ModelSpec:
    options = tuple(OPTIONS.get(activation, {}).items())
    return ModelSpec(
        f"{activation}-bench-{seed}", activation, options, "bench", hidden, seed, lr=TRAIN.lr[0]
    )


def network(activation: str, dev: torch.device, impl: str = "fused", hidden=BASE) -> mlp.MLP:
    return mlp.build(spec(activation, hidden), impl).to(dev)


def pack_epochs(hidden, size: int, splits: datasets.Splits, batches: int, dev):
    """A single model's epoch (``loop.train_epoch``) and a pack of ``size`` models' epoch
    (``pack.train_epoch``: every model one step per batch), each ``batches`` steps long; the
    pack's models cycle through the activations, each with its own seed and batch order."""
    x, y = splits.x_train, splits.y_train
    net = network("relu", dev, hidden=hidden)
    optimizer = loop.make_optimizer(TRAIN, net.parameters(), TRAIN.lr[0])
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[: batches * 256]
    single = (lambda o: lambda: loop.train_epoch(net, optimizer, x, y, o, 256))(order.to(dev))
    names = list(ACTIVATIONS)
    specs = [spec(names[m % len(names)], hidden, seed=42 + m) for m in range(size)]
    stack = pack.Stack([pack.start(s, TRAIN, dev)[0] for s in specs])
    stacked = pack.make_optimizer(TRAIN, stack, TRAIN.lr[0])
    g = torch.Generator().manual_seed(1)
    orders = torch.stack([torch.randperm(len(x), generator=g)[: batches * 256] for _ in specs])
    orders = orders.to(dev)
    return single, lambda: pack.train_epoch(stack, stacked, x, y, orders, 256)


def pack_section(splits: datasets.Splits, batches: int, dev, repeats: int) -> None:
    """8. model steps per second in packs against a single model's step, in the same run."""
    for arch, hidden in (("base", BASE), ("deep", DEEP)):
        for size in PACK_SIZES:
            single, packed = pack_epochs(hidden, size, splits, batches, dev)
            ratio, pack_s, single_s = paired_ratio(packed, single, dev, repeats)
            per_model = pack_s / batches / size
            print(
                f"8. pack of {size:2d} {arch}: step {1000 * pack_s / batches:6.2f} ms for all, "
                f"{1000 * per_model:6.3f} ms per model step ({1 / per_model:7.0f} model steps/s)"
                f"; a single model's step {1000 * single_s / batches:6.2f} ms: "
                f"{size / ratio:5.1f}x the model steps/s"
            )


def tutorial_samples_per_s(batches: int) -> float:
    """The tutorials' loop: PIL images through ToTensor/Normalize, a shuffling DataLoader."""
    import torchvision
    from torchvision import transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    dataset = torchvision.datasets.FashionMNIST(
        str(paths.RAW), train=True, transform=transform, download=False
    )
    train_set, _ = torch.utils.data.random_split(
        dataset, [50000, 10000], generator=torch.Generator().manual_seed(42)
    )
    loader = torch.utils.data.DataLoader(train_set, batch_size=256, shuffle=True, drop_last=True)
    net = network("relu", torch.device("cpu"))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def run() -> None:
        for i, (x, y) in enumerate(loader):
            loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if i + 1 == batches:
                break

    return batches * 256 / timed(run, torch.device("cpu"), 1)


def our_epoch(activation: str, splits: datasets.Splits, batches: int, dev, impl="fused"):
    net = network(activation, dev, impl)
    optimizer = loop.make_optimizer(TRAIN, net.parameters(), TRAIN.lr[0])
    x, y = splits.x_train, splits.y_train
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[: batches * 256]
    order = order.to(dev)
    return net, lambda: loop.train_epoch(net, optimizer, x, y, order, 256)


def gemm_step(batch: int, dev: torch.device):
    """The GEMMs of one step of the base network: forward, and backward for the weights and
    for every input but the images'."""
    widths = [784, *BASE, 10]
    ws = [torch.randn(o, i, device=dev) * 0.01 for i, o in zip(widths, widths[1:], strict=False)]
    acts = [torch.randn(batch, w, device=dev) for w in widths]

    def run() -> None:
        for i, w in enumerate(ws):
            torch.mm(acts[i], w.t(), out=acts[i + 1])
        grad = acts[-1]
        for i in reversed(range(len(ws))):
            torch.mm(grad.t(), acts[i])  # dL/dW
            if i > 0:
                grad = torch.mm(grad, ws[i])  # dL/dinput

    return run


def extras_fraction(splits: datasets.Splits, dev, repeats: int) -> dict[str, float]:
    net = network("tanh", dev)
    optimizer = loop.make_optimizer(TRAIN, net.parameters(), TRAIN.lr[0])
    x, y = splits.x_train, splits.y_train
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0)).to(dev)
    n = len(x) // 256 * 256
    subset = x[:10000]
    histograms = weights.WeightHistograms(net)

    def train() -> None:
        loop.train_epoch(net, optimizer, x, y, order[:n], 256)

    def probed() -> None:
        loop.epoch_extras(net, splits, histograms)
        loop.snapshot_neurons(net, subset)

    fraction, t_extras, t_train = paired_ratio(probed, train, dev, repeats)
    # An epoch without the probe (train.probe_every > 1 skips it on the other epochs).
    unprobed, _, _ = paired_ratio(
        lambda: loop.epoch_extras(net, splits, histograms), train, dev, repeats
    )
    t_hist = timed(lambda: histograms.record(net), dev, repeats)
    return {
        "fraction": fraction,
        "every_2": (fraction + unprobed) / 2,
        "train": t_train,
        "extras": t_extras,
        "histograms": t_hist,
    }


def startup_seconds() -> dict[str, float]:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(ROOT / "params.yaml", Path(tmp) / "params.yaml")
        for label, argv, cwd in (
            ("stages.evaluate --help", ["-m", "stages.evaluate", "--help"], ROOT),
            ("stages.check_params", ["-m", "stages.check_params"], tmp),
        ):
            times = []
            for _ in range(3):
                start = time.perf_counter()
                subprocess.run([sys.executable, *argv], cwd=cwd, check=True, capture_output=True)
                times.append(time.perf_counter() - start)
            out[label] = statistics.median(times)
    return out


def noop_repro_seconds() -> float | None:
    """Wall seconds of ``dvc repro`` when the workspace is up to date; None (and nothing run)
    when it is not, so that the benchmark never starts a real pipeline run."""
    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json"], cwd=ROOT, capture_output=True, text=True
    )
    if status.returncode != 0 or json.loads(status.stdout or "{}"):
        return None
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dvc", "repro"], cwd=ROOT, check=True, capture_output=True
    )
    return time.perf_counter() - start


def peak_memory_mb() -> float:
    """ru_maxrss of a real ``train`` stage process (relu-base-42, 2 epochs) in a scratch
    workspace that shares the prepared data and has its own MLflow store; of that process
    alone (``wait4``), not of everything this benchmark started before."""
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        params["train"]["max_epochs"] = 2
        params["models"] = {"activations": ["relu"], "architectures": ["base"], "seeds": [42]}
        (Path(tmp) / "params.yaml").write_text(yaml.safe_dump(params))
        (Path(tmp) / "data").mkdir()
        (Path(tmp) / "data" / "prepared").symlink_to(ROOT / paths.PREPARED)
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db"}
        process = subprocess.Popen(
            [sys.executable, "-m", "stages.train"],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"stages.train exited with {process.returncode}")
    return usage.ru_maxrss / 1024


def pipeline_ratio(log: Path) -> None:
    """``make repro`` wall time (from /usr/bin/time -v output) vs the sum of training loops."""
    text = log.read_text()
    wall = next(line for line in text.splitlines() if "Elapsed (wall clock)" in line)
    clock = wall.split()[-1].split(":")
    seconds = sum(float(v) * 60**i for i, v in enumerate(reversed(clock)))
    loops = sum(
        json.loads(p.read_text())["seconds"] for p in (ROOT / "metrics/timing").glob("*.json")
    )
    print(
        f"6. pipeline wall {seconds:.0f} s / sum of training loops {loops:.0f} s = "
        f"{seconds / loops:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batches", type=int, default=195, help="batches timed (195: an epoch)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pipeline-log", type=Path, help="/usr/bin/time -v output of make repro")
    parser.add_argument(
        "--only-packs", action="store_true", help="time the packs (8.) and nothing else"
    )
    parser.add_argument("--pack-batches", type=int, default=30, help="batches timed per pack (8.)")
    args = parser.parse_args()
    dev = device.resolve(args.device)
    device.make_deterministic(dev)
    splits = datasets.load_prepared(dev)
    print(
        f"device {dev}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
        f"batch 256, network 784-{'-'.join(map(str, BASE))}-10"
    )

    if args.only_packs:
        pack_section(splits, args.pack_batches, dev, args.repeats)
        return
    tutorial = tutorial_samples_per_s(args.batches)
    print(f"1. tutorials' loop (DataLoader, ToTensor, Normalize): {tutorial:8.0f} samples/s (CPU)")
    gemm = gemm_step(256, dev)

    def gemms() -> None:  # as many GEMM steps as an epoch below has steps
        for _ in range(args.batches):
            gemm()

    for activation in ACTIVATIONS:
        for impl in ("fused", "formula", "manual"):
            _, epoch = our_epoch(activation, splits, args.batches, dev, impl)
            # GEMMs and steps timed back to back, round by round: the ratio is immune to the
            # machine's drift over the run.
            fraction, gemm_seconds, seconds = paired_ratio(gemms, epoch, dev, args.repeats)
            step = seconds / args.batches
            line = (
                f"   {activation:11s} {impl:7s}: {256 / step:8.0f} samples/s, "
                f"step {1000 * step:6.2f} ms, its GEMMs {1000 * gemm_seconds / args.batches:.2f} "
                f"ms, GEMMs/step {fraction:.2f}"
            )
            if impl == "fused" and activation in ("relu", "tanh"):
                line += f", vs tutorials' loop {256 / step / tutorial:.1f}x"
            print(line)

    extras = extras_fraction(splits, dev, args.repeats)
    print(
        f"3. per-epoch extras / training epoch: {extras['fraction']:.3f} (median "
        f"of the paired rounds' ratios; medians {extras['extras']:.3f} s and "
        f"{extras['train']:.3f} s); the weight histograms "
        f"{extras['histograms'] / extras['train']:.4f} of an epoch"
    )
    print(
        f"   with train.probe_every: 2 (the probe on every other epoch): {extras['every_2']:.3f}"
        " (the mean of an epoch with the probe and one without)"
    )
    for label, seconds in startup_seconds().items():
        print(f"4. python -m {label}: {seconds:.2f} s")
    seconds = noop_repro_seconds()
    if seconds is None:
        print("5. no-op dvc repro: skipped, the workspace is not up to date (run dvc repro)")
    else:
        print(f"5. no-op dvc repro: {seconds:.2f} s")
    print(f"7. peak memory of a training process: {peak_memory_mb():.0f} MB")
    if dev.type == "cuda":
        pack_section(splits, args.pack_batches, dev, args.repeats)
    else:  # 42 deep networks at a time take minutes a timing on two cores
        print("8. packs: timed on CUDA; on the CPU with --only-packs")
    if args.pipeline_log:
        pipeline_ratio(args.pipeline_log)


if __name__ == "__main__":
    main()
