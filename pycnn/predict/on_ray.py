"""`pycnn predict --cluster ray`: Ray Data's map_batches with a callable class, so that each of its actors (one
per worker) unpickles the model once and classifies the batches the pipeline hands it. Ray restarts an actor
that dies and runs its batch again; the driver writes each file once.

Needs `pip install "pycnn[cluster]"` (Ray Data and Dask distributed).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..nn import Module
from .images import Preprocessing
from .output import Record
from .run import BatchResult, Cluster, Summary, batches_of
from .worker import Classifier, threads_per_worker


class RayClassifier:
    """The callable class of map_batches: a Classifier in each actor. Each row of the dataset is one batch of
    files (batches_of), {"paths": JSON list}, and map_batches hands over one row at a time."""

    def __init__(self, model: Any, top_k: int, resize: int, crop: int, threads: int):
        import ray

        if isinstance(model, ray.ObjectRef):
            model = ray.get(model)
        self.classifier = Classifier(model, top_k, Preprocessing(resize, crop), threads)

    def __call__(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = self.classifier([path for row in rows["paths"] for path in json.loads(str(row))])
        n = len(result.records)
        return {"path": np.array([r.path for r in result.records], dtype=object),
                "error": np.array([r.error for r in result.records], dtype=object),
                "top": np.array([json.dumps(r.top) for r in result.records], dtype=object),
                "seconds": np.full(n, result.model_seconds / n), "worker": np.full(n, result.worker, dtype=object),
                "threads": np.full(n, result.threads)}


def ray_batches(model: Module, paths: list[str], batch_size: int, top_k: int, preprocessing: Preprocessing,
                cluster: Cluster, summary: Summary) -> Iterator[BatchResult]:
    import ray
    import ray.data

    started = not ray.is_initialized()
    if started:  # the cluster at `address`, or a local one for this run
        ray.init(address=cluster.address, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # pycnn predict draws its own progress
        cores = int(ray.cluster_resources().get("CPU", 1))
        summary.workers = cluster.workers or cores
        threads = cluster.threads or threads_per_worker(cores, summary.workers)
        batches = batches_of(paths, batch_size)
        dataset = ray.data.from_items([{"paths": json.dumps(batch)} for batch in batches],
                                      override_num_blocks=len(batches))
        classified = dataset.map_batches(
            RayClassifier, batch_size=1, batch_format="numpy", num_cpus=threads,
            compute=ray.data.ActorPoolStrategy(size=summary.workers),
            fn_constructor_kwargs={"model": ray.put(model), "top_k": top_k, "resize": preprocessing.resize,
                                   "crop": preprocessing.crop, "threads": threads})
        for batch in classified.iter_batches(batch_size=None, batch_format="numpy"):
            records = [Record(str(path), tuple((str(label), int(index), float(p))
                                               for label, index, p in json.loads(str(top))), str(error))
                       for path, error, top in zip(batch["path"], batch["error"], batch["top"], strict=True)]
            yield BatchResult(records, float(np.sum(batch["seconds"])), str(batch["worker"][0]),
                              int(batch["threads"][0]))
    finally:
        if started:
            ray.shutdown()
