"""`pycnn predict --cluster dask`: Dask distributed. The model is scattered to every worker once (each keeps its
copy, with the plans it builds, for all its batches); each batch of files is one task, and results are written
as tasks complete. Dask reschedules the tasks of a worker that dies; the driver writes each file once.

Needs `pip install "pycnn[cluster]"` (Ray Data and Dask distributed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..nn import Module
from .images import Preprocessing
from .run import BatchResult, Cluster, Summary, batches_of
from .worker import Classifier, threads_per_worker


def classify_on_worker(paths: list[str], model: Module, top_k: int, preprocessing: Preprocessing,
                       threads: dict[str, int]) -> BatchResult:
    """One task: the worker's Classifier for `model`, made on its first task and kept on the worker; `threads`
    by worker address."""
    from distributed import get_worker

    worker = get_worker()
    classifiers: dict[int, Classifier] = _classifiers(worker)
    classifier = classifiers.get(id(model))
    if classifier is None:
        classifier = classifiers[id(model)] = Classifier(model, top_k, preprocessing, threads.get(worker.address, 1))
    return classifier(paths)


def _classifiers(worker: Any) -> dict[int, Classifier]:
    if not hasattr(worker, "pycnn_classifiers"):
        worker.pycnn_classifiers = {}
    classifiers: dict[int, Classifier] = worker.pycnn_classifiers
    return classifiers


def worker_threads(client: Any) -> dict[str, int]:
    """pycnn's threads for each worker: its host's usable CPUs shared among the task slots of that host's
    workers, so that tasks × threads = cores on every host."""
    from .._threads import usable_cpus

    info = client.scheduler_info()["workers"]
    cpus = client.run(usable_cpus)  # address -> CPUs, as the worker itself counts them
    slots: dict[str, int] = {}
    for w in info.values():
        slots[w["host"]] = slots.get(w["host"], 0) + int(w["nthreads"])
    return {address: threads_per_worker(int(cpus[address]), slots[w["host"]]) for address, w in info.items()
            if address in cpus}


def dask_batches(model: Module, paths: list[str], batch_size: int, top_k: int, preprocessing: Preprocessing,
                 cluster: Cluster, summary: Summary) -> Iterator[BatchResult]:
    from distributed import Client, LocalCluster, as_completed

    local = None
    if cluster.address is None:  # a local cluster for this run: one single-threaded process per worker
        from .._threads import usable_cpus

        local = LocalCluster(n_workers=cluster.workers or usable_cpus(), threads_per_worker=1, processes=True,
                             dashboard_address=":0")
    client = Client(cluster.address if local is None else local)
    try:
        threads = worker_threads(client)
        if cluster.threads is not None:
            threads = dict.fromkeys(threads, cluster.threads)
        summary.workers = len(threads)
        shared = client.scatter(model, broadcast=True)
        futures = client.map(classify_on_worker, batches_of(paths, batch_size), model=shared, top_k=top_k,
                             preprocessing=preprocessing, threads=threads, pure=False, retries=2)
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if local is not None:
            local.close()
