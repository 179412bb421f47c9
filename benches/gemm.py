"""pycnn's blocked SGEMM beside numpy's (its BLAS) on square matrices, in one process, alternating.

    python benches/gemm.py [--threads 2] [--sizes 512,1024,2048] [--repeat 7]

Prints per size the median GFLOP/s (2·n³ / time) of each and its share of the FMA peak measured on the same
threads. numpy's BLAS threads are not pycnn's to set: run with OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS) equal
to --threads for a fair comparison.
"""

from __future__ import annotations

import argparse

import numpy as np

import pycnn
from pycnn import _core

from _common import side_by_side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=pycnn.get_num_threads())
    parser.add_argument("--sizes", default="512,1024,2048")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    pycnn.set_num_threads(args.threads)
    peak = _core.measure_fma_peak(300)
    print(f"pycnn {pycnn.__version__} ({pycnn.isa()}, {args.threads} threads) vs numpy {np.__version__}; "
          f"FMA peak {peak:.0f} GFLOP/s")
    print(f"{'n':>6s} {'pycnn GF/s':>11s} {'% peak':>7s} {'numpy GF/s':>11s} {'% peak':>7s} {'pycnn/numpy':>12s}")
    rng = np.random.default_rng(0)
    for n in map(int, args.sizes.split(",")):
        a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
        out = np.empty((n, n), np.float32)
        t = side_by_side({"pycnn": lambda: _core.gemm(a, b, out), "numpy": lambda: np.matmul(a, b)}, args.repeat)
        gf = {k: 2 * n**3 / v / 1e9 for k, v in t.items()}
        print(f"{n:6d} {gf['pycnn']:11.1f} {gf['pycnn'] / peak:7.0%} {gf['numpy']:11.1f} {gf['numpy'] / peak:7.0%} "
              f"{t['pycnn'] / t['numpy']:12.2f}")


if __name__ == "__main__":
    main()
