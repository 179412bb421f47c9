"""``python -m pycnn``: runs a small convolution stack and prints where the time goes."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import numpy as np

from . import __version__, functional as F, get_num_threads, isa, set_num_threads


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def demo(repeat: int) -> None:
    """A VGG-style block on a 224×224 RGB image: conv → ReLU → conv → ReLU → max-pool, timed op by op."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 224, 224), dtype=np.float32)
    w1 = rng.standard_normal((64, 3, 3, 3), dtype=np.float32) * 0.2
    w2 = rng.standard_normal((64, 64, 3, 3), dtype=np.float32) * 0.05
    y1 = F.conv2d(x, w1, padding=1)
    a1 = F.relu(y1)
    y2 = F.conv2d(a1, w2, padding=1)
    a2 = F.relu(y2)
    steps = [
        ("conv2d 3→64, 3×3", lambda: F.conv2d(x, w1, padding=1), 64 * 3 * 9 * 224 * 224),
        ("relu", lambda: F.relu(y1), 0),
        ("conv2d 64→64, 3×3", lambda: F.conv2d(a1, w2, padding=1), 64 * 64 * 9 * 224 * 224),
        ("relu", lambda: F.relu(y2), 0),
        ("max_pool2d 2×2", lambda: F.max_pool2d(a2, 2), 0),
    ]
    print(f"pycnn {__version__}  ISA {isa()}  threads {get_num_threads()}")
    print(f"{'op':22s} {'output shape':>20s} {'median ms':>10s} {'GFLOP/s':>8s}")
    for name, fn, macs in steps:
        ms = _median_ms(fn, repeat)
        shape = str(tuple(np.shape(fn())))
        rate = f"{2 * macs / ms / 1e6:8.1f}" if macs else ""
        print(f"{name:22s} {shape:>20s} {ms:10.2f} {rate:>8s}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pycnn", description=__doc__)
    parser.add_argument("--threads", type=int, help="threads to use (default: all cores this process may use)")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per op (default 10)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be at least 1")
        set_num_threads(args.threads)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    demo(args.repeat)
    return 0
