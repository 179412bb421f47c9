"""Direct convolution: against torch for every ISA on tile edges (one- and two-row tiles, channel blocks past the
last channel), strides, dilation, groups and fused epilogues; on the real layers that take it; NaN and Inf;
the algorithm choice among GEMM, direct and Winograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pycnn import _core

from conftest import assert_close
from reference import normal, torch_ref
from shapes import conv_layers


def packed_conv(x: np.ndarray, packed: _core.PackedConv2d, bias: np.ndarray | None, stride: int,
                padding: tuple[int, int, int, int], dilation: int, relu: bool = False,
                residual: np.ndarray | None = None) -> np.ndarray:
    n, _, h, w = x.shape
    cout, _, kh, kw = packed.shape
    top, bottom, left, right = padding
    oh = (h + top + bottom - dilation * (kh - 1) - 1) // stride + 1
    ow = (w + left + right - dilation * (kw - 1) - 1) // stride + 1
    out = np.full((n, cout, oh, ow), np.nan, np.float32)  # an element the kernel forgets stays NaN
    _core.conv2d_packed(x, packed, bias, out, (stride, stride), padding, (dilation, dilation), relu, residual)
    return out


def torch_conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: int,
               padding: tuple[int, int, int, int], dilation: int, groups: int) -> np.ndarray:
    top, bottom, left, right = padding
    padded = torch.nn.functional.pad(torch.from_numpy(x), (left, right, top, bottom)).numpy()
    return torch_ref(torch.nn.functional.conv2d, padded, weight, bias, stride=stride, dilation=dilation,
                     groups=groups)


# (batch, in, out, height, width, kernel, stride, padding, dilation, groups): output widths from 1 to past
# several tiles, narrow enough for two-row tiles with an odd row count, output channels below, at and past
# the vector and tile widths of every ISA, RGB stems, grouped and depthwise, asymmetric padding.
CASES = [
    (1, 16, 32, 7, 7, 3, 1, (1, 1, 1, 1), 1, 1),
    (2, 8, 40, 13, 9, 3, 2, (1, 1, 1, 1), 1, 1),
    (1, 3, 64, 30, 30, 7, 2, (3, 3, 3, 3), 1, 1),
    (1, 3, 24, 35, 37, 11, 4, (2, 2, 2, 2), 1, 1),
    (2, 6, 6, 10, 10, 3, 1, (1, 1, 1, 1), 2, 3),
    (1, 4, 4, 9, 9, 3, 1, (1, 1, 1, 1), 1, 4),
    (3, 5, 33, 5, 17, 5, 3, (1, 2, 0, 3), 1, 1),
    (1, 20, 17, 1, 1, 3, 1, (1, 1, 1, 1), 1, 1),
    (1, 9, 50, 29, 31, 3, 1, (0, 0, 0, 0), 1, 1),
    (2, 12, 8, 6, 3, 2, 1, (0, 1, 1, 0), 1, 2),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c[:7])))
def test_matches_torch_on_every_isa(isa: str, case: tuple, rng: np.random.Generator) -> None:
    n, cin, cout, h, w, k, stride, padding, dilation, groups = case
    x, weight = normal(rng, (n, cin, h, w)), normal(rng, (cout, cin // groups, k, k))
    bias = normal(rng, (cout,))
    packed = _core.PackedConv2d(weight, groups, "direct")
    assert packed.algorithm == "direct" and packed.isa == isa
    expected = torch_conv(x, weight, bias, stride, padding, dilation, groups)
    assert_close(packed_conv(x, packed, bias, stride, padding, dilation), expected)

    residual = normal(rng, expected.shape)
    fused = packed_conv(x, packed, bias, stride, padding, dilation, relu=True, residual=residual)
    assert_close(fused, np.maximum(expected + residual, 0))
    unbiased = packed_conv(x, packed, None, stride, padding, dilation, relu=True)
    assert_close(unbiased, np.maximum(expected - bias[:, None, None], 0))


def layers_taking(algorithm: str) -> list:
    """The real networks' layers that take `algorithm` at batch 1."""
    return [layer for layer in conv_layers()
            if _core.conv_algorithm((1, layer.in_channels, layer.in_h, layer.in_w),
                                    (layer.out_channels, layer.in_channels // layer.groups, layer.kernel_h,
                                     layer.kernel_w), (layer.stride,) * 2, (layer.padding,) * 4, (1, 1),
                                    layer.groups) == algorithm]


DIRECT_LAYERS = layers_taking("direct")


def test_real_layers_take_it() -> None:
    # The stems, the 5×5 and strided 3×3 layers and the 3×3 layers on 7×7 and 14×14 images at batch 1.
    names = {layer.name for layer in DIRECT_LAYERS}
    assert {"alexnet.features.0", "resnet50.conv1", "googlenet.conv1.conv", "resnet50.layer4.0.conv2"} <= names
    assert len(DIRECT_LAYERS) >= 15


