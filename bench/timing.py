"""What the benchmarks share: the median wall time of a call, synchronised on CUDA."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall seconds of ``fn()`` after one warm-up call."""
    fn()
    return statistics.median(_once(fn, device) for _ in range(repeats))


def paired_ratio(
    numerator: Callable[[], object],
    denominator: Callable[[], object],
    device: torch.device,
    rounds: int,
) -> tuple[float, float, float]:
    """Median of ``numerator``'s time / ``denominator``'s time, timed back to back in each of
    ``rounds`` rounds (after one warm-up call of each), and the two medians in seconds.

    On a shared machine the speed drifts over a run (other tenants, clocks); timing the two
    side by side and taking the median of the per-round ratios cancels the drift that timing
    one once and the other a minute later would put into the ratio. Odd rounds time the
    denominator first, so that neither always runs on the caches the other left."""
    numerator()
    denominator()
    ratios, tops, bottoms = [], [], []
    for r in range(rounds):
        if r % 2:
            bottom = _once(denominator, device)
            top = _once(numerator, device)
        else:
            top = _once(numerator, device)
            bottom = _once(denominator, device)
        ratios.append(top / bottom)
        tops.append(top)
        bottoms.append(bottom)
    return statistics.median(ratios), statistics.median(tops), statistics.median(bottoms)


def _once(fn: Callable[[], object], device: torch.device) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start
