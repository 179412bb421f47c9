"""What the benchmarks share: the layer shapes of tests/shapes and side-by-side timing."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pycnn.bench import alternating_times, medians

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shapes import ConvLayer, conv_layers

__all__ = ["ConvLayer", "conv_layers", "side_by_side", "layer_inputs"]


def side_by_side(runners: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median seconds of each runner, timed in alternation by pycnn.bench's timer (each timed call once the other
    runners' threads have stopped spinning, right after 50 ms of untimed calls of the same runner)."""
    return medians(alternating_times(runners, repeat))


def layer_inputs(layer: ConvLayer, batch: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, layer.in_channels, layer.in_h, layer.in_w), dtype=np.float32)
    w = rng.standard_normal((layer.out_channels, layer.in_channels // layer.groups, layer.kernel_h, layer.kernel_w),
                            dtype=np.float32)
    b = rng.standard_normal(layer.out_channels, dtype=np.float32)
    return x, w, b
