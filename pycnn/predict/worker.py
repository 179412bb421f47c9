"""What each worker process of a cluster run holds: one copy of the model, used for every batch it is given."""

from __future__ import annotations

from .. import _threads
from ..nn import Module
from .images import Preprocessing
from .run import BatchResult, classify, decode, imagenet_labels


class Classifier:
    """Classifies lists of files with `model` on `threads` threads (set once: the worker's share of its node's
    cores). The model's plans are built on the first batch and kept for the rest."""

    def __init__(self, model: Module, top_k: int, preprocessing: Preprocessing, threads: int):
        _threads.set_num_threads(threads)
        self.model, self.top_k, self.preprocessing = model.eval(), top_k, preprocessing
        self.labels = imagenet_labels()

    def __call__(self, paths: list[str]) -> BatchResult:
        return classify(self.model, [(p, decode(self.preprocessing, p)) for p in paths], self.top_k, self.labels)


def threads_per_worker(cores: int, workers: int) -> int:
    """Each worker's threads, so that workers × threads = cores (at least 1)."""
    return max(1, cores // max(1, workers))
