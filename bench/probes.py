"""Benchmark: the dead-neuron/saturation pass against one training epoch, measured in one run.

The probe pass (one frozen forward over the training split, all layers, plus f'(z)) should
cost about one inference epoch, far below a training epoch. Prints ratios, not assertions.
Usage: python bench/probes.py [--device cpu|cuda] [--n 50000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from stages import mlp, probes
from stages.config import ModelSpec


def timed(fn, device: torch.device, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_one(
    activation: str, widths: tuple[int, ...], x: torch.Tensor, y: torch.Tensor, repeats: int
) -> tuple[float, float, float]:
    """Median seconds of one training epoch, one inference epoch and one probe pass."""
    device = x.device
    net = mlp.build(ModelSpec("bench", activation, (), "bench", widths, 0)).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def train_epoch() -> None:
        net.train()
        order = torch.randperm(len(x), device=device)
        for start in range(0, len(x) - 255, 256):  # batch 256, drop_last, as in train
            idx = order[start : start + 256]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def inference_epoch() -> None:
        mlp.predict(net, x, y, batch=1024)

    def probe_pass() -> None:
        probes.neuron_extremes(net, x, batch_size=1024)

    return (
        timed(train_epoch, device, repeats),
        timed(inference_epoch, device, repeats),
        timed(probe_pass, device, repeats),
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
