"""No leaks: a thousand model calls, and thousands of failing calls, leave memory where it was.

Each workload runs in a fresh interpreter (no torch, nothing else growing) that warms it up, then repeats it and
reports three measures: the resident set (what the OS sees), the bytes in use on the C heap (numpy data and
everything the C++ core allocates; exact, where the resident set only grows once the heap's free space runs out)
and the count of Python object blocks (a leaked reference). All three must stay flat.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reference import SANITIZED, run_python_capped

MEASURE = r'''
import ctypes, gc, json, os, sys
import numpy as np
import pycnn, pycnn.functional as F
from pycnn import _core
from pycnn.io import WeightsFileError

libc = ctypes.CDLL(None)


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


if hasattr(libc, "__sanitizer_get_current_allocated_bytes"):  # AddressSanitizer's allocator replaces malloc
    libc.__sanitizer_get_current_allocated_bytes.restype = ctypes.c_size_t
    heap_in_use = libc.__sanitizer_get_current_allocated_bytes
else:
    libc.mallinfo2.restype = MallInfo2

    def heap_in_use():
        info = libc.mallinfo2()
        return info.uordblks + info.hblkhd


def snapshot():
    gc.collect()
    resident = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return [resident, heap_in_use(), sys.getallocatedblocks(), len(os.listdir("/proc/self/fd"))]


rng = np.random.default_rng(0)
x = rng.standard_normal((1, 3, 32, 32), dtype=np.float32)
w = rng.standard_normal((8, 3, 3, 3), dtype=np.float32)
model = pycnn.models.resnet18()
eager = pycnn.nn.Sequential(pycnn.nn.Conv2d(3, 8, 3, padding=1), pycnn.nn.ReLU(), pycnn.nn.MaxPool2d(2),
                            pycnn.nn.LocalResponseNorm(3))
packed = _core.PackedConv2d(w, 1)
out = np.zeros((1, 8, 30, 30), np.float32)
corrupt = sys.argv[2]


def functional():
    y = F.conv2d(x, w, padding=1, stride=2)
    F.softmax(F.linear(F.relu(F.max_pool2d(y, 2)).reshape(1, -1), np.ones((10, 512), np.float32)), 1)
    F.batch_norm(F.avg_pool2d(F.adaptive_avg_pool2d(y, 5), 2), np.zeros(8), np.ones(8))


def failing():
    for call in (
        lambda: F.conv2d(x, w[:, :2]),                                                         # Python check
        lambda: _core.conv2d(x, w, None, out[:, :, :3], (1, 1), (0, 0, 0, 0), (1, 1), 1),     # C++ check
        lambda: _core.conv2d(x.astype(np.float64), w, None, out, (1, 1), (0, 0, 0, 0), (1, 1), 1),
        lambda: _core.conv2d_packed(x[:, :2], packed, None, out, (1, 1), (0, 0, 0, 0), (1, 1)),
        lambda: _core.PackedConv2d(w, 5),                                                      # constructor
        lambda: _core.set_isa_cap("mmx"),                                                      # std exception
        lambda: pycnn.load(corrupt),                                                           # weights file
        lambda: model.load_state_dict({"fc.weight": np.zeros((3, 3), np.float32)}),
        lambda: F.conv2d(np.zeros((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), np.float32), padding=2**17),
    ):
        try:
            call()
        except (ValueError, TypeError, MemoryError, WeightsFileError):
            pass
        else:
            raise AssertionError("a failing call succeeded")


workloads = {"model": lambda: model(x), "eager": lambda: eager(x[0]), "functional": functional,
             "failing": failing}
fn = workloads[sys.argv[1]]
for _ in range(200):
    fn()
samples = [None] * 10
start = snapshot()
for i in range(1000):
    fn()
    if i % 100 == 99:
        samples[i // 100] = [a - b for a, b in zip(snapshot(), start)]
print(json.dumps(samples))
'''

# Growth allowed over the 1,000 calls after warming up (for "failing", 9,000 failing calls).
MAX_RESIDENT = 1 << 20
MAX_HEAP = 64 << 10  # a leak of one 32×32 input per call would add 4 MB
MAX_BLOCKS = 100
ASAN_OPTIONS_FOR_RSS = ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0"  # freed memory reused at once


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("workload", ["model", "eager", "functional", "failing"])
def test_repeated_calls_keep_memory_flat(workload: str, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"PK\x03\x04" + os.urandom(200))
    env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ASAN_OPTIONS_FOR_RSS} if SANITIZED else {}
    result = run_python_capped(MEASURE, workload, str(corrupt), memory_gib=6, timeout=300, **env)
    assert result.returncode == 0, result.stderr[-3000:]
    samples = json.loads(result.stdout)
    print(f"{workload}: growth per 100 calls (resident bytes, heap bytes, Python blocks, open files): {samples}")
    resident, heap, blocks, files = samples[-1]
    assert max(s[0] for s in samples) <= MAX_RESIDENT, f"resident set grew by {resident} bytes"
    assert max(s[1] for s in samples) <= MAX_HEAP, f"heap in use grew by {heap} bytes"
    assert blocks <= MAX_BLOCKS, f"{blocks} more Python objects"
    assert files == 0, f"{files} more open files"
