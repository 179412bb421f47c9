"""Where a model's time goes in pycnn, step by step of its inference plan (fused layers count as one step).

    python benches/step_times.py resnet50 [--batch 1] [--threads 2] [--repeat 10]

Prints per step the median ms, its share of the total, the convolution algorithm, and GFLOP/s with % of the
FMA peak for the steps that multiply (convolutions and linear layers).
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import pycnn
from pycnn import _core, _zoo
from pycnn.nn.plan import profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=_zoo.MODEL_NAMES)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=pycnn.get_num_threads())
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    pycnn.set_num_threads(args.threads)
    peak = _core.measure_fma_peak(300)
    model = _zoo.build_model(args.model)
    x = np.random.default_rng(0).standard_normal(_zoo.input_shape_for(args.model, args.batch), dtype=np.float32)
    macs = {row.name: row.macs for row in pycnn.summary(model, x.shape).rows}
    convs_and_linears = {name for name, m in model.named_modules() if isinstance(m, (pycnn.nn.Conv2d, pycnn.nn.Linear))}
    os.environ["PYCNN_VERBOSE"] = "0"
    steps = profile(model, x, args.repeat)
    total = sum(s.seconds for s in steps)
    print(f"{args.model}, batch {args.batch}, {pycnn.isa()}, {args.threads} threads: {1e3 * total:.2f} ms in "
          f"{len(steps)} steps; FMA peak {peak:.0f} GFLOP/s; pycnn from {os.path.dirname(pycnn.__file__)}")
    print(f"{'step':58s} {'output':>18s} {'ms':>8s} {'share':>6s} {'GFLOP/s':>8s} {'% peak':>6s}")
    for s in steps:
        step_macs = sum(macs.get(layer, 0) for layer in s.name.split(" + ") if layer in convs_and_linears)
        gflops = 2 * step_macs / 1e9 / s.seconds if step_macs and s.seconds > 0 else None
        rate = f"{gflops:8.1f} {gflops / peak:6.0%}" if gflops else f"{'':8s} {'':6s}"
        print(f"{s.name[:58]:58s} {'x'.join(map(str, s.output_shape)):>18s} {1e3 * s.seconds:8.3f} "
              f"{s.seconds / total:6.1%} {rate}")


if __name__ == "__main__":
    main()
