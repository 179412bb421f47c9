"""pycnn.load: a weights file's format recognised by its content (the extension as a hint), then read."""

from __future__ import annotations

import io
import os
import struct

import numpy as np

from .errors import WeightsFileError, fail
from .npz import load_npz
from .safetensors import load_safetensors
from .torch_zip import archive_prefix, load_torch
from .zip_records import open_zip

_SUPPORTED_FORMATS = (
    "PyTorch zip checkpoints (.pth, .pt, .bin, .ckpt as written by torch.save)",
    ".safetensors",
    ".npz",
)
_SNIFF_BYTES = 16
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_ZIP_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".npz", ".zip")


def _load_zip(path: str, file: io.BufferedReader) -> dict[str, np.ndarray]:
    with open_zip(path, file) as zf:
        names = zf.namelist()
        prefix = archive_prefix(path, names)
        if prefix is not None:
            return load_torch(path, zf, prefix)
        if all(n.endswith(".npy") for n in names):
            return load_npz(path, file, zf)
    raise fail(path, "zip archive is neither a PyTorch checkpoint (no <archive>/data.pkl) "
                      "nor an .npz (it has members other than .npy)")


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    return len(head) >= 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] <= size - 8


def _unrecognised(path: str, head: bytes, suffix: str) -> WeightsFileError:
    if head[:1] == b"\x80":
        return fail(
            path, "is a legacy (non-zip) torch.save file or a plain pickle, which pycnn does not read; "
            "re-save it with a current torch: torch.save(torch.load(path, weights_only=True), new_path)"
        )
    if suffix in _ZIP_SUFFIXES:
        return fail(path, "is not a zip archive (truncated or corrupted?)")
    return fail(path, f"unrecognised weights format; supported: {'; '.join(_SUPPORTED_FORMATS)}")


def load(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a weights file into {name: array}, recognising the format by content (extension as a hint).

    PyTorch checkpoints are read without torch and without running pickled code. A checkpoint that is not
    a flat name→tensor mapping is flattened: nested dicts, lists and tuples give '.'-joined names
    ({'state_dict': {'fc.weight': t}, 'epoch': 3} → 'state_dict.fc.weight', 'epoch'), bool/int/float
    scalars become 0-d arrays, and strings, None and other values are skipped.

    Returns new, writeable, C-contiguous, native-endian arrays of the stored dtype (bfloat16 → float32).
    Raises WeightsFileError (UnsafeCheckpointError for a pickle naming a refused global).
    """
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    with open(name, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            raise fail(name, "file is empty")
        head = file.read(_SNIFF_BYTES)
        if head.startswith(_ZIP_MAGICS):
            return _load_zip(name, file)
        if suffix == ".safetensors" or _looks_like_safetensors(head, size):
            return load_safetensors(name, file, size)
        raise _unrecognised(name, head, suffix)
