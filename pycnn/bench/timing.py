"""The one timer of pycnn's benchmarks: runtimes timed in alternation, each right after untimed calls."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

WARM_SECONDS = 0.05  # untimed calls before each timed one: cores idle for a while are slow to get going


def _thread_run_ns() -> dict[str, int] | None:
    """Nanoseconds each thread of this process has run on a CPU (Linux), or None where that cannot be read."""
    try:
        times = {}
        for task in os.scandir("/proc/self/task"):
            with open(os.path.join(task.path, "schedstat")) as f:
                times[task.name] = int(f.read().split()[0])
        return times
    except (OSError, ValueError, IndexError):
        return None


def wait_until_threads_idle(quiet: float = 0.03, limit: float = 0.5) -> None:
    """Returns once no thread of this process but the caller has run for `quiet` seconds, or after `limit`.

    Runtimes keep their workers spinning after a call returns — ONNX Runtime's for about 35 ms — and a spinning
    worker takes a core from whatever runs next. The kernel brings a running thread's time up to date only at
    its timer ticks (up to 10 ms apart), hence a quiet period of several ticks. Where thread times cannot be
    read, waits 50 ms.
    """
    before = _thread_run_ns()
    if before is None:
        time.sleep(0.05)
        return
    me = str(threading.get_native_id())
    start = last_busy = time.perf_counter()
    while True:
        time.sleep(0.005)
        now_ns, now = _thread_run_ns(), time.perf_counter()
        if now_ns is None:
            return
        if any(t != before.get(tid, 0) for tid, t in now_ns.items() if tid != me):
            last_busy = now
        if now - last_busy >= quiet or now - start >= limit:
            return
        before = now_ns


def alternating_times(runners: Mapping[str, Callable[[], object]], repeat: int,
                      after_round: Callable[[int], None] | None = None) -> dict[str, list[float]]:
    """Seconds of `repeat` timed calls of each runner, the runners taking turns round by round.

    Taking turns spreads the drift of a shared machine over all runners alike. Each runner starts its turn once
    the threads of the runner before it have stopped spinning (they would steal its cores), and its timed call
    follows untimed calls of its own, at least one and 50 ms' worth, which wake its threads and the cores and warm
    the caches as a loop of calls would. `after_round(i)` is called after round i (progress).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    times: dict[str, list[float]] = {name: [] for name in runners}
    for i in range(repeat):
        for name, run in runners.items():
            wait_until_threads_idle()
            warm_until = time.perf_counter() + WARM_SECONDS
            run()
            while time.perf_counter() < warm_until:
                run()
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
        if after_round is not None:
            after_round(i)
    return times


def medians(times: Mapping[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(t) for name, t in times.items()}


def spread(times: Sequence[float], low: float = 10, high: float = 90) -> tuple[float, float]:
    """The `low`th and `high`th percentiles of `times` (linear interpolation): p10-p90 by default, the range of
    the middle 80% of the timed calls. Both are the one time when there is one."""
    if not times:
        raise ValueError("spread of no times")
    p_low, p_high = np.percentile(np.asarray(times, dtype=np.float64), [low, high])
    return float(p_low), float(p_high)


def paired_ratio(ours: list[float], theirs: list[float]) -> float:
    """The median over rounds of ours[i] / theirs[i]: each round's two times were taken moments apart, so the
    machine's slower and faster spells (seconds long on a shared host) weigh on both alike."""
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


def timed_call(run: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call: the first call of a model, which compiles its plan, for instance."""
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result
