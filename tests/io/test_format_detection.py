"""How load recognises a file's format: by its first bytes, the extension (any case) only a hint for the error
that names what the file is not."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from test_io import refusal_reason as reason

from pycnn.io import load

UNRECOGNISED = ("unrecognised weights format; supported: PyTorch zip checkpoints (.pth, .pt, .bin, .ckpt as written "
                "by torch.save); .safetensors; .npz")
LEGACY = ("is a legacy (non-zip) torch.save file or a plain pickle, which pycnn does not read; re-save it with a "
          "current torch: torch.save(torch.load(path, weights_only=True), new_path)")
NOT_ZIP = "is not a zip archive (truncated or corrupted?)"



@pytest.mark.parametrize("name", ["w.pth", "w.PT", "w.Bin", "w.ckpt", "w.npz", "w.zip"])
def test_garbage_named_like_a_zip_is_called_not_a_zip(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"garbage, not weights")
    assert reason(tmp_path / name) == NOT_ZIP


@pytest.mark.parametrize("name", ["w.xyz", "w", "w.json"])
def test_garbage_named_otherwise_lists_the_formats(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"garbage, not weights")
    assert reason(tmp_path / name) == UNRECOGNISED


@pytest.mark.parametrize("name", ["w.pth", "w.dat"])
def test_a_pickle_is_called_legacy_whatever_its_name(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(pickle.dumps({"w": [1.0]}, protocol=2))
    assert reason(tmp_path / name) == LEGACY


def test_safetensors_extension_in_any_case_reads_as_safetensors(tmp_path: Path) -> None:
    (tmp_path / "w.SafeTensors").write_bytes(b"\x01" * 7)
    assert reason(tmp_path / "w.SafeTensors") == (
        "7 bytes is too short for a safetensors file (8-byte header length first)")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "w.safetensors").write_bytes(b"")
    assert reason(tmp_path / "w.safetensors") == "file is empty"


def test_zip_signature_with_a_broken_directory(tmp_path: Path) -> None:
    (tmp_path / "w.dat").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    assert reason(tmp_path / "w.dat") == "corrupt or truncated zip archive: File is not a zip file"


def test_npz_without_its_extension_reads_by_content(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", a=np.arange(3, dtype=np.int32))
    (tmp_path / "w.weights").write_bytes((tmp_path / "w.npz").read_bytes())
    got = load(tmp_path / "w.weights")
    assert list(got) == ["a"] and got["a"].dtype == np.int32 and got["a"].tolist() == [0, 1, 2]
