"""pycnn's CUDA kernels beside torch + cuDNN on the same GPU, in one process: AlexNet, VGG-16 and GoogLeNet at
batch 64, ResNet-50 at 1 and 64, and a single 3×3 layer, in fp32, TF32 and bf16.

    python benches/cuda_models.py [--repeat 20] [--models alexnet:64,vgg16:64,...] [--json out.json]

Inputs and outputs stay on the device (pycnn takes a DeviceArray viewing torch's input tensor); every call is
followed by a synchronisation, the runners take turns (pycnn.bench's timer) and medians are reported. torch runs
with cudnn.benchmark on: fp32 with TF32 off, TF32 on, and bf16 autocast in channels-last. Ratios are
pycnn ms / torch ms (below 1: pycnn is faster); the target is at most 1.5 at batch 64 in fp32 (pycnn fp32 / cuDNN
fp32) and on the tensor cores (pycnn tf32 / cuDNN TF32).
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import pycnn
from pycnn.bench import alternating_times, medians
from pycnn.bench.peers import torchvision_model

MODELS = "alexnet:64,vgg16:64,googlenet:64,resnet50:1,resnet50:64"
# Reference figures measured on an H200 (torch 2.11 + cuDNN, median ms): fp32, TF32, bf16 channels-last.
ANCHOR_MS = {("alexnet", 64): (2.15, 1.15, 0.80), ("vgg16", 64): (40.4, 14.4, 7.6), ("googlenet", 64): (8.7, 5.3, 4.2),
             ("resnet50", 1): (3.07, 3.35, 3.41), ("resnet50", 64): (19.1, 9.4, 4.8)}
PRECISIONS = ("fp32", "tf32", "bf16")


def synchronized(run: Callable[[], object]) -> Callable[[], None]:
    def call() -> None:
        run()
        torch.cuda.synchronize()

    return call


def torch_runner(model: torch.nn.Module, x: torch.Tensor, precision: str) -> Callable[[], None]:
    """torch in `precision`; for bf16 on a channels-last copy of the model (Module.to converts in place)."""
    model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last) if precision == "bf16" else model
    x_cl = x.contiguous(memory_format=torch.channels_last) if precision == "bf16" else x

    def run() -> None:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = precision != "fp32"
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            model_cl(x_cl)

    return synchronized(run)


def pycnn_runner(model: pycnn.nn.Module, x: Any, precision: str) -> Callable[[], None]:
    def run() -> None:
        with pycnn.cuda.precision(precision):
            model(x)

    return synchronized(run)


def time_pairs(runners: dict[str, Callable[[], None]], repeat: int) -> dict[str, float]:
    for run in runners.values():  # plans, weight uploads, cuDNN's algorithm search
        for _ in range(3):
            run()
    return {name: 1e3 * seconds for name, seconds in medians(alternating_times(runners, repeat)).items()}


def bench_model(name: str, batch: int, repeat: int) -> dict[str, Any]:
    reference = torchvision_model(name).cuda().eval()
    extra = {"transform_input": False} if name == "googlenet" else {}
    model = getattr(pycnn.models, name)(weights=reference.state_dict(), **extra).to("cuda")
    x = torch.randn(batch, 3, 224, 224, device="cuda")
    device_x = pycnn.cuda.to_device(x)  # a view of x
    with torch.no_grad():
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        expected = reference(x).cpu().numpy()
    errors = {}
    for precision in PRECISIONS:
        with pycnn.cuda.precision(precision):
            got = model(device_x).numpy()
        errors[precision] = float(np.abs(got - expected).max() / np.abs(expected).max())
    runners = {f"{side} {p}": (pycnn_runner(model, device_x, p) if side == "pycnn" else torch_runner(reference, x, p))
               for p in PRECISIONS for side in ("pycnn", "torch")}
    ms = time_pairs(runners, repeat)
    return {"model": name, "batch": batch, "ms": ms, "max_rel_error": errors,
            "ratio": {p: ms[f"pycnn {p}"] / ms[f"torch {p}"] for p in PRECISIONS},
            "anchor_ms": dict(zip(PRECISIONS, ANCHOR_MS.get((name, batch), (None,) * 3), strict=True))}


def bench_single_layer(repeat: int) -> dict[str, Any]:
    """The single layer: N=32, 256→256 channels, 28×28, 3×3, padding 1 (cuDNN: 70 TFLOP/s fp32, 215 TF32)."""
    layer = torch.nn.Conv2d(256, 256, 3, padding=1).cuda().eval()
    ours = pycnn.nn.Sequential(pycnn.nn.Conv2d(256, 256, 3, padding=1))
    ours.load_state_dict({"0.weight": layer.weight, "0.bias": layer.bias})
    ours.to("cuda")
    x = torch.randn(32, 256, 28, 28, device="cuda")
    device_x = pycnn.cuda.to_device(x)
    runners = {}
    for p in PRECISIONS:
        runners[f"pycnn {p}"] = pycnn_runner(ours, device_x, p)
        runners[f"torch {p}"] = torch_runner(layer, x, p)
    ms = time_pairs(runners, repeat)
    flop = 2 * 32 * 256 * 28 * 28 * 256 * 9
    return {"ms": ms, "tflops": {k: flop / (v / 1e3) / 1e12 for k, v in ms.items()}}


def print_table(results: list[dict[str, Any]], layer: dict[str, Any]) -> None:
    header = f"{'model':10s} {'batch':>5s}"
    for p in PRECISIONS:
        header += f" {'pycnn ' + p:>11s} {'torch ' + p:>11s} {'ratio':>6s}"
    print(header + f" {'rel err fp32/tf32/bf16':>24s}")
    for r in results:
        line = f"{r['model']:10s} {r['batch']:5d}"
        for p in PRECISIONS:
            line += f" {r['ms']['pycnn ' + p]:11.2f} {r['ms']['torch ' + p]:11.2f} {r['ratio'][p]:6.2f}"
        errors = "/".join(f"{r['max_rel_error'][p]:.1e}" for p in PRECISIONS)
        print(line + f" {errors:>24s}")
    print("ms: median per call, device-resident input and output; ratio = pycnn / torch (target: <= 1.5 at batch 64);"
          " torch bf16 = autocast, channels-last")
    cells = ", ".join(f"{k} {v:.1f}" for k, v in layer["tflops"].items())
    print(f"single layer 32x256x28x28, 3x3, 256 out: TFLOP/s {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=MODELS, help=f"model:batch list (default {MODELS})")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", help="also write every number to this file")
    args = parser.parse_args()
    if not pycnn.cuda.is_available() or not torch.cuda.is_available():
        raise SystemExit(f"needs a CUDA device for pycnn ({pycnn.cuda.status()}) and torch "
                         f"({torch.cuda.is_available()=})")
    torch.backends.cudnn.benchmark = True
    print(f"pycnn {pycnn.__version__} on {pycnn.cuda.device_name()} beside torch {torch.__version__}, cuDNN "
          f"{torch.backends.cudnn.version()}; median of {args.repeat} alternating runs", flush=True)
    results = []
    for item in args.models.split(","):
        name, batch = item.split(":")
        results.append(bench_model(name, int(batch), args.repeat))
        r = results[-1]
        print(f"  {name} batch {batch}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in r["ms"].items()), flush=True)
    layer = bench_single_layer(args.repeat)
    print_table(results, layer)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": pycnn.cuda.device_name(), "torch": torch.__version__, "config": pycnn.config(),
                       "models": results, "single_layer": layer}, f, indent=2, default=str)


if __name__ == "__main__":
    main()
