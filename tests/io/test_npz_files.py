"""Reading .npz archives member by member: every .npy header version and layout numpy writes loads as a native,
C-contiguous copy; each malformed member is refused with the exact reason; and what save writes is np.savez's
format."""

from __future__ import annotations

import io
import warnings
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from test_io import npy_bytes
from test_io import refusal_reason as reason

from pycnn.io import load, save, zip_records


def npz(path: Path, members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED) -> Path:
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", compression=compression) as zf:
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name, which one case writes on purpose
        for name, data in members:
            zf.writestr(name, data)
    return path



def npy_v2(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=(2, 0))
    return buffer.getvalue()


def test_every_layout_loads_native_and_c_contiguous(tmp_path: Path) -> None:
    fortran = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    path = npz(tmp_path / "w.npz", [("v2.npy", npy_v2(np.arange(3, dtype=">i2"))),
                                    ("big.npy", npy_bytes(np.array([1.5, -2.0], ">f8"))),
                                    ("fortran.npy", npy_bytes(fortran)),
                                    ("flags.npy", npy_bytes(np.array([True, False])))])
    got = load(path)
    assert list(got) == ["v2", "big", "fortran", "flags"]
    expected = {"v2": np.arange(3, dtype=np.int16), "big": np.array([1.5, -2.0]), "fortran": fortran,
                "flags": np.array([True, False])}
    for name, want in expected.items():
        have = got[name]
        assert have.dtype == want.dtype and have.dtype.isnative, name
        assert have.flags.c_contiguous and have.flags.writeable, name
        np.testing.assert_array_equal(have, want)


def test_empty_archive_loads_empty(tmp_path: Path) -> None:
    np.savez(tmp_path / "e.npz")
    assert load(tmp_path / "e.npz") == {}


BAD_MEMBERS = {
    "same_name_twice": ([("a.npy", npy_bytes(np.ones(2))), ("a.npy", npy_bytes(np.ones(2)))],
                        "archive lists the same array twice"),
    "not_npy": ([("a.npy", b"NOTNUMPY" + b"\0" * 20)],
                "member a.npy is not a valid .npy array: the magic string is not correct; expected b'\\x93NUMPY', got "
                "b'NOTNUM'"),
    "complex": ([("a.npy", npy_bytes(np.ones(2, np.complex64)))], "array 'a' has non-numeric dtype complex64"),
    "datetime": ([("w.npy", npy_bytes(np.zeros(2, "M8[s]")))], "array 'w' has non-numeric dtype datetime64[s]"),
    "objects": ([("a.npy", npy_bytes(np.array([1, "x"], dtype=object)))],
                "array 'a' holds Python objects, which pycnn never unpickles"),
    "one_byte_short": ([("a.npy", npy_bytes(np.zeros(4, np.float32))[:-1])],
                       "array 'a' of shape (4,) float32 does not match its 15 data bytes"),
    "one_byte_long": ([("a.npy", npy_bytes(np.zeros(4, np.float32)) + b"\0")],
                      "array 'a' of shape (4,) float32 does not match its 17 data bytes"),
    "second_member_bad": ([("a.npy", npy_bytes(np.ones(2))), ("b.npy", npy_bytes(np.ones(2, np.complex128)))],
                          "array 'b' has non-numeric dtype complex128"),
}


@pytest.mark.parametrize("case", BAD_MEMBERS)
def test_malformed_member_refused_with_its_reason(tmp_path: Path, case: str) -> None:
    members, expected = BAD_MEMBERS[case]
    assert reason(npz(tmp_path / "x.npz", members)) == expected


def test_compression_up_to_1000_to_1_is_read_and_beyond_refused(tmp_path: Path) -> None:
    zeros = npy_bytes(np.zeros(1 << 20, np.uint8))
    deflated = npz(tmp_path / "deflated.npz", [("a.npy", zeros)], zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(deflated) as zf:
        info = zf.getinfo("a.npy")
    assert 900 < info.file_size / info.compress_size < 1000  # deflate's best
    got = load(deflated)
    assert got["a"].shape == (1 << 20,) and not got["a"].any()
    bzipped = npz(tmp_path / "bzip2.npz", [("a.npy", zeros)], zipfile.ZIP_BZIP2)
    with zipfile.ZipFile(bzipped) as zf:
        info = zf.getinfo("a.npy")
    assert reason(bzipped) == (f"record a.npy would expand {info.compress_size} bytes to {info.file_size} (more than "
                               "1000:1): refusing a likely zip bomb")


def test_save_writes_what_np_savez_writes(tmp_path: Path) -> None:
    """Uncompressed members with zip64 sizes, so that numpy (and mmap) read them and arrays over 2 GiB fit."""
    arrays = {"b": np.arange(3, dtype=np.int16), "a": np.ones((2, 2), np.float32)}
    save(arrays, tmp_path / "w.npz")
    np.savez(tmp_path / "ref.npz", **arrays)
    with zipfile.ZipFile(tmp_path / "w.npz") as ours, zipfile.ZipFile(tmp_path / "ref.npz") as numpys:
        assert [i.filename for i in ours.infolist()] == ["b.npy", "a.npy"]
        for mine, theirs in zip(ours.infolist(), numpys.infolist(), strict=True):
            assert (mine.filename, mine.compress_type, mine.file_size, mine.extract_version) == (
                theirs.filename, theirs.compress_type, theirs.file_size, theirs.extract_version)
            assert mine.compress_type == zipfile.ZIP_STORED and mine.extract_version == 45  # zip64
            assert ours.read(mine) == numpys.read(theirs)


def test_damaged_data_behind_a_valid_header_is_refused(tmp_path: Path) -> None:
    data = np.arange(1, 2**14 + 1, dtype=np.float32)  # 64 KiB: reading the header stops far before its end
    path = npz(tmp_path / "w.npz", [("a.npy", npy_bytes(data))])
    raw = bytearray(path.read_bytes())
    raw[raw.index(data.tobytes()) + data.nbytes - 3] ^= 0x40  # the member's CRC no longer matches its data
    path.write_bytes(bytes(raw))
    assert reason(path) == "cannot read .npz: Bad CRC-32 for file 'a.npy'"


def test_the_compression_bound_is_inclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = npz(tmp_path / "w.npz", [("a.npy", npy_bytes(np.zeros(4096, np.uint8)))], zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("a.npy")
    monkeypatch.setattr(zip_records, "_MAX_COMPRESSION_RATIO", Fraction(info.file_size, info.compress_size))
    assert not load(path)["a"].any()  # expanding by exactly the bound is allowed


def test_a_compressed_size_below_two_bytes_is_bounded_too(tmp_path: Path) -> None:
    path = npz(tmp_path / "w.npz", [("a.npy", npy_bytes(np.zeros(1400, np.uint8)))], zipfile.ZIP_DEFLATED)
    raw = bytearray(path.read_bytes())
    entry = raw.index(b"PK\x01\x02")  # the central directory's record of a.npy: its compressed size at +20
    raw[entry + 20:entry + 24] = (1).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    assert reason(path) == ("record a.npy would expand 1 bytes to 1528 (more than 1000:1): refusing a likely zip "
                            "bomb")
