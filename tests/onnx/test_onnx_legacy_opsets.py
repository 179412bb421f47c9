"""Graphs in the legacy forms of opsets 1 to 11 (attributes that later became inputs, is_test, consumed_inputs,
legacy broadcasting, Softmax's flattening axis), built with onnx.helper and checked against the same network
written with torch.nn.functional. ONNX Runtime refuses most of them (it implements BatchNormalization and Relu
from opset 6, Dropout from 7); where it does run one, pycnn must also match it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from onnx import TensorProto, numpy_helper
from onnx import helper as h

import pycnn.onnx

TF = torch.nn.functional
rng = np.random.default_rng(0)


def _array(*shape: int, positive: bool = False) -> np.ndarray:
    a = rng.standard_normal(shape).astype(np.float32) * 0.5
    return np.abs(a) + 0.5 if positive else a


W = {"w": _array(8, 3, 3, 3), "b": _array(8), "scale": _array(8), "shift": _array(8), "mean": _array(8),
     "var": _array(8, positive=True), "w2": _array(8, 8, 3, 3), "fc": _array(5, 8 * 4 * 4), "fcb": _array(5),
     "w1x1": _array(4, 8, 1, 1)}
X = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
T = {k: torch.from_numpy(v) for k, v in W.items()}


def _model(opset: int, nodes: list[Any], output_shape: list[int], used: tuple[str, ...]) -> bytes:
    inits = [numpy_helper.from_array(W[k], k) for k in used]
    graph = h.make_graph(nodes, f"legacy_opset_{opset}",
                         [h.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 8, 8])],
                         [h.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)], inits)
    return h.make_model(graph, opset_imports=[h.make_opsetid("", opset)], ir_version=3).SerializeToString()


def caffe2_resnet_opset3() -> tuple[bytes, Callable[[Any], Any]]:
    """The zoo's ResNet era: BatchNormalization with is_test/spatial/consumed_inputs, Sum for the residual,
    Reshape's shape attribute, Gemm with broadcast, Dropout with is_test."""
    nodes = [
        h.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        h.make_node("BatchNormalization", ["c", "scale", "shift", "mean", "var"], ["bn"], is_test=1, spatial=1,
                    epsilon=1e-3, consumed_inputs=[0, 0, 0, 1, 1]),
        h.make_node("Relu", ["bn"], ["r"], consumed_inputs=[0]),
        h.make_node("Conv", ["r", "w2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        h.make_node("Sum", ["c2", "r"], ["s"], consumed_inputs=[0, 0]),
        h.make_node("AveragePool", ["s"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        h.make_node("Dropout", ["p"], ["d"], is_test=1, ratio=0.3),
        h.make_node("Reshape", ["d"], ["f"], shape=[2, -1]),
        h.make_node("Gemm", ["f", "fc", "fcb"], ["y"], transB=1, broadcast=1),
    ]

    def reference(x: Any) -> Any:
        r = TF.relu(TF.batch_norm(TF.conv2d(x, T["w"], T["b"], padding=1), T["mean"], T["var"], T["scale"],
                                  T["shift"], eps=1e-3))
        s = TF.conv2d(r, T["w2"], padding=1) + r
        return TF.linear(TF.avg_pool2d(s, 2).reshape(2, -1), T["fc"], T["fcb"])

    return _model(3, nodes, [2, 5], ("w", "b", "scale", "shift", "mean", "var", "w2", "fc", "fcb")), reference


def legacy_broadcast_opset1() -> tuple[bytes, Callable[[Any], Any]]:
    """Opset 1: Add's broadcast/axis attributes for a bias, Softmax flattening everything after axis 1."""
    nodes = [
        h.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3]),
        h.make_node("Add", ["c", "b"], ["a"], broadcast=1, axis=1),
        h.make_node("Relu", ["a"], ["r"]),
        h.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1]),
        h.make_node("Softmax", ["p"], ["y"]),
    ]

    def reference(x: Any) -> Any:
        p = TF.max_pool2d(TF.relu(TF.conv2d(x, T["w"], T["b"])), 2, padding=1)
        return TF.softmax(p.reshape(2, -1), dim=1).reshape(p.shape)

    return _model(1, nodes, [2, 8, 4, 4], ("w", "b")), reference


