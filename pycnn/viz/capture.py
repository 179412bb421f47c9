"""Intermediate outputs of a model: its traced graph run node by node, up to the layer asked for."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._args import as_float32
from ..nn import Module
from ..nn.trace import Node, trace


def layer_names(model: Module, input_shape: tuple[int, ...] = (1, 3, 224, 224)) -> list[str]:
    """The names `layer_output` accepts, in execution order: each layer ('features.0', 'layer1.0.conv1'),
    each addition and concatenation ('layer1.0.add', 'inception3a.cat'), and each container ('layer1')."""
    _, _, nodes = trace(model, tuple(input_shape))
    names: dict[str, None] = {}
    for node in nodes:
        parts = node.name.split(".")
        for i in range(1, len(parts) + 1):
            names.setdefault(".".join(parts[:i]), None)
    return list(names)


def layer_output(model: Module, x: Any, layer: str | Module) -> np.ndarray:
    """What `layer` of `model` outputs when `model` runs on `x` (N, C, H, W): a new float32 array.

    `layer` is a name from `layer_names` or a module inside `model`. A container's output is that of the last
    operation recorded inside it; a layer called more than once (ResNet's blocks reuse one ReLU) gives its last
    call's output. The model runs eagerly, layer by layer, until that node: nothing is fused away.
    """
    x = as_float32(x, "x")
    graph_input, _, nodes = trace(model, x.shape)
    target = _target_index(model, nodes, layer)
    values: dict[int, np.ndarray] = {id(graph_input): x}
    for node in nodes[:target + 1]:
        values[id(node.output)] = _evaluate(node, [values[id(v)] for v in node.inputs])
    return np.ascontiguousarray(values[id(nodes[target].output)], dtype=np.float32)


def _evaluate(node: Node, inputs: list[np.ndarray]) -> np.ndarray:
    if node.op == "layer":
        assert node.module is not None
        return np.asarray(node.module.forward(*inputs))
    if node.op == "add":
        total: np.ndarray = inputs[0] + inputs[1]
        return total
    if node.op == "cat":
        return np.concatenate(inputs, axis=node.attrs["dim"])
    raise ValueError(f"cannot evaluate traced operation {node.op!r}")


def _target_index(model: Module, nodes: list[Node], layer: str | Module) -> int:
    if isinstance(layer, Module):
        direct = [i for i, node in enumerate(nodes) if node.module is layer]
        if direct:
            return direct[-1]
        name = next((n for n, m in model.named_modules() if m is layer), None)
        if name is None:
            raise ValueError(f"layer {type(layer).__name__} is not a part of this {type(model).__name__}")
        layer = name
    if not isinstance(layer, str):
        raise TypeError(f"layer must be a layer name or a pycnn.nn.Module, got {type(layer).__name__}")
    inside = [i for i, node in enumerate(nodes) if node.name == layer or node.name.startswith(layer + ".")]
    if not inside:
        names = sorted({n.name.split(".")[0] for n in nodes})
        raise ValueError(f"{type(model).__name__} has no layer named {layer!r}; its top-level names are "
                         f"{', '.join(names)} (pycnn.viz.layer_names(model) lists every name)")
    return inside[-1]
