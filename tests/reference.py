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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, settings

import pycnn
import pycnn.functional as F
from pycnn import _core

from conftest import ISAS, assert_close, cpu_has, cuda_emulated

torch.set_num_threads(2)

# Seeded sweeps: the same examples on every run, no example database written into the checkout.
SWEEP = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# A long fuzz run (tests/run_fuzz.sh) sets this: every random sweep then draws that many fresh cases.
LONG_FUZZ_EXAMPLES = int(os.environ.get("PYCNN_FUZZ_EXAMPLES") or 0)


def fuzz_settings(ci_examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Marks a random sweep `fuzz` and sets its size: `ci_examples` seeded cases in the default run, or the long
    run's count, unseeded so that each long run explores new cases (a failure prints the blob to reproduce it)."""
    if LONG_FUZZ_EXAMPLES:
        chosen = settings(SWEEP, max_examples=LONG_FUZZ_EXAMPLES, derandomize=False)
    else:
        chosen = settings(SWEEP, max_examples=ci_examples)

    def apply(test: Callable[..., None]) -> Callable[..., None]:
        marked: Callable[..., None] = pytest.mark.fuzz(chosen(test))
        return marked

    return apply

AVAILABLE_ISAS = tuple(isa for isa in ISAS if cpu_has(isa))

# tests/run_sanitized.sh runs the suite in a Python with AddressSanitizer preloaded, several times slower:
# time limits stretch by SLOWDOWN.
SANITIZED = os.environ.get("PYCNN_SANITIZED") == "1"
SLOWDOWN = 5 if SANITIZED else 1


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


# --- One op test on every device --------------------------------------------------------------------------

# Tolerances per precision, relative to the output's largest magnitude (conftest.assert_close):
#   fp32  1e-4 per op, 1e-3 per model: float32 products, sums in another order
#   tf32  3e-3 per op, 3e-2 per model: operands rounded to 10-bit mantissas (2^-11 relative error each)
#   bf16  2e-2 per op, 1e-1 per model: operands rounded to 7-bit mantissas (2^-8)
OP_RTOL = {"fp32": 1e-4, "tf32": 3e-3, "bf16": 2e-2}
MODEL_RTOL = {"fp32": 1e-3, "tf32": 3e-2, "bf16": 1e-1}


CUDA_DEVICE = pycnn.cuda.is_available()
CUDA_EMULATED = CUDA_DEVICE and cuda_emulated()
GPU = CUDA_DEVICE and not CUDA_EMULATED and torch.cuda.is_available()
# For the tests of what only the CUDA path has; an op test takes the `device` fixture instead.
needs_cuda_device = pytest.mark.skipif(not CUDA_DEVICE, reason="no CUDA device")
needs_gpu = pytest.mark.skipif(not GPU, reason="no CUDA device" if not CUDA_EMULATED else
                               "no CUDA GPU (the CPU emulator runs pycnn's kernels, not torch's)")


def to_device(device: str, value: Any) -> Any:
    """`value` on `device` if it is a numpy array (a pycnn.cuda.DeviceArray on 'cuda'), else `value` itself."""
    if device == "cpu" or not isinstance(value, np.ndarray):
        return value
    return pycnn.cuda.to_device(value)


def to_host(device: str, result: Any) -> np.ndarray:
    """A result computed on `device` as a numpy array; it must be of the device's kind (a device array in gives a
    device array out)."""
    if device == "cpu":
        assert isinstance(result, np.ndarray), type(result)
        return result
    assert isinstance(result, pycnn.cuda.DeviceArray), type(result)
    host: np.ndarray = result.numpy()
    return host


def on_device(device: str, fn: Callable[..., Any], *args: Any, **options: Any) -> np.ndarray:
    """fn(*args, **options) with the numpy arrays among them on `device`; its result back on the host."""
    moved = {name: to_device(device, value) for name, value in options.items()}
    return to_host(device, fn(*(to_device(device, a) for a in args), **moved))


# --- conv2d against torch ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConvCase:
    """One convolution: shapes, arguments, and whether the data is small integers (then exact)."""

    batch: int | None  # None: unbatched (C, H, W) input
    in_channels: int
    hw: tuple[int, int]
    out_channels: int
    kernel: tuple[int, int]
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    groups: int = 1
    bias: bool = True
    integer: bool = False
    seed: int = 0

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        rng = np.random.default_rng(self.seed)
        make = small_ints if self.integer else normal
        x_shape = (() if self.batch is None else (self.batch,)) + (self.in_channels, *self.hw)
        w_shape = (self.out_channels, self.in_channels // self.groups, *self.kernel)
        return make(rng, x_shape), make(rng, w_shape), make(rng, (self.out_channels,)) if self.bias else None

    @property
    def options(self) -> dict[str, Any]:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)


# One case per class of arguments; each runs with float data (tolerance) and small integers (exact).
CONV_CASES = {
    "3x3 pad1": ConvCase(2, 3, (9, 11), 5, (3, 3), padding=1),
    "5x5 odd sizes": ConvCase(1, 7, (13, 9), 11, (5, 5), padding=2),
    "rectangular kernel, stride (1,3)": ConvCase(2, 4, (10, 14), 6, (2, 5), stride=(1, 3), padding=(1, 2)),
    "stride 2 no pad": ConvCase(3, 5, (15, 16), 9, (3, 3), stride=2),
    "stride 4 11x11 (alexnet-like)": ConvCase(1, 3, (47, 45), 10, (11, 11), stride=4, padding=2),
    "dilation 2": ConvCase(2, 3, (12, 13), 4, (3, 3), padding=2, dilation=2),
    "dilation (3,1) stride (2,1)": ConvCase(1, 5, (17, 8), 6, (3, 2), stride=(2, 1), dilation=(3, 1)),
    "groups 2": ConvCase(2, 6, (8, 9), 4, (3, 3), padding=1, groups=2),
    "groups 3 stride 2 dilation 2": ConvCase(1, 9, (13, 12), 6, (3, 3), stride=2, padding=1, dilation=2,
                                             groups=3),
    "depthwise": ConvCase(2, 5, (9, 10), 5, (3, 3), padding=1, groups=5),
    "depthwise stride 2": ConvCase(1, 8, (11, 11), 8, (5, 5), stride=2, padding=2, groups=8),
    "depthwise multiplier 3": ConvCase(2, 4, (7, 9), 12, (3, 3), padding=1, groups=4),
    "depthwise multiplier 2 dilated": ConvCase(1, 3, (10, 10), 6, (3, 3), dilation=2, groups=3),
    "1x1 stride 1 (no im2col)": ConvCase(3, 13, (7, 9), 17, (1, 1)),
    "1x1 stride 1 groups 2": ConvCase(2, 6, (5, 5), 10, (1, 1), groups=2),
    "1x1 stride 1 depthwise": ConvCase(2, 4, (3, 5), 8, (1, 1), groups=4),
    "1x1 stride 1 many channels": ConvCase(1, 70, (6, 5), 37, (1, 1)),
    "1x1 stride 2": ConvCase(2, 8, (9, 9), 5, (1, 1), stride=2),
    "1x1 padded": ConvCase(1, 3, (4, 5), 4, (1, 1), padding=1),
    "same odd kernel": ConvCase(2, 3, (9, 8), 4, (3, 5), padding="same"),
    "same even kernel": ConvCase(1, 3, (7, 6), 5, (4, 2), padding="same"),
    "same even kernel dilated": ConvCase(1, 2, (9, 10), 3, (2, 4), padding="same", dilation=(3, 1)),
    "same odd kernel dilated": ConvCase(2, 4, (8, 11), 3, (3, 3), padding="same", dilation=2),
    "same depthwise": ConvCase(1, 4, (6, 6), 4, (2, 2), padding="same", groups=4),
    "valid": ConvCase(2, 3, (8, 7), 4, (3, 2), padding="valid", dilation=2),
    "asymmetric padding": ConvCase(2, 3, (8, 9), 4, (3, 3), padding=(2, 0, 1, 3)),
    "asymmetric padding stride 2": ConvCase(1, 4, (9, 8), 5, (3, 2), stride=2, padding=(0, 1, 0, 0)),
    "asymmetric padding 1x1": ConvCase(1, 2, (3, 4), 3, (1, 1), padding=(1, 0, 0, 2)),
    "no bias": ConvCase(2, 5, (8, 8), 7, (3, 3), padding=1, bias=False),
    "unbatched": ConvCase(None, 3, (7, 8), 5, (3, 3), padding=1),
    "unbatched depthwise same": ConvCase(None, 4, (6, 7), 4, (3, 3), padding="same", groups=4),
    "batch 0": ConvCase(0, 3, (7, 8), 5, (3, 3), padding=1),
    "batch 0 1x1": ConvCase(0, 3, (4, 4), 2, (1, 1)),
    "batch 1": ConvCase(1, 3, (5, 5), 2, (3, 3)),
    "batch 9": ConvCase(9, 4, (6, 7), 6, (3, 3), stride=2, padding=1),
    "1x1 input, 1x1 output": ConvCase(2, 3, (1, 1), 4, (1, 1)),
    "kernel covers the padded input": ConvCase(1, 2, (3, 5), 3, (5, 7), padding=1),
    "wide GEMM edges": ConvCase(1, 33, (10, 11), 70, (3, 3), padding=1),
}


def torch_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1) -> np.ndarray:
    """The reference; a 4-tuple padding (top, bottom, left, right) becomes an explicit zero F.pad."""
    if isinstance(padding, tuple) and len(padding) == 4:
        top, bottom, left, right = padding
        x = TF.pad(torch.from_numpy(x), (left, right, top, bottom)).numpy()
        padding = 0
    return torch_ref(TF.conv2d, x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)


