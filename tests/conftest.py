"""Shared fixtures: every device and every ISA path in turn, seeded data, torch as the reference.

A test that takes `device` runs once on the CPU and once on the CUDA device (a GPU, or the CPU emulator of a
PYCNN_CUDA_EMULATOR=ON build), as one op test checks every backend; with `isa` too, the CPU run is one run per
ISA; with `precision` too, the CUDA run is one run per precision it has (the CPU computes in fp32 only). The CUDA
runs carry the `cuda` marker, which tests/run_emulated.sh selects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

import pycnn
from pycnn import _core, backends
from pycnn.backends import Backend

# Every level of the CPU's ladder (pycnn.isa()), and the ones whose float32 kernels differ: avx512_bf16 adds bf16
# kernels to avx512's, amx AMX ones (tests/kernels/test_bf16.py forces each level).
ISA_LADDER = ("generic", "avx2", "avx512", "avx512_bf16", "amx")
ISAS = ISA_LADDER[:3]
# The precisions each device computes in, fp32 first.
DEVICE_PRECISIONS = {"cpu": ("fp32", "bf16"), "cuda": ("fp32", "tf32", "bf16")}

MARKERS = (
    "smoke: the quick subset of every tier (`pytest -m smoke`, under a minute)",
    "cuda: runs on the CUDA device (tests/run_emulated.sh selects these)",
    "full_size: full-size layers or models, too slow for the CUDA emulator (its CUDA runs skip there)",
    "precisions(*names): the precisions a device-parametrised test runs in (default: every one the device has)",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)


def cpu_has(isa: str) -> bool:
    return ISA_LADDER.index(isa) <= ISA_LADDER.index(_core.cpu_isa())


def runs_of(fixturenames: Sequence[str], precisions: Sequence[str] | None) -> list[Any]:
    """The (device, isa, precision) runs of a test, as pytest params, for the fixtures among these three it takes;
    `precisions`, when given, limits the runs to those precisions."""
    takes = {name: name in fixturenames for name in ("device", "isa", "precision")}
    if takes["precision"] and not takes["device"]:
        raise pytest.UsageError("a test that takes `precision` takes `device` too")
    runs = []
    for device in DEVICE_PRECISIONS if takes["device"] else ("cpu",):
        for isa in ISAS if takes["isa"] and device == "cpu" else (None,):
            for precision in DEVICE_PRECISIONS[device] if takes["precision"] else ("fp32",):
                if precisions is not None and precision not in precisions:
                    continue
                values = {"device": device, "isa": isa, "precision": precision}
                shown = (device if takes["device"] else None, isa,
                         precision if takes["precision"] and device != "cpu" else None)
                runs.append(pytest.param(*(values[name] for name, taken in takes.items() if taken),
                                         id="-".join(filter(None, shown)),
                                         marks=[pytest.mark.cuda] if device == "cuda" else []))
    return runs


def directly_parametrized(metafunc: pytest.Metafunc) -> set[str]:
    """The argument names the test's own parametrize marks give values to."""
    names: set[str] = set()
    for mark in metafunc.definition.iter_markers("parametrize"):
        argnames = mark.args[0]
        names.update(name.strip() for name in (argnames.split(",") if isinstance(argnames, str) else argnames))
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrises device, isa and precision together (a test's own parametrize of one of them wins)."""
    names = [name for name in ("device", "isa", "precision") if name in metafunc.fixturenames]
    if names and not directly_parametrized(metafunc) & set(names):
        marker = metafunc.definition.get_closest_marker("precisions")
        metafunc.parametrize(names, runs_of(metafunc.fixturenames, marker.args if marker else None), indirect=True)


def cuda_emulated() -> bool:
    return "emulator" in pycnn.cuda.device_name()


@pytest.fixture
def device(request: pytest.FixtureRequest) -> str:
    """'cpu' or 'cuda'; the CUDA run skipped where no CUDA device is usable, and for full_size tests on the
    emulator."""
    name: str = request.param
    if name == "cuda":
        if not pycnn.cuda.is_available():
            pytest.skip(f"no CUDA device ({pycnn.cuda.status()})")
        if request.node.get_closest_marker("full_size") and cuda_emulated():
            pytest.skip("no CUDA GPU: full-size layers and models are too slow on the CPU emulator")
    return name


@pytest.fixture
def isa(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Runs the test once per ISA, with pycnn's kernels capped to it; skipped where the CPU lacks it. None on a
    device other than the CPU, whose kernels the ISA does not choose."""
    name: str | None = request.param
    if name is None:
        yield None
        return
    if not cpu_has(name):
        pytest.skip(f"this CPU cannot run {name} kernels (best: {_core.cpu_isa()})")
    previous = pycnn.isa()
    assert _core.set_isa_cap(name) == name
    yield name
    _core.set_isa_cap(previous)


@pytest.fixture
def precision(request: pytest.FixtureRequest, device: str) -> Iterator[str]:
    """The precision the device computes in for the test."""
    name: str = request.param
    with pycnn.precision(name):
        yield name


class StandInDevice(Backend):
    """A device that is not the host and runs nothing: what pycnn.nn does off the host, seen without CUDA."""

    label = "StandIn"

    @classmethod
    def owns(cls, value: Any) -> bool:
        return False

    def key(self) -> tuple[str, ...]:
        return ("stand-in",)

    def model_input(self, value: Any, name: str) -> Any:
        return np.asarray(value, np.float32)


@pytest.fixture
def stand_in_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes the device name 'cuda' mean a StandInDevice for the test (.to('cuda') works without CUDA)."""
    real = backends.backend_class
    monkeypatch.setattr(backends, "backend_class", lambda device: StandInDevice if device == "cuda" else real(device))


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
