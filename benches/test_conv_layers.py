"""pytest-benchmark over the conv layers of the classic networks: ``pytest benches/ --benchmark-only``.

Each layer runs under pycnn and under torch; GFLOP/s (2·MACs / median time) goes into extra_info.
"""

from __future__ import annotations

import pytest
import torch

import pycnn.functional as F

from _common import conv_layers, layer_inputs

LAYERS = conv_layers()


@pytest.mark.parametrize("runtime", ["pycnn", "torch"])
@pytest.mark.parametrize("layer", LAYERS, ids=[layer.name for layer in LAYERS])
def test_conv_layer(benchmark, layer, runtime):
    x, w, b = layer_inputs(layer)
    params = (layer.stride, layer.padding, 1, layer.groups)
    if runtime == "pycnn":
        fn = lambda: F.conv2d(x, w, b, *params)  # noqa: E731
    else:
        tx, tw, tb = map(torch.from_numpy, (x, w, b))
        fn = lambda: torch.nn.functional.conv2d(tx, tw, tb, *params)  # noqa: E731
    benchmark.group = layer.name
    with torch.no_grad():
        benchmark(fn)
    benchmark.extra_info["gflops"] = 2 * layer.macs() / 1e9 / benchmark.stats.stats.median
