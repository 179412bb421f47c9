"""conv2d against torch.nn.functional.conv2d: every class of stride/padding/dilation/groups, every ISA."""

from __future__ import annotations

import zlib
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import pycnn
import pycnn.functional as F

from conftest import assert_close, count_case
from reference import (
    ConvCase,
    check_against_torch,
    check_api_contract,
    fuzz_settings,
    isa_cap,
    normal,
    results_per_isa,
    torch_conv2d,
)
from shapes import ConvLayer, conv_layers

# torch's own note that it pads a copy for 'same' with an even kernel: expected, not a problem.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")


# One case per class of arguments; each runs with float data (tolerance) and small integers (exact).
CASES = {
    "3x3 pad1": ConvCase(2, 3, (9, 11), 5, (3, 3), padding=1),
    "5x5 odd sizes": ConvCase(1, 7, (13, 9), 11, (5, 5), padding=2),
    "rectangular kernel, stride (1,3)": ConvCase(2, 4, (10, 14), 6, (2, 5), stride=(1, 3), padding=(1, 2)),
    "stride 2 no pad": ConvCase(3, 5, (15, 16), 9, (3, 3), stride=2),
    "stride 4 11x11 (alexnet-like)": ConvCase(1, 3, (47, 45), 10, (11, 11), stride=4, padding=2),
    "dilation 2": ConvCase(2, 3, (12, 13), 4, (3, 3), padding=2, dilation=2),
    "dilation (3,1) stride (2,1)": ConvCase(1, 5, (17, 8), 6, (3, 2), stride=(2, 1), dilation=(3, 1)),
    "groups 2": ConvCase(2, 6, (8, 9), 4, (3, 3), padding=1, groups=2),
    "groups 3 stride 2 dilation 2": ConvCase(1, 9, (13, 12), 6, (3, 3), stride=2, padding=1, dilation=2,
                                             groups=3),
    "depthwise": ConvCase(2, 5, (9, 10), 5, (3, 3), padding=1, groups=5),
    "depthwise stride 2": ConvCase(1, 8, (11, 11), 8, (5, 5), stride=2, padding=2, groups=8),
    "depthwise multiplier 3": ConvCase(2, 4, (7, 9), 12, (3, 3), padding=1, groups=4),
    "depthwise multiplier 2 dilated": ConvCase(1, 3, (10, 10), 6, (3, 3), dilation=2, groups=3),
    "1x1 stride 1 (no im2col)": ConvCase(3, 13, (7, 9), 17, (1, 1)),
    "1x1 stride 1 groups 2": ConvCase(2, 6, (5, 5), 10, (1, 1), groups=2),
    "1x1 stride 1 depthwise": ConvCase(2, 4, (3, 5), 8, (1, 1), groups=4),
    "1x1 stride 1 many channels": ConvCase(1, 70, (6, 5), 37, (1, 1)),
    "1x1 stride 2": ConvCase(2, 8, (9, 9), 5, (1, 1), stride=2),
    "1x1 padded": ConvCase(1, 3, (4, 5), 4, (1, 1), padding=1),
    "same odd kernel": ConvCase(2, 3, (9, 8), 4, (3, 5), padding="same"),
    "same even kernel": ConvCase(1, 3, (7, 6), 5, (4, 2), padding="same"),
    "same even kernel dilated": ConvCase(1, 2, (9, 10), 3, (2, 4), padding="same", dilation=(3, 1)),
    "same odd kernel dilated": ConvCase(2, 4, (8, 11), 3, (3, 3), padding="same", dilation=2),
    "same depthwise": ConvCase(1, 4, (6, 6), 4, (2, 2), padding="same", groups=4),
    "valid": ConvCase(2, 3, (8, 7), 4, (3, 2), padding="valid", dilation=2),
    "asymmetric padding": ConvCase(2, 3, (8, 9), 4, (3, 3), padding=(2, 0, 1, 3)),
    "asymmetric padding stride 2": ConvCase(1, 4, (9, 8), 5, (3, 2), stride=2, padding=(0, 1, 0, 0)),
    "asymmetric padding 1x1": ConvCase(1, 2, (3, 4), 3, (1, 1), padding=(1, 0, 0, 2)),
    "no bias": ConvCase(2, 5, (8, 8), 7, (3, 3), padding=1, bias=False),
    "unbatched": ConvCase(None, 3, (7, 8), 5, (3, 3), padding=1),
    "unbatched depthwise same": ConvCase(None, 4, (6, 7), 4, (3, 3), padding="same", groups=4),
    "batch 0": ConvCase(0, 3, (7, 8), 5, (3, 3), padding=1),
    "batch 0 1x1": ConvCase(0, 3, (4, 4), 2, (1, 1)),
    "batch 1": ConvCase(1, 3, (5, 5), 2, (3, 3)),
    "batch 9": ConvCase(9, 4, (6, 7), 6, (3, 3), stride=2, padding=1),
    "1x1 input, 1x1 output": ConvCase(2, 3, (1, 1), 4, (1, 1)),
    "kernel covers the padded input": ConvCase(1, 2, (3, 5), 3, (5, 7), padding=1),
    "wide GEMM edges": ConvCase(1, 33, (10, 11), 70, (3, 3), padding=1),
}


