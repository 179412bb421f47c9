"""Every conv layer shape of AlexNet, VGG-16, GoogLeNet and ResNet-50 on the GPU: pycnn's CUDA kernels beside
torch + cuDNN, in one process, in fp32 and TF32 (and pycnn's bf16).

    python benches/cuda_layers.py [--batch 64] [--repeat 10] [--net resnet50]

pycnn runs each layer as a model plan does (weights uploaded once, in the precision); every call is followed
by a synchronisation. Prints per layer the median ms and TFLOP/s (2·MACs / time) of each, and pycnn's time as a
ratio of torch's in the same precision — where the model-level ratios of cuda_models.py come from.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import pycnn
from pycnn.cuda import _runtime

from _common import conv_layers, layer_inputs, side_by_side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--net", choices=["alexnet", "vgg16", "googlenet", "resnet50"])
    args = parser.parse_args()
    cuda = _runtime.require("benches/cuda_layers.py")
    torch.backends.cudnn.benchmark = True
    print(f"pycnn on {pycnn.cuda.device_name()} vs torch {torch.__version__} (cuDNN {torch.backends.cudnn.version()}),"
          f" batch {args.batch}")
    print(f"{'layer':34s} {'shape':>26s} {'fp32 ms':>8s} {'TF/s':>6s} {'cuDNN':>6s} {'ratio':>6s} {'tf32 ms':>8s} "
          f"{'TF/s':>6s} {'cuDNN':>6s} {'ratio':>6s} {'bf16 ms':>8s} {'TF/s':>6s}")
    ratios: dict[str, list[float]] = {"fp32": [], "tf32": []}
    for layer in conv_layers(args.net):
        x, w, b = layer_inputs(layer, args.batch)
        tx, tw, tb = (torch.from_numpy(a).cuda() for a in (x, w, b))
        dx, db = cuda.to_device(x), cuda.to_device(b)
        out = cuda.empty((args.batch, layer.out_channels, *layer.out_hw))
        stride, padding = (layer.stride,) * 2, (layer.padding,) * 4
        packed = {p: cuda.PackedConv2d(w, layer.groups, p) for p in ("fp32", "tf32", "bf16")}

        def ours(precision: str) -> None:
            cuda.conv2d_packed(dx, packed[precision], db, out, stride, padding, (1, 1))
            cuda.synchronize()

        def theirs(tf32: bool) -> None:
            torch.backends.cudnn.allow_tf32 = tf32
            with torch.no_grad():
                torch.nn.functional.conv2d(tx, tw, tb, layer.stride, layer.padding, 1, layer.groups)
            torch.cuda.synchronize()

        t = side_by_side({"pycnn fp32": lambda: ours("fp32"), "torch fp32": lambda: theirs(False),
                          "pycnn tf32": lambda: ours("tf32"), "torch tf32": lambda: theirs(True),
                          "pycnn bf16": lambda: ours("bf16")}, args.repeat)
        tflop = 2 * layer.macs(args.batch) / 1e12
        shape = f"{layer.in_channels}x{layer.in_h}x{layer.in_w}>{layer.out_channels} k{layer.kernel_h}s{layer.stride}"
        line = f"{layer.name:34s} {shape:>26s}"
        for p in ("fp32", "tf32"):
            ratio = t[f"pycnn {p}"] / t[f"torch {p}"]
            ratios[p].append(ratio)
            line += (f" {1e3 * t[f'pycnn {p}']:8.3f} {tflop / t[f'pycnn {p}']:6.1f} {tflop / t[f'torch {p}']:6.1f} "
                     f"{ratio:6.2f}")
        print(line + f" {1e3 * t['pycnn bf16']:8.3f} {tflop / t['pycnn bf16']:6.1f}", flush=True)
    print(", ".join(f"{p}: geometric-mean ratio {np.exp(np.mean(np.log(r))):.2f}" for p, r in ratios.items()))


if __name__ == "__main__":
    main()
