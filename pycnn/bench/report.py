"""The benchmark's outputs: a text table (row by row, as models finish) and a JSON document.

JSON schema ("schema": "pycnn.bench/3"):

    {"schema": "pycnn.bench/3",
     "config": {...pycnn.config()...},
     "machine": {"cpu": str, "caches": {"L1d": "48K", "L1i": str, "L2": str, "L3": str}},   # caches may be {}
     "settings": {"models": [str], "batch": int, "threads": int, "repeat": int, "device": "cpu" | "cuda",
                  "mode": "one process" | "separate processes", "rounds": int,
                  "precision": str,                                # pycnn's: fp32 or bf16 (CPU); also tf32 (CUDA)
                  "peers": {name: {"version": str, "precision": str}}},
     "peak_gflops": float | null,          # measured FMA peak; null when this build cannot measure it
     "results": [{"model": str, "input_shape": [int], "weights": str, "params": int, "macs": int,
                  "pycnn": {"median_ms": float, "p10_ms": float, "p90_ms": float, "times_ms": [float],
                            "images_per_s": float, "gflops": float, "percent_of_peak": float | null,
                            "first_call_ms": float},
                  "peers": {name: {"median_ms": float, "p10_ms": float, "p90_ms": float, "times_ms": [float],
                                   "ratio": float}},
                  "max_rel_error": float | null}]}  # vs torch's float32 logits
    one process: median_ms is the median of times_ms, taken in alternation; ratio is the median over rounds of
    pycnn's time / the peer's in the same round (times_ms are in round order).
    separate processes: times_ms holds `repeat` calls per process, process by process; median_ms is the median of
    the per-process medians, ratio the median over rounds of pycnn's per-process median / the peer's.
    p10_ms, p90_ms: the 10th and 90th percentiles of times_ms.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .machine import describe_cpu
from .peers import PINNED
from .results import BenchReport, ModelResult

SCHEMA = "pycnn.bench/3"
_GAP = "  "


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[ModelResult], str]
    left: bool = False
    min_width: int = 9

    @property
    def width(self) -> int:
        return max(len(self.header), self.min_width)

    def format(self, text: str) -> str:
        return text.ljust(self.width) if self.left else text.rjust(self.width)


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _short(value: float) -> str:
    """Three significant digits or more, no exponent: 0.987, 12.3, 117."""
    digits = max(0, 2 - math.floor(math.log10(abs(value)))) if value else 2
    return f"{value:.{digits}f}"


def timing_cell(median_ms: float, spread_ms: tuple[float, float] | None) -> str:
    """'12.18 (11.9-12.6)': the median, and the p10-p90 range of the timed calls beside it."""
    if spread_ms is None:
        return _number(median_ms, 2)
    return f"{median_ms:.2f} ({_short(spread_ms[0])}-{_short(spread_ms[1])})"


def _peer_ms(peer: str) -> Callable[[ModelResult], str]:
    return lambda r: timing_cell(r.peers[peer].median_ms, r.peers[peer].spread_ms) if peer in r.peers else "-"


def _peer_ratio(peer: str) -> Callable[[ModelResult], str]:
    return lambda r: _number(r.peers[peer].ratio, 2) if peer in r.peers else "-"


def columns(report: BenchReport) -> list[Column]:
    """model, pycnn's ms (p10-p90), images/s, GFLOP/s, [% peak], per peer its ms (p10-p90) and pycnn/peer,
    1st call ms, [rel err]; each runtime's ms column names its precision."""
    precision = report.precisions
    cols = [Column("model", lambda r: r.model, left=True, min_width=max(map(len, report.settings.models))),
            Column(f"pycnn {precision['pycnn']} ms", lambda r: timing_cell(r.median_ms, r.spread_ms), min_width=17),
            Column("images/s", lambda r: _number(r.images_per_s, 1)),
            Column("GFLOP/s", lambda r: _number(r.gflops, 1))]
    if report.peak_gflops is not None:
        cols.append(Column("% peak", lambda r: _number(r.percent_of_peak, 1)))
    for peer in report.settings.peers:
        cols += [Column(f"{peer} {precision[peer]} ms", _peer_ms(peer), min_width=17),
                 Column(f"pycnn/{peer}", _peer_ratio(peer))]
    cols.append(Column("1st call ms", lambda r: _number(r.first_call_ms, 1)))
    if report.settings.peers:  # torch supplies the weights, and the reference output
        cols.append(Column("rel err", lambda r: "-" if r.max_rel_error is None else f"{r.max_rel_error:.1e}"))
    return cols


