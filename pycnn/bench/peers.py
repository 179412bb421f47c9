"""The runtimes pycnn is compared with, each used only when importable: PyTorch (torchvision's models, also the
source of the shared random weights), ONNX Runtime and OpenVINO (running the ONNX file that torch exports)."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

PEER_NAMES: tuple[str, ...] = ("torch", "onnxruntime", "openvino")

# pycnn models that torchvision also builds (alexnet_original is the paper's two-GPU network, not in torchvision).
TORCHVISION_MODELS = frozenset({"alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
                                "vgg19_bn", "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"})

# What each peer needs importable: the ONNX runtimes run the file torch.onnx exports from torchvision's model.
_REQUIRES = {"torch": ("torch", "torchvision"), "onnxruntime": ("torch", "torchvision", "onnx", "onnxruntime"),
             "openvino": ("torch", "torchvision", "onnx", "openvino")}

Runner = Callable[[np.ndarray], np.ndarray]

# The precision each peer computes in follows pycnn's. In fp32 every peer runs float32; OpenVINO is pinned to it
# (INFERENCE_PRECISION_HINT), since its default on CPUs with AVX512-BF16 or AMX is bf16. In bf16 on the CPU, torch
# runs under torch.autocast("cpu", dtype=torch.bfloat16) and OpenVINO with its default precision, which is bf16 where
# the CPU has bf16 arithmetic (and is labelled with what it is); ONNX Runtime has no bf16 CPU kernels.
OPENVINO_CONFIG_PRECISION = "f32"
PINNED = {"openvino": f"INFERENCE_PRECISION_HINT={OPENVINO_CONFIG_PRECISION}"}  # how fp32 is enforced
CPU_BF16_PEERS: tuple[str, ...] = ("torch", "openvino")


def peer_precision(name: str, device: str = "cpu", precision: str = "fp32") -> str:
    """The precision `name` runs in beside pycnn computing in `precision`: the same, except OpenVINO's default in
    bf16 on the CPU, whatever it is there. ValueError for a peer that cannot compute in it."""
    if name not in PEER_NAMES:
        raise ValueError(f"unknown peer {name!r}; peers: {', '.join(PEER_NAMES)}")
    if device != "cpu" or precision == "fp32":
        return precision
    if precision != "bf16" or name not in CPU_BF16_PEERS:
        raise ValueError(f"{name} has no {precision} CPU path to compare with; peers in {precision}: "
                         f"{', '.join(CPU_BF16_PEERS) if precision == 'bf16' else 'none'}")
    return openvino_default_precision() if name == "openvino" else precision


def openvino_default_precision() -> str:
    """What OpenVINO's CPU plugin multiplies in when given no precision hint: 'bf16' where the CPU has bf16
    arithmetic, else 'fp32'."""
    import openvino as ov

    name: str = ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").to_string()  # 'f32', 'bf16' or 'f16'
    return {"f32": "fp32", "bf16": "bf16", "f16": "fp16"}.get(name, name)


def peer_available(name: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in _REQUIRES[name])


def available_peers() -> list[str]:
    """The peers importable in this environment, in PEER_NAMES order."""
    return [name for name in PEER_NAMES if peer_available(name)]


def peer_version(name: str) -> str:
    """The installed distribution's version ("2026.4.1"; the module's own string can carry a build tag)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return str(importlib.import_module(name).__version__)


def set_peer_threads(threads: int) -> None:
    """PyTorch's intra-op threads (the ONNX runtimes get theirs when their sessions are made)."""
    import torch

    torch.set_num_threads(threads)


def torchvision_model(name: str, seed: int = 0) -> Any:
    """torchvision.models.<name> in eval mode with seeded random weights and non-trivial BatchNorm statistics
    (fresh BatchNorm layers would be identities and hide errors). Torch's global random state is left alone."""
    import torch
    import torchvision

    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = getattr(torchvision.models, name)(**kwargs).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                assert m.running_mean is not None and m.running_var is not None
                m.running_mean.copy_(torch.rand(m.num_features, generator=generator) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
    return model


def torch_runner(model: Any, precision: str = "fp32") -> Runner:
    """torch on the CPU, in float32 or under bf16 autocast."""
    import torch

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out: np.ndarray = model(torch.from_numpy(x)).float().numpy()
            return out

    return run


def torch_cuda_runner(model: Any, precision: str) -> Runner:
    """torch on the GPU, numpy in and out like pycnn's CUDA models, in pycnn's precision: cuDNN in fp32 (TF32
    off), TF32, or bf16 autocast. Sets torch's global TF32 switches."""
    import torch

    model = model.cuda()
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = precision != "fp32"

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out: np.ndarray = model(torch.from_numpy(x).cuda()).float().cpu().numpy()
            return out

    return run


def export_onnx(model: Any, x: np.ndarray, path: str | os.PathLike[str]) -> None:
    """torchvision's model as an ONNX file for input shape x.shape (TorchScript exporter, input 'x', output 'y')."""
    import torch

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.from_numpy(x),), str(path), input_names=["x"], output_names=["y"],
                          dynamo=False)


def onnxruntime_runner(path: str | os.PathLike[str], threads: int) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    return lambda x: session.run(None, {input_name: x})[0]


def openvino_model(path: str | os.PathLike[str], threads: int, precision: str = "fp32") -> Any:
    """OpenVINO's compiled model of the ONNX file, on `threads` threads, computing in float32 (pinned), or in its
    default precision for any other."""
    import openvino as ov

    config: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads}
    if precision == "fp32":
        config["INFERENCE_PRECISION_HINT"] = OPENVINO_CONFIG_PRECISION
    return ov.Core().compile_model(str(path), "CPU", config)


def openvino_runner(path: str | os.PathLike[str], threads: int, precision: str = "fp32") -> Runner:
    compiled = openvino_model(path, threads, precision)
    return lambda x: compiled(x)[0]
