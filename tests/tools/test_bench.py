"""`pycnn bench` tells the truth about its peers: OpenVINO computes in float32, the CPU and its caches are named,
and --isolated times each runtime in processes of its own."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from test_cli import pycnn_command, table_rows

from pycnn.bench import peers
from pycnn.bench.isolated import WorkerError, run_process
from pycnn.bench.machine import cpu_caches, cpu_model, describe_cpu
from pycnn.bench.worker import Task


def test_openvino_is_pinned_to_float32(tmp_path: Path) -> None:
    """OpenVINO's default on CPUs with AVX512-BF16 or AMX is bf16: the compiled model must say f32 whatever the CPU."""
    import openvino as ov

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU()).eval()
    x = np.random.default_rng(0).standard_normal((1, 3, 16, 16), dtype=np.float32)
    path = tmp_path / "conv.onnx"
    peers.export_onnx(model, x, path)
    compiled = peers.openvino_model(path, threads=1)
    assert compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(peers.openvino_runner(path, 1)(x), expected, rtol=1e-5, atol=1e-5)


def test_cpu_facts_from_proc_and_sysfs(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test Lake 9000\nflags\t: fpu\n")
    caches = tmp_path / "cache"
    for index, (level, kind, size) in enumerate([(1, "Data", "48K"), (1, "Instruction", "32K"), (2, "Unified", "2048K"),
                                                 (3, "Unified", "36864K")]):
        folder = caches / f"index{index}"
        folder.mkdir(parents=True)
        for name, value in (("level", level), ("type", kind), ("size", size)):
            (folder / name).write_text(f"{value}\n")
    found = cpu_caches(caches)
    assert found == {"L1d": "48K", "L1i": "32K", "L2": "2048K", "L3": "36864K"}
    assert cpu_model(cpuinfo) == "Test Lake 9000"
    assert describe_cpu("Test Lake 9000", found) == "Test Lake 9000 (L1d 48K, L1i 32K, L2 2048K, L3 36864K)"
    assert cpu_caches(tmp_path / "absent") == {}


def test_cpu_facts_agree_with_lscpu() -> None:
    if shutil.which("lscpu") is None:
        pytest.skip("lscpu is not installed here")
    listing = subprocess.run(["lscpu", "--caches=NAME,ONE-SIZE", "--bytes"], capture_output=True, text=True,
                             check=True).stdout.split("\n")[1:]
    expected = {name: int(size) for name, size in (line.split() for line in listing if line.strip())}
    found = {name: int(size.rstrip("K")) * 1024 for name, size in cpu_caches().items()}
    assert found == expected
    model = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    assert "Model name:" in model and cpu_model() in model


def test_isolated_mode_times_each_runtime_in_its_own_processes(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = pycnn_command("bench", "--isolated", "--rounds", "2", "--repeat", "2", "--models", "alexnet",
                           "--peers", "torch,onnxruntime", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["pycnn bench: alexnet: preparing", "pycnn bench: alexnet: round 1/2",
                                          "pycnn bench: alexnet: round 2/2"]
    assert "2 runs in each of 2 processes per runtime, median of the process medians" in result.stdout
    assert "each runtime in a process of its own, runtimes alternating round by round" in result.stdout
    header, row = table_rows(result.stdout)
    assert header[1] == "pycnn fp32 ms" and row[0] == "alexnet"

    document = json.loads(out.read_text())
    assert (document["settings"]["mode"], document["settings"]["rounds"]) == ("separate processes", 2)
    [record] = document["results"]
    ours = record["pycnn"]["times_ms"]
    assert len(ours) == 4  # two processes of two timed calls
    process_medians = [statistics.median(ours[:2]), statistics.median(ours[2:])]
    assert record["pycnn"]["median_ms"] == pytest.approx(statistics.median(process_medians))
    for peer in ("torch", "onnxruntime"):
        theirs = record["peers"][peer]["times_ms"]
        assert len(theirs) == 4
        peer_medians = [statistics.median(theirs[:2]), statistics.median(theirs[2:])]
        assert record["peers"][peer]["median_ms"] == pytest.approx(statistics.median(peer_medians))
        ratios = [a / b for a, b in zip(process_medians, peer_medians, strict=True)]
        assert record["peers"][peer]["ratio"] == pytest.approx(statistics.median(ratios))
    assert record["weights"] == "torchvision random init"
    assert record["params"] == 61_100_840 and record["pycnn"]["first_call_ms"] > 0
    assert record["max_rel_error"] < 1e-4  # pycnn's process loaded the weights torch's process rebuilt


def test_a_failing_runtime_process_is_named_in_one_line() -> None:
    with pytest.raises(WorkerError) as failure:
        run_process(Task("caffe", "alexnet", batch=1, threads=1, repeat=1))
    assert str(failure.value) == ("caffe on alexnet failed in its process: ValueError: cannot run 'caffe' (an ONNX "
                                  "runtime needs the onnx file)")
