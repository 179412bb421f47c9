"""Running out of memory while reading a valid file raises MemoryError, never a WeightsFileError that would call
the file corrupt: each reader's catch-all for damaged input lets it through."""

from __future__ import annotations

import pickletools
import zipfile
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pytest
from test_io import F32_BYTES, state_pickle, tensor_op, write_checkpoint

from pycnn.io import load


def out_of_memory(*args: Any, **kwargs: Any) -> NoReturn:
    raise MemoryError


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return write_checkpoint(tmp_path / "c.pth", state_pickle({"w": tensor_op()}), {"0": F32_BYTES})


@pytest.fixture
def npz(tmp_path: Path) -> Path:
    np.savez(tmp_path / "w.npz", w=np.ones(3, np.float32))
    return tmp_path / "w.npz"


def test_while_opening_the_zip_directory(monkeypatch: pytest.MonkeyPatch, checkpoint: Path) -> None:
    monkeypatch.setattr(zipfile, "ZipFile", out_of_memory)
    with pytest.raises(MemoryError):
        load(checkpoint)


def test_while_reading_a_record(monkeypatch: pytest.MonkeyPatch, checkpoint: Path) -> None:
    monkeypatch.setattr(zipfile.ZipExtFile, "read", out_of_memory)
    with pytest.raises(MemoryError):
        load(checkpoint)


def test_while_checking_the_pickle(monkeypatch: pytest.MonkeyPatch, checkpoint: Path) -> None:
    monkeypatch.setattr(pickletools, "genops", out_of_memory)
    with pytest.raises(MemoryError):
        load(checkpoint)


def test_while_reading_an_npy_header(monkeypatch: pytest.MonkeyPatch, npz: Path) -> None:
    monkeypatch.setattr(np.lib.format, "read_magic", out_of_memory)
    with pytest.raises(MemoryError):
        load(npz)


def test_while_reading_npz_arrays(monkeypatch: pytest.MonkeyPatch, npz: Path) -> None:
    monkeypatch.setattr(np, "load", out_of_memory)
    with pytest.raises(MemoryError):
        load(npz)


def test_controls_load(checkpoint: Path, npz: Path) -> None:
    assert load(checkpoint)["w"].shape == (12,) and load(npz)["w"].tolist() == [1.0, 1.0, 1.0]
