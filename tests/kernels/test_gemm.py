"""The GEMM driver and micro-kernels through pycnn._core.gemm(a, b, out, isa), against float64 numpy.

Edge tiles (m < MR, n < NR), K blocks (kc) and cache blocks (mc, nc) of every ISA's kernels — the main one, the
few-rows one that products with fewer than MR rows use and the narrow one that products with few columns use — as
_core.gemm_blocking reports them. The output
is a view into a NaN-filled buffer, so an element left unwritten shows as NaN and a write outside the output
shows in the guard regions around it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import pycnn
from pycnn import _core

from reference import AVAILABLE_ISAS, normal, small_ints

pytestmark = pytest.mark.smoke  # in `pytest -m smoke`, the quick subset of every tier

GUARD = 67  # floats of NaN before and after the output


def blocking(isa: str, kernel: str = "gemm") -> dict[str, int]:
    return _core.gemm_blocking(isa)[kernel]


def test_blocking_is_what_the_kernels_need() -> None:
    for isa in AVAILABLE_ISAS:
        main, few, narrow = blocking(isa), blocking(isa, "gemm_few_rows"), blocking(isa, "gemm_narrow")
        assert few["nr"] == main["nr"] and few["mr"] <= main["mr"]  # the same B panels serve both
        assert narrow["mr"] == main["mr"] and narrow["nr"] <= main["nr"]  # ... the same A panels
        assert main["mc"] % main["mr"] == 0 and main["nc"] % main["nr"] == 0
    assert (blocking("generic")["mr"], blocking("generic")["nr"]) == (4, 8)
    if "avx512" in AVAILABLE_ISAS:
        assert (blocking("avx512", "gemm_narrow")["mr"], blocking("avx512", "gemm_narrow")["nr"]) == (14, 16)


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
    # Small integers: every partial sum is exact in float32 (and in float64), so the result must be too.
    a, b = small_ints(rng, (m, k)), small_ints(rng, (k, n))
    got = run_gemm(a, b, isa)
    np.testing.assert_array_equal(got, a.astype(np.float64) @ b.astype(np.float64), err_msg=f"m={m} n={n} k={k}")
    a, b = normal(rng, (m, k)), normal(rng, (k, n))
    got = run_gemm(a, b, isa)
    assert not np.isnan(got).any(), f"unwritten elements, m={m} n={n} k={k}"
    # A sum of k float32 products rounds k times at most, so it lies within γ_k·Σ|a||b| (γ_k ≈ k·2⁻²⁴) of the exact
    # sum whatever the order: a bound for every element, where a scale taken from the outputs may be unluckily
    # small (one output of a long dot product that happens to cancel).
    exact = a.astype(np.float64) @ b.astype(np.float64)
    bound = 1.01 * k * 2.0**-24 * (np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64))
    worst = float(np.max(np.abs(got - exact) - bound, initial=0.0))
    assert worst <= 0, f"an element beyond its rounding bound by {worst:.3g}, m={m} n={n} k={k}"


@pytest.mark.parametrize("k", ["1", "7", "kc-1", "kc", "kc+1", "2kc+9"])
def test_edge_tiles(isa: str, k: str, rng: np.random.Generator) -> None:
    b = blocking(isa)
    depth = {"kc-1": b["kc"] - 1, "kc": b["kc"], "kc+1": b["kc"] + 1, "2kc+9": 2 * b["kc"] + 9}.get(k) or int(k)
    for m, n in itertools.product(edge_sizes(b["mr"]), edge_sizes(b["nr"])):
        check_gemm(m, n, depth, isa, rng)


@pytest.mark.parametrize("k", [1, 300, 1100])
def test_few_rows_kernel_edge_tiles(isa: str, k: int, rng: np.random.Generator) -> None:
    few, main = blocking(isa, "gemm_few_rows"), blocking(isa)
    rows = sorted({1, few["mr"] - 1, few["mr"], few["mr"] + 1, main["mr"] - 1} & set(range(1, main["mr"])))
    for m, n in itertools.product(rows, edge_sizes(few["nr"])):
        check_gemm(m, n, k, isa, rng)


@pytest.mark.parametrize("k", [1, 300, 1100])
def test_narrow_kernel_edge_tiles(isa: str, k: int, rng: np.random.Generator) -> None:
    # Columns that fill the narrow kernel's panels better than the main one's (one panel, or one past a whole number
    # of main panels) go to it: where it is narrower, these are its edge tiles.
    narrow, main = blocking(isa, "gemm_narrow"), blocking(isa)
    columns = sorted({1, narrow["nr"] - 1, narrow["nr"], main["nr"] + 1, main["nr"] + narrow["nr"]})
    for m, n in itertools.product(edge_sizes(main["mr"]), columns):
        check_gemm(m, n, k, isa, rng)


ROWS_AROUND_MC = {"mc-1": lambda mc: mc - 1, "mc+1": lambda mc: mc + 1, "2mc+5": lambda mc: 2 * mc + 5}


@pytest.mark.parametrize("rows", ROWS_AROUND_MC)
@pytest.mark.parametrize("n,k", [("nc+1", "300"), ("nc-3", "2kc")])
def test_cache_blocks(isa: str, rows: str, n: str, k: str, rng: np.random.Generator) -> None:
    b = blocking(isa)
    width = b["nc"] + 1 if n == "nc+1" else b["nc"] - 3
    depth = 2 * b["kc"] if k == "2kc" else int(k)
    check_gemm(ROWS_AROUND_MC[rows](b["mc"]), width, depth, isa, rng)


def test_zero_depth_writes_zeros(isa: str) -> None:
    mr, nr = blocking(isa)["mr"], blocking(isa)["nr"]
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


@pytest.mark.parametrize("threads", [2, 3])
def test_one_large_product_shares_packed_b(isa: str, threads: int, rng: np.random.Generator) -> None:
    # Rows for at least two row blocks per thread: the threads pack B together and share out A's row blocks (which
    # do not divide evenly here), over two column ranges and two K blocks. The same sums as on one thread.
    b = blocking(isa)
    m, n, k = 2 * threads * b["mc"] + b["mr"] + 3, b["nc"] + b["nr"] + 1, b["kc"] + 7
    previous = pycnn.get_num_threads()
    try:
        pycnn.set_num_threads(threads)
        check_gemm(m, n, k, isa, rng)
        a, bm = normal(rng, (m, k)), normal(rng, (k, n))
        shared = run_gemm(a, bm, isa)
        pycnn.set_num_threads(1)
        np.testing.assert_array_equal(shared, run_gemm(a, bm, isa))
    finally:
        pycnn.set_num_threads(previous)
