"""The machine's FMA peak, measured: the yardstick of "% of peak"."""

from __future__ import annotations

from .. import _core


def measure_peak_gflops(milliseconds: int = 200) -> float | None:
    """GFLOP/s of an FMA loop on pycnn's threads with the ISA in use; None when this build cannot measure it."""
    measure = getattr(_core, "measure_fma_peak", None)
    if measure is None:
        return None
    peak = float(measure(milliseconds))
    return peak if peak > 0 else None