def check_against_torch(case: ConvCase, rtol: float = 1e-4, device: str = "cpu") -> np.ndarray:
    """conv2d of the case on `device` against torch: exact for integer data, else within rtol; the result."""
    x, w, b = case.arrays()
    got = on_device(device, F.conv2d, x, w, b, **case.options)
    want = torch_conv2d(x, w, b, **case.options)
    if case.integer:
        assert got.shape == want.shape and got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
    else:
        assert_close(got, want, rtol)
    return got


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

def with_random_state(model: pycnn.nn.Module, seed: int = 1) -> pycnn.nn.Module:
    """`model` in eval mode with every parameter and buffer random (BN variances positive), so that one lost or
    mixed up shows in the output."""
    rng = np.random.default_rng(seed)
    model.load_state_dict({name: (rng.uniform(0.5, 2, value.shape) if name.endswith("running_var")
                                  else rng.standard_normal(value.shape) * 0.3).astype(value.dtype)
                           for name, value in model.state_dict().items() if value.dtype == np.float32},
                          strict=False)
    return model.eval()


def small_cnn() -> pycnn.nn.Sequential:
    """A CNN of each kind of layer a classic network has, small enough to build and run in milliseconds."""
    nn = pycnn.nn
    return with_random_state(nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.LocalResponseNorm(3),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(), nn.Linear(32, 10)))


