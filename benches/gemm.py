"""pycnn's blocked SGEMM beside numpy's (its BLAS) on square matrices, in one process, alternating.

    python benches/gemm.py [--threads 2] [--sizes 512,1024,2048,4096] [--repeat 9]

Prints per size the median GFLOP/s (2·n³ / time) of each, its share of the FMA peak and pycnn's time over numpy's.
A shared machine's speed drifts, so the FMA peak is measured again after every round (on the same threads) and the
share is the median over rounds of that round's GFLOP/s over that round's peak; the ratio is likewise the median of
the rounds' ratios. numpy's BLAS threads are not pycnn's to set: run with OPENBLAS_NUM_THREADS (or
OMP_NUM_THREADS) equal to --threads for a fair comparison.
"""

from __future__ import annotations

import argparse
from statistics import median

import numpy as np

import pycnn
from pycnn import _core
from pycnn.bench import alternating_times
from pycnn.bench.timing import wait_until_threads_idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=pycnn.get_num_threads())
    parser.add_argument("--sizes", default="512,1024,2048,4096")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    pycnn.set_num_threads(args.threads)
    print(f"pycnn {pycnn.__version__} ({pycnn.isa()}, {args.threads} threads) vs numpy {np.__version__}; "
          f"FMA peak {_core.measure_fma_peak(300):.0f} GFLOP/s")
    print(f"{'n':>6s} {'pycnn GF/s':>11s} {'% peak':>7s} {'numpy GF/s':>11s} {'% peak':>7s} {'pycnn/numpy':>12s}")
    rng = np.random.default_rng(0)
    for n in map(int, args.sizes.split(",")):
        a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
        out = np.empty((n, n), np.float32)
        peaks: list[float] = []

        def measure_peak(_: int) -> None:
            wait_until_threads_idle()  # the BLAS's threads spin on after its call
            peaks.append(_core.measure_fma_peak(60))

        times = alternating_times({"pycnn": lambda: _core.gemm(a, b, out), "numpy": lambda: np.matmul(a, b)},
                                  args.repeat, after_round=measure_peak)
        gf = {k: [2 * n**3 / t / 1e9 for t in v] for k, v in times.items()}
        share = {k: median(g / p for g, p in zip(v, peaks, strict=True)) for k, v in gf.items()}
        ratio = median(p / q for p, q in zip(times["pycnn"], times["numpy"], strict=True))
        print(f"{n:6d} {median(gf['pycnn']):11.1f} {share['pycnn']:7.0%} {median(gf['numpy']):11.1f} "
              f"{share['numpy']:7.0%} {ratio:12.2f}")


if __name__ == "__main__":
    main()