@pytest.mark.parametrize("integer", [False, True], ids=["float", "int"])
@pytest.mark.parametrize("name", CASES)
def test_conv2d_matches_torch(isa: str, name: str, integer: bool) -> None:
    check_against_torch(replace(CASES[name], integer=integer))


def padding_total(padding: Any, kernel: int, dilation: int, axis: int) -> int:
    """Rows (axis 0) or columns (axis 1) of padding that `padding` adds, as PyTorch reads it."""
    if padding == "same":
        return dilation * (kernel - 1)
    if padding == "valid":
        return 0
    if isinstance(padding, int):
        return 2 * padding
    return 2 * padding[axis] if len(padding) == 2 else padding[2 * axis] + padding[2 * axis + 1]


@st.composite
def conv_cases(draw: st.DrawFn) -> ConvCase:
    """Random shapes and arguments: odd sizes, every groups class, every padding form."""
    kind = draw(st.sampled_from(["dense", "grouped", "depthwise", "depthwise multiplier"]))
    if kind == "dense":
        groups, per_group_in, per_group_out = 1, draw(st.integers(1, 5)), draw(st.integers(1, 7))
    elif kind == "grouped":
        groups, per_group_in, per_group_out = draw(st.integers(2, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 7))
    else:
        groups, per_group_in = draw(st.integers(1, 6)), 1
        per_group_out = 1 if kind == "depthwise" else draw(st.integers(2, 3))
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = st.integers(0, 3)
    padding = draw(st.one_of(pad, st.tuples(pad, pad), st.tuples(pad, pad, pad, pad),
                             st.sampled_from(["same", "valid"])))
    stride = 1 if padding == "same" else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    hw = []
    for axis in range(2):
        needed = dilation[axis] * (kernel[axis] - 1) + 1 - padding_total(padding, kernel[axis], dilation[axis], axis)
        hw.append(draw(st.integers(max(1, needed), max(1, needed) + 9)))
    return ConvCase(batch=draw(st.sampled_from([None, 0, 1, 2, 3])), in_channels=groups * per_group_in,
                    hw=(hw[0], hw[1]), out_channels=groups * per_group_out, kernel=kernel, stride=stride,
                    padding=padding, dilation=dilation, groups=groups, bias=draw(st.booleans()),
                    integer=draw(st.booleans()), seed=draw(st.integers(0, 2**32 - 1)))


@fuzz_settings(150)
@given(case=conv_cases())
def test_conv2d_random_sweep(isa: str, case: ConvCase) -> None:
    count_case("conv2d")
    check_against_torch(case)


@pytest.mark.parametrize("name", ["3x3 pad1", "stride 2 no pad", "groups 3 stride 2 dilation 2",
                                  "depthwise multiplier 3", "1x1 stride 1 many channels", "same even kernel dilated",
                                  "asymmetric padding", "wide GEMM edges", "batch 9"])
@pytest.mark.parametrize("integer", [False, True], ids=["float", "int"])
def test_every_isa_gives_the_same_answer(name: str, integer: bool) -> None:
    case = replace(CASES[name], integer=integer)
    x, w, b = case.arrays()
    results = results_per_isa(lambda: F.conv2d(x, w, b, **case.options))
    first = results.pop(next(iter(results)))
    for isa, got in results.items():
        if integer:
            np.testing.assert_array_equal(got, first, err_msg=isa)
        else:
            assert_close(got, first)


