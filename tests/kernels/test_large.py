"""Inputs past 2^31 elements are indexed with 64-bit arithmetic; impossible sizes give clear errors.

The large inputs cost almost no memory: np.zeros maps untouched pages, which read as zeros, and only the pages
around the elements a case reads get real data. Each case runs in a child capped at 12 GiB of address space.
Outputs of that size need real memory: those cases (about 9 GiB each) run where the machine has that much to
spare (PYCNN_BIG_MEMORY=1 runs them regardless).
"""

from __future__ import annotations

import os

import pytest

from reference import SANITIZED, run_python_capped

BIG_OUTPUT_GIB = 12  # one ~9 GiB output, its input's touched pages and the interpreter


def available_gib() -> float:
    """Memory the kernel says can be had without swapping (MemAvailable), 0 where it does not say."""
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) / 2**20
    except (OSError, KeyError, ValueError):
        return 0.0


BIG_MEMORY = os.environ.get("PYCNN_BIG_MEMORY") == "1" or available_gib() >= BIG_OUTPUT_GIB

# Windows 4096 apart, whose taps (and their neighbours, so that an index off by a little reads another value)
# get random data; the reference is torch on the sub-image gathered from exactly those taps.
SPARSE_WINDOWS = r'''
import sys
import numpy as np
import torch, torch.nn.functional as TF
import pycnn.functional as F

op, shape = sys.argv[1], tuple(map(int, sys.argv[2].split(",")))
assert np.prod(shape) > 2**31
STEP, K, D = 4096, 3, 2  # stride, kernel, dilation
x = np.zeros(shape, np.float32)
rng = np.random.default_rng(0)
dilation = 1 if op == "avg_pool2d" else D
rows = [o * STEP + k * dilation for o in range((shape[2] - dilation * (K - 1) - 1) // STEP + 1) for k in range(K)]
cols = [o * STEP + k * dilation for o in range((shape[3] - dilation * (K - 1) - 1) // STEP + 1) for k in range(K)]
for r in rows:
    for c in cols:
        x[:, :, max(r - 2, 0):r + 3, max(c - 2, 0):c + 3] = rng.standard_normal((shape[0], shape[1], 1, 1))
        x[:, :, r, c] = rng.standard_normal(shape[:2])
sub = np.ascontiguousarray(x[:, :, rows][:, :, :, cols])
if op == "conv2d":
    groups = 2 if shape[1] % 2 == 0 else 1
    w = rng.standard_normal((4, shape[1] // groups, K, K), dtype=np.float32)
    got = F.conv2d(x, w, stride=STEP, dilation=D, groups=groups)
    want = TF.conv2d(torch.from_numpy(sub), torch.from_numpy(w), stride=K, groups=groups).numpy()
elif op == "max_pool2d":
    got = F.max_pool2d(x, K, STEP, dilation=D)
    want = TF.max_pool2d(torch.from_numpy(sub), K, K).numpy()
else:
    got = F.avg_pool2d(x, K, STEP)
    want = TF.avg_pool2d(torch.from_numpy(sub), K, K).numpy()
assert got.shape == want.shape, (got.shape, want.shape)
assert np.abs(want).max() > 0
np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
print("ok", got.shape)
'''


