"""The light model-zoo graphs shipped with onnx (AlexNet, ZFNet, VGG-19, GoogLeNet, Inception v2, ResNet-50,
SqueezeNet, ShuffleNet, DenseNet-121), with seeded random weights, against ONNX Runtime.

Their shipped weights are ConstantOfShape nodes (constants); each is replaced by a random initializer of its
shape, and the final Softmax is dropped so that the logits themselves are compared.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import pycnn.onnx

LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
MODELS = ("bvlc_alexnet", "zfnet512", "vgg19", "inception_v1", "inception_v2", "resnet50", "squeezenet",
          "shufflenet", "densenet121")
# Max |pycnn − ONNX Runtime| / max |ONNX Runtime| over the logits: float32 sums in another order.
TOLERANCE = 1e-5


def randomised(name: str, seed: int = 0) -> tuple[bytes, str, tuple[int, ...]]:
    """The model with random weights and no final Softmax: its bytes, its input's name and shape."""
    from onnx import numpy_helper

    model = onnx.load(os.path.join(LIGHT, f"light_{name}.onnx"))
    graph = model.graph
    rng = np.random.default_rng(seed)
    shapes = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    nodes = []
    for node in graph.node:
        if node.op_type != "ConstantOfShape":
            nodes.append(node)
            continue
        shape = tuple(int(d) for d in shapes[node.input[0]])
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        value = rng.standard_normal(shape) * (1 / np.sqrt(fan_in) if len(shape) > 1 else 0.1)
        if "var" in node.output[0] or "riv" in node.output[0]:  # BatchNorm variances must be positive
            value = np.abs(value) + 0.5
        graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
    if nodes[-1].op_type == "Softmax":
        logits = nodes.pop().input[0]
        graph.output[0].name = logits
    del graph.node[:]
    graph.node.extend(nodes)
    initialized = {t.name for t in graph.initializer}
    data = next(i for i in graph.input if i.name not in initialized)
    shape = tuple(d.dim_value for d in data.type.tensor_type.shape.dim)
    return model.SerializeToString(), data.name, shape


@pytest.mark.parametrize("name", MODELS)
def test_light_model_matches_onnxruntime(name: str) -> None:
    data, input_name, shape = randomised(name)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    expected = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"]).run(None, {input_name: x})[0]
    model = pycnn.onnx.load(data)
    y = model(x)
    assert y.shape == expected.shape
    assert np.abs(expected).max() > 1e-3  # logits that say something
    error = np.abs(y - expected).max() / np.abs(expected).max()
    assert error < TOLERANCE, f"{name}: max relative error {error:.2e}"
    assert model._plans is not None and model._plans.plans, "a one-input model runs through a plan"
