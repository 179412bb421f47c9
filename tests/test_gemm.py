"""The GEMM driver and micro-kernels through pycnn._core.gemm(a, b, out, isa), against float64 numpy.

Edge tiles (m < MR, n < NR), K blocks (256) and cache blocks (mc, nc) of every ISA's kernel. The output is
a view into a NaN-filled buffer, so an element left unwritten shows as NaN and a write outside the
output shows in the guard regions around it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pycnn import _core

from conftest import assert_close
from reference import AVAILABLE_ISAS, normal, small_ints

TILE = {"generic": (4, 8), "avx2": (6, 16), "avx512": (14, 32)}  # (MR, NR)
MC = {"generic": 64, "avx2": 72, "avx512": 140}
NC, KC = 512, 256
GUARD = 67  # floats of NaN before and after the output


def edge_sizes(tile: int) -> list[int]:
    return [1, tile - 1, tile, tile + 1, 2 * tile + 3]


def run_gemm(a: np.ndarray, b: np.ndarray, isa: str) -> np.ndarray:
    """C = A·B by `isa`'s kernel into a NaN-filled view; checks the guards around it stayed NaN."""
    m, n = a.shape[0], b.shape[1]
    buffer = np.full(m * n + 2 * GUARD, np.nan, np.float32)
    out = buffer[GUARD:GUARD + m * n].reshape(m, n)
    assert out.flags.c_contiguous and not out.flags.owndata
    _core.gemm(a, b, out, isa)
    assert np.isnan(buffer[:GUARD]).all() and np.isnan(buffer[GUARD + m * n:]).all(), "wrote outside the output"
    return out


def check_gemm(m: int, n: int, k: int, isa: str, rng: np.random.Generator) -> None:
    # Small integers: every partial sum is exact in float32, so the result must be too.
    a, b = small_ints(rng, (m, k)), small_ints(rng, (k, n))
    got = run_gemm(a, b, isa)
    np.testing.assert_array_equal(got, a.astype(np.int64) @ b.astype(np.int64), err_msg=f"m={m} n={n} k={k}")
    a, b = normal(rng, (m, k)), normal(rng, (k, n))
    got = run_gemm(a, b, isa)
    assert not np.isnan(got).any(), f"unwritten elements, m={m} n={n} k={k}"
    assert_close(got, a.astype(np.float64) @ b.astype(np.float64))


@pytest.mark.parametrize("k", [1, 7, KC - 1, KC, KC + 1, 600])
def test_edge_tiles(isa: str, k: int, rng: np.random.Generator) -> None:
    mr, nr = TILE[isa]
    for m, n in itertools.product(edge_sizes(mr), edge_sizes(nr)):
        check_gemm(m, n, k, isa, rng)


ROWS_AROUND_MC = {"mc-1": lambda mc: mc - 1, "mc+1": lambda mc: mc + 1, "2mc+5": lambda mc: 2 * mc + 5}


@pytest.mark.parametrize("rows", ROWS_AROUND_MC)
@pytest.mark.parametrize("n,k", [(NC + 1, 300), (2 * NC + 19, 513), (NC - 3, 2 * KC)])
def test_cache_blocks(isa: str, rows: str, n: int, k: int, rng: np.random.Generator) -> None:
    check_gemm(ROWS_AROUND_MC[rows](MC[isa]), n, k, isa, rng)


def test_zero_depth_writes_zeros(isa: str) -> None:
    mr, nr = TILE[isa]
    got = run_gemm(np.zeros((mr + 1, 0), np.float32), np.zeros((0, nr + 3), np.float32), isa)
    np.testing.assert_array_equal(got, np.zeros((mr + 1, nr + 3), np.float32))


@pytest.mark.parametrize("m,n", [(0, 5), (5, 0), (0, 0)])
def test_empty_output(isa: str, m: int, n: int) -> None:
    assert run_gemm(np.ones((m, 9), np.float32), np.ones((9, n), np.float32), isa).shape == (m, n)


def test_default_isa_is_the_active_one(rng: np.random.Generator) -> None:
    a, b = normal(rng, (37, 300)), normal(rng, (300, 45))
    explicit = run_gemm(a, b, _core.isa())
    default = np.full((37, 45), np.nan, np.float32)
    _core.gemm(a, b, default)
    np.testing.assert_array_equal(default, explicit)


def test_every_isa_gives_the_same_answer(rng: np.random.Generator) -> None:
    a, b = small_ints(rng, (2 * 14 + 3, 601)), small_ints(rng, (601, 3 * 32 + 5))
    results = [run_gemm(a, b, isa) for isa in AVAILABLE_ISAS]
    for got in results[1:]:
        np.testing.assert_array_equal(got, results[0])
