"""pycnn predict on real local clusters — Ray Data with 2 worker processes, Dask distributed with 2 — gives
exactly the single-process run's records, reports a corrupt file in place, and loses no file and writes none
twice when a worker is killed in the middle of the run."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

import pycnn
from pycnn.predict import Cluster, Preprocessing, Record, predict

SMALL = Preprocessing(resize=72, crop=64)  # small images: the test is about the engines, not the model


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(5)
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)).save(folder / f"{i:02d}.jpg")
    (folder / "20b.jpg").write_bytes(b"corrupt, between the others")
    return folder


@pytest.fixture(scope="module")
def model() -> pycnn.nn.Module:
    return pycnn.models.resnet18(num_classes=1000)


@pytest.fixture(scope="module")
def single_process(photos: Path, model: pycnn.nn.Module, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("single") / "out.jsonl"
    predict(model, [str(photos)], out, batch_size=4, preprocessing=SMALL, progress=False)
    return out.read_text().splitlines()


def worker_pids(engine: str) -> list[int]:
    """The process ids of the engine's workers: Ray's map actors among this process's descendants, the Dask
    workers of the run's client."""
    if engine == "dask":
        from distributed import default_client

        return sorted(default_client().run(os.getpid).values())
    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            if "MapWorker" in " ".join(process.cmdline()):
                found.append(process.pid)
        except psutil.Error:
            continue
    return found


@pytest.mark.parametrize("engine", ["ray", "dask"])
def test_a_cluster_run_equals_the_single_process_one_despite_a_killed_worker(
        engine: str, photos: Path, model: pycnn.nn.Module, single_process: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    killed: list[int] = []

    def kill_a_worker(records: list[Record]) -> None:
        if not killed:
            workers = worker_pids(engine)
            assert len(workers) == 2, f"{engine}: expected 2 worker processes, found {len(workers)}"
            killed.append(workers[0])
            os.kill(workers[0], signal.SIGKILL)

    summary = predict(model, [str(photos)], out, batch_size=4, preprocessing=SMALL, cluster=Cluster(engine, workers=2),
                      progress=False, on_batch=kill_a_worker)
    assert killed and summary.workers == 2
    # 2 workers on this machine's cores: each worker that returned a batch used its share (which workers return
    # one depends on timing: the killed one never does, its replacement may get no batch before the end).
    expected_threads = max(1, len(os.sched_getaffinity(0)) // 2)
    assert summary.threads_by_worker and set(summary.threads_by_worker.values()) == {expected_threads}
    lines = out.read_text().splitlines()
    paths = [json.loads(line)["path"] for line in lines]
    assert len(paths) == len(set(paths)) == 41  # every file once
    assert sorted(lines) == sorted(single_process)  # the same records, bit for bit
    corrupt = next(json.loads(line) for line in lines if line.startswith(f'{{"path": "{photos / "20b.jpg"}"'))
    assert corrupt["error"].startswith("UnidentifiedImageError")
    assert (summary.classified, summary.errors) == (40, 1)
