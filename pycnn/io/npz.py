"""numpy's .npz archives: read without pickles, each member's header checked against its data; and written."""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np

from .errors import fail
from .zip_records import member_info


def _check_npy_member(path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """A member's .npy header must describe a numeric array exactly as large as the member's data."""
    member_info(path, zf, info.filename)
    try:
        with zf.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(member)
            else:
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(member)
            data_bytes = info.file_size - member.tell()
    except MemoryError:
        raise
    except Exception as e:  # a damaged member or header (numpy raises ValueError, zipfile its own errors)
        raise fail(path, f"member {info.filename} is not a valid .npy array: {e}") from None
    if dtype.hasobject:
        raise fail(path, f"array {info.filename[:-4]!r} holds Python objects, which pycnn never unpickles")
    if dtype.kind not in ("b", "i", "u", "f"):
        raise fail(path, f"array {info.filename[:-4]!r} has non-numeric dtype {dtype}")
    if math.prod(shape) * dtype.itemsize != data_bytes:
        raise fail(path, f"array {info.filename[:-4]!r} of shape {shape} {dtype} does not match its "
                          f"{data_bytes} data bytes")


def load_npz(path: str, file: io.BufferedReader, zf: zipfile.ZipFile) -> dict[str, np.ndarray]:
    if len(set(zf.namelist())) != len(zf.namelist()):
        raise fail(path, "archive lists the same array twice")
    for info in zf.infolist():
        _check_npy_member(path, zf, info)
    file.seek(0)
    try:
        with np.load(file, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except MemoryError:
        raise
    except Exception as e:  # same as above, met while reading the data
        raise fail(path, f"cannot read .npz: {e}") from None
    return {name: a.astype(a.dtype.newbyteorder("="), order="C", copy=False) for name, a in arrays.items()}


def write_npz(arrays: dict[str, np.ndarray], path: str) -> None:
    """What np.savez writes, without its keyword arguments clashing with names like 'file'."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in arrays.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
