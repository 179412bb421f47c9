"""bf16 products: the GEMM, convolutions and linear layers, each bf16 path of this CPU forced in turn.

Every ISA level has one: 'emulated' (vdpbf16ps's arithmetic in float32 FMAs: generic, avx2, avx512), 'avx512_bf16'
(vdpbf16ps) and 'amx' (tdpbf16ps). Each is checked against float64 products of the same operands rounded to bf16 by
torch (tight: only float32 summation differs), against float32 torch (loose: the operands' rounding), and on small
integers, which bf16 holds exactly and whose sums float32 holds exactly (exact).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pycnn
import pycnn.functional as F
from pycnn import _core

from conftest import ISA_LADDER, cpu_has
from reference import isa_cap, normal, small_ints

pytestmark = pytest.mark.smoke

PATHS = {"generic": "emulated", "avx2": "emulated", "avx512": "emulated", "avx512_bf16": "avx512_bf16", "amx": "amx"}
GUARD = 67


@pytest.fixture(params=list(PATHS))
def level(request: pytest.FixtureRequest) -> Iterator[str]:
    name: str = request.param
    if name not in ISA_LADDER or not cpu_has(name):
        pytest.skip(f"this CPU cannot run {name} kernels (best: {_core.cpu_isa()})")
    with isa_cap(name):
        yield name


def rounded(x: np.ndarray) -> np.ndarray:
    """x rounded to bf16 (to nearest even) by torch, as float64."""
    return torch.from_numpy(x).to(torch.bfloat16).to(torch.float64).numpy()


def summation_bound(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """What float32 sums of k exact products may be off by: k·2^-23 · Σ|a||b|, per element (twice the classic
    bound, for the kernels' partial sums per K block)."""
    k = a.shape[1]
    return k * 2.0**-23 * (np.abs(rounded(a)) @ np.abs(rounded(b)))


def run_gemm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C = A·B in bf16 into a NaN-filled view; checks the guards around it stayed NaN."""
    m, n = a.shape[0], b.shape[1]
    buffer = np.full(m * n + 2 * GUARD, np.nan, np.float32)
    out = buffer[GUARD:GUARD + m * n].reshape(m, n)
    _core.gemm(a, b, out, "", "bf16")
    assert np.isnan(buffer[:GUARD]).all() and np.isnan(buffer[GUARD + m * n:]).all(), "wrote outside the output"
    return out


def test_each_level_names_its_bf16_path(level: str) -> None:
    assert _core.bf16_path() == PATHS[level]
    assert pycnn.config()["bf16_path"] == PATHS[level]


def gemm_sizes(level: str) -> list[tuple[int, int, int]]:
    """Edge tiles of the main and few-rows kernels, depths around a K block and around AMX's 32-value chunks."""
    main, few = _core.gemm_blocking(level)["bf16_gemm"], _core.gemm_blocking(level)["bf16_gemm_few_rows"]
    mr, nr, kc = main["mr"], main["nr"], main["kc"]
    return [(1, 1, 1), (few["mr"] - 1, nr + 1, 3), (mr, nr, 32), (mr + 1, nr - 1, 33), (2 * mr + 3, 3 * nr + 5, 31),
            (3, 2 * nr, 2 * kc + 17), (mr - 1, 7, 2 * kc), (main["mc"] + mr + 5, nr + 3, 65)]


def test_gemm_matches_float64_products_of_rounded_operands(level: str) -> None:
    rng = np.random.default_rng(3)
    for m, n, k in gemm_sizes(level):
        a, b = normal(rng, (m, k)), normal(rng, (k, n))
        got = run_gemm(a, b)
        exact = rounded(a) @ rounded(b)
        err = np.abs(got - exact)
        assert (err <= summation_bound(a, b)).all(), (m, n, k, float(err.max()))
        # and far from float32 torch only by the operands' rounding (2^-9 relative each)
        scale = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
        assert (np.abs(got - a.astype(np.float64) @ b) <= 2.0**-7 * scale + 1e-6).all(), (m, n, k)


def test_gemm_is_exact_on_small_integers(level: str) -> None:
    rng = np.random.default_rng(4)
    for m, n, k in gemm_sizes(level):
        a, b = small_ints(rng, (m, k), 8), small_ints(rng, (k, n), 8)
        np.testing.assert_array_equal(run_gemm(a, b), a.astype(np.float64) @ b, err_msg=str((m, n, k)))


def test_bf16_rounds_to_nearest_even_as_torch(level: str) -> None:
    # 1 + 2^-8 lies halfway between bf16's 1 and 1 + 2^-7: it rounds to the even one, 1; 1 + 3·2^-8 to 1 + 2^-6.
    a = np.array([[1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), 3.0e38, 1.1754944e-38]], np.float32)
    eye = np.eye(5, dtype=np.float32)
    got = run_gemm(a, eye)
    np.testing.assert_array_equal(got, rounded(a).astype(np.float32))


