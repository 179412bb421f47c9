"""pytest-benchmark over the classic networks: ``pytest benches/test_models.py --benchmark-only``.

Each model runs under pycnn and under every importable peer (PyTorch, ONNX Runtime, OpenVINO) with the same
torchvision random weights and input (pycnn.bench's workload); GFLOP/s (2·MACs / median time) goes into
extra_info. pytest-benchmark times one runtime after the other; `python benches/models.py` alternates them.
"""

from __future__ import annotations

import os
import tempfile

import pytest

import pycnn
from pycnn.bench import peers
from pycnn.bench.workload import Workload, build_workload

MODELS = os.environ.get("PYCNN_BENCH_MODELS", "alexnet,vgg16,googlenet,resnet18,resnet50").split(",")
BATCH = int(os.environ.get("PYCNN_BENCH_BATCH", "1"))
RUNTIMES = ["pycnn", *peers.available_peers()]

_workloads: dict[str, Workload] = {}


def workload(name: str) -> Workload:
    if name not in _workloads:
        threads = pycnn.get_num_threads()
        peers.set_peer_threads(threads)
        with tempfile.TemporaryDirectory() as workdir:
            _workloads[name] = build_workload(name, BATCH, threads, peers.available_peers(), workdir)
    return _workloads[name]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("model", MODELS)
def test_model(benchmark, model: str, runtime: str) -> None:
    w = workload(model)
    run = w.run_pycnn if runtime == "pycnn" else w.peers[runtime]
    run()  # the first call traces and packs (pycnn) or warms up (peers); one-off costs are not what is timed
    benchmark.group = f"{model} batch {BATCH}"
    benchmark(run)
    benchmark.extra_info["gflops"] = 2 * pycnn.summary(w.model, w.input.shape).macs / 1e9 / benchmark.stats.stats.median
