"""The thread pool (set_num_threads / get_num_threads), concurrent callers, and the PYCNN_ISA variable."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import pycnn
import pycnn.functional as F
from pycnn import _core

from conftest import ISA_LADDER, cpu_has
from reference import SANITIZED, normal, run_python


@pytest.fixture(autouse=True)
def restore_num_threads() -> Iterator[None]:
    previous = pycnn.get_num_threads()
    yield
    pycnn.set_num_threads(previous)


def workloads() -> dict[str, Callable[[], np.ndarray]]:
    """Calls big enough to be split over threads, each on its own fixed data."""
    rng = np.random.default_rng(5)
    x, w, b = normal(rng, (2, 48, 23, 29)), normal(rng, (70, 48, 3, 3)), normal(rng, (70,))
    x_dw, w_dw = normal(rng, (1, 32, 31, 30)), normal(rng, (64, 1, 3, 3))
    x_big, w_big = normal(rng, (1, 3, 97, 101)), normal(rng, (16, 3, 7, 7))
    w_1x1 = normal(rng, (40, 48, 1, 1))
    rows, weight = normal(rng, (37, 700)), normal(rng, (129, 700))
    return {
        "conv 3x3": lambda: F.conv2d(x, w, b, padding=1),
        "conv 1x1": lambda: F.conv2d(x, w_1x1),
        "conv depthwise x2": lambda: F.conv2d(x_dw, w_dw, stride=2, padding=1, groups=32),
        "conv 7x7 stride 2": lambda: F.conv2d(x_big, w_big, padding=3, stride=2),
        "linear": lambda: F.linear(rows, weight),
        "max_pool2d": lambda: F.max_pool2d(x, 3, 2, 1),
        "avg_pool2d": lambda: F.avg_pool2d(x_big, 3, 1, 1),
        "lrn": lambda: F.local_response_norm(x, 5),
    }


WORKLOADS = workloads()


@pytest.mark.parametrize("name", WORKLOADS)
def test_thread_count_does_not_change_results(name: str) -> None:
    results = []
    for n in (1, 2, 3):
        pycnn.set_num_threads(n)
        results.append(WORKLOADS[name]())
    for got in results[1:]:
        np.testing.assert_array_equal(got, results[0])  # bit for bit


def test_get_num_threads_reflects_set_num_threads() -> None:
    for n in (1, 3, 2, 1):
        pycnn.set_num_threads(n)
        assert pycnn.get_num_threads() == n
        assert _core.get_num_threads() == n


@pytest.mark.parametrize("bad,error,message", [
    (0, ValueError, "num_threads must be at least 1, got 0"),
    (-2, ValueError, "num_threads must be at least 1, got -2"),
    (1.5, TypeError, "n must be an integer, got 1.5"), ("2", TypeError, "n must be an integer, got '2'"),
    (None, TypeError, "n must be an integer, got None"), (True, TypeError, "n must be an integer, got True")])
def test_invalid_thread_counts_raise(bad: object, error: type[Exception], message: str) -> None:
    pycnn.set_num_threads(2)
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        pycnn.set_num_threads(bad)  # type: ignore[arg-type]
    assert pycnn.get_num_threads() == 2


def test_default_thread_count_is_the_cpu_affinity() -> None:
    result = run_python("import os, pycnn; print(pycnn.get_num_threads(), len(os.sched_getaffinity(0)))")
    assert result.returncode == 0, result.stderr
    threads, cores = map(int, result.stdout.split())
    assert threads == cores


def test_default_thread_count_follows_a_restricted_affinity() -> None:
    cpu = min(os.sched_getaffinity(0))
    result = run_python(f"import os; os.sched_setaffinity(0, {{{cpu}}}); import pycnn; print(pycnn.get_num_threads())")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == 1


def serial_results() -> dict[str, np.ndarray]:
    return {name: fn() for name, fn in WORKLOADS.items()}


def test_set_num_threads_while_other_threads_compute() -> None:
    expected = serial_results()
    stop = threading.Event()
    mismatches: list[str] = []

    def worker(name: str) -> int:
        calls = 0
        while not stop.is_set() or calls < 3:
            if not np.array_equal(WORKLOADS[name](), expected[name]):
                mismatches.append(name)
            calls += 1
        return calls

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(worker, name) for name in ("conv 3x3", "conv 1x1", "conv depthwise x2", "linear")]
        for i in range(200):
            pycnn.set_num_threads(1 + i % 3)
            assert 1 <= pycnn.get_num_threads() <= 3
        stop.set()
        assert all(f.result(timeout=120) >= 3 for f in futures)
    assert not mismatches


def test_eight_threads_at_once_on_one_model_and_the_same_ops_match_a_serial_run() -> None:
    """8 threads released together call one fresh model (racing to build its plan) and every workload, while a
    ninth changes the thread count; every result must equal the serial one bit for bit."""
    model = pycnn.models.resnet18()
    x = normal(np.random.default_rng(6), (2, 3, 64, 64))
    calls = {**WORKLOADS, "resnet18": lambda: model(x), "resnet18 batch 1": lambda: model(x[:1])}
    start = threading.Barrier(8)
    done = threading.Event()

    def worker(i: int) -> list[tuple[str, np.ndarray]]:
        names = list(calls)
        names = names[i % len(names):] + names[:i % len(names)]  # each thread in its own order
        start.wait(timeout=60)
        return [(name, calls[name]()) for _ in range(2) for name in names]

    def change_thread_counts() -> int:
        changes = 0
        while not done.is_set():
            pycnn.set_num_threads(1 + changes % 3)
            changes += 1
        return changes

    with ThreadPoolExecutor(max_workers=9) as pool:
        changer = pool.submit(change_thread_counts)
        futures = [pool.submit(worker, i) for i in range(8)]
        results = [f.result(timeout=300) for f in futures]
        done.set()
        assert changer.result(timeout=60) > 0
    pycnn.set_num_threads(2)
    serial = {name: fn() for name, fn in calls.items()}
    for per_thread in results:
        assert len(per_thread) == 2 * len(calls)
        for name, got in per_thread:
            np.testing.assert_array_equal(got, serial[name], err_msg=name)


THREADS_REFUSED = """
import os, resource
import numpy as np
from pycnn import _core
x = np.random.default_rng(0).standard_normal(3_200_000).astype(np.float32)  # 196 tasks
want, out = np.maximum(x, 0), np.empty_like(x)
vm = int(next(line for line in open("/proc/self/status") if line.startswith("VmSize")).split()[1]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + (256 << 20),) * 2)  # room for about 30 thread stacks
_core.set_num_threads(10_000)
for _ in range(3):
    _core.relu(x, out)
    assert np.array_equal(out, want)
