"""What the benchmarks share: the layer shapes of tests/shapes and side-by-side timing."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shapes import ConvLayer, conv_layers  # noqa: E402

__all__ = ["ConvLayer", "conv_layers", "side_by_side", "layer_inputs"]


def side_by_side(runners: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median seconds of each runner, timed in alternation so that drift on a shared machine hits all alike.

    Each timed call follows an untimed one of the same runner: runtimes whose threads spin after a call
    (ONNX Runtime, OpenMP) would otherwise steal the cores from whoever is timed next.
    """
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeat):
        for name, fn in runners.items():
            fn()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def layer_inputs(layer: ConvLayer, batch: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, layer.in_channels, layer.in_h, layer.in_w), dtype=np.float32)
    w = rng.standard_normal((layer.out_channels, layer.in_channels // layer.groups, layer.kernel_h, layer.kernel_w),
                            dtype=np.float32)
    b = rng.standard_normal(layer.out_channels, dtype=np.float32)
    return x, w, b
