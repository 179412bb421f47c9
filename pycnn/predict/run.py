"""`pycnn predict` in one process: files decoded by a few threads while the model classifies the batch before.

Pillow decodes and resizes with the GIL released, so the decoding threads run beside pycnn's kernels; they keep
`prefetch` batches decoded ahead. A file that cannot be read or decoded becomes an error record in its place and
the run goes on.
"""

from __future__ import annotations

import os
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .. import _threads
from ..bench.progress import Progress
from ..nn import Module
from . import extras
from .images import IMAGENET, Preprocessing, list_images
from .output import Record, ResultsFile

# What keeps a file from being classified: unreadable, not an image, truncated, too large for Pillow.
DECODE_ERRORS = (OSError, ValueError, SyntaxError)


IMAGENET_LABELS_COUNT = 1000


def imagenet_labels() -> list[str]:
    """The names of ImageNet's 1000 classes, in the order of the classic networks' outputs."""
    return resources.files(__package__).joinpath("imagenet_classes.txt").read_text("utf-8").splitlines()


@dataclass(frozen=True)
class Cluster:
    """Where a cluster run classifies: `engine` "ray" or "dask"; the running cluster at `address` (default: a
    local one started for the run); `workers` worker processes (default: one per CPU); `threads` of pycnn in each
    (default: the worker's share of its host's cores, so that workers × threads = cores)."""

    engine: str
    address: str | None = None
    workers: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.engine not in ("ray", "dask"):
            raise ValueError(f"cluster engine {self.engine!r}: pycnn predict runs on 'ray' or 'dask'")
        for name in ("workers", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"cluster {name} {value}: must be at least 1")


@dataclass(frozen=True)
class BatchResult:
    """What an engine gives back for one batch: its records in the files' order, the seconds its model call took,
    and which worker process ran it ("host:pid") with how many of pycnn's threads."""

    records: list[Record]
    model_seconds: float
    worker: str
    threads: int


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Summary:
    classified: int = 0
    errors: int = 0
    skipped: int = 0  # already in the output (--resume)
    seconds: float = 0.0
    model_seconds: float = 0.0  # inside the model's calls
    workers: int = 1
    threads_by_worker: dict[str, int] = field(default_factory=dict)  # as the workers reported them

    @property
    def images_per_second(self) -> float:
        return (self.classified + self.errors) / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        threads = sorted(set(self.threads_by_worker.values()))
        ran = f"{len(self.threads_by_worker)} worker(s) × {'/'.join(map(str, threads))} thread(s); " if threads else ""
        share = f", {100 * self.model_seconds / self.seconds:.0f}% of the time in the model" if self.workers == 1 \
            and self.seconds else ""
        return (f"{self.classified} classified, {self.errors} errors, {self.skipped} already done; {ran}"
                f"{self.images_per_second:.1f} images/s{share}")


def top_classes(logits: np.ndarray, top_k: int, labels: list[str]) -> list[tuple[tuple[str, int, float], ...]]:
    """Per row of `logits` (N, classes): the top_k (label, index, probability) by softmax, best first."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    probabilities = np.exp(z)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k]
    named = len(labels) == logits.shape[1]
    return [tuple((labels[i] if named else f"class {i}", int(i), float(row[i])) for i in ranks)
            for row, ranks in zip(probabilities, order, strict=True)]


def classify(model: Module, items: list[tuple[str, np.ndarray | str]], top_k: int, labels: list[str]) -> BatchResult:
    """Records for (path, image or error message) items, in their order, with the seconds the model took."""
    images = [image for _, image in items if isinstance(image, np.ndarray)]
    tops: Iterator[tuple[tuple[str, int, float], ...]] = iter(())
    seconds = 0.0
    if images:
        start = time.perf_counter()
        logits = np.asarray(model(np.stack(images)))
        seconds = time.perf_counter() - start
        tops = iter(top_classes(logits.reshape(len(images), -1), top_k, labels))
    records = [Record(path, next(tops)) if isinstance(image, np.ndarray) else Record(path, error=image)
               for path, image in items]
    return BatchResult(records, seconds, this_worker(), _threads.get_num_threads())


def decode(preprocessing: Preprocessing, path: str) -> np.ndarray | str:
    """The file's image, or why it has none (an error record's message)."""
    try:
        return preprocessing.load(path)
    except DECODE_ERRORS as error:
        return f"{type(error).__name__}: {error}"


def batches_of(paths: list[str], batch_size: int) -> list[list[str]]:
    """Consecutive files, batch_size to a batch: every engine batches the same files together, so that each
    image's logits are computed alike (a model's algorithms may depend on the batch size)."""
    return [paths[i:i + batch_size] for i in range(0, len(paths), batch_size)]


def decoded_batches(paths: list[str], batch_size: int, preprocessing: Preprocessing, threads: int,
                    prefetch: int = 2) -> Iterator[list[tuple[str, np.ndarray | str]]]:
    """The batches of batches_of, each file decoded (or its error), decoded by `threads` threads up to `prefetch`
    batches ahead of the consumer."""
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="pycnn-decode") as pool:
        pending: deque[list[tuple[str, Future[np.ndarray | str]]]] = deque()
        upcoming = iter(batches_of(paths, batch_size))

        def refill() -> None:
            while len(pending) < prefetch + 1:
                batch = next(upcoming, None)
                if batch is None:
                    return
                pending.append([(path, pool.submit(decode, preprocessing, path)) for path in batch])

        refill()
        while pending:
            batch = pending.popleft()
            refill()
            yield [(path, future.result()) for path, future in batch]


def local_batches(model: Module, paths: list[str], batch_size: int, top_k: int, preprocessing: Preprocessing,
                  decode_threads: int) -> Iterator[BatchResult]:
    """This process's engine."""
    labels = imagenet_labels()
    model.eval()
    for items in decoded_batches(paths, batch_size, preprocessing, decode_threads):
        yield classify(model, items, top_k, labels)


