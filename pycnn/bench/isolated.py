"""`pycnn bench --isolated`: each runtime timed in a process of its own, runtimes alternating round by round.

In one process, a runtime's worker threads can still run (spin, or be scheduled) while the next runtime is
timed; in separate processes nothing of one runtime survives into another's timing. Each round starts one
process per runtime in turn; each process builds its model, gives it untimed calls, times `repeat` calls and
exits. A runtime's time is the median of its per-process medians; pycnn's ratio to a peer is the median over
rounds of the two per-process medians' ratio, so a shared machine's slow spells weigh on both alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import _zoo
from . import peers as _peers
from .progress import Progress
from .results import BenchReport, BenchSettings, ModelResult, PeerResult
from .timing import wait_until_threads_idle
from .worker import Task


class WorkerError(RuntimeError):
    """A runtime's process failed: the message names the runtime, the model and the process's last error line."""


@dataclass(frozen=True)
class ProcessTiming:
    times_s: list[float]
    first_call_s: float | None
    params: int | None
    macs: int | None
    output: np.ndarray | None

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)


def run_process(task: Task, timeout: float = 900) -> ProcessTiming:
    """`python -m pycnn.bench.worker TASK` in a fresh interpreter that imports this same pycnn."""
    import pycnn

    root = str(Path(pycnn.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run([sys.executable, "-m", "pycnn.bench.worker", task.to_json()], cwd=root, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise WorkerError(f"{task.runtime} on {task.model} did not finish in {timeout:.0f} s") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise WorkerError(f"{task.runtime} on {task.model} failed in its process: {lines[-1]}")
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    output = None if data["output"] is None else np.asarray(data["output"], dtype=np.float32)
    return ProcessTiming(data["times_s"], data["first_call_s"], data["params"], data["macs"], output)


def isolated_steps(settings: BenchSettings) -> int:
    """Progress steps of an isolated run: per model, its preparation and one per process."""
    return len(settings.models) * (1 + settings.rounds * (1 + len(settings.peers)))


def run_isolated(settings: BenchSettings, report: BenchReport, progress: Progress | None,
                 on_result: Callable[[BenchReport, ModelResult], None] | None) -> None:
    """Times every model of `settings` in separate processes, appending one ModelResult per model to `report`."""
    with tempfile.TemporaryDirectory(prefix="pycnn-bench-") as workdir:
        for name in settings.models:
            if progress is not None:
                progress.draw(f"{name}: preparing")
            weights, onnx = _prepare(name, settings, workdir)
            peers = [p for p in settings.peers if weights is not None or (onnx is not None and p != "torch")]
            if progress is not None:  # the processes of peers that cannot run this model are done already
                skipped = settings.rounds * (len(settings.peers) - len(peers))
                progress.advance(f"{name}: round 1/{settings.rounds}", steps=1 + skipped)
            result = _measure(name, settings, peers, weights, onnx, report.peak_gflops, progress)
            report.results.append(result)
            if on_result is not None:
                on_result(report, result)


def _prepare(name: str, settings: BenchSettings, workdir: str) -> tuple[str | None, str | None]:
    """torchvision's random weights as a file for pycnn's processes, and its ONNX export for the ONNX runtimes;
    (None, None) when pycnn runs alone (no peers, or a model torchvision lacks); (None, the file) for an .onnx file,
    which every runtime but torch reads."""
    if _zoo.is_onnx_file(name):
        return None, name
    if not settings.peers or name not in _peers.TORCHVISION_MODELS:
        return None, None
    from .. import save

    reference = _peers.torchvision_model(name)
    weights = os.path.join(workdir, f"{name}.npz")
    save({k: v.detach().numpy() for k, v in reference.state_dict().items()}, weights)
    onnx = None
    if any(p in ("onnxruntime", "openvino") for p in settings.peers):
        onnx = os.path.join(workdir, f"{name}.onnx")
        x = np.zeros((settings.batch, 3, 224, 224), np.float32)
        _peers.export_onnx(reference, x, onnx)
    del reference
    wait_until_threads_idle()  # torch's threads in this process, before the first timed process starts
    return weights, onnx


def _measure(name: str, settings: BenchSettings, peers: list[str], weights: str | None, onnx: str | None,
             peak_gflops: float | None, progress: Progress | None) -> ModelResult:
    runtimes = ["pycnn", *peers]
    rounds: dict[str, list[ProcessTiming]] = {r: [] for r in runtimes}
    # The runtime whose output the error is measured against: torch's model, or ONNX Runtime on an .onnx file.
    judge = "onnxruntime" if _zoo.is_onnx_file(name) else "torch"
    shape = list(settings.input_shape) if settings.input_shape else None
    for i in range(settings.rounds):
        for runtime in runtimes:
            task = Task(runtime, name, settings.batch, settings.threads, settings.repeat, weights=weights,
                        onnx=onnx, want_output=i == 0 and runtime in ("pycnn", judge), input_shape=shape,
                        precision=settings.precision)
            rounds[runtime].append(run_process(task))
            if progress is not None:
                progress.advance(f"{name}: round {min(i + 2, settings.rounds)}/{settings.rounds}")
    error = None
    if peers:  # the error is against the judge's float32 output, whatever the precision timed
        reference = rounds[judge][0].output if judge in rounds and settings.precision == "fp32" else run_process(
            Task(judge, name, settings.batch, settings.threads, 0, weights=weights, onnx=onnx, want_output=True,
                 input_shape=shape)).output
        error = _relative_error(rounds["pycnn"][0].output, reference)
    ours = rounds["pycnn"]
    first = ours[0]
    assert first.params is not None and first.macs is not None and first.first_call_s is not None
    return ModelResult(
        model=name, input_shape=tuple(shape or _zoo.input_shape_for(name, settings.batch)),
        weights="the file's" if onnx == name else "torchvision random init" if peers else "pycnn random init",
        params=first.params, macs=first.macs,
        median_ms=1e3 * statistics.median(p.median_s for p in ours), times_ms=_all_ms(ours),
        first_call_ms=1e3 * statistics.median(p.first_call_s or 0.0 for p in ours), peak_gflops=peak_gflops,
        peers={p: _peer_result(ours, rounds[p]) for p in peers}, max_rel_error=error)


def _peer_result(ours: list[ProcessTiming], theirs: list[ProcessTiming]) -> PeerResult:
    ratio = statistics.median(a.median_s / b.median_s for a, b in zip(ours, theirs, strict=True))
    return PeerResult(1e3 * statistics.median(p.median_s for p in theirs), ratio, _all_ms(theirs))


def _all_ms(processes: list[ProcessTiming]) -> list[float]:
    return [1e3 * t for p in processes for t in p.times_s]


def _relative_error(output: np.ndarray | None, expected: np.ndarray | None) -> float | None:
    if output is None or expected is None:
        return None
    return float(np.abs(output - expected).max() / max(float(np.abs(expected).max()), 1e-30))
