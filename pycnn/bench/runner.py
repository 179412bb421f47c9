"""`run_benchmark`: the classic models, pycnn beside its peers, timed in one process."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

import numpy as np

from .. import get_num_threads, set_num_threads
from .._config import config
from ..summary import summary
from . import peers as _peers
from .isolated import isolated_steps, run_isolated
from .machine import cpu_caches, cpu_model
from .peak import measure_peak_gflops
from .progress import Progress
from .results import BenchReport, BenchSettings, ModelResult, PeerResult
from .timing import alternating_times, medians, paired_ratio, timed_call
from .workload import Workload, build_workload


def run_benchmark(settings: BenchSettings, progress: Progress | None = None,
                  on_result: Callable[[BenchReport, ModelResult], None] | None = None) -> BenchReport:
    """Times every model of `settings` in pycnn and in each peer, in alternation; medians over settings.repeat.

    pycnn and the peers use settings.threads threads; with settings.isolated, each runtime runs in a process of its
    own per round (isolated.py). `progress` (if given) advances progress_steps(settings) times in all;
    `on_result(report, result)` is called as soon as a model is done (to print its row at once).
    """
    previous_threads = get_num_threads()
    set_num_threads(settings.threads)
    try:
        return _run(settings, progress, on_result)
    finally:
        set_num_threads(previous_threads)


def progress_steps(settings: BenchSettings) -> int:
    """How many times run_benchmark advances its progress: per model, its building and each timing round."""
    return isolated_steps(settings) if settings.isolated else len(settings.models) * (1 + settings.repeat)


def precisions(settings: BenchSettings) -> dict[str, str]:
    """The precision pycnn and each peer compute in: settings.precision, which the peers follow (peer_precision)."""
    return {"pycnn": settings.precision, **{p: _peers.peer_precision(p, settings.device, settings.precision)
                                            for p in settings.peers}}


def _run(settings: BenchSettings, progress: Progress | None,
         on_result: Callable[[BenchReport, ModelResult], None] | None) -> BenchReport:
    if settings.peers and not settings.isolated:
        _peers.set_peer_threads(settings.threads)
    peak = measure_peak_gflops() if settings.device == "cpu" else None  # the CPU's FMA peak says nothing of a GPU
    report = BenchReport(config=config(), settings=settings, peak_gflops=peak,
                         peer_versions={p: _peers.peer_version(p) for p in settings.peers},
                         precisions=precisions(settings), cpu=cpu_model(), caches=cpu_caches())
    if settings.isolated:
        run_isolated(settings, report, progress, on_result)
        return report
    with tempfile.TemporaryDirectory(prefix="pycnn-bench-") as workdir:
        for name in settings.models:
            if progress is not None:
                progress.draw(f"{name}: building")
            workload = build_workload(name, settings.batch, settings.threads, settings.peers, workdir,
                                      device=settings.device, input_shape=settings.input_shape,
                                      precision=settings.precision)
            if progress is not None:
                progress.advance(f"{name}: timing")
            result = _measure(workload, settings.repeat, report.peak_gflops, progress)
            report.results.append(result)
            if on_result is not None:
                on_result(report, result)
            del workload
    return report


def _measure(workload: Workload, repeat: int, peak_gflops: float | None, progress: Progress | None) -> ModelResult:
    first_call_s, output = timed_call(workload.run_pycnn)
    error = None
    if workload.reference is not None:
        expected = workload.reference()
        error = float(np.abs(np.asarray(output) - expected).max() / max(float(np.abs(expected).max()), 1e-30))
    runners = {"pycnn": workload.run_pycnn, **workload.peers}
    label = f"{workload.name}: timing"
    times = alternating_times(runners, repeat, None if progress is None else lambda _: progress.advance(label))
    median_s = medians(times)
    peers = {p: PeerResult(1e3 * median_s[p], paired_ratio(times["pycnn"], times[p]), [1e3 * t for t in times[p]])
             for p in workload.peers}
    counts = summary(workload.model, workload.input.shape)
    return ModelResult(
        model=workload.name, input_shape=tuple(workload.input.shape), weights=workload.weights,
        params=counts.params, macs=counts.macs,
        median_ms=1e3 * median_s["pycnn"], times_ms=[1e3 * t for t in times["pycnn"]],
        first_call_ms=1e3 * first_call_s, peak_gflops=peak_gflops, peers=peers, max_rel_error=error)