CONV_CASES = {  # (input shape, weight shape, options): each GEMM form and the shapes they cut into tiles
    "3x3 pad1": ((2, 16, 13, 11), (24, 16, 3, 3), {"padding": 1}),
    "1x1 read in place": ((1, 40, 9, 9), (33, 40, 1, 1), {}),
    "7x7 stride 2 on RGB": ((1, 3, 29, 29), (20, 3, 7, 7), {"stride": 2, "padding": 3}),
    "small image, many channels": ((1, 96, 4, 4), (70, 96, 3, 3), {"padding": 1}),
    "grouped, dilated, bias": ((2, 12, 10, 10), (18, 4, 3, 3), {"groups": 3, "dilation": 2, "bias": True}),
}


def torch_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, options: dict[str, int]) -> np.ndarray:
    """The convolution of the bf16-rounded operands in float64 by torch."""
    bias = None if b is None else torch.from_numpy(b.astype(np.float64))
    return TF.conv2d(torch.from_numpy(rounded(x)), torch.from_numpy(rounded(w)), bias, **options).numpy()


@pytest.mark.parametrize("name", CONV_CASES)
def test_conv2d_in_bf16_matches_torch(level: str, name: str) -> None:
    shape, wshape, options = CONV_CASES[name]
    options = dict(options)
    rng = np.random.default_rng(5)
    x, w = normal(rng, shape), normal(rng, wshape)
    b = normal(rng, (wshape[0],)) if options.pop("bias", False) else None
    expected = torch_reference(x, w, b, options)
    scale = float(np.abs(expected).max())
    depth = wshape[1] * wshape[2] * wshape[3]
    with pycnn.precision("bf16"):
        got = F.conv2d(x, w, b, **options)
    assert np.abs(got - expected).max() <= depth * 2.0**-23 * scale, name
    fp32 = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b),
                     **options).numpy()
    assert np.abs(got - fp32).max() <= 2e-2 * scale, name  # the operands' rounding, nothing more
    assert not np.array_equal(got, F.conv2d(x, w, b, **options)), "fp32 again outside the block"


@pytest.mark.parametrize("rows", [1, 3, 16, 40])
def test_linear_in_bf16_matches_torch(level: str, rows: int) -> None:
    rng = np.random.default_rng(6)
    x, w, b = normal(rng, (rows, 301)), normal(rng, (70, 301)), normal(rng, (70,))
    expected = TF.linear(torch.from_numpy(rounded(x)), torch.from_numpy(rounded(w)),
                         torch.from_numpy(b.astype(np.float64))).numpy()
    with pycnn.precision("bf16"):
        got = F.linear(x, w, b)
    assert np.abs(got - expected).max() <= 301 * 2.0**-23 * float(np.abs(expected).max())


def test_packed_weights_carry_their_precision(level: str) -> None:
    rng = np.random.default_rng(7)
    w = normal(rng, (8, 5, 3, 3))
    packed = _core.PackedConv2d(w, 1, "gemm", "bf16")
    assert packed.precision == "bf16" and packed.isa == level
    assert _core.PackedLinear(normal(rng, (4, 6)), "bf16").precision == "bf16"
    with pytest.raises(ValueError, match="precision='bf16' takes algorithm='gemm' or 'gemm_transposed', got 'direct'"):
        _core.PackedConv2d(w, 1, "direct", "bf16")
    with pytest.raises(ValueError, match="precision must be 'fp32' or 'bf16', got 'fp16'"):
        _core.PackedLinear(normal(rng, (4, 6)), "fp16")
    shape = ((1, 5, 64, 64), (8, 5, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1)
    assert _core.conv_algorithm(*shape, "bf16") in ("gemm", "gemm_transposed")