def run_python(code: str, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """`code` in a new interpreter that imports the same pycnn as this one, with extra environment variables.

    It runs from the directory pycnn is imported from: `python -c` puts its working directory first on sys.path,
    and from a checkout's root that would be the source tree, which has no compiled extension.
    """
    root = str(Path(pycnn.__file__).resolve().parents[1])
    environ = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=root, env=environ,
                          capture_output=True, text=True, timeout=timeout * SLOWDOWN)


def run_python_capped(code: str, *args: str, memory_gib: float, timeout: float = 120,
                      **env: str) -> subprocess.CompletedProcess[str]:
    """run_python with the child's memory capped at `memory_gib`, so that a regression fails the test, not the
    machine, and an allocation past the cap fails (MemoryError) whatever the host's overcommit policy.

    The cap is RLIMIT_AS, or under AddressSanitizer, whose shadow memory alone exceeds any such limit, ASan's own
    cap on a single allocation.
    """
    limit = int(memory_gib * 2**30)
    if SANITIZED:
        options = os.environ.get("ASAN_OPTIONS", "") + f":max_allocation_size_mb={limit >> 20}"
        return run_python(code, *args, timeout=timeout, **{"ASAN_OPTIONS": options, **env})
    prologue = f"import resource\nresource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))\n"
    return run_python(prologue + textwrap.dedent(code), *args, timeout=timeout, **env)
