"""The transposed GEMM convolution (output positions as the GEMM's rows, channels as its columns, C stored channel
by channel): against torch on every ISA — positions below, at and past the row tile (the few-rows kernel too),
channels past the column panel, depths across K blocks, batches, groups, strides and 3×3 windows, fused
epilogues —, bitwise equal to the plain GEMM, on the real layers that take it, and the algorithm choice."""

from __future__ import annotations

import numpy as np
import pytest
from test_direct_conv import check_nan_and_inf_like_torch, choice, layers_taking, packed_conv, torch_conv

from pycnn import _core

from conftest import assert_close
from reference import normal

# (batch, in, out, height, width, kernel, stride, padding, groups)
CASES = [
    (1, 64, 96, 7, 7, 1, 1, 0, 1),  # 49 positions: a partial last row tile; 3 column panels of AVX-512
    (1, 600, 33, 3, 5, 1, 1, 0, 1),  # 15 positions, one past AVX-512's MR; 600 deep: two K blocks
    (1, 40, 17, 1, 3, 1, 1, 0, 1),  # 3 positions: the few-rows kernel
    (1, 8, 5, 4, 4, 1, 1, 0, 1),  # 16 positions, 5 channels
    (2, 24, 70, 14, 14, 1, 2, 0, 1),  # a strided 1×1 (im2col), a batch
    (1, 64, 50, 6, 6, 3, 1, 1, 1),  # 3×3, 576 deep
    (2, 16, 24, 9, 9, 3, 1, 1, 2),  # groups
    (3, 300, 40, 13, 13, 3, 2, 1, 1),  # 2700 deep, 49 positions per image
]


def check(case: tuple, rng: np.random.Generator) -> None:
    n, cin, cout, h, w, k, stride, pad, groups = case
    padding = (pad,) * 4
    x, weight = normal(rng, (n, cin, h, w)), normal(rng, (cout, cin // groups, k, k))
    bias = normal(rng, (cout,))
    packed = _core.PackedConv2d(weight, groups, "gemm_transposed")
    plain = _core.PackedConv2d(weight, groups, "gemm")
    assert packed.algorithm == "gemm_transposed"
    expected = torch_conv(x, weight, bias, stride, padding, 1, groups)
    out = packed_conv(x, packed, bias, stride, padding, 1)
    assert_close(out, expected)
    np.testing.assert_array_equal(out, packed_conv(x, plain, bias, stride, padding, 1))

    residual = normal(rng, expected.shape)
    fused = packed_conv(x, packed, bias, stride, padding, 1, relu=True, residual=residual)
    assert_close(fused, np.maximum(expected + residual, 0))
    np.testing.assert_array_equal(fused, packed_conv(x, plain, bias, stride, padding, 1, relu=True,
                                                     residual=residual))
    unbiased = packed_conv(x, packed, None, stride, padding, 1, relu=True)
    assert_close(unbiased, np.maximum(expected - bias[:, None, None], 0))


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_matches_torch_and_gemm_on_every_isa(isa: str, case: tuple, rng: np.random.Generator) -> None:
    check(case, rng)


TRANSPOSED_LAYERS = layers_taking("gemm_transposed")


def test_real_layers_take_it() -> None:
    # 1×1 layers on 7×7 and 14×14 images, and those with 32 to 144 output channels on 28×28.
    names = {layer.name for layer in TRANSPOSED_LAYERS}
    assert {"resnet50.layer4.1.conv1", "resnet50.layer4.0.conv3", "resnet50.layer3.1.conv1",
            "resnet50.layer3.0.downsample.0", "googlenet.inception5a.branch1.conv",
            "googlenet.inception3a.branch4.1.conv"} <= names
    assert all(layer.kernel_h == 1 for layer in TRANSPOSED_LAYERS)


@pytest.mark.parametrize("layer", TRANSPOSED_LAYERS, ids=lambda layer: layer.name)
def test_matches_torch_on_real_layers(layer, rng: np.random.Generator) -> None:
    check((1, layer.in_channels, layer.out_channels, layer.in_h, layer.in_w, layer.kernel_h, layer.stride,
           layer.padding, layer.groups), rng)


def test_propagates_nan_and_inf_like_torch(rng: np.random.Generator) -> None:
    x, weight = normal(rng, (1, 64, 7, 7)), normal(rng, (40, 64, 1, 1))
    x[0, 3, 5, 6] = np.nan
    x[0, 5, 0, 0] = np.inf
    check_nan_and_inf_like_torch("gemm_transposed", x, weight, (0, 0, 0, 0))


def pointwise(input_shape: tuple[int, ...], out_channels: int, stride: int = 1) -> str:
    return _core.conv_algorithm(input_shape, (out_channels, input_shape[1], 1, 1), (stride, stride), (0, 0, 0, 0),
                                (1, 1), 1)


def test_algorithm_choice() -> None:
    assert pointwise((1, 2048, 7, 7), 512) == "gemm_transposed"  # 49 of 56 rows against 49 of 64 columns
    assert pointwise((8, 1024, 14, 14), 256) == "gemm_transposed"  # 196 positions: 14 whole row tiles
    assert pointwise((1, 512, 28, 28), 1024, stride=2) == "gemm_transposed"
    assert pointwise((1, 512, 28, 28), 128) == "gemm_transposed"  # 128 channels: 128 of 140 rows
    assert pointwise((1, 192, 28, 28), 32) == "gemm_transposed"  # 32 of 42
    assert pointwise((1, 256, 56, 56), 64) == "gemm_transposed"  # 64 of 70 rows
    assert pointwise((1, 64, 56, 56), 256) == "gemm"  # 64 deep: the transposing store would outweigh the padding
    assert pointwise((1, 128, 28, 28), 512) == "gemm"
    assert pointwise((1, 256, 28, 28), 224) == "gemm"  # both fit alike
    assert choice((1, 512, 7, 7), (512, 512, 3, 3)) == "direct"  # direct convolution is transposed already
    # im2col + GEMM only where direct convolution's padded input would pass its cap: transposed for 36×36 outputs
    assert choice((64, 256, 72, 72), (256, 256, 3, 3), stride=2) == "gemm_transposed"
