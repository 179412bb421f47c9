"""What pycnn.onnx refuses, and how: one clear error naming the node, its op type and opset for a graph it does not
run; OnnxFileError (a pycnn.io.WeightsFileError) for truncated, corrupted and hostile files, within bounded time
and memory; external data read only from the model's own folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper
from onnx import helper as h

import pycnn.onnx
from pycnn.io import WeightsFileError
from pycnn.onnx import OnnxFileError, UnsupportedOnnxError


def _model(nodes: list, inits: list | None = None, opset: int = 13, output: str = "y",
           out_shape: list | None = None) -> onnx.ModelProto:
    graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                         [h.make_tensor_value_info(output, TensorProto.FLOAT, out_shape)], inits or [])
    return h.make_model(graph, opset_imports=[h.make_opsetid("", opset)])


def _good() -> onnx.ModelProto:
    w = numpy_helper.from_array(np.ones((3, 2, 1, 1), np.float32), "w")
    return _model([h.make_node("Conv", ["x", "w"], ["c"], name="conv"), h.make_node("Relu", ["c"], ["y"])], [w])


def test_a_good_model_loads_and_runs() -> None:
    y = pycnn.onnx.load(_good().SerializeToString())(np.ones((1, 2, 4, 4), np.float32))
    np.testing.assert_array_equal(y, np.full((1, 3, 4, 4), 2, np.float32))


def test_unsupported_operator_names_node_op_and_opset() -> None:
    model = _model([h.make_node("Relu", ["x"], ["r"]), h.make_node("Erf", ["r"], ["y"], name="the_erf")], opset=9)
    with pytest.raises(UnsupportedOnnxError, match=r"node 'the_erf' \(Erf, opset 9\): pycnn does not run Erf; "
                                                   r"it runs .*Conv.*MaxPool"):
        pycnn.onnx.load(model.SerializeToString())


def test_unsupported_attribute_names_it() -> None:
    model = _model([h.make_node("Relu", ["x"], ["y"], name="r", fancy=3)])
    with pytest.raises(UnsupportedOnnxError, match=r"node 'r' \(Relu, opset 13\): attribute\(s\) fancy not supported"):
        pycnn.onnx.load(model.SerializeToString())


def test_other_domains_are_refused() -> None:
    model = _model([h.make_node("Gelu", ["x"], ["y"], name="g", domain="com.microsoft")])
    model.opset_import.append(h.make_opsetid("com.microsoft", 1))
    with pytest.raises(UnsupportedOnnxError, match=r"node 'g' \(Gelu\) is from the operator set 'com.microsoft'"):
        pycnn.onnx.load(model.SerializeToString())


def test_three_d_convolution_is_refused_at_load() -> None:
    w = numpy_helper.from_array(np.ones((1, 2, 1, 1, 1), np.float32), "w")
    model = _model([h.make_node("Conv", ["x", "w"], ["y"], name="c3", kernel_shape=[1, 1, 1])], [w])
    with pytest.raises(UnsupportedOnnxError, match=r"node 'c3' \(Conv, opset 13\): .*kernel of 3 dimensions"):
        pycnn.onnx.load(model.SerializeToString())


def test_input_of_the_wrong_shape_names_input_and_shapes() -> None:
    model = pycnn.onnx.load(_good().SerializeToString())
    with pytest.raises(ValueError, match=r"input 'x' must have shape \(1, 2, 4, 4\).*got \(1, 3, 4, 4\)"):
        model(np.ones((1, 3, 4, 4), np.float32))


def test_wrong_number_of_inputs() -> None:
    model = pycnn.onnx.load(_good().SerializeToString())
    with pytest.raises(TypeError, match=r"takes 1 input\(s\) \(x\), got 2"):
        model.forward(np.ones((1, 2, 4, 4), np.float32), np.ones(1))


def test_without_onnx_installed_says_which_extra(tmp_path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(_good().SerializeToString())
    code = ("import sys; sys.modules['onnx'] = None\n"
            "import pycnn.onnx\n"
            f"try:\n    pycnn.onnx.load({str(path)!r})\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert "pip install 'pycnn[onnx]'" in out.stdout


# -- damaged and hostile files ---------------------------------------------------------------------------------
def _refused_quickly(data: bytes) -> str:
    start = time.perf_counter()
    with pytest.raises(WeightsFileError) as info:
        pycnn.onnx.load(data)
    assert time.perf_counter() - start < 5
    assert isinstance(info.value, OnnxFileError)
    return str(info.value)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_files_are_refused(keep: float) -> None:
    data = _good().SerializeToString()
    _refused_quickly(data[:int(len(data) * keep)])


def test_random_bytes_are_refused() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        _refused_quickly(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())


def test_a_tensor_claiming_more_than_it_holds_allocates_nothing() -> None:
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20, 1 << 10],
                         raw_data=b"\0" * 16)
    model = _model([h.make_node("Conv", ["x", "w"], ["y"])], [tensor])
    assert "needs 4503599627370496 bytes, the file holds 16" in _refused_quickly(model.SerializeToString())


def test_a_huge_constant_of_shape_is_refused() -> None:
    shape = numpy_helper.from_array(np.array([1 << 20, 1 << 20], np.int64), "s")
    model = _model([h.make_node("ConstantOfShape", ["s"], ["big"], name="big"),
                    h.make_node("Add", ["x", "big"], ["y"])], [shape])
    assert ("node 'big' (ConstantOfShape, opset 13): folding it at load time would make a constant of shape "
            "(1048576, 1048576)") in _refused_quickly(model.SerializeToString())


@pytest.mark.parametrize("op_type", ["Add", "MatMul", "Gather"])
def test_small_constants_folded_into_a_huge_one_are_refused(op_type: str) -> None:
    """Megabytes of file must not make terabytes at load time (2^40 elements here)."""
    column = numpy_helper.from_array(np.zeros((1 << 20, 1), np.int64), "a")
    row = numpy_helper.from_array(np.zeros((1, 1 << 20), np.int64), "b")
    operands = ["b", "a"] if op_type == "Gather" else ["a", "b"]  # Gather: a row's 2^20 values, 2^20 times
    model = _model([h.make_node(op_type, operands, ["big"], name="fold"),
                    h.make_node("Add", ["x", "big"], ["y"])], [column, row])
    assert f"node 'fold' ({op_type}, opset 13): folding it at load time" in _refused_quickly(model.SerializeToString())


def test_a_value_made_from_the_input_shape_follows_the_batch_size() -> None:
    """ConstantOfShape of Shape(x) is not a load-time constant: it is made per input shape."""
    shape = h.make_node("Shape", ["x"], ["s"])
    model = _model([shape, h.make_node("ConstantOfShape", ["s"], ["c"], value=h.make_tensor("v", 1, [1], [2.0])),
                    h.make_node("Add", ["x", "c"], ["y"])])
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    loaded = pycnn.onnx.load(model.SerializeToString())
    for batch in (3, 1):
        y = loaded(np.ones((batch, 2, 4, 4), np.float32))
        np.testing.assert_array_equal(y, np.full((batch, 2, 4, 4), 3, np.float32))


@pytest.mark.parametrize(("node", "message"), [
    (h.make_node("Conv", ["x"], ["y"], name="n"), r"node 'n' \(Conv, opset 13\) has 1 input\(s\); Conv takes 2 to 3"),
    (h.make_node("Relu", ["x"], ["y", "z"], name="n"), r"has 2 output\(s\); Relu takes 1"),
    (h.make_node("Conv", ["", "w"], ["y"], name="n"), r"leaves its required input 'X' empty"),
    (h.make_node("Conv", ["x", "w"], ["y"], name="n", pads=[0.5, 0.5, 0.5, 0.5]),
     r"attribute 'pads' is of type FLOATS; Conv takes INTS"),
    (h.make_node("Concat", [], ["y"], name="n", axis=1), r"has 0 input\(s\); Concat takes at least 1"),
])
def test_a_node_unlike_its_operators_definition_is_refused(node, message: str) -> None:
    w = numpy_helper.from_array(np.ones((3, 2, 1, 1), np.float32), "w")
    with pytest.raises(OnnxFileError, match=message):
        pycnn.onnx.load(_model([node], [w]).SerializeToString())


@pytest.mark.parametrize("opset", [0, -3])
def test_an_operator_set_below_1_is_refused(opset: int) -> None:
    model = _model([h.make_node("Relu", ["x"], ["y"])], opset=opset)
    with pytest.raises(OnnxFileError, match=f"version {opset} of the default ONNX operator set; versions start at 1"):
        pycnn.onnx.load(model.SerializeToString())


def test_an_input_of_an_unknown_element_type_is_refused() -> None:
    model = _model([h.make_node("Relu", ["x"], ["y"])])
    model.graph.input[0].type.tensor_type.elem_type = 999
    with pytest.raises(OnnxFileError, match="input 'x' has the unknown element type 999"):
        pycnn.onnx.load(model.SerializeToString())


@pytest.mark.parametrize("op_type", ["Conv", "MaxPool", "AveragePool"])
def test_window_attributes_beyond_the_kernels_range_are_refused(op_type: str) -> None:
    w = numpy_helper.from_array(np.ones((3, 2, 1, 1), np.float32), "w")
    node = h.make_node(op_type, ["x", "w"] if op_type == "Conv" else ["x"], ["y"], name="n", kernel_shape=[1, 1],
                       pads=[1 << 40] * 4)
    message = rf"node .n. \({op_type}, opset 13\): kernel \[1, 1\], .* pads \[1099511627776, .* at most 2147483647"
    with pytest.raises(ValueError, match=message):
        pycnn.onnx.load(_model([node], [w]).SerializeToString())(np.zeros((1, 2, 4, 4), np.float32))


def test_pads_cropping_more_than_the_input_are_refused() -> None:
    pads = numpy_helper.from_array(np.array([0, 0, -5, 0, 0, 0, 0, 0], np.int64), "p")
    model = _model([h.make_node("Pad", ["x", "p"], ["y"], name="pad")], [pads])
    with pytest.raises(ValueError, match=r"node 'pad' \(Pad, opset 13\): pads .* crop more than an input of shape "
                                         r"\(1, 2, 4, 4\)"):
        pycnn.onnx.load(model.SerializeToString())(np.zeros((1, 2, 4, 4), np.float32))


def test_an_undefined_input_is_refused() -> None:
    model = _model([h.make_node("Relu", ["nowhere"], ["y"], name="r")])
    assert "reads 'nowhere', which no input" in _refused_quickly(model.SerializeToString())


# -- external data ---------------------------------------------------------------------------------------------
def _external_model(tmp_path, location: str, data: bytes | None = None) -> str:
    w = np.arange(6, dtype=np.float32).reshape(3, 2, 1, 1)
    tensor = numpy_helper.from_array(w, "w")
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(w.nbytes))):
        tensor.external_data.add(key=key, value=value)
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    if data is not None:
        (folder / "weights.bin").write_bytes(data)
    path = folder / "m.onnx"
    path.write_bytes(_model([h.make_node("Conv", ["x", "w"], ["y"])], [tensor]).SerializeToString())
    return str(path)


def test_external_data_beside_the_model_is_read(tmp_path) -> None:
    path = _external_model(tmp_path, "weights.bin", np.arange(6, dtype=np.float32).tobytes())
    y = pycnn.onnx.load(path)(np.ones((1, 2, 4, 4), np.float32))
    np.testing.assert_array_equal(y[0, :, 0, 0], [1, 5, 9])


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "sub/../../secret.bin"])
def test_external_data_outside_the_folder_is_refused(tmp_path, location: str) -> None:
    (tmp_path / "secret.bin").write_bytes(b"\0" * 24)
    path = _external_model(tmp_path, location)
    with pytest.raises(OnnxFileError, match=r"(inside|outside) the model.s folder"):
        pycnn.onnx.load(path)


def test_external_data_through_a_symlink_out_of_the_folder_is_refused(tmp_path) -> None:
    (tmp_path / "secret.bin").write_bytes(b"\0" * 24)
    path = _external_model(tmp_path, "weights.bin")
    os.symlink(tmp_path / "secret.bin", tmp_path / "model" / "weights.bin")
    with pytest.raises(OnnxFileError, match="outside the model's folder"):
        pycnn.onnx.load(path)


def test_external_data_shorter_than_claimed_is_refused(tmp_path) -> None:
    path = _external_model(tmp_path, "weights.bin", b"\0" * 8)
    with pytest.raises(OnnxFileError, match=r"needs 24 bytes at offset 0 of .weights\.bin.*the file has 8"):
        pycnn.onnx.load(path)


def test_external_data_from_bytes_says_to_load_the_path(tmp_path) -> None:
    path = _external_model(tmp_path, "weights.bin", b"\0" * 24)
    with open(path, "rb") as f:
        data = f.read()
    with pytest.raises(OnnxFileError, match="load the model from its path"):
        pycnn.onnx.load(data)


def test_external_data_in_the_model_file_itself_is_refused(tmp_path) -> None:
    path = _external_model(tmp_path, "m.onnx")
    with pytest.raises(OnnxFileError, match=r"'m\.onnx', which is not a data file beside the model"):
        pycnn.onnx.load(path)


@pytest.mark.parametrize("location", ["weights\0.bin", "weights.bin\0../../etc/passwd"])
def test_external_data_named_with_a_nul_byte_is_refused(tmp_path, location: str) -> None:
    path = _external_model(tmp_path, location, b"\0" * 24)
    with pytest.raises(OnnxFileError, match="must be a relative path inside the model's folder"):
        pycnn.onnx.load(path)


def test_tensors_reading_the_same_external_bytes_twice_are_refused(tmp_path) -> None:
    """Each byte of a data file is read once: tensors pointing at one region cannot multiply its size in memory."""
    path = _external_model(tmp_path, "weights.bin", b"\0" * 24)
    model = onnx.load(path, load_external_data=False)
    twin = onnx.TensorProto()
    twin.CopyFrom(model.graph.initializer[0])
    twin.name = "w2"
    model.graph.initializer.append(twin)
    model.graph.node[0].output[0] = "c"
    model.graph.node.append(h.make_node("Conv", ["c", "w2"], ["y"]))
    model.graph.node[1].input[0] = "c"
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    with pytest.raises(OnnxFileError, match=r"tensors that lie in 'weights\.bin' overlap: they read 48 "
                                            r"bytes of a file of 24"):
        pycnn.onnx.load(path)
