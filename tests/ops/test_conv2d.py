"""conv2d against torch.nn.functional.conv2d: every class of stride/padding/dilation/groups, every ISA, every device
and precision."""

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
    CONV_CASES,
    OP_RTOL,
    ConvCase,
    check_against_torch,
    check_api_contract,
    fuzz_settings,
    isa_cap,
    normal,
    on_device,
    results_per_isa,
    torch_conv2d,
)
from shapes import ConvLayer, conv_layers

# torch's own note that it pads a copy for 'same' with an even kernel: expected, not a problem.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")


@pytest.mark.parametrize("integer", [False, True], ids=["float", "int"])
@pytest.mark.parametrize("name", CONV_CASES)
def test_conv2d_matches_torch(device: str, isa: str | None, precision: str, name: str, integer: bool) -> None:
    """Small integers are exact in every precision, and so are their sums of products below 2^24."""
    case = replace(CONV_CASES[name], integer=integer)
    got = check_against_torch(case, OP_RTOL[precision], device)
    if device != "cpu" and precision == "fp32":
        x, w, b = case.arrays()
        assert_close(got, F.conv2d(x, w, b, **case.options))  # and the CPU path's answer


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
    case = replace(CONV_CASES[name], integer=integer)
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


def check_layer(layer: ConvLayer, device: str = "cpu", rtol: float = 1e-4) -> None:
    rng = np.random.default_rng(zlib.crc32(layer.name.encode()))
    x = normal(rng, (1, layer.in_channels, layer.in_h, layer.in_w))
    w = normal(rng, (layer.out_channels, layer.in_channels // layer.groups, layer.kernel_h, layer.kernel_w))
    b = normal(rng, (layer.out_channels,))
    options = dict(stride=layer.stride, padding=layer.padding, groups=layer.groups)
    got = on_device(device, F.conv2d, x, w, b, **options)
    assert got.shape == (1, layer.out_channels, *layer.out_hw)
    assert_close(got, torch_conv2d(x, w, b, **options), rtol)


def test_layer_table_is_complete() -> None:
    assert len(LAYERS) == 86
    assert {layer.net for layer in LAYERS} == {"alexnet", "vgg16", "googlenet", "resnet50"}


@pytest.mark.full_size
@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
def test_real_network_layers(layer: ConvLayer, device: str, precision: str) -> None:
    check_layer(layer, device, OP_RTOL[precision])


@pytest.mark.parametrize("layer", GENERIC_LAYERS, ids=lambda layer: layer.name)
def test_real_network_layers_generic(layer: ConvLayer) -> None:
    with isa_cap("generic"):
        check_layer(layer)


# --- The API contract and conv_output_size ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["3x3 pad1", "1x1 stride 1 (no im2col)", "unbatched", "depthwise multiplier 3"])
def test_conv2d_api_contract(name: str) -> None:
    x, w, b = replace(CONV_CASES[name], integer=True).arrays()
    check_api_contract(F.conv2d, [x, w, b], **CONV_CASES[name].options)


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
