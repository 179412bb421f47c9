"""pycnn predict's throughput, decoding included: 1 worker × 1 thread against 2 workers × 1 thread on each
cluster engine, and the share of a single-process run's wall time spent inside the model.

    PYTHONPATH=. python benches/predict_scaling.py [--images 96] [--model resnet50] [--batch 8]
                                                   [--engines ray,dask] [--json out.json]

The images are photos that scikit-image ships (astronaut, coffee, chelsea, rocket, ...), each saved as JPEG in several
crops so that every file differs. The model has random weights (no download). Steady-state images/s counts the
files classified after the first batch arrived, over the time since: cluster start-up, shipping the model and the
first plan build are left out of it (the whole run's rate is reported too). On a 2-core machine, 2 workers × 1
thread should reach ≥ 1.8× the images/s of 1 worker × 1 thread, and a single-process run should spend ≥ 85% of
its time in the model (decoding hidden behind it).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import pycnn
from pycnn.bench.machine import cpu_model
from pycnn.predict import Cluster, predict

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")


def write_photos(folder: Path, count: int) -> None:
    import skimage.data

    rng = np.random.default_rng(0)
    sources = [np.asarray(getattr(skimage.data, name)())[..., :3] for name in PHOTOS]
    for i in range(count):
        photo = sources[i % len(sources)]
        h, w = photo.shape[:2]
        top, left = rng.integers(0, h // 4), rng.integers(0, w // 4)
        Image.fromarray(photo[top:top + 3 * h // 4, left:left + 3 * w // 4]).save(folder / f"{i:04d}.jpg",
                                                                                  quality=90)


def run(model: pycnn.nn.Module, folder: Path, out: Path, batch: int, engine: str | None, workers: int,
        threads: int) -> dict[str, float]:
    pycnn.set_num_threads(threads)
    out.unlink(missing_ok=True)
    arrivals: list[tuple[float, int]] = []
    cluster = None if engine is None else Cluster(engine, workers=workers, threads=threads)
    summary = predict(model, [str(folder)], out, batch_size=batch, cluster=cluster, decode_threads=threads,
                      progress=False,
                      on_batch=lambda records: arrivals.append((time.perf_counter(), len(records))))
    (first, _), (last, _) = arrivals[0], arrivals[-1]
    after_first = sum(n for _, n in arrivals[1:])
    return {"images_per_s": summary.images_per_second, "steady_images_per_s": after_first / (last - first),
            "model_share": summary.model_seconds / summary.seconds if engine is None else float("nan"),
            "seconds": summary.seconds, "threads_by_worker": summary.threads_by_worker}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--engines", default="ray,dask")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    model = getattr(pycnn.models, args.model)()
    results: dict[str, object] = {"cpu": cpu_model(), "model": args.model, "batch": args.batch,
                                  "images": args.images}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        write_photos(folder, args.images)
        out = Path(tmp) / "out.jsonl"
        results["single_process_2_threads"] = run(model, folder, out, args.batch, None, 1, 2)
        results["single_process_1_thread"] = run(model, folder, out, args.batch, None, 1, 1)
        for engine in filter(None, args.engines.split(",")):
            one = run(model, folder, out, args.batch, engine, 1, 1)
            two = run(model, folder, out, args.batch, engine, 2, 1)
            results[engine] = {"1x1": one, "2x1": two,
                               "speedup_steady": two["steady_images_per_s"] / one["steady_images_per_s"],
                               "speedup_whole_run": two["images_per_s"] / one["images_per_s"]}
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
