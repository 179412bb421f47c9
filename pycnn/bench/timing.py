"""The one timer of pycnn's benchmarks: runtimes timed in alternation, each right after an untimed call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping


def alternating_times(runners: Mapping[str, Callable[[], object]], repeat: int,
                      after_round: Callable[[int], None] | None = None) -> dict[str, list[float]]:
    """Seconds of `repeat` timed calls of each runner, the runners taking turns round by round.

    Taking turns spreads the drift of a shared machine over all runners alike. Each timed call follows an
    untimed call of the same runner: runtimes whose threads spin on after a call (ONNX Runtime, OpenMP) would
    otherwise steal the cores from whoever is timed next. `after_round(i)` is called after round i (progress).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    times: dict[str, list[float]] = {name: [] for name in runners}
    for i in range(repeat):
        for name, run in runners.items():
            run()
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
        if after_round is not None:
            after_round(i)
    return times


def medians(times: Mapping[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(t) for name, t in times.items()}


def timed_call(run: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call: the first call of a model, which compiles its plan, for instance."""
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result
