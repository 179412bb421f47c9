"""Reading the records of a zip archive with their sizes checked first (no zip bombs, no truncation)."""

from __future__ import annotations

import io
import zipfile

from .errors import fail

_MAX_COMPRESSION_RATIO = 1000  # deflate tops out near 1030:1; torch never compresses at all


def open_zip(path: str, file: io.BufferedReader) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(file)
    except MemoryError:
        raise
    except Exception as e:  # whatever a damaged directory makes zipfile raise, the file is corrupt
        raise fail(path, f"corrupt or truncated zip archive: {e}") from None


def member_info(path: str, zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise fail(path, f"record {name} is missing from the archive") from None
    compressed = info.compress_type != zipfile.ZIP_STORED
    if compressed and info.file_size > _MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise fail(
            path, f"record {name} would expand {info.compress_size} bytes to {info.file_size} "
            f"(more than {_MAX_COMPRESSION_RATIO}:1): refusing a likely zip bomb"
        )
    return info


def read_member(path: str, zf: zipfile.ZipFile, name: str, *,
                 size: int | None = None, limit: int | None = None) -> bytes:
    """The bytes of a zip member whose size must be exactly `size` or at most `limit`; CRC-checked."""
    info = member_info(path, zf, name)
    if size is not None and info.file_size != size:
        raise fail(path, f"record {name} holds {info.file_size} bytes, its description needs {size}")
    if limit is not None and info.file_size > limit:
        raise fail(path, f"record {name} is {info.file_size} bytes, more than the {limit} accepted")
    try:
        with zf.open(info) as member:
            data = member.read(info.file_size)
    except MemoryError:
        raise
    except Exception as e:  # bad CRC, damaged deflate/bz2/lzma stream, encryption, unknown method
        raise fail(path, f"cannot read record {name}: {e}") from None
    if len(data) != info.file_size:
        raise fail(path, f"record {name} is truncated: {len(data)} of {info.file_size} bytes")
    return data
