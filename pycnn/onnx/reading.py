"""Reading an .onnx file into a Graph, treating it as untrusted data.

Parsing is the onnx package's (protobuf); every tensor's size is checked against the bytes actually present
before anything is allocated, and external data is read only from files inside the model's own folder.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import OnnxFileError, UnsupportedOnnxError
from .graph import Graph, GraphInput, Node, Unsupported

Source = str | os.PathLike[str] | bytes | bytearray | memoryview

_DEFAULT_DOMAINS = ("", "ai.onnx")


def require_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("pycnn.onnx reads .onnx files with the onnx package: pip install 'pycnn[onnx]' "
                          "(or pip install onnx)") from None
    return onnx


def read(source: Source) -> Graph:
    """The graph of an .onnx file (a path), or of its bytes."""
    onnx = require_onnx()
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, model_path, label = bytes(source), None, "<onnx bytes>"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        data, model_path, label = path.read_bytes(), path.resolve(), str(path)
    else:
        raise TypeError(f"pycnn.onnx.load takes a path or the file's bytes, got {type(source).__name__}")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:  # protobuf's DecodeError, or a RecursionError for a hostile nesting
        raise OnnxFileError(f"{label}: not a readable ONNX model ({type(e).__name__}: {e})") from None
    return _graph(onnx, model, model_path, label)


def _opset(model: Any, label: str) -> int:
    versions = [o.version for o in model.opset_import if o.domain in _DEFAULT_DOMAINS]
    if not versions:
        if model.ir_version and model.ir_version < 3 and not model.opset_import:
            return 1  # files before opset imports existed
        raise OnnxFileError(f"{label}: the model imports no version of the default ONNX operator set "
                            "(a truncated or corrupted file, or not an ONNX model)")
    if versions[0] < 1:
        raise OnnxFileError(f"{label}: the model imports version {versions[0]} of the default ONNX operator set; "
                            "versions start at 1")
    return int(versions[0])


def _graph(onnx: Any, model: Any, model_path: Path | None, label: str) -> Graph:
    if not model.HasField("graph") or not model.graph.output:
        raise OnnxFileError(f"{label}: the file holds no graph with outputs (a truncated or corrupted file, or not "
                            "an ONNX model)")
    opset = _opset(model, label)
    g = model.graph
    tensors = _Tensors(onnx, model_path, label)
    initializers = {t.name: tensors.array(t, f"initializer {t.name!r}") for t in g.initializer}
    if g.sparse_initializer:
        raise UnsupportedOnnxError(f"{label}: sparse initializers are not supported")
    inputs = [_graph_input(onnx, v, label) for v in g.input if v.name not in initializers]
    nodes = []
    defined = set(initializers) | {v.name for v in inputs}
    for i, n in enumerate(g.node):
        name = n.name or f"{n.op_type} #{i}"
        if n.domain not in _DEFAULT_DOMAINS:
            raise UnsupportedOnnxError(f"{label}: node {name!r} ({n.op_type}) is from the operator set {n.domain!r}; "
                                       "pycnn runs the default ONNX operator set only")
        for x in n.input:
            if x and x not in defined:
                raise OnnxFileError(f"{label}: node {name!r} ({n.op_type}) reads {x!r}, which no input, initializer "
                                    "or earlier node defines (a corrupted file, or nodes out of order)")
        _check_against_schema(onnx, n, name, opset, label)
        attrs = {a.name: _attribute(onnx, a, tensors, f"attribute {a.name!r} of node {name!r}") for a in n.attribute}
        nodes.append(Node(name, n.op_type, list(n.input), list(n.output), attrs))
        for y in n.output:
            if y and y in defined:
                raise OnnxFileError(f"{label}: node {name!r} ({n.op_type}) writes {y!r}, which is already defined")
            defined.add(y)
    outputs = [v.name for v in g.output]
    for y in outputs:
        if y not in defined:
            raise OnnxFileError(f"{label}: the graph's output {y!r} is not computed by any node")
    return Graph(opset, inputs, outputs, nodes, initializers, g.name)


def _check_against_schema(onnx: Any, n: Any, name: str, opset: int, label: str) -> None:
    """A node's inputs, outputs and attribute types as the operator's definition at the file's opset has them
    (operators ONNX does not define are left to the converters, which refuse them by name)."""
    try:
        schema = onnx.defs.get_schema(n.op_type, opset, "")
    except onnx.defs.SchemaError:
        return
    where = f"{label}: node {name!r} ({n.op_type}, opset {opset})"
    for kind, given, low, high in (("input", len(n.input), schema.min_input, schema.max_input),
                                   ("output", len(n.output), schema.min_output, schema.max_output)):
        if not low <= given <= high:
            takes = f"{low}" if low == high else f"{low} to {high}" if high < 1 << 20 else f"at least {low}"
            raise OnnxFileError(f"{where} has {given} {kind}(s); {n.op_type} takes {takes}")
    single = onnx.defs.OpSchema.FormalParameterOption.Single
    for formal, x in zip(schema.inputs, n.input, strict=False):
        if formal.option == single and not x:
            raise OnnxFileError(f"{where} leaves its required input {formal.name!r} empty")
    for a in n.attribute:
        expected = schema.attributes.get(a.name)
        if expected is not None and int(a.type) != int(expected.type):
            kinds = onnx.AttributeProto.AttributeType
            raise OnnxFileError(f"{where}: attribute {a.name!r} is of type {kinds.Name(a.type)}; {n.op_type} takes "
                                f"{kinds.Name(int(expected.type))}")


def _graph_input(onnx: Any, value: Any, label: str) -> GraphInput:
    t = value.type
    if t.WhichOneof("value") != "tensor_type":
        raise UnsupportedOnnxError(f"{label}: input {value.name!r} is not a tensor; pycnn runs graphs of tensors")
    shape = None
    if t.tensor_type.HasField("shape"):
        shape = tuple(int(d.dim_value) if d.HasField("dim_value") else None for d in t.tensor_type.shape.dim)
    elem = t.tensor_type.elem_type
    try:
        elem_type = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem)).name if elem else "float32"
    except (KeyError, ValueError, TypeError):
        raise OnnxFileError(f"{label}: input {value.name!r} has the unknown element type {elem}") from None
    return GraphInput(value.name, shape, elem_type)


def _attribute(onnx: Any, attr: Any, tensors: _Tensors, what: str) -> Any:
    kind = attr.type
    A = onnx.AttributeProto
    if kind == A.TENSOR:
        return tensors.array(attr.t, what)
    if kind in (A.GRAPH, A.GRAPHS, A.SPARSE_TENSOR, A.SPARSE_TENSORS, A.TENSORS, A.TYPE_PROTO, A.TYPE_PROTOS):
        return Unsupported(what)
    value = onnx.helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
    return value


# The repeated field each element type's values live in, when a tensor does not use raw_data.
_FIELDS = {"float32": "float_data", "float64": "double_data", "int64": "int64_data", "uint32": "uint64_data",
           "uint64": "uint64_data"}


class _Tensors:
    """TensorProtos as numpy arrays, sizes checked before allocation. The tensors in an external-data file read no
    more bytes of it in all than it holds, so they cannot make more memory of a file than its size."""

    def __init__(self, onnx: Any, model_path: Path | None, label: str):
        self.onnx, self.model_path, self.label = onnx, model_path, label
        self.folder = None if model_path is None else model_path.parent
        self.external_bytes_read: dict[Path, int] = {}

    def array(self, t: Any, what: str) -> np.ndarray:
        onnx, label = self.onnx, self.label
        if t.segment.ByteSize():
            raise UnsupportedOnnxError(f"{label}: {what} is a segmented tensor, which pycnn does not read")
        try:
            dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.data_type))
        except (KeyError, ValueError, TypeError):
            raise OnnxFileError(f"{label}: {what} has the unknown element type {t.data_type}") from None
        if dtype.kind not in "biuf":
            raise UnsupportedOnnxError(f"{label}: {what} holds {dtype} elements; pycnn reads numeric tensors only")
        dims = list(t.dims)
        if any(d < 0 for d in dims):
            raise OnnxFileError(f"{label}: {what} has a negative dimension in {dims}")
        count = math.prod(dims)
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raw = self._external(t, what, count * dtype.itemsize)
            return np.frombuffer(raw, dtype.newbyteorder("<")).astype(dtype).reshape(dims)
        if t.raw_data:
            if len(t.raw_data) != count * dtype.itemsize:
                raise OnnxFileError(f"{label}: {what} of shape {dims} ({dtype}) needs {count * dtype.itemsize} bytes, "
                                    f"the file holds {len(t.raw_data)}")
        else:
            values = getattr(t, _FIELDS.get(dtype.name, "int32_data"))
            if len(values) != count:
                raise OnnxFileError(f"{label}: {what} of shape {dims} needs {count} values, the file holds "
                                    f"{len(values)}")
        try:
            return np.asarray(onnx.numpy_helper.to_array(t)).reshape(dims)
        except Exception as e:
            raise OnnxFileError(f"{label}: {what} cannot be read ({type(e).__name__}: {e})") from None

    def _external(self, t: Any, what: str, nbytes: int) -> bytes:
        label = self.label
        info = {e.key: e.value for e in t.external_data}
        if self.folder is None:
            raise OnnxFileError(f"{label}: {what} lies in the external file {info.get('location')!r}; load the model "
                                "from its path (not its bytes) so that pycnn can read the files beside it")
        location = info.get("location", "")
        try:
            offset, length = int(info.get("offset", 0)), int(info.get("length", nbytes))
        except ValueError:
            raise OnnxFileError(f"{label}: {what} has a malformed external offset or length: {info}") from None
        if not location or "\0" in location or Path(location).is_absolute() or Path(location).drive:
            raise OnnxFileError(f"{label}: {what} points to {location!r}; external data must be a relative path "
                                "inside the model's folder")
        path = (self.folder / location).resolve()
        if not path.is_relative_to(self.folder):
            raise OnnxFileError(f"{label}: {what} points to {location!r}, outside the model's folder "
                                f"{str(self.folder)!r}; pycnn reads external data only from that folder")
        if not path.is_file() or path == self.model_path:
            raise OnnxFileError(f"{label}: {what} lies in {location!r}, which is not a data file beside the model")
        size = path.stat().st_size
        if offset < 0 or length != nbytes or offset + length > size:
            raise OnnxFileError(f"{label}: {what} needs {nbytes} bytes at offset {offset} of {location!r} "
                                f"(length {length}), but the file has {size}")
        read = self.external_bytes_read.get(path, 0) + length
        if read > size:
            raise OnnxFileError(f"{label}: the tensors that lie in {location!r} overlap: they read {read} bytes of a "
                                f"file of {size}")
        self.external_bytes_read[path] = read
        with path.open("rb") as f:
            f.seek(offset)
            data: bytes = f.read(length)
        return data
