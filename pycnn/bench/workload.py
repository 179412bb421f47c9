"""One benchmark case: a classic model built with the same random weights in pycnn and in every peer."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import _zoo
from ..nn import Module
from . import peers as _peers


@dataclass
class Workload:
    """pycnn's model, its input (batch, 3, 224, 224) and a runner per peer, all holding the same weights."""

    name: str
    model: Module
    input: np.ndarray
    peers: dict[str, Callable[[], np.ndarray]] = field(default_factory=dict)
    reference: Callable[[], np.ndarray] | None = None  # torch's output on the same input, for the error
    weights: str = "pycnn random init"  # where the random weights come from

    def run_pycnn(self) -> np.ndarray:
        out: np.ndarray = self.model(self.input)
        return out


def build_workload(name: str, batch: int, threads: int, peers: Sequence[str], workdir: str | os.PathLike[str],
                   seed: int = 0, device: str = "cpu", input_shape: tuple[int, ...] | None = None,
                   precision: str = "fp32") -> Workload:
    """The model `name` in pycnn and in each of `peers` that can run it (torch, onnxruntime, openvino).

    With torch among the peers, torchvision's model supplies the weights and pycnn loads its state dict; the
    ONNX runtimes run the ONNX file exported from it into `workdir`. Without torch, pycnn runs alone on its own
    random initialisation. Peers need torchvision's version of the model: alexnet_original runs alone.
    An .onnx file runs in pycnn and in the ONNX runtimes among `peers`, on `input_shape` or the graph's own.
    On device "cuda", pycnn's model and torch's (the only peer there) run on the GPU, numpy in and out.
    pycnn and the peers compute in `precision` (peers.peer_precision); the reference output stays float32 torch's.
    """
    if _zoo.is_onnx_file(name):
        return _onnx_workload(name, batch, threads, peers, seed, device, input_shape, precision)
    x = np.random.default_rng(seed).standard_normal(_zoo.input_shape_for(name, batch), dtype=np.float32)
    if not peers or name not in _peers.TORCHVISION_MODELS:
        return Workload(name, _zoo.build_model(name).to(device).set_precision(precision), x)
    reference = _peers.torchvision_model(name, seed)
    # torchvision's random GoogLeNet takes its input as it is; pycnn's, built from weights, would re-normalise it.
    extra = {"transform_input": False} if name == "googlenet" else {}
    model = _zoo.build_model(name, weights=reference.state_dict(), **extra).to(device).set_precision(precision)
    if device == "cuda":
        run_on_gpu = _bind(_peers.torch_cuda_runner(reference, precision), x)
        return Workload(name, model, x, {"torch": run_on_gpu}, reference=run_on_gpu,
                        weights="torchvision random init")
    run_torch = _bind(_peers.torch_runner(reference), x)
    runners: dict[str, Callable[[], np.ndarray]] = {}
    if "torch" in peers:
        runners["torch"] = run_torch if precision == "fp32" else _bind(_peers.torch_runner(reference, precision), x)
    onnx_peers = [p for p in peers if p in ("onnxruntime", "openvino")]
    if onnx_peers:
        path = os.path.join(workdir, f"{name}.onnx")
        _peers.export_onnx(reference, x, path)
        for peer in onnx_peers:
            if peer == "onnxruntime":
                runners[peer] = _bind(_peers.onnxruntime_runner(path, threads), x)
            else:
                runners[peer] = _bind(_peers.openvino_runner(path, threads, precision), x)
        os.remove(path)  # the runtimes hold their own copy of the weights
    return Workload(name, model, x, runners, reference=run_torch, weights="torchvision random init")


def _onnx_workload(path: str, batch: int, threads: int, peers: Sequence[str], seed: int, device: str,
                   input_shape: tuple[int, ...] | None, precision: str) -> Workload:
    model = _zoo.build_model(path).set_precision(precision)
    shape = input_shape or model.input_shape(batch)
    x = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
    runners = {}
    if "onnxruntime" in peers:
        runners["onnxruntime"] = _bind(_peers.onnxruntime_runner(path, threads), x)
    if "openvino" in peers:
        runners["openvino"] = _bind(_peers.openvino_runner(path, threads, precision), x)
    return Workload(path, model.to(device), x, runners, reference=runners.get("onnxruntime"), weights="the file's")


def _bind(run: _peers.Runner, x: np.ndarray) -> Callable[[], np.ndarray]:
    return lambda: run(x)
