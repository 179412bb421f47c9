"""Each way a .safetensors file can be malformed is refused with the exact reason; files at each limit load."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
from test_io import EIGHT, F32_2, safetensors_file
from test_io import refusal_reason as reason

from pycnn.io import load

ONE_TWO = struct.pack("<2f", 1.0, 2.0)
SUPPORTED = "F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL"


def f32(shape: list[int], begin: int, end: int) -> dict[str, object]:
    return {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}



BAD_HEADERS = {  # header, data → the reason after "invalid safetensors header: "
    "offsets_a_string": ({"a": {**F32_2, "data_offsets": "0-8"}}, EIGHT,
                         "data_offsets of 'a' must be [begin, end], got '0-8'"),
    "three_offsets": ({"a": {**F32_2, "data_offsets": [0, 8, 8]}}, EIGHT,
                      "data_offsets of 'a' must be [begin, end], got [0, 8, 8]"),
    "one_offset": ({"a": {**F32_2, "data_offsets": [8]}}, EIGHT, "data_offsets of 'a' must be [begin, end], got [8]"),
    "negative_offset": ({"a": f32([2], -1, 8)}, EIGHT, "data_offsets of 'a' must be a non-negative integer, got -1"),
    "float_offset": ({"a": {**F32_2, "data_offsets": [0, 8.0]}}, EIGHT,
                     "data_offsets of 'a' must be a non-negative integer, got 8.0"),
    "offsets_beyond_data": ({"a": F32_2}, b"\0" * 4,
                            "data_offsets [0, 8] of 'a' fall outside the 4-byte data block"),
    "reversed_offsets": ({"a": f32([0], 8, 0)}, EIGHT, "data_offsets [8, 0] of 'a' fall outside the 8-byte data block"),
    "shape_a_number": ({"a": {**F32_2, "shape": 2}}, EIGHT,
                       "shape of 'a' must be a tuple of at most 64 integers, got 2"),
    "negative_dim": ({"a": {**F32_2, "shape": [-2]}}, EIGHT, "shape of 'a' must be a non-negative integer, got -2"),
    "impossible_shape": ({"a": f32([0, 2**63 - 1], 0, 0)}, b"",
                         "shape of 'a' [0, 9223372036854775807] is larger than any array can be"),
    "shape_disagrees": ({"a": {**F32_2, "shape": [3]}}, EIGHT,
                        "'a' of shape [3] F32 needs 12 bytes, its offsets span 8"),
    "shape_disagrees_after_another": ({"a": f32([1], 0, 4), "b": f32([2], 4, 8)}, EIGHT,
                                      "'b' of shape [2] F32 needs 8 bytes, its offsets span 4"),
    "bf16_counts_two_bytes": ({"a": {**F32_2, "dtype": "BF16"}}, EIGHT,
                              "'a' of shape [2] BF16 needs 4 bytes, its offsets span 8"),
    "unknown_dtype": ({"a": {**F32_2, "dtype": "C64"}}, EIGHT, f"tensor 'a' has dtype 'C64'; supported: {SUPPORTED}"),
    "dtype_a_list": ({"a": {**F32_2, "dtype": ["F32"]}}, EIGHT,
                     f"tensor 'a' has dtype ['F32']; supported: {SUPPORTED}"),
    "no_dtype": ({"a": {"shape": [2], "data_offsets": [0, 8]}}, EIGHT,
                 "tensor 'a' needs dtype, shape and data_offsets, got {'shape': [2], 'data_offsets': [0, 8]}"),
    "no_shape": ({"a": {"dtype": "F32", "data_offsets": [0, 8]}}, EIGHT,
                 "tensor 'a' needs dtype, shape and data_offsets, got {'dtype': 'F32', 'data_offsets': [0, 8]}"),
    "entry_a_number": ({"a": 3}, b"", "tensor 'a' needs dtype, shape and data_offsets, got 3"),
    "overlap": ({"a": F32_2, "b": F32_2}, EIGHT, "tensor 'b' starts at byte 0, expected 8 (overlap or hole)"),
    "hole_at_start": ({"a": f32([1], 4, 8)}, EIGHT, "tensor 'a' starts at byte 4, expected 0 (overlap or hole)"),
    "hole_between": ({"a": f32([1], 0, 4), "b": f32([1], 8, 12)}, b"\0" * 12,
                     "tensor 'b' starts at byte 8, expected 4 (overlap or hole)"),
    "trailing_bytes": ({"a": f32([1], 0, 4), "b": f32([1], 4, 8)}, b"\0" * 12,
                       "4 bytes after the last tensor belong to no tensor"),
    "data_but_no_tensor": ({}, b"\0", "1 bytes after the last tensor belong to no tensor"),
}


@pytest.mark.parametrize("case", BAD_HEADERS)
def test_malformed_header_refused_with_its_reason(tmp_path: Path, case: str) -> None:
    header, data, expected = BAD_HEADERS[case]
    assert reason(safetensors_file(tmp_path / "x.safetensors", header, data)) == (
        f"invalid safetensors header: {expected}")


def test_valid_headers_at_the_limits_load(tmp_path: Path) -> None:
    """Tensors in any header order, an empty one sharing its offset with the next, extra keys, metadata, 64 dims."""
    header = {"__metadata__": {"format": "pt"},
              "late": {**f32([2], 4, 12), "extra": 1},
              "empty": f32([0, 3], 0, 0),
              "first": f32([1] * 63 + [1], 0, 4)}
    data = struct.pack("<3f", -0.5, 1.0, 2.0)
    got = load(safetensors_file(tmp_path / "x.safetensors", header, data))
    assert list(got) == ["late", "empty", "first"]
    assert got["late"].tolist() == [1.0, 2.0] and got["empty"].shape == (0, 3)
    assert got["first"].shape == (1,) * 64 and got["first"].item() == -0.5
    assert all(a.dtype == np.float32 for a in got.values())


def test_empty_tensor_sorted_before_the_one_at_its_offset(tmp_path: Path) -> None:
    got = load(safetensors_file(tmp_path / "x.safetensors", {"a": F32_2, "z": f32([0], 0, 0)}, ONE_TWO))
    assert got["a"].tolist() == [1.0, 2.0] and got["z"].shape == (0,)


def test_empty_tensor_of_the_largest_shape_loads(tmp_path: Path) -> None:
    """2**60 elements is the most a shape may count (its zeros aside); one more is refused."""
    got = load(safetensors_file(tmp_path / "x.safetensors", {"e": f32([0, 2**60], 0, 0)}))
    assert got["e"].shape == (0, 2**60) and got["e"].dtype == np.float32
    assert reason(safetensors_file(tmp_path / "y.safetensors", {"e": f32([2**30, 0, 2**30 + 1], 0, 0)})) == (
        f"invalid safetensors header: shape of 'e' [{2**30}, 0, {2**30 + 1}] is larger than any array can be")


def test_header_only_files_load_empty(tmp_path: Path) -> None:
    assert load(safetensors_file(tmp_path / "x.safetensors", {})) == {}
    assert load(safetensors_file(tmp_path / "m.safetensors", {"__metadata__": {"a": "b"}})) == {}


FRAMING = {  # raw bytes, suffix → reason
    "seven_bytes": (b"\x01" + b"\0" * 6, ".safetensors",
                    "7 bytes is too short for a safetensors file (8-byte header length first)"),
    "eight_bytes_of_empty_header": (struct.pack("<Q", 0), ".safetensors", "safetensors header is not a JSON object"),
    "length_past_the_end": (struct.pack("<Q", 3) + b"{}", ".safetensors",
                            "safetensors header length 3 exceeds the file (10 bytes) or 104857600 bytes"),
    "length_2_64_minus_1": (struct.pack("<Q", 2**64 - 1) + b"{}", ".safetensors",
                            f"safetensors header length {2**64 - 1} exceeds the file (10 bytes) or 104857600 bytes"),
    "header_not_json": (struct.pack("<Q", 1) + b"{", ".safetensors",
                        "safetensors header is not valid JSON: Expecting property name enclosed in double quotes: "
                        "line 1 column 2 (char 1)"),
    "header_not_an_object": (struct.pack("<Q", 2) + b"[]", ".safetensors", "safetensors header is not a JSON object"),
    "header_a_number": (struct.pack("<Q", 1) + b"7", ".safetensors", "safetensors header is not a JSON object"),
    "space_before_the_header": (struct.pack("<Q", 3) + b" {}", ".safetensors",  # the reference wants '{' first
                                "safetensors header is not a JSON object"),
    "duplicate_keys": (struct.pack("<Q", 19) + b'{"c":1,"b":2,"c":3}', ".safetensors",
                       "safetensors header is not valid JSON: duplicate key among ['b', 'c', 'c']"),
}
MANY_KEYS = b"{" + b",".join(b'"k%02d":1' % i for i in [*range(11), 0]) + b"}"
FRAMING["duplicate_among_twelve_keys"] = (
    struct.pack("<Q", len(MANY_KEYS)) + MANY_KEYS, ".safetensors",
    "safetensors header is not valid JSON: duplicate key among "
    "['k00', 'k00', 'k01', 'k02', 'k03', 'k04', 'k05', 'k06', 'k07', 'k08']")


@pytest.mark.parametrize("case", FRAMING)
def test_malformed_framing_refused_with_its_reason(tmp_path: Path, case: str) -> None:
    raw, suffix, expected = FRAMING[case]
    path = tmp_path / f"x{suffix}"
    path.write_bytes(raw)
    assert reason(path) == expected


def test_a_file_that_shrinks_while_read_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut short by another process after its size was taken, the file is refused naming the tensor it was at."""
    path = safetensors_file(tmp_path / "x.safetensors", {"a": F32_2}, ONE_TWO)
    real_fstat, target, cut = os.fstat, os.stat(path), []

    def fstat(fd: int) -> os.stat_result:
        """The size, and then the file cut short: once, and only for this file (others call os.fstat too)."""
        size = real_fstat(fd)
        if not cut and os.path.samestat(size, target):
            os.truncate(path, size.st_size - 4)
            cut.append(fd)
        return size

    monkeypatch.setattr(os, "fstat", fstat)
    assert reason(path) == "file shrank while reading tensor 'a'"


def test_header_that_fills_the_file_is_read(tmp_path: Path) -> None:
    """A header length of exactly the file's size less 8 is valid, with or without the extension."""
    for name in ("x.safetensors", "x.dat"):
        (tmp_path / name).write_bytes(struct.pack("<Q", 2) + b"{}")
        assert load(tmp_path / name) == {}


def test_content_decides_safetensors_without_the_extension(tmp_path: Path) -> None:
    """Nine bytes (a length and '{') are enough to be read as safetensors; a length past the end is not."""
    (tmp_path / "nine.dat").write_bytes(struct.pack("<Q", 1) + b"{")
    assert reason(tmp_path / "nine.dat").startswith("safetensors header is not valid JSON: ")
    for raw in (struct.pack("<Q", 2) + b"{", struct.pack("<Q", 1) + b" {", struct.pack("<Q", 0),
                struct.pack("<Q", 2**64 - 1) + b"{}"):
        (tmp_path / "other.dat").write_bytes(raw)
        assert reason(tmp_path / "other.dat").startswith("unrecognised weights format; supported: ")
