"""The module pycnn.onnx.load returns: its layers' names, the input shape it reports, Dropout's mask by opset."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper
from onnx import helper as h

import pycnn.onnx


def _model(nodes: list, inits: list, shape: list, opset: int = 13, outputs: tuple[str, ...] = ("y",)) -> bytes:
    graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                         [h.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], inits)
    return h.make_model(graph, opset_imports=[h.make_opsetid("", opset)]).SerializeToString()


def test_layers_are_named_after_their_nodes_and_repeated_names_numbered() -> None:
    w = numpy_helper.from_array(np.ones((2, 2, 1, 1), np.float32), "w")
    names = ["conv", "conv", "conv_2", "conv", "7"]
    nodes = [h.make_node("Conv", ["x" if i == 0 else f"c{i - 1}", "w"], [f"c{i}" if i < 4 else "y"], name=name)
             for i, name in enumerate(names)]
    model = pycnn.onnx.load(_model(nodes, [w], [1, 2, 4, 4]))
    assert [name for name, _ in model.named_children()] == ["conv", "conv_2", "conv_2_2", "conv_3", "conv_7"]


@pytest.mark.parametrize(("shape", "expected"), [([None, 3, 8, 8], (5, 3, 8, 8)), ([2, 3, 8, 8], (2, 3, 8, 8))])
def test_input_shape_puts_the_batch_in_the_first_dimension(shape: list, expected: tuple) -> None:
    model = pycnn.onnx.load(_model([h.make_node("Relu", ["x"], ["y"])], [], shape))
    assert model.input_shape(5) == expected


@pytest.mark.parametrize("shape", [[1, 3, None, None], None])
def test_input_shape_asks_for_a_shape_the_graph_leaves_open(shape: list | None) -> None:
    model = pycnn.onnx.load(_model([h.make_node("Relu", ["x"], ["y"])], [], shape))
    with pytest.raises(ValueError, match=r"the graph leaves open its input's shape.*pass one \(e.g. --input"):
        model.input_shape(4)


@pytest.mark.parametrize(("opset", "dtype"), [(7, np.float32), (9, np.float32), (10, np.bool_), (13, np.bool_)])
def test_dropout_mask_has_the_type_of_its_opset(opset: int, dtype: type) -> None:
    """Before opset 10 the mask is of the input's type; from 10 on it is bool (ONNX's Dropout definitions)."""
    nodes = [h.make_node("Dropout", ["x"], ["y", "mask"])]
    model = pycnn.onnx.load(_model(nodes, [], [1, 2, 3, 3], opset, outputs=("y", "mask")))
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 3), dtype=np.float32)
    y, mask = model(x)
    np.testing.assert_array_equal(y, x)
    assert mask.dtype == dtype and mask.shape == x.shape and mask.all()


def test_a_gemm_weight_is_held_once_whatever_its_layout() -> None:
    """Gemm with transB=0 keeps its (K, N) matrix as a view of the Linear layer's (N, K) weight."""
    b = numpy_helper.from_array(np.random.default_rng(0).standard_normal((8, 4), dtype=np.float32), "b")
    model = pycnn.onnx.load(_model([h.make_node("Gemm", ["x", "b"], ["y"], name="fc")], [b], [None, 8]))
    layer = model.fc
    assert np.shares_memory(model._parameters_read["b"](), layer.weight)
    x = np.random.default_rng(1).standard_normal((3, 8), dtype=np.float32)
    np.testing.assert_allclose(model(x), x @ onnx.numpy_helper.to_array(b), rtol=1e-5, atol=1e-6)


def test_new_weights_reach_both_the_layer_and_the_numpy_path() -> None:
    """MatMul's B is a Linear layer's weight: after load_state_dict a matrix input runs the layer and a vector
    input runs numpy's matmul, both with the new weight."""
    rng = np.random.default_rng(0)
    b = numpy_helper.from_array(rng.standard_normal((8, 4), dtype=np.float32), "b")
    model = pycnn.onnx.load(_model([h.make_node("MatMul", ["x", "b"], ["y"], name="fc")], [b], None))
    new = rng.standard_normal((8, 4), dtype=np.float32)
    model.load_state_dict({"fc.weight": new.T})
    for x in (rng.standard_normal((3, 8), dtype=np.float32), rng.standard_normal(8, dtype=np.float32)):
        np.testing.assert_allclose(model(x), x @ new, rtol=1e-5, atol=1e-5)