# --- Every conv layer of AlexNet, VGG-16, GoogLeNet and ResNet-50 ------------------------------------------

LAYERS = conv_layers()
# The generic kernels are slow: one layer of each kind (kernel, stride) from each network.
GENERIC_LAYERS = list({(layer.net, layer.kernel_h, layer.stride): layer for layer in LAYERS}.values())


def check_layer(layer: ConvLayer) -> None:
    rng = np.random.default_rng(zlib.crc32(layer.name.encode()))
    x = normal(rng, (1, layer.in_channels, layer.in_h, layer.in_w))
    w = normal(rng, (layer.out_channels, layer.in_channels // layer.groups, layer.kernel_h, layer.kernel_w))
    b = normal(rng, (layer.out_channels,))
    options = dict(stride=layer.stride, padding=layer.padding, groups=layer.groups)
    got = F.conv2d(x, w, b, **options)
    assert got.shape == (1, layer.out_channels, *layer.out_hw)
    assert_close(got, torch_conv2d(x, w, b, **options))


def test_layer_table_is_complete() -> None:
    assert len(LAYERS) == 86
    assert {layer.net for layer in LAYERS} == {"alexnet", "vgg16", "googlenet", "resnet50"}


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
def test_real_network_layers(layer: ConvLayer) -> None:
    check_layer(layer)


@pytest.mark.parametrize("layer", GENERIC_LAYERS, ids=lambda layer: layer.name)
def test_real_network_layers_generic(layer: ConvLayer) -> None:
    with isa_cap("generic"):
        check_layer(layer)


# --- The API contract and conv_output_size ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["3x3 pad1", "1x1 stride 1 (no im2col)", "unbatched", "depthwise multiplier 3"])
def test_conv2d_api_contract(name: str) -> None:
    x, w, b = replace(CASES[name], integer=True).arrays()
    check_api_contract(F.conv2d, [x, w, b], **CASES[name].options)


def torch_output_width(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    x, w = torch.zeros(1, 1, 1, size), torch.zeros(1, 1, 1, kernel)
    return TF.conv2d(x, w, stride=(1, stride), padding=(0, padding), dilation=(1, dilation)).shape[-1]


def torch_pool_width(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    x = torch.zeros(1, 1, 1, size)
    return TF.max_pool2d(x, (1, kernel), (1, stride), (0, padding), (1, dilation), ceil_mode=True).shape[-1]


def test_conv_output_size_matches_torch() -> None:
    checked = 0
    for size in range(1, 10):
        for kernel in range(1, 6):
            for stride in range(1, 4):
                for padding in range(0, 3):
                    for dilation in range(1, 3):
                        if size + 2 * padding < dilation * (kernel - 1) + 1:
                            continue
                        want = torch_output_width(size, kernel, stride, padding, dilation)
                        assert pycnn.conv_output_size(size, kernel, stride, padding, dilation) == want
                        assert want == (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
                        if 2 * padding <= kernel:  # torch's pooling limit
                            got = pycnn.conv_output_size(size, kernel, stride, padding, dilation, ceil_mode=True)
                            assert got == torch_pool_width(size, kernel, stride, padding, dilation), \
                                (size, kernel, stride, padding, dilation)
                        checked += 1
    assert checked > 400


def test_conv_output_size_classic_examples() -> None:
    assert pycnn.conv_output_size(224, 11, 4, 2) == 55  # AlexNet conv1
    assert pycnn.conv_output_size(227, 11, 4) == 55
    assert pycnn.conv_output_size(7, 3, 3) == 2  # floored, as PyTorch
    assert pycnn.conv_output_size(5, 3, 2, 1, ceil_mode=True) == 3


def test_conv_output_size_tuples() -> None:
    assert pycnn.conv_output_size((7, 9), (3, 2), (3, 1), (0, 1), (1, 2)) == (2, 9)
    assert pycnn.conv_output_size([224, 224], 7, 2, 3) == (112, 112)
    assert pycnn.conv_output_size((5, 6, 7), 3) == (3, 4, 5)


@pytest.mark.parametrize("args", [(7, 3, 2), (9, 3, 3), (7, 3, 3, 1), (224, 3, 1, 1), (6, 2, 2)])
def test_conv_output_size_strict_accepts_exact_tiling(args: tuple[int, ...]) -> None:
    assert pycnn.conv_output_size(*args, strict=True) == pycnn.conv_output_size(*args)