print(len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(SANITIZED, reason="RLIMIT_AS cannot be set beside AddressSanitizer's shadow memory")
def test_more_threads_than_the_os_allows_still_computes() -> None:
    # Before: once the OS refused a thread, every call raised RuntimeError('Resource temporarily unavailable').
    result = run_python(THREADS_REFUSED)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 2 < int(result.stdout) < 196  # some workers started, not all


# --- PYCNN_ISA ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [*ISA_LADDER, ""])
def test_pycnn_isa_caps_the_kernels(value: str) -> None:
    result = run_python("import pycnn; print(pycnn.isa())", PYCNN_ISA=value)
    assert result.returncode == 0, result.stderr
    # The cap, or the best this CPU has when the cap is above it (or empty).
    want = value if value and cpu_has(value) else _core.cpu_isa()
    assert result.stdout.strip() == want


def test_pycnn_isa_caps_the_kernels_in_use() -> None:
    # Not just the name: under the generic cap the generic tile (4×8) computes, which takes exactly what
    # _core.gemm(..., "generic") takes.
    code = """
import numpy as np, pycnn.functional as F
from pycnn import _core
rng = np.random.default_rng(0)
a, b = rng.standard_normal((13, 300), dtype=np.float32), rng.standard_normal((300, 21), dtype=np.float32)
default, generic = np.empty((13, 21), np.float32), np.empty((13, 21), np.float32)
_core.gemm(a, b, default)
_core.gemm(a, b, generic, "generic")
print(_core.isa(), np.array_equal(default, generic))
"""
    result = run_python(code, PYCNN_ISA="generic")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["generic", "True"]


@pytest.mark.parametrize("value", ["sse9", "AVX2", "native"])
def test_invalid_pycnn_isa_fails_at_import_with_a_clear_message(value: str) -> None:
    result = run_python("import pycnn", PYCNN_ISA=value)
    assert result.returncode != 0
    assert result.returncode > 0, f"import crashed (signal {-result.returncode})"
    last_line = result.stderr.strip().splitlines()[-1]
    assert "PYCNN_ISA" in last_line and repr(value) in last_line, last_line
    assert "generic, avx2, avx512, avx512_bf16, amx" in last_line, last_line
