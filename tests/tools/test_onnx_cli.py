"""`pycnn summary` and `pycnn bench` on an .onnx file: the input shape from the graph (its open batch dimension
from --batch), or --input; the bench beside ONNX Runtime running the same file, in one process or --isolated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, numpy_helper
from onnx import helper as h
from test_cli import pycnn_command, table_rows

import pycnn.onnx


@pytest.fixture(scope="module")
def small_cnn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32) * 0.1, n)
             for n, s in (("w", (16, 3, 3, 3)), ("b", (16,)), ("fc", (10, 16)), ("fcb", (10,)))]
    nodes = [h.make_node("Conv", ["images", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv"),
             h.make_node("Relu", ["c"], ["r"], name="relu"),
             h.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
             h.make_node("Flatten", ["p"], ["f"], name="flatten"),
             h.make_node("Gemm", ["f", "fc", "fcb"], ["logits"], transB=1, name="fc")]
    graph = h.make_graph(nodes, "small", [h.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, 32, 32])],
                         [h.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    path = tmp_path_factory.mktemp("onnx") / "small.onnx"
    path.write_bytes(h.make_model(graph, opset_imports=[h.make_opsetid("", 13)]).SerializeToString())
    return path


def test_summary_takes_the_input_shape_from_the_graph(small_cnn: Path) -> None:
    result = pycnn_command("summary", str(small_cnn))
    assert result.returncode == 0, result.stderr
    assert result.stdout == str(pycnn.summary(pycnn.onnx.load(small_cnn), (1, 3, 32, 32))) + "\n"
    assert "total parameters: 618" in result.stdout and "(1, 10)" in result.stdout


def test_summary_with_input(small_cnn: Path) -> None:
    result = pycnn_command("summary", str(small_cnn), "--input", "4,3,32,32")
    assert result.returncode == 0, result.stderr
    assert "(4, 10)" in result.stdout


def test_bench_times_the_file_beside_onnxruntime(small_cnn: Path) -> None:
    result = pycnn_command("bench", str(small_cnn), "--batch", "2", "--repeat", "3", "--peers", "onnxruntime")
    assert result.returncode == 0, result.stderr
    header, row = table_rows(result.stdout)[:2]
    cells = dict(zip(header, row, strict=True))
    assert cells["model"] == str(small_cnn)
    assert float(cells["pycnn/onnxruntime"]) > 0
    assert float(cells["rel err"]) < 1e-5  # against ONNX Runtime's output on the same input


def test_bench_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = pycnn_command("bench", str(tmp_path / "absent.onnx"))
    assert result.returncode == 2
    assert "no ONNX file" in result.stderr and "Traceback" not in result.stderr


def test_bench_isolated_runs_each_runtime_on_the_file_in_its_own_process(small_cnn: Path) -> None:
    result = pycnn_command("bench", str(small_cnn), "--isolated", "--rounds", "1", "--repeat", "2", "--input",
                           "3,3,32,32", "--peers", "onnxruntime")
    assert result.returncode == 0, result.stderr
    header, row = table_rows(result.stdout)[:2]
    cells = dict(zip(header, row, strict=True))
    assert float(cells["pycnn/onnxruntime"]) > 0
    assert float(cells["rel err"]) < 1e-5
