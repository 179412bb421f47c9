"""What a benchmark run measured: settings, and per model pycnn's numbers and each peer's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .timing import spread


@dataclass(frozen=True)
class BenchSettings:
    models: list[str]
    batch: int = 1
    threads: int = 1
    repeat: int = 10
    peers: list[str] = field(default_factory=list)  # the peers asked for and importable
    device: str = "cpu"
    # False: every runtime in this process, in alternation; True: each runtime in a process of its own per round,
    # `rounds` rounds, runtimes alternating round by round.
    isolated: bool = False
    rounds: int = 1
    input_shape: tuple[int, ...] | None = None  # ONNX files: the input shape given (default: the graph's)
    precision: str = "fp32"  # what pycnn multiplies in; each peer follows where it can (peers.peer_precision)


@dataclass(frozen=True)
class PeerResult:
    median_ms: float
    # The median over rounds of pycnn's time / this peer's in the same round: below 1, pycnn is faster. Pairing
    # each round's times, taken a few hundred ms apart, cancels the drift of a shared machine over the run.
    ratio: float
    times_ms: list[float] = field(default_factory=list)

    @property
    def spread_ms(self) -> tuple[float, float] | None:
        """(p10, p90) of the timed calls, None without any."""
        return spread(self.times_ms) if self.times_ms else None


@dataclass(frozen=True)
class ModelResult:
    model: str
    input_shape: tuple[int, ...]
    weights: str  # "torchvision random init" (shared with the peers) or "pycnn random init"
    params: int
    macs: int  # multiply-accumulates of one call on input_shape (the whole batch)
    median_ms: float
    times_ms: list[float]
    first_call_ms: float  # pycnn's first call: tracing, BN folding, weight packing, then the run
    peak_gflops: float | None
    peers: dict[str, PeerResult]
    max_rel_error: float | None  # max |pycnn - torch| / max |torch| over the logits; None without torch

    @property
    def spread_ms(self) -> tuple[float, float]:
        """(p10, p90) of pycnn's timed calls."""
        return spread(self.times_ms)

    @property
    def images_per_s(self) -> float:
        return self.input_shape[0] / (self.median_ms / 1e3)

    @property
    def gflops(self) -> float:
        return 2 * self.macs / (self.median_ms / 1e3) / 1e9

    @property
    def percent_of_peak(self) -> float | None:
        return None if self.peak_gflops is None else 100 * self.gflops / self.peak_gflops


@dataclass
class BenchReport:
    config: dict[str, Any]  # pycnn.config()
    settings: BenchSettings
    peak_gflops: float | None
    peer_versions: dict[str, str]
    precisions: dict[str, str]  # "pycnn" and each peer: the precision it computes in (fp32, tf32, bf16)
    cpu: str  # the CPU's model name
    caches: dict[str, str]  # {"L1d": "48K", ...}: its caches (machine.cpu_caches)
    results: list[ModelResult] = field(default_factory=list)
