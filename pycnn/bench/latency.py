"""A quick latency of pycnn alone: a few runs, for charts (the full side-by-side benchmark is runner.py)."""

from __future__ import annotations

import numpy as np

from ..nn import Module
from .timing import alternating_times, medians


def pycnn_latency_ms(model: Module, x: np.ndarray, repeat: int = 3) -> float:
    """Median milliseconds of model(x) over `repeat` timed calls, after a first call that compiles the plan."""
    model(x)
    return 1e3 * medians(alternating_times({"pycnn": lambda: model(x)}, repeat))["pycnn"]
