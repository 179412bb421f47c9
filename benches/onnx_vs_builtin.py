"""ONNX-loaded against built-in: the same torchvision network (seeded random weights, randomised BatchNorm
statistics), once exported by torch.onnx and read by pycnn.onnx.load, once built by pycnn.models from the state
dict, timed in alternation in one process.

    PYTHONPATH=. python benches/onnx_vs_builtin.py [--models resnet50,googlenet] [--batch 1] [--repeat 30]
                                                   [--json out.json]

Both compile into a fused plan; an ONNX ResNet-50 should take at most 1.03× the built-in one's time (the paired
ratio: the median over rounds of onnx / built-in in the same round).
"""

from __future__ import annotations

import argparse
import io
import json
import warnings

import numpy as np
import torch

import pycnn
import pycnn.onnx
from pycnn.bench import alternating_times, medians
from pycnn.bench.machine import cpu_model
from pycnn.bench.peers import torchvision_model
from pycnn.bench.timing import paired_ratio


def exported(model: torch.nn.Module) -> bytes:
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), f, dynamo=False, opset_version=17,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    return f.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="resnet50,googlenet")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json")
    args = parser.parse_args()
    results = {"cpu": cpu_model(), "threads": pycnn.get_num_threads(), "batch": args.batch, "models": {}}
    for name in args.models.split(","):
        reference = torchvision_model(name)
        extra = {"transform_input": False, "aux_logits": False} if name == "googlenet" else {}
        built_in = getattr(pycnn.models, name)(weights=reference.state_dict(), **extra)
        loaded = pycnn.onnx.load(exported(reference))
        x = np.random.default_rng(0).standard_normal((args.batch, 3, 224, 224), dtype=np.float32)
        error = float(np.abs(loaded(x) - built_in(x)).max() / np.abs(built_in(x)).max())
        times = alternating_times({"built-in": lambda: built_in(x), "onnx": lambda: loaded(x)}, args.repeat)
        ms = {k: 1e3 * v for k, v in medians(times).items()}
        ratio = paired_ratio(times["onnx"], times["built-in"])
        results["models"][name] = {"built_in_ms": ms["built-in"], "onnx_ms": ms["onnx"], "onnx_over_built_in": ratio,
                                   "max_rel_difference": error}
        print(f"{name}: built-in {ms['built-in']:.2f} ms, onnx {ms['onnx']:.2f} ms, onnx/built-in {ratio:.3f} "
              f"(paired median), outputs differ by {error:.1e} relative")
    print(f"CPU: {results['cpu']}, {results['threads']} threads, batch {args.batch}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
