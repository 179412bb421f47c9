"""Shared fixtures: every ISA path forced in turn, seeded data, torch as the reference."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import pycnn
from pycnn import _core

ISAS = ("generic", "avx2", "avx512")


def cpu_has(isa: str) -> bool:
    return ISAS.index(isa) <= ISAS.index(_core.cpu_isa())


@pytest.fixture(params=ISAS)
def isa(request: pytest.FixtureRequest):
    """Runs the test once per ISA, with pycnn's kernels capped to it; skipped where the CPU lacks it."""
    name = request.param
    if not cpu_has(name):
        pytest.skip(f"this CPU cannot run {name} kernels (best: {_core.cpu_isa()})")
    previous = pycnn.isa()
    assert _core.set_isa_cap(name) == name
    yield name
    _core.set_isa_cap(previous)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261128)


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-4) -> None:
    """Equal shapes, and every element within rtol of the output's scale (max |expected|)."""
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.float32
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-30)
    err = float(np.abs(actual.astype(np.float64) - expected).max(initial=0.0))
    assert err <= rtol * scale, f"max abs error {err:.3g} > {rtol:g} × scale {scale:.3g}"


# Cases that the random sweeps have checked against torch in this session, by operator (see count_case).
FUZZ_CASES: Counter[str] = Counter()


def count_case(op: str, n: int = 1) -> None:
    """Counts random cases of `op`; the total is reported at the end of the run."""
    FUZZ_CASES[op] += n


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FUZZ_CASES:
        detail = ", ".join(f"{op} {n}" for op, n in sorted(FUZZ_CASES.items()))
        terminalreporter.write_line(f"fuzz: {FUZZ_CASES.total()} random cases ({detail})")