def activations_opset6() -> tuple[bytes, Callable[[Any], Any]]:
    """Opset 6: Clip's min/max attributes, LeakyRelu, Mul by a legacy-broadcast constant, Concat, Dropout is_test."""
    nodes = [
        h.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        h.make_node("Clip", ["c"], ["k"], min=-0.5, max=0.75),
        h.make_node("LeakyRelu", ["c"], ["l"], alpha=0.2),
        h.make_node("Mul", ["l", "scale"], ["m"], broadcast=1, axis=1),
        h.make_node("Concat", ["k", "m"], ["cat"], axis=1),
        h.make_node("Dropout", ["cat"], ["y"], is_test=1, ratio=0.5),
    ]

    def reference(x: Any) -> Any:
        c = TF.conv2d(x, T["w"], T["b"], padding=1)
        return torch.cat([c.clamp(-0.5, 0.75), TF.leaky_relu(c, 0.2) * T["scale"].reshape(1, -1, 1, 1)], 1)

    return _model(6, nodes, [2, 16, 8, 8], ("w", "b", "scale")), reference


def shapes_opset2() -> tuple[bytes, Callable[[Any], Any]]:
    """Opset 2: Pad's pads/value attributes, LRN, Unsqueeze/Squeeze with axes attributes, Flatten's axis."""
    nodes = [
        h.make_node("Pad", ["x"], ["pad"], pads=[0, 0, 1, 2, 0, 0, 2, 1], value=0.25),
        h.make_node("Conv", ["pad", "w", "b"], ["c"], kernel_shape=[3, 3], strides=[2, 2]),
        h.make_node("LRN", ["c"], ["n"], size=3, alpha=1e-2, beta=0.75, bias=2.0),
        h.make_node("Conv", ["n", "w1x1"], ["c1"], kernel_shape=[1, 1]),
        h.make_node("Unsqueeze", ["c1"], ["u"], axes=[0]),
        h.make_node("Squeeze", ["u"], ["s"], axes=[0]),
        h.make_node("Flatten", ["s"], ["y"], axis=2),
    ]

    def reference(x: Any) -> Any:
        c = TF.conv2d(TF.pad(x, (2, 1, 1, 2), value=0.25), T["w"], T["b"], stride=2)
        n = TF.local_response_norm(c, 3, alpha=1e-2, beta=0.75, k=2.0)
        return TF.conv2d(n, T["w1x1"]).reshape(2 * 4, 25)  # ONNX's Flatten: (N·C, H·W) for axis 2

    return _model(2, nodes, [8, 25], ("w", "b", "w1x1")), reference


def inputs_not_attributes_opset11() -> tuple[bytes, Callable[[Any], Any]]:
    """Opset 11: Clip's bounds and Pad's amounts as inputs, MaxPool's ceil_mode, Gemm without C."""
    bounds = [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in (("lo", -0.25), ("hi", 0.5))]
    pads = numpy_helper.from_array(np.array([0, 0, 1, 0, 0, 0, 0, 1], np.int64), "pads")
    nodes = [h.make_node("Constant", [], [t.name], value=t) for t in (*bounds, pads)] + [
        h.make_node("Pad", ["x", "pads"], ["pad"], mode="edge"),
        h.make_node("Conv", ["pad", "w", "b"], ["c"], kernel_shape=[3, 3]),
        h.make_node("Clip", ["c", "lo", "hi"], ["k"]),
        h.make_node("MaxPool", ["k"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
    ]

    def reference(x: Any) -> Any:
        c = TF.conv2d(TF.pad(x, (0, 1, 1, 0), mode="replicate"), T["w"], T["b"])
        return TF.max_pool2d(c.clamp(-0.25, 0.5), 3, 2, ceil_mode=True)

    return _model(11, nodes, [2, 8, 4, 4], ("w", "b")), reference


GRAPHS = [caffe2_resnet_opset3, legacy_broadcast_opset1, activations_opset6, shapes_opset2,
          inputs_not_attributes_opset11]


@pytest.mark.parametrize("make", GRAPHS, ids=[g.__name__ for g in GRAPHS])
def test_legacy_graph_matches_torch(make: Callable[[], tuple[bytes, Callable[[Any], Any]]]) -> None:
    data, reference = make()
    expected = reference(torch.from_numpy(X)).numpy()
    model = pycnn.onnx.load(data)
    for y in (model(X), model(X)):  # the plan's first call (tracing) and a later one
        assert y.shape == expected.shape
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
    with pycnn.nn.eager():
        np.testing.assert_allclose(model(X), expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("make", GRAPHS, ids=[g.__name__ for g in GRAPHS])
def test_legacy_graph_matches_onnxruntime_where_it_runs(make: Callable[[], tuple[bytes, Any]]) -> None:
    import onnxruntime as ort
    data, _ = make()
    options = ort.SessionOptions()
    options.log_severity_level = 4
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as e:  # ONNX Runtime's refusal: these are what pycnn adds (the test above checks them)
        assert "implementation" in str(e).lower() or "not" in str(e).lower(), str(e)
        pytest.skip(f"ONNX Runtime {ort.__version__} does not run this graph: {str(e)[:160]}")
    expected = session.run(None, {"x": X})[0]
    np.testing.assert_allclose(pycnn.onnx.load(data)(X), expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
