"""The classic networks end to end: pycnn beside PyTorch and ONNX Runtime (OpenVINO when installed).

    python benches/models.py [--models alexnet,resnet50] [--batch 1] [--threads 2] [--repeat 10]

Same torchvision architecture and weights in every runtime (random weights, non-trivial BatchNorm
statistics), timed alternately in one process. Prints median ms, pycnn's ratio to each peer, GFLOP/s,
the first-call cost (tracing, packing) and pycnn's max error relative to torch's logits.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time

import numpy as np
import torch
import torchvision

import pycnn
from _common import side_by_side

DEFAULT_MODELS = ["alexnet", "vgg16", "googlenet", "resnet18", "resnet50"]


def torchvision_model(name: str) -> torch.nn.Module:
    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    model = getattr(torchvision.models, name)(**kwargs).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.num_features, generator=gen) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    return model


def onnx_session(model: torch.nn.Module, x: torch.Tensor, threads: int, workdir: str):
    import onnxruntime as ort

    path = os.path.join(workdir, "model.onnx")
    torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["y"], dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return path, lambda a: session.run(None, {"x": a})[0]


def openvino_runner(path: str, threads: int):
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": threads})
    return lambda a: compiled(a)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=pycnn.get_num_threads())
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    pycnn.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    have_ort = importlib.util.find_spec("onnxruntime") is not None
    have_ov = importlib.util.find_spec("openvino") is not None
    print(f"pycnn {pycnn.__version__} ({pycnn.isa()}), torch {torch.__version__}, batch {args.batch}, "
          f"{args.threads} threads, median of {args.repeat}")
    peers = ["torch"] + (["onnxruntime"] if have_ort else []) + (["openvino"] if have_ov else [])
    header = f"{'model':10s} {'pycnn ms':>9s} " + " ".join(f"{p + ' ms':>14s}" for p in peers)
    header += " " + " ".join(f"{'÷' + p:>12s}" for p in peers) + f" {'GFLOP/s':>8s} {'1st call s':>10s} {'rel err':>8s}"
    print(header)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as workdir, torch.no_grad():
        for name in args.models.split(","):
            reference = torchvision_model(name)
            kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
            model = getattr(pycnn.models, name)(weights=reference.state_dict(), **kwargs)
            x = rng.standard_normal((args.batch, 3, 224, 224), dtype=np.float32)
            tx = torch.from_numpy(x)
            start = time.perf_counter()
            y = model(x)
            first_call = time.perf_counter() - start
            expected = reference(tx).numpy()
            error = float(np.abs(y - expected).max() / np.abs(expected).max())
            runners = {"pycnn": lambda: model(x), "torch": lambda: reference(tx)}
            if have_ort:
                path, ort_run = onnx_session(reference, tx, args.threads, workdir)
                runners["onnxruntime"] = lambda: ort_run(x)
                if have_ov:
                    ov_run = openvino_runner(path, args.threads)
                    runners["openvino"] = lambda: ov_run(x)
            t = side_by_side(runners, args.repeat)
            macs = pycnn.summary(model, x.shape).macs
            line = f"{name:10s} {1e3 * t['pycnn']:9.2f} " + " ".join(f"{1e3 * t[p]:14.2f}" for p in peers)
            line += " " + " ".join(f"{t['pycnn'] / t[p]:12.2f}" for p in peers)
            line += f" {2 * macs / t['pycnn'] / 1e9:8.1f} {first_call:10.2f} {error:8.1e}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