@pytest.mark.parametrize("layer", DIRECT_LAYERS, ids=lambda layer: layer.name)
def test_matches_torch_on_real_layers(layer, rng: np.random.Generator) -> None:
    x = normal(rng, (1, layer.in_channels, layer.in_h, layer.in_w))
    weight = normal(rng, (layer.out_channels, layer.in_channels // layer.groups, layer.kernel_h, layer.kernel_w))
    bias = normal(rng, (layer.out_channels,))
    padding = (layer.padding,) * 4
    out = packed_conv(x, _core.PackedConv2d(weight, layer.groups, "direct"), bias, layer.stride, padding, 1)
    assert_close(out, torch_conv(x, weight, bias, layer.stride, padding, 1, layer.groups))


def check_nan_and_inf_like_torch(algorithm: str, x: np.ndarray, weight: np.ndarray,
                                 padding: tuple[int, int, int, int]) -> None:
    """`algorithm` puts NaN and Inf where torch does, and matches it elsewhere."""
    out = packed_conv(x, _core.PackedConv2d(weight, 1, algorithm), None, 1, padding, 1)
    expected = torch_conv(x, weight, None, 1, padding, 1, 1)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(out), np.isinf(expected))
    finite = np.isfinite(expected)
    assert_close(out[finite], expected[finite])


def test_propagates_nan_and_inf_like_torch(rng: np.random.Generator) -> None:
    x, weight = normal(rng, (1, 16, 9, 9)), normal(rng, (40, 16, 3, 3))
    x[0, 3, 5, 7] = np.nan
    x[0, 5, 0, 0] = np.inf
    check_nan_and_inf_like_torch("direct", x, weight, (1, 1, 1, 1))


def choice(input_shape: tuple[int, ...], weight_shape: tuple[int, ...], stride: int = 1, dilation: int = 1,
           groups: int = 1) -> str:
    return _core.conv_algorithm(input_shape, weight_shape, (stride, stride), (1, 1, 1, 1), (dilation, dilation),
                                groups)


def test_algorithm_choice() -> None:
    assert choice((1, 64, 224, 224), (64, 64, 3, 3)) == "winograd"  # VGG-16 conv1_2
    assert choice((1, 256, 56, 56), (256, 256, 3, 3)) == "winograd"
    assert choice((32, 512, 7, 7), (512, 512, 3, 3)) == "winograd"  # a batch fills Winograd's GEMM panels
    assert choice((1, 512, 7, 7), (512, 512, 3, 3)) == "direct"  # 4 Winograd tiles: padding them costs too much
    # 16 tiles: one panel of the narrow GEMM kernel (AVX-512), 0.49-0.56 of direct's time from 96 to 512 channels
    assert choice((1, 512, 14, 14), (512, 512, 3, 3)) == "winograd"
    assert choice((1, 256, 14, 14), (256, 256, 3, 3)) == "winograd"
    assert choice((1, 32, 14, 14), (128, 32, 3, 3)) == "direct"  # ... but 1.06 with 32 channels in
    assert choice((1, 32, 56, 56), (32, 32, 3, 3)) == "direct"  # few channels: the transforms dominate
    assert choice((1, 3, 224, 224), (64, 3, 7, 7), stride=2) == "direct"  # an RGB stem
    assert choice((8, 3, 224, 224), (64, 3, 7, 7), stride=2) == "direct"
    assert choice((1, 256, 28, 28), (256, 256, 3, 3), stride=2) == "direct"
    assert choice((1, 128, 56, 56), (128, 128, 3, 3), stride=2) == "direct"
    # with a batch too: 0.80-0.98 of the faster GEMM's time on ResNet's stride-2 layers at batch 8
    assert choice((8, 128, 56, 56), (128, 128, 3, 3), stride=2) == "direct"
    assert choice((8, 256, 28, 28), (256, 256, 3, 3), stride=2) == "direct"
    assert choice((8, 512, 14, 14), (512, 512, 3, 3), stride=2) == "direct"
    # ... until its padded copy of the input would pass 256 MB: GEMM's workspace stays bounded
    assert choice((64, 256, 72, 72), (256, 256, 3, 3), stride=2) == "gemm_transposed"
    assert choice((1, 64, 56, 56), (64, 64, 3, 3), dilation=2) == "direct"
    assert choice((1, 64, 56, 56), (64, 32, 3, 3), groups=2) == "direct"
    assert choice((1, 64, 56, 56), (64, 64, 5, 5)) == "direct"
    assert choice((1, 3, 224, 224), (64, 3, 3, 3)) == "direct"  # VGG's first layer: 27 taps, enough
    assert choice((1, 2, 64, 64), (64, 2, 3, 3)) == "gemm"  # 18 taps: the tile's store would dominate
    assert choice((1, 64, 56, 56), (64, 64, 1, 1)) == "gemm"  # 1×1: a GEMM on the input as it lies
    assert choice((1, 64, 56, 56), (64, 1, 3, 3), groups=64) == "gemm"  # depthwise: 9 taps deep


def test_errors() -> None:
    accepted = "'gemm', 'gemm_transposed', 'winograd' or 'direct'"
    with pytest.raises(ValueError, match=f"algorithm must be {accepted}, got 'fft'"):
        _core.PackedConv2d(np.zeros((8, 8, 3, 3), np.float32), 1, "fft")
