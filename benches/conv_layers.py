"""Every conv layer shape of AlexNet, VGG-16, GoogLeNet and ResNet-50: pycnn beside PyTorch, in one process.

    python benches/conv_layers.py [--threads 2] [--batch 1] [--repeat 7] [--net vgg16] [--algorithm auto]

pycnn runs each layer as a model plan does: weights prepared once, with the algorithm conv_algorithm() picks
(or the one --algorithm forces). Prints per layer that algorithm, the median milliseconds, GFLOP/s
(2·MACs / time) and % of the FMA peak measured on the same threads, and pycnn's time as a ratio of torch's.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import pycnn
from pycnn import _core

from _common import ConvLayer, conv_layers, layer_inputs, side_by_side


def layer_supports_winograd(layer: ConvLayer) -> bool:
    return (layer.kernel_h, layer.kernel_w, layer.stride, layer.groups) == (3, 3, 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=pycnn.get_num_threads())
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--net", choices=["alexnet", "vgg16", "googlenet", "resnet50"])
    parser.add_argument("--algorithm", choices=["auto", "gemm", "gemm_transposed", "direct", "winograd"],
                        default="auto",
                        help="winograd applies to 3x3 stride-1 layers only; the others keep the automatic choice")
    args = parser.parse_args()
    pycnn.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    peak = _core.measure_fma_peak(300)
    print(f"pycnn {pycnn.__version__} ({pycnn.isa()}) vs torch {torch.__version__}, {args.threads} threads, "
          f"batch {args.batch}, FMA peak {peak:.0f} GFLOP/s")
    print(f"{'layer':34s} {'shape':>26s} {'algorithm':>9s} {'pycnn ms':>9s} {'torch ms':>9s} {'pycnn GF/s':>10s} "
          f"{'% peak':>6s} {'torch GF/s':>10s} {'ratio':>6s}")
    ratios, total = [], {"pycnn": 0.0, "torch": 0.0}
    for layer in conv_layers(args.net):
        x, w, b = layer_inputs(layer, args.batch)
        tx, tw, tb = map(torch.from_numpy, (x, w, b))
        params = (layer.stride, layer.padding, 1, layer.groups)
        stride, padding = (layer.stride,) * 2, (layer.padding,) * 4
        algorithm = _core.conv_algorithm(x.shape, w.shape, stride, padding, (1, 1), layer.groups)
        if args.algorithm != "auto" and (args.algorithm != "winograd" or layer_supports_winograd(layer)):
            algorithm = args.algorithm
        packed = _core.PackedConv2d(w, layer.groups, algorithm)
        out = np.empty((args.batch, layer.out_channels, *layer.out_hw), np.float32)
        with torch.no_grad():
            t = side_by_side({"pycnn": lambda: _core.conv2d_packed(x, packed, b, out, stride, padding, (1, 1)),
                              "torch": lambda: torch.nn.functional.conv2d(tx, tw, tb, *params)}, args.repeat)
        gflop = 2 * layer.macs(args.batch) / 1e9
        shape = f"{layer.in_channels}x{layer.in_h}x{layer.in_w}>{layer.out_channels} k{layer.kernel_h}s{layer.stride}"
        ratio = t["pycnn"] / t["torch"]
        ratios.append(ratio)
        for k in total:
            total[k] += t[k]
        print(f"{layer.name:34s} {shape:>26s} {algorithm:>9s} {1e3 * t['pycnn']:9.3f} {1e3 * t['torch']:9.3f} "
              f"{gflop / t['pycnn']:10.1f} {gflop / t['pycnn'] / peak:6.0%} {gflop / t['torch']:10.1f} {ratio:6.2f}")
    print(f"{len(ratios)} layers: geometric-mean ratio {np.exp(np.mean(np.log(ratios))):.2f}, "
          f"total {1e3 * total['pycnn']:.1f} ms vs {1e3 * total['torch']:.1f} ms")


if __name__ == "__main__":
    main()
