"""The Python layer of another commit against this checkout's, paired in one process on the same compiled core.

    PYTHONPATH=. python benches/python_layer_ab.py REV [--rounds 60] [--models resnet50,vgg16]

REV's pycnn/ is extracted as the package `pycnn_old`, whose `_core` is this build's: only the Python above the
kernels differs. Both models get the same weights (copied the same way) and must give bitwise equal logits;
calls alternate, and each model's time in a round gives that round's ratio. The model whose plan is built first
runs ~2% slower on VGG-16 whatever its code (its buffers land elsewhere in memory), so each model is measured
twice, each side's plan built first once, and the geometric mean of the two medians of ratios is reported.
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import pycnn


def extract_old(rev: str, folder: Path) -> None:
    """REV's pycnn/ as folder/pycnn_old, its compiled module replaced by this build's."""
    archive = subprocess.run(["git", "archive", rev, "pycnn"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "pycnn").rename(folder / "pycnn_old")
    (folder / "pycnn_old" / "_core.py").write_text("from pycnn._core import *  # noqa: F403\n")


def ratio(name: str, rounds: int, old_plan_first: bool) -> float:
    import pycnn_old

    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    new, old = getattr(pycnn.models, name)(**kwargs), getattr(pycnn_old.models, name)(**kwargs)
    state = {k: np.array(v) for k, v in new.state_dict().items()}
    new.load_state_dict(state)
    old.load_state_dict(state)
    x = np.random.default_rng(0).random((1, 3, 224, 224), dtype=np.float32)
    first, second = (old, new) if old_plan_first else (new, old)
    if not np.array_equal(first(x), second(x)):
        raise SystemExit(f"{name}: the two Python layers give different logits")
    ratios = []
    for i in range(rounds):
        times = {}
        for model in (new, old) if i % 2 == 0 else (old, new):
            start = time.perf_counter()
            model(x)
            times[id(model)] = time.perf_counter() - start
        ratios.append(times[id(new)] / times[id(old)])
    return statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--models", default="alexnet,vgg16,googlenet,resnet18,resnet50")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        extract_old(args.rev, Path(folder))
        sys.path.insert(0, folder)
        print(f"new = {Path(pycnn.__file__).parent}, old = {args.rev}; {pycnn.get_num_threads()} threads, batch 1")
        for name in args.models.split(","):
            a, b = ratio(name, args.rounds, False), ratio(name, args.rounds, True)
            print(f"{name:10s} new/old {math.sqrt(a * b):.3f}  (new plan first {a:.3f}, old plan first {b:.3f}; "
                  f"{args.rounds} rounds each, logits bitwise equal)", flush=True)


if __name__ == "__main__":
    main()
