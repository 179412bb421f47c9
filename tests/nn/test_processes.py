"""pycnn in child processes: a forked child gets a working thread pool with the parent's thread count, also when
the parent forked while another of its threads was inside a kernel or building a plan; a spawned child works as
any new process does."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import numpy as np
import pytest

import pycnn
from pycnn import nn

from reference import small_cnn


def batch(size: int = 64) -> np.ndarray:
    return np.random.default_rng(3).standard_normal((2, 3, size, size)).astype(np.float32)


def child_run(results: Any, net: nn.Module) -> None:
    """In the child: the output of `net` (the parent's, forked or unpickled) and the thread count."""
    results.put((net(batch()), pycnn.get_num_threads()))


def run_in_child(context: str, net: nn.Module, timeout: float = 120) -> tuple[np.ndarray, int]:
    ctx = multiprocessing.get_context(context)
    results = ctx.Queue()
    child = ctx.Process(target=child_run, args=(results, net))
    child.start()
    try:
        out, threads = results.get(timeout=timeout)  # a deadlocked child never answers
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
    return out, threads


# A count no machine gives by default, so that a child that fell back to the default would show.
THREADS = pycnn._threads.usable_cpus() + 1


@pytest.fixture
def threads_set() -> Any:
    before = pycnn.get_num_threads()
    pycnn.set_num_threads(THREADS)
    yield
    pycnn.set_num_threads(before)


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_a_child_process_computes_what_the_parent_does(context: str, threads_set: None) -> None:
    net = small_cnn()
    expected = net(batch())  # the parent's pool has started its workers
    out, threads = run_in_child(context, net)  # spawn pickles it
    np.testing.assert_array_equal(out, expected)
    assert threads == THREADS if context == "fork" else threads >= 1  # a forked child keeps set_num_threads' count


class PausingNet(nn.Module):
    """small_cnn, whose forward, once armed, stops until released: the next plan build stops inside."""

    def __init__(self) -> None:
        super().__init__()
        self.net = small_cnn()
        self.gate: dict[str, Any] = {"armed": False, "reached": threading.Event(), "release": threading.Event()}

    def forward(self, x: Any) -> Any:
        if self.gate["armed"]:
            self.gate["armed"] = False
            self.gate["reached"].set()
            self.gate["release"].wait()
        return self.net(x)


def test_forking_while_another_thread_builds_a_plan(threads_set: None) -> None:
    net = PausingNet().eval()
    expected = net(batch())
    net.gate["armed"] = True
    builder = threading.Thread(target=net, args=(batch(32),))  # a new input shape: a plan is built
    builder.start()
    try:
        assert net.gate["reached"].wait(timeout=60)
        out, threads = run_in_child("fork", net, timeout=60)  # the child runs the net's existing plan
        np.testing.assert_array_equal(out, expected)
        assert threads == THREADS
    finally:
        net.gate["release"].set()
        builder.join()


def test_forking_while_another_thread_runs_kernels(threads_set: None) -> None:
    net = small_cnn()
    expected = net(batch())
    stop = threading.Event()

    def busy() -> None:
        big = batch(256)
        while not stop.is_set():
            net(big)

    worker = threading.Thread(target=busy)
    worker.start()
    try:
        for _ in range(4):
            out, threads = run_in_child("fork", net, timeout=60)
            np.testing.assert_array_equal(out, expected)
            assert threads == THREADS
    finally:
        stop.set()
        worker.join()
