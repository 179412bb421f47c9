"""The benchmark's outputs: a text table (row by row, as models finish) and a JSON document.

JSON schema ("schema": "pycnn.bench/2"):

    {"schema": "pycnn.bench/2",
     "config": {...pycnn.config()...},
     "settings": {"models": [str], "batch": int, "threads": int, "repeat": int, "device": "cpu" | "cuda",
                  "peers": {name: version}},
     "peak_gflops": float | null,          # measured FMA peak; null when this build cannot measure it
     "results": [{"model": str, "input_shape": [int], "weights": str, "params": int, "macs": int,
                  "pycnn": {"median_ms": float, "times_ms": [float], "images_per_s": float, "gflops": float,
                            "percent_of_peak": float | null, "first_call_ms": float},
                  "peers": {name: {"median_ms": float, "times_ms": [float], "ratio": float}},
                  "max_rel_error": float | null}]}  # vs torch's logits
    ratio: the median over rounds of pycnn's time / the peer's in the same round (times_ms are in round order)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .results import BenchReport, ModelResult

SCHEMA = "pycnn.bench/2"
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


def _peer_ms(peer: str) -> Callable[[ModelResult], str]:
    return lambda r: _number(r.peers[peer].median_ms, 2) if peer in r.peers else "-"


def _peer_ratio(peer: str) -> Callable[[ModelResult], str]:
    return lambda r: _number(r.peers[peer].ratio, 2) if peer in r.peers else "-"


def columns(report: BenchReport) -> list[Column]:
    """model, median ms, images/s, GFLOP/s, [% peak], per peer its ms and pycnn/peer, 1st call ms, [rel err]."""
    cols = [Column("model", lambda r: r.model, left=True, min_width=max(map(len, report.settings.models))),
            Column("median ms", lambda r: _number(r.median_ms, 2)),
            Column("images/s", lambda r: _number(r.images_per_s, 1)),
            Column("GFLOP/s", lambda r: _number(r.gflops, 1))]
    if report.peak_gflops is not None:
        cols.append(Column("% peak", lambda r: _number(r.percent_of_peak, 1)))
    for peer in report.settings.peers:
        cols += [Column(f"{peer} ms", _peer_ms(peer)), Column(f"pycnn/{peer}", _peer_ratio(peer))]
    cols.append(Column("1st call ms", lambda r: _number(r.first_call_ms, 1)))
    if report.settings.peers:  # torch supplies the weights, and the reference output
        cols.append(Column("rel err", lambda r: "-" if r.max_rel_error is None else f"{r.max_rel_error:.1e}"))
    return cols


def title(report: BenchReport) -> str:
    c, s = report.config, report.settings
    peers = ", ".join(f"{p} {v}" for p, v in report.peer_versions.items()) or "none importable or asked for"
    peak = "" if report.peak_gflops is None else f", FMA peak {report.peak_gflops:.0f} GFLOP/s"
    where = (f"{c['isa_used']}, {s.threads} threads{peak}" if s.device == "cpu"
             else f"{c.get('cuda_device')}, precision {c.get('cuda_precision')}")
    return f"pycnn {c['version']} ({where}), batch {s.batch}, median of {s.repeat} runs\npeers: {peers}"


def header_line(report: BenchReport) -> str:
    return _GAP.join(col.format(col.header) for col in columns(report)).rstrip()


def row_line(report: BenchReport, result: ModelResult) -> str:
    return _GAP.join(col.format(col.cell(result)) for col in columns(report)).rstrip()


def footnote(report: BenchReport) -> str:
    notes = ["GFLOP/s = 2 x MACs / median time"]
    if report.peak_gflops is not None:
        notes.append(f"% peak: of the {report.peak_gflops:.0f} GFLOP/s an FMA loop reaches on these threads")
    if report.settings.peers:
        notes.append("pycnn/peer = median over rounds of pycnn ms / peer ms in the same round (below 1: pycnn is "
                     "faster); same weights and input, timed in alternation; rel err = max |pycnn - torch| / "
                     "max |torch|")
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
        "settings": {"models": list(s.models), "batch": s.batch, "threads": s.threads, "repeat": s.repeat,
                     "device": s.device, "peers": dict(report.peer_versions)},
        "peak_gflops": report.peak_gflops,
        "results": [_result_json(r) for r in report.results],
    }


def _result_json(r: ModelResult) -> dict[str, Any]:
    return {
        "model": r.model, "input_shape": list(r.input_shape), "weights": r.weights, "params": r.params,
        "macs": r.macs,
        "pycnn": {"median_ms": r.median_ms, "times_ms": r.times_ms, "images_per_s": r.images_per_s,
                  "gflops": r.gflops, "percent_of_peak": r.percent_of_peak, "first_call_ms": r.first_call_ms},
        "peers": {p: {"median_ms": pr.median_ms, "times_ms": pr.times_ms, "ratio": pr.ratio}
                  for p, pr in r.peers.items()},
        "max_rel_error": r.max_rel_error,
    }
