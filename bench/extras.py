"""Benchmark: the dead-neuron/saturation census against one training epoch, in one run.

The census (one frozen forward over the training split, all layers, plus f'(z) in closed
form) should cost about one inference epoch, far below a training epoch. Prints ratios.
Usage: python bench/probes.py [--device cpu|cuda] [--n 50000] [--repeats 3]
"""

from __future__ import annotations

import argparse

import torch
from timing import timed  # bench/timing.py, beside this script

from actlab import config
from actlab.identity import ModelSpec
from actlab.model import mlp
from actlab.probes import neurons
from actlab.training import loop

TRAIN = config.TrainConfig("sgd", (0.01,), 0.9, 256, 1, 1, "auto", "fused", 10000)  # the reference


def bench_one(
    activation: str, widths: tuple[int, ...], x: torch.Tensor, y: torch.Tensor, repeats: int
) -> tuple[float, float, float]:
    """Median seconds of one training epoch (``actlab.training.loop.train_epoch``), one inference
    epoch, and the census pass that ``dead_neurons`` runs (outputs and f'(z) of every neuron)."""
    device = x.device
    net = mlp.build(ModelSpec("bench", activation, (), "bench", widths, 0, lr=TRAIN.lr[0])).to(
        device
    )
    optimizer = loop.make_optimizer(TRAIN, net.parameters(), TRAIN.lr[0])
    order = torch.randperm(len(x), device=device)
    return (
        timed(lambda: loop.train_epoch(net, optimizer, x, y, order, 256), device, repeats),
        timed(lambda: mlp.predict(net, x, y, batch=1024), device, repeats),
        timed(lambda: neurons.neuron_census(net, x, 1024, 1e-3), device, repeats),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    x = torch.randn(args.n, 784, device=device)
    y = torch.randint(0, 10, (args.n,), device=device)
    print(
        f"device {device}, {args.n} images, torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads"
    )
    for activation, widths in (
        ("relu", (512, 256, 256, 128)),
        ("tanh", (512, 256, 256, 128)),
        ("relu", (256,) * 5 + (128,) * 5),
    ):
        t_train, t_infer, t_probe = bench_one(activation, widths, x, y, args.repeats)
        print(
            f"{activation:5s} {len(widths):2d} layers: train epoch {t_train:.3f}s, "
            f"inference {t_infer:.3f}s, probe pass {t_probe:.3f}s | "
            f"probe/train = {t_probe / t_train:.2f}, probe/inference = {t_probe / t_infer:.2f}"
        )


if __name__ == "__main__":
    main()