@pytest.mark.parametrize("op,shape", [
    ("conv2d", (1, 1, 46341, 46341)),   # one plane of 2^31 + 4633 elements
    ("conv2d", (2, 2, 23171, 23171)),   # batch and channel offsets past 2^31, grouped
    ("max_pool2d", (1, 1, 46341, 46341)),
    ("avg_pool2d", (3, 1, 26755, 26755)),
], ids=["conv2d-one-plane", "conv2d-batch-groups", "max_pool2d", "avg_pool2d"])
def test_windows_past_2_31_elements(op: str, shape: tuple[int, ...]) -> None:
    result = run_python_capped(SPARSE_WINDOWS, op, ",".join(map(str, shape)), memory_gib=12, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok")


WINOGRAD = r'''
import numpy as np
import torch, torch.nn.functional as TF
from pycnn import _core

C, H = 16, 11586  # 2^31 + 1.2 million input elements
x = np.zeros((1, C, H, H), np.float32)
rng = np.random.default_rng(2)
w = rng.standard_normal((1, C, 3, 3), dtype=np.float32)
spots = [(0, 0, 0), (15, H - 1, H - 1), (15, H - 7, H - 3), (8, H // 2, H - 2), (15, H - 1, 0)]
for c, r, col in spots:
    x[0, c, r, col] = rng.standard_normal()
out = np.empty((1, 1, H, H), np.float32)
_core.conv2d_packed(x, _core.PackedConv2d(w, 1, "winograd"), None, out, (1, 1), (1, 1, 1, 1), (1, 1))
tolerance = 1e-3 * np.abs(w).sum()  # Winograd's rounding also reaches the rest of a spot's 4×4 tile
for c, r, col in spots:  # zeros around a spot: torch on a crop two pixels wider gives every output it touches
    rows, cols = slice(max(r - 2, 0), min(r + 3, H)), slice(max(col - 2, 0), min(col + 3, H))
    crop = torch.from_numpy(np.ascontiguousarray(x[:, :, rows, cols]))
    want = TF.conv2d(crop, torch.from_numpy(w), padding=1).numpy()
    assert np.abs(want).max() > 0.1
    np.testing.assert_allclose(out[:, :, rows, cols], want, rtol=0, atol=tolerance)
    out[:, :, rows, cols] = 0
assert -tolerance <= out.min() and out.max() <= tolerance  # and nothing anywhere else
print("ok")
'''


def test_winograd_input_past_2_31_elements() -> None:
    """Winograd's tile gathering and output transforms, over an input of 2^31 + 1.2 million elements."""
    result = run_python_capped(WINOGRAD, memory_gib=12, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok")


DENSE_READS = r'''
import sys
import numpy as np
import torch, torch.nn.functional as TF
import pycnn.functional as F

rng = np.random.default_rng(1)
if sys.argv[1] == "linear":
    rows, features = 2**16 + 2, 2**15  # 2^31 + 2^16 input elements
    x = np.zeros((rows, features), np.float32)
    touched = [0, 1, rows // 2, rows - 2, rows - 1]
    x[touched] = rng.standard_normal((len(touched), features), dtype=np.float32)
    w, b = rng.standard_normal((5, features), dtype=np.float32), rng.standard_normal(5, dtype=np.float32)
    got = F.linear(x, w, b)
    want = TF.linear(torch.from_numpy(x[touched]), torch.from_numpy(w), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(got[touched], want, rtol=1e-4, atol=1e-3)
    untouched = np.ones(rows, bool)
    untouched[touched] = False
    assert (got[untouched] == b).all()
else:  # adaptive_avg_pool2d: every element is read; the few that are not zero decide the averages
    n = 46341
    x = np.zeros((1, 1, n, n), np.float32)
    points = [(0, 0, 1.5), (n // 2 - 1, n - 1, -2.0), (n - 1, n - 1, 3.0), (n - 1, 5, 4.0), (40000, 30000, 8.0)]
    want = np.zeros((1, 1, 2, 2))
    for r, c, v in points:
        x[0, 0, r, c] = v
        want[0, 0, r * 2 // n, c * 2 // n] += v / ((n + 1) // 2) ** 2
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 2), want, rtol=1e-4)
print("ok")
'''


@pytest.mark.parametrize("op", ["linear", "adaptive_avg_pool2d"])
def test_every_element_of_an_input_past_2_31_elements(op: str) -> None:
    result = run_python_capped(DENSE_READS, op, memory_gib=12, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok")


BIG_OUTPUTS = r'''
import sys
import numpy as np
import pycnn.functional as F

n = 46341
x = np.zeros((1, 1, n, n), np.float32)
points = [(0, 0), (n // 2, 7), (n - 1, n - 2), (n - 1, n - 1)]
for i, (r, c) in enumerate(points):
    x[0, 0, r, c] = -1.0 - i if i % 2 else 1.0 + i
op = sys.argv[1]
if op == "relu":
    y = F.relu(x)
    want = [max(x[0, 0, r, c], 0) for r, c in points]
elif op == "conv2d 1x1":
    y = F.conv2d(x, np.full((1, 1, 1, 1), 3.0, np.float32), np.array([0.5], np.float32))
    want = [3 * x[0, 0, r, c] + 0.5 for r, c in points]
elif op == "batch_norm":
    y = F.batch_norm(x, np.array([1.0]), np.array([4.0]), eps=0.0)
    want = [(x[0, 0, r, c] - 1) / 2 for r, c in points]
else:  # softmax along the last axis: each row sums to one
    y = F.softmax(x, -1)
    want = [np.exp(x[0, 0, r, c]) / (n - 1 + np.exp(x[0, 0, r, c])) for r, c in points]
    assert abs(float(y[0, 0, -1].sum(dtype=np.float64)) - 1) < 1e-3
# softmax sums 46341 terms in float32, one after the other
np.testing.assert_allclose([y[0, 0, r, c] for r, c in points], want, rtol=1e-3 if op == "softmax" else 1e-6)
print("ok")
'''


@pytest.mark.skipif(not BIG_MEMORY, reason=f"this machine has {available_gib():.0f} GiB of memory available, the "
                    f"case needs {BIG_OUTPUT_GIB}")
@pytest.mark.skipif(SANITIZED and os.environ.get("PYCNN_BIG_MEMORY") != "1",
                    reason="under AddressSanitizer a 9 GiB output plus its shadow memory may not fit: the plain run "
                           "covers these (PYCNN_BIG_MEMORY=1 forces them)")
@pytest.mark.parametrize("op", ["relu", "conv2d 1x1", "batch_norm", "softmax"])
def test_outputs_past_2_31_elements(op: str) -> None:
    result = run_python_capped(BIG_OUTPUTS, op, memory_gib=20, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok")


IMPOSSIBLE = r'''
import numpy as np
import pycnn, pycnn.functional as F

def expect_memory_error(call, *fragments):
    try:
        call()
    except MemoryError as e:
        assert all(f in str(e) for f in fragments), str(e)
    else:
        raise AssertionError("no MemoryError")

one = np.ones((1, 1, 1, 1), np.float32)
expect_memory_error(lambda: F.conv2d(one, one, padding=2**17), "conv2d output", "(1, 1, 262145, 262145)", "GiB")
expect_memory_error(lambda: F.adaptive_avg_pool2d(one, 2**20), "adaptive_avg_pool2d output")
expect_memory_error(lambda: F.linear(np.zeros((2**20, 1), np.float32), np.zeros((2**16, 1), np.float32)),
                    "linear output")
model = pycnn.nn.Sequential(pycnn.nn.Conv2d(3, 64, 3, padding=1), pycnn.nn.ReLU(), pycnn.nn.Conv2d(64, 10, 3),
                            pycnn.nn.AdaptiveAvgPool2d(1))
expect_memory_error(lambda: model(np.zeros((1, 3, 4096, 4096), np.float32)), "plan buffer", "4.0 GiB")
print(model(np.zeros((1, 3, 224, 224), np.float32)).shape)
'''


def test_impossible_allocations_raise_memory_error() -> None:
    """Sizes that no machine of this one's kind has (but below the 2^47-byte limit that is refused outright)."""
    result = run_python_capped(IMPOSSIBLE, memory_gib=3, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "(1, 10, 1, 1)"


MANY_PROBLEMS = r'''
import numpy as np
import pycnn.functional as F

x = np.zeros((2**22, 8, 1, 1), np.float32)  # 128 MiB of input, 2^25 (image, group) pairs
x[-1, :, 0, 0] = np.arange(8)
w = np.full((8, 1, 1, 1), 2.0, np.float32)
try:
    y = F.conv2d(x, w, groups=8)
except MemoryError as e:
    print("MemoryError", e)
else:
    assert (y[-1, :, 0, 0] == 2 * np.arange(8)).all() and not y[:-1].any()
    print("computed")
'''


@pytest.mark.skipif(SANITIZED, reason="AddressSanitizer's operator new aborts where it should throw std::bad_alloc")
def test_depthwise_convolution_of_a_huge_batch_computes_or_runs_out_of_memory_cleanly() -> None:
    result = run_python_capped(MANY_PROBLEMS, memory_gib=2, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    message = "MemoryError conv2d: out of memory for input of shape (4194304, 8, 1, 1)"
    assert result.stdout.strip() in ("computed", message)
