"""One runtime timing one model in a process of its own: the child process of `pycnn bench --isolated`.

    python -m pycnn.bench.worker '{"runtime": "torch", "model": "resnet18", "batch": 1, "threads": 2, ...}'

prints one JSON line, {"times_s": [float], "first_call_s": float | null, "output": [float] | null, "params": int |
null, "macs": int | null}; an error goes to stderr with exit status 1. pycnn's process loads the weights file the
parent wrote (torchvision's random weights) or, without one, builds its own random model; torch's rebuilds
torchvision's model from the same seed; the ONNX runtimes load the exported file. All take the same input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import _zoo


@dataclass(frozen=True)
class Task:
    runtime: str  # "pycnn" or a peer name
    model: str
    batch: int
    threads: int
    repeat: int  # timed calls; 0: only the output (a reference for the error)
    seed: int = 0
    weights: str | None = None  # pycnn: the state dict file; None: its own random initialisation
    onnx: str | None = None  # the ONNX runtimes: the exported model, or the .onnx file timed
    want_output: bool = False
    input_shape: list[int] | None = None  # None: model_input's default for the model
    precision: str = "fp32"  # what the runtime computes in (peers.peer_precision)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Task:
        return cls(**json.loads(text))


def model_input(model: str, batch: int, seed: int, shape: list[int] | None = None) -> np.ndarray:
    """The input every runtime takes, standard normal, (batch, 3, 224, 224) or an ONNX graph's own shape unless
    `shape` is given: the same as the in-process benchmark."""
    shape = list(shape or _zoo.input_shape_for(model, batch))
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def _runner(task: Task, x: np.ndarray) -> tuple[Callable[[], np.ndarray], dict[str, Any]]:
    """The call to time, and facts known once it is built (pycnn: first call, parameters, MACs)."""
    from . import peers
    from .timing import timed_call

    if task.runtime == "pycnn":
        from .. import set_num_threads
        from ..summary import summary

        set_num_threads(task.threads)
        # torchvision's random GoogLeNet takes its input as it is; pycnn's, built from weights, would re-normalise.
        extra = {"transform_input": False} if task.model == "googlenet" and task.weights else {}
        model = _zoo.build_model(task.model, weights=task.weights, **extra).set_precision(task.precision)
        first_call_s, _ = timed_call(lambda: model(x))
        counts = summary(model, x.shape)
        return (lambda: model(x)), {"first_call_s": first_call_s, "params": counts.params, "macs": counts.macs}
    if task.runtime == "torch":
        peers.set_peer_threads(task.threads)
        run = peers.torch_runner(peers.torchvision_model(task.model, task.seed), task.precision)
    elif task.runtime == "onnxruntime" and task.onnx:
        run = peers.onnxruntime_runner(task.onnx, task.threads)
    elif task.runtime == "openvino" and task.onnx:
        run = peers.openvino_runner(task.onnx, task.threads, task.precision)
    else:
        raise ValueError(f"cannot run {task.runtime!r} (an ONNX runtime needs the onnx file)")
    return (lambda: run(x)), {}


def run_task(task: Task) -> dict[str, Any]:
    """Builds the runtime's model, then `task.repeat` timed calls, each after untimed ones (timing.py)."""
    from .timing import alternating_times

    x = model_input(task.model, task.batch, task.seed, task.input_shape)
    run, facts = _runner(task, x)
    output = run() if task.want_output else None
    times = alternating_times({task.runtime: run}, task.repeat)[task.runtime] if task.repeat else []
    return {"times_s": times, "first_call_s": facts.get("first_call_s"), "params": facts.get("params"),
            "macs": facts.get("macs"), "output": None if output is None else np.asarray(output).ravel().tolist()}


def main(argv: list[str]) -> int:
    try:
        task = Task.from_json(argv[1])
        print(json.dumps(run_task(task)))
    except Exception as error:  # reported by the parent, one line
        print(f"{type(error).__name__}: {error}".replace("\n", " "), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
