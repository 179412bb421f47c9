"""Winograd F(4×4, 3×3): against torch on edge tiles and fused epilogues for every ISA, within 1e-3 of the GEMM
convolution on every 3×3 stride-1 layer of VGG-16 and ResNet-50, NaN and ±Inf, and its errors. (The algorithm choice is
tested in test_direct_conv.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pycnn
from pycnn import _core

from conftest import assert_close
from reference import normal, torch_ref
from shapes import conv_layers

WINOGRAD_RTOL = 1e-3  # DESIGN.md: Winograd's tolerance relative to the output scale


def packed_conv(x: np.ndarray, packed: _core.PackedConv2d, bias: np.ndarray | None, padding: tuple[int, ...],
                relu: bool = False, residual: np.ndarray | None = None) -> np.ndarray:
    """The output, NaN-prefilled (an element the transforms skip stays NaN) inside a NaN buffer whose margins must
    come back untouched (the transforms scatter to computed places: none may fall outside the output)."""
    n, _, h, w = x.shape
    top, bottom, left, right = padding
    shape = (n, packed.shape[0], h + top + bottom - 2, w + left + right - 2)
    margin, size = 4096, int(np.prod(shape))
    buffer = np.full(size + 2 * margin, np.nan, np.float32)
    out = buffer[margin:margin + size].reshape(shape)
    _core.conv2d_packed(x, packed, bias, out, (1, 1), padding, (1, 1), relu, residual)
    assert np.isnan(buffer[:margin]).all() and np.isnan(buffer[margin + size:]).all(), "wrote outside the output"
    return out


# (batch, in, out, height, width, padding): output sizes that are and are not multiples of the 4×4 tile, tile
# counts below, at and above one GEMM panel (of the narrow kernel, which takes 1-16 and 33-48 tiles on AVX-512, and
# of the main one), channel counts that are not multiples of any vector width.
CASES = [
    (1, 16, 16, 8, 8, (1, 1, 1, 1)),
    (1, 3, 5, 3, 3, (0, 0, 0, 0)),
    (2, 17, 33, 13, 11, (1, 1, 1, 1)),
    (3, 16, 40, 5, 6, (0, 0, 0, 0)),
    (1, 24, 8, 31, 29, (2, 0, 1, 3)),
    (4, 8, 19, 10, 9, (1, 1, 1, 1)),
    (1, 40, 24, 66, 70, (1, 1, 1, 1)),
    (1, 64, 48, 14, 14, (1, 1, 1, 1)),  # 16 tiles: one panel of AVX-512's narrow GEMM kernel
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[:5])) + f"p{''.join(map(str, c[5]))}")
def test_matches_torch_on_every_isa(isa: str, case: tuple, rng: np.random.Generator) -> None:
    n, cin, cout, h, w, padding = case
    x, weight, bias = normal(rng, (n, cin, h, w)), normal(rng, (cout, cin, 3, 3)), normal(rng, (cout,))
    packed = _core.PackedConv2d(weight, 1, "winograd")
    assert packed.algorithm == "winograd" and packed.isa == isa
    top, bottom, left, right = padding
    padded = torch.nn.functional.pad(torch.from_numpy(x), (left, right, top, bottom))
    expected = torch_ref(torch.nn.functional.conv2d, padded.numpy(), weight, bias)
    assert_close(packed_conv(x, packed, bias, padding), expected, WINOGRAD_RTOL)

    residual = normal(rng, expected.shape)
    fused = packed_conv(x, packed, bias, padding, relu=True, residual=residual)
    assert_close(fused, np.maximum(expected + residual, 0), WINOGRAD_RTOL)
    assert_close(packed_conv(x, packed, None, padding, relu=True), np.maximum(expected - bias[:, None, None], 0),
                 WINOGRAD_RTOL)


TILE = 4  # a Winograd tile: 4×4 outputs computed together from one 6×6 patch of the padded input


def tiles_reading(special: np.ndarray, out_shape: tuple[int, ...], padding: tuple[int, ...]) -> np.ndarray:
    """The outputs (of every output channel) in the tiles whose input patch holds a True of `special`."""
    top, _, left, _ = padding
    reach = np.zeros((out_shape[0], *out_shape[2:]), bool)
    for n, _, row, col in zip(*np.nonzero(special), strict=True):
        for t in range(0, out_shape[2], TILE):
            for u in range(0, out_shape[3], TILE):
                if t <= row + top < t + TILE + 2 and u <= col + left < u + TILE + 2:
                    reach[n, t:t + TILE, u:u + TILE] = True
    return np.broadcast_to(reach[:, None], out_shape)


def test_propagates_nan_and_inf_like_torch(isa: str, rng: np.random.Generator) -> None:
    """NaN, +Inf and -Inf in separate tiles: every output that torch makes NaN or ±Inf is NaN or that Inf, and
    the NaN/Inf reach no further than the 4×4 tiles whose input patch holds one (a transform-domain algorithm
    spreads them within a tile, and may turn Inf into NaN); every other output is finite and accurate."""
    x, weight = normal(rng, (2, 16, 13, 14)), normal(rng, (16, 16, 3, 3))
    x[0, 3, 5, 7], x[0, 1, 0, 12], x[0, 9, 11, 2], x[1, 4, 6, 1] = np.nan, np.inf, -np.inf, np.inf
    padding = (1, 1, 1, 1)
    out = packed_conv(x, _core.PackedConv2d(weight, 1, "winograd"), None, padding)
    expected = torch_ref(torch.nn.functional.conv2d, x, weight, padding=1)
    assert np.isnan(expected).any() and np.isposinf(expected).any() and np.isneginf(expected).any()
    special = ~np.isfinite(expected)
    assert (np.isnan(out) | (out == expected))[special].all(), "a NaN or Inf of torch's is missing"
    reach = tiles_reading(~np.isfinite(x), out.shape, padding)
    assert np.isfinite(out[~reach]).all(), "NaN or Inf outside the tiles that read one"
    assert reach.sum() < out.size // 2
    assert_close(out[~reach], expected[~reach], WINOGRAD_RTOL)


WINOGRAD_LAYERS = [layer for net in ("vgg16", "resnet50") for layer in conv_layers(net)
                   if (layer.kernel_h, layer.kernel_w, layer.stride, layer.groups) == (3, 3, 1, 1)]


@pytest.mark.parametrize("layer", WINOGRAD_LAYERS, ids=lambda layer: layer.name)
def test_within_tolerance_of_gemm_convolution_on_real_layers(layer, rng: np.random.Generator) -> None:
    x = normal(rng, (1, layer.in_channels, layer.in_h, layer.in_w))
    weight = normal(rng, (layer.out_channels, layer.in_channels, 3, 3)) / np.float32(3 * layer.in_channels ** 0.5)
    bias = normal(rng, (layer.out_channels,))
    padding = (layer.padding,) * 4
    gemm = packed_conv(x, _core.PackedConv2d(weight, 1, "gemm"), bias, padding)
    winograd = packed_conv(x, _core.PackedConv2d(weight, 1, "winograd"), bias, padding)
    assert_close(winograd, gemm, WINOGRAD_RTOL)


def test_models_use_it_and_say_so(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PYCNN_VERBOSE", "1")
    model = pycnn.models.vgg11(num_classes=10).eval()
    model(np.zeros((1, 3, 64, 64), np.float32))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "pycnn: features.0: conv 1x3x64x64 3->64 3x3 stride 1x1 -> direct"
    assert "pycnn: features.3: conv 1x64x32x32 64->128 3x3 stride 1x1 -> winograd" in lines
    assert len([line for line in lines if "-> " in line]) == 8  # one line per convolution


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"algorithm='winograd' needs 3x3 weights and groups=1, got weight of shape "
                                         r"\(8, 8, 5, 5\)"):
        _core.PackedConv2d(np.zeros((8, 8, 5, 5), np.float32), 1, "winograd")
    with pytest.raises(ValueError, match="groups=2"):
        _core.PackedConv2d(np.zeros((8, 4, 3, 3), np.float32), 2, "winograd")
    packed = _core.PackedConv2d(np.zeros((8, 8, 3, 3), np.float32), 1, "winograd")
    x, out = np.zeros((1, 8, 9, 9), np.float32), np.zeros((1, 8, 4, 4), np.float32)
    with pytest.raises(ValueError, match="stride 1 and dilation 1"):
        _core.conv2d_packed(x, packed, None, out, (2, 2), (0, 0, 0, 0), (1, 1))
