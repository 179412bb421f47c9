"""What the test files share: torch as the reference, small-integer data, ISA switching, the API contract.

Imported by the test modules as ``reference`` (pytest puts tests/ on sys.path, as for ``shapes``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hypothesis import HealthCheck, settings

import pycnn
from pycnn import _core

from conftest import ISAS, assert_close, cpu_has

torch.set_num_threads(2)

# Seeded sweeps: the same examples on every run, no example database written into the checkout.
SWEEP = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

AVAILABLE_ISAS = tuple(isa for isa in ISAS if cpu_has(isa))


def torch_ref(fn: Callable[..., torch.Tensor], *args: Any, **kwargs: Any) -> np.ndarray:
    """fn applied to args, with numpy arrays as float32 tensors; the result as a numpy array."""
    args = [torch.from_numpy(np.array(a, dtype=np.float32, order="C")) if isinstance(a, (np.ndarray, np.generic))
            else a for a in args]
    with torch.no_grad():
        return fn(*args, **kwargs).numpy()


def small_ints(rng: np.random.Generator, shape: Sequence[int], bound: int = 3) -> np.ndarray:
    """float32 integers in [-bound, bound]: sums of their products are exact in float32 below 2^24."""
    return rng.integers(-bound, bound + 1, size=tuple(shape)).astype(np.float32)


def normal(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    return rng.standard_normal(tuple(shape), dtype=np.float32)


@contextlib.contextmanager
def isa_cap(name: str) -> Iterator[None]:
    """pycnn's kernels capped to `name` inside the block, restored after it."""
    previous = _core.isa()
    assert _core.set_isa_cap(name) == name
    try:
        yield
    finally:
        _core.set_isa_cap(previous)


def results_per_isa(fn: Callable[[], np.ndarray]) -> dict[str, np.ndarray]:
    results = {}
    for name in AVAILABLE_ISAS:
        with isa_cap(name):
            results[name] = fn()
    return results


def assert_same_nan_pattern_and_close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-4) -> None:
    """NaN and ±inf exactly where torch has them; finite elements within rtol of the finite output scale."""
    expected = np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg="NaN positions differ")
    special = ~np.isfinite(expected)
    np.testing.assert_array_equal(actual[special & ~np.isnan(expected)], expected[special & ~np.isnan(expected)])
    assert_close(np.where(special, 0, actual).astype(np.float32), np.where(special, 0, expected), rtol)


# --- The API contract: inputs never modified, new float32 C-contiguous outputs, any numeric input ---------

def _variants(a: np.ndarray) -> list[tuple[str, Any, np.ndarray]]:
    """(label, a in another form, the contiguous float32 array it stands for). `a` holds small integers."""
    strided = np.zeros((*a.shape, 2), np.float32)
    strided[..., 0] = a
    as_bool = (a != 0)
    return [
        ("float64", a.astype(np.float64), a),
        ("int32", a.astype(np.int32), a),
        ("int8", a.astype(np.int8), a),
        ("bool", as_bool, as_bool.astype(np.float32)),
        ("list", a.tolist(), a),
        ("strided slice", strided[..., 0], a),
        ("transposed", np.ascontiguousarray(a.T).T, a),
        ("fortran order", np.asfortranarray(a), a),
        ("reversed", np.ascontiguousarray(a[..., ::-1])[..., ::-1], a),
    ]


def _snapshot(value: Any) -> Any:
    return np.array(value, copy=True) if isinstance(value, np.ndarray) else value


def _assert_unchanged(before: Any, after: Any, label: str) -> None:
    if isinstance(before, np.ndarray):
        assert after.dtype == before.dtype and after.shape == before.shape, f"{label}: input metadata changed"
        np.testing.assert_array_equal(after, before, err_msg=f"{label}: input was modified")
    else:
        assert after == before, f"{label}: input was modified"


def assert_output_array(out: Any, inputs: Sequence[Any]) -> None:
    assert isinstance(out, np.ndarray), type(out)
    assert out.dtype == np.float32
    assert out.flags.c_contiguous and out.flags.writeable
    for a in inputs:
        if isinstance(a, np.ndarray):
            assert not np.shares_memory(out, a), "output shares memory with an input"


def check_api_contract(fn: Callable[..., np.ndarray], arrays: Sequence[np.ndarray | None],
                       **kwargs: Any) -> None:
    """fn(*arrays, **kwargs) with small-integer float32 arrays, against every other form of each array."""
    originals = [_snapshot(a) for a in arrays]
    expected = fn(*arrays, **kwargs)
    for a, before in zip(arrays, originals, strict=True):
        if a is not None:
            _assert_unchanged(before, a, "float32 call")
    assert_output_array(expected, arrays)

    for position, a in enumerate(arrays):
        if a is None:
            continue
        for label, variant, equivalent in _variants(a):
            before = _snapshot(variant)
            args = list(arrays)
            args[position] = variant
            got = fn(*args, **kwargs)
            _assert_unchanged(before, variant, f"argument {position} as {label}")
            assert_output_array(got, args)
            args[position] = equivalent
            want = fn(*args, **kwargs)
            np.testing.assert_array_equal(got, want, err_msg=f"argument {position} as {label}")


# --- Fresh interpreters ---------------------------------------------------------------------------------------

def run_python(code: str, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """`code` in a new interpreter that imports the same pycnn as this one, with extra environment variables.

    It runs from the directory pycnn is imported from: `python -c` puts its working directory first on sys.path,
    and from a checkout's root that would be the source tree, which has no compiled extension.
    """
    root = str(Path(pycnn.__file__).resolve().parents[1])
    environ = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=root, env=environ,
                          capture_output=True, text=True, timeout=timeout)