def title(report: BenchReport) -> str:
    """Three lines: pycnn's build and settings with how it was timed; the CPU and its caches; the peers."""
    c, s = report.config, report.settings
    peers = ", ".join(f"{p} {v} ({_precision_note(report, p)})" for p, v in report.peer_versions.items()) \
        or "none importable or asked for"
    peak = "" if report.peak_gflops is None else f", FMA peak {report.peak_gflops:.0f} GFLOP/s"
    where = (f"{c['isa_used']}, {s.precision} ({c['bf16_path']}), {s.threads} threads{peak}"
             if s.device == "cpu" and s.precision == "bf16" else
             f"{c['isa_used']}, {s.threads} threads{peak}" if s.device == "cpu"
             else f"{c.get('cuda_device')}, precision {s.precision}")
    timed = (f"median of {s.repeat} runs, in one process" if not s.isolated else
             f"{s.repeat} runs in each of {s.rounds} processes per runtime, median of the process medians")
    return (f"pycnn {c['version']} ({where}), batch {s.batch}, {timed}\n"
            f"CPU: {describe_cpu(report.cpu, report.caches)}\npeers: {peers}")


def _precision_note(report: BenchReport, peer: str) -> str:
    """'fp32', 'fp32, pinned: INFERENCE_PRECISION_HINT=f32' for a peer whose default may be another, or in bf16
    'bf16, autocast' (torch) and 'bf16, its default' (OpenVINO)."""
    cpu, precision = report.settings.device == "cpu", report.precisions[peer]
    if not cpu:
        return precision
    if report.settings.precision == "fp32":
        pin = PINNED.get(peer)
        return precision + (f", pinned: {pin}" if pin else "")
    return precision + (", autocast" if peer == "torch" else ", its default")


def header_line(report: BenchReport) -> str:
    return _GAP.join(col.format(col.header) for col in columns(report)).rstrip()


def row_line(report: BenchReport, result: ModelResult) -> str:
    return _GAP.join(col.format(col.cell(result)) for col in columns(report)).rstrip()


def footnote(report: BenchReport) -> str:
    notes = ["GFLOP/s = 2 x MACs / median time"]
    if report.peak_gflops is not None:
        notes.append(f"% peak: of the {report.peak_gflops:.0f} GFLOP/s an FMA loop reaches on these threads")
    notes.append("ms: median (p10-p90 of the timed calls)" if not report.settings.isolated else
                 "ms: median of the per-process medians (p10-p90 of all timed calls)")
    if report.settings.peers:
        how = ("timed in alternation in one process" if not report.settings.isolated else
               "each runtime in a process of its own, runtimes alternating round by round")
        notes.append(f"pycnn/peer = median over rounds of pycnn ms / peer ms in the same round (below 1: pycnn is "
                     f"faster); same weights and input, {how}; rel err = max |pycnn - torch| / max |torch| "
                     "(for an .onnx file, against onnxruntime)")
    notes.append("1st call: tracing, BatchNorm folding and weight packing, then the run")
    return "\n".join(notes)


def format_table(report: BenchReport) -> str:
    return "\n".join([title(report), header_line(report), *(row_line(report, r) for r in report.results),
                      footnote(report)])


def to_json(report: BenchReport) -> dict[str, Any]:
    """The report as JSON-ready data, in the schema of this module's docstring."""
    s = report.settings
    return {
        "schema": SCHEMA,
        "config": report.config,
        "machine": {"cpu": report.cpu, "caches": dict(report.caches)},
        "settings": {"models": list(s.models), "batch": s.batch, "threads": s.threads, "repeat": s.repeat,
                     "device": s.device, "mode": "separate processes" if s.isolated else "one process",
                     "rounds": s.rounds, "precision": report.precisions["pycnn"],
                     "peers": {p: {"version": v, "precision": report.precisions[p]}
                               for p, v in report.peer_versions.items()}},
        "peak_gflops": report.peak_gflops,
        "results": [_result_json(r) for r in report.results],
    }


def _result_json(r: ModelResult) -> dict[str, Any]:
    return {
        "model": r.model, "input_shape": list(r.input_shape), "weights": r.weights, "params": r.params,
        "macs": r.macs,
        "pycnn": {"median_ms": r.median_ms, "p10_ms": r.spread_ms[0], "p90_ms": r.spread_ms[1],
                  "times_ms": r.times_ms, "images_per_s": r.images_per_s, "gflops": r.gflops,
                  "percent_of_peak": r.percent_of_peak, "first_call_ms": r.first_call_ms},
        "peers": {p: {"median_ms": pr.median_ms, **_spread_json(pr.spread_ms), "times_ms": pr.times_ms,
                      "ratio": pr.ratio} for p, pr in r.peers.items()},
        "max_rel_error": r.max_rel_error,
    }


def _spread_json(spread_ms: tuple[float, float] | None) -> dict[str, float | None]:
    low, high = (None, None) if spread_ms is None else spread_ms
    return {"p10_ms": low, "p90_ms": high}