def predict(model: Module, sources: list[str], output: str | Path, *, batch_size: int = 8, top_k: int = 5,
            resume: bool = False, preprocessing: Preprocessing = IMAGENET, decode_threads: int = 2,
            cluster: Cluster | str | None = None, progress: bool = True,
            on_batch: Callable[[list[Record]], Any] | None = None) -> Summary:
    """Classifies the image files that `sources` name (folders, glob patterns, list files, files) with `model`
    and writes each file's top_k ImageNet classes, or its error, to `output` (.csv or .jsonl) as batches finish.

    With `resume`, the files already in `output` are skipped; without it, an `output` that holds results is
    refused. `cluster` ("ray", "dask" or a Cluster) classifies on that engine's workers, each holding one copy
    of the model; records then arrive in the order batches finish, each file once even when a worker dies and
    its batch runs again. `on_batch`, if given, sees each batch's records after they are
    written.
    """
    if batch_size < 1 or top_k < 1:
        raise ValueError(f"batch_size {batch_size} and top_k {top_k} must be at least 1")
    if isinstance(cluster, str):
        cluster = Cluster(cluster)
    extras.require("pillow")
    if cluster is not None:
        extras.require(cluster.engine)
    start = time.perf_counter()
    paths = list_images(sources)
    results = ResultsFile(Path(output), top_k, resume)
    summary = Summary()
    try:
        todo = [p for p in paths if p not in results.done]
        summary.skipped = len(paths) - len(todo)
        bar = Progress(len(todo), prefix="pycnn predict: ") if progress and todo else None
        label = ""
        for batch in _engine(cluster, model, todo, batch_size, top_k, preprocessing, decode_threads, summary):
            records = [r for r in batch.records if r.path not in results.done]  # a batch run again after a failure
            results.write(records)
            summary.model_seconds += batch.model_seconds
            summary.threads_by_worker[batch.worker] = batch.threads
            summary.errors += sum(1 for r in records if r.error)
            summary.classified += sum(1 for r in records if not r.error)
            summary.seconds = time.perf_counter() - start
            if bar is not None:
                # On a terminal the bar shows the rate after every batch; a log gets a line per tenth of the run.
                tenth = 10 * (bar.done + len(records)) * 10 // bar.total
                if bar.terminal or not label.startswith(f"{tenth}%"):
                    label = f"{tenth}%, {summary.images_per_second:.1f} images/s"
                bar.advance(label, len(records))
            if on_batch is not None:
                on_batch(records)
        if bar is not None:
            bar.close()
    finally:
        results.close()
    summary.seconds = time.perf_counter() - start
    return summary


def _engine(cluster: Cluster | None, model: Module, paths: list[str], batch_size: int, top_k: int,
            preprocessing: Preprocessing, decode_threads: int,
            summary: Summary) -> Iterator[BatchResult]:
    if not paths:
        return iter(())
    if cluster is None:
        return local_batches(model, paths, batch_size, top_k, preprocessing, decode_threads)
    if cluster.engine == "ray":
        from .on_ray import ray_batches

        return ray_batches(model, paths, batch_size, top_k, preprocessing, cluster, summary)
    from .on_dask import dask_batches

    return dask_batches(model, paths, batch_size, top_k, preprocessing, cluster, summary)
