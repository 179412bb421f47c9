"""What save accepts (extensions in any case, numpy and torch values, bfloat16 widened) and the exact error for
what it cannot write."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from pycnn.io import load, save


@pytest.mark.parametrize("name", ["w.SAFETENSORS", "w.Npz"])
def test_extension_in_any_case(tmp_path: Path, name: str) -> None:
    save({"a": np.arange(3, dtype=np.uint16)}, tmp_path / name)
    got = load(tmp_path / name)
    assert got["a"].dtype == np.uint16 and got["a"].tolist() == [0, 1, 2]


def test_torch_values_and_plain_python_values(tmp_path: Path) -> None:
    state = {"bf16": torch.tensor([1.0, -3.140625], dtype=torch.bfloat16),
             "param": torch.nn.Parameter(torch.tensor([0.5, 2.0])), "steps": torch.tensor([7, -1]),
             "mask": torch.tensor([True, False]), "list": [1, 2], "float": 3.5}
    save(state, tmp_path / "w.safetensors")
    got = load(tmp_path / "w.safetensors")
    assert {k: (v.dtype, v.tolist()) for k, v in got.items()} == {
        "bf16": (np.float32, [1.0, -3.140625]), "param": (np.float32, [0.5, 2.0]), "steps": (np.int64, [7, -1]),
        "mask": (np.bool_, [True, False]), "list": (np.int64, [1, 2]),
        "float": (np.float64, 3.5)}


REFUSED: dict[str, tuple[str, Any, type[Exception], str]] = {  # file name, state, error, exact message
    "pth": ("w.pth", {"a": np.ones(1)}, ValueError, "{dir}/w.pth: save writes .safetensors or .npz files, not '.pth'"),
    "no_extension": ("w", {"a": np.ones(1)}, ValueError,
                     "{dir}/w: save writes .safetensors or .npz files, not 'no extension'"),
    "a_list": ("w.npz", [("a", np.ones(1))], TypeError, "state must be a mapping of names to arrays, got list"),
    "metadata_key": ("w.safetensors", {"__metadata__": np.ones(1)}, TypeError,
                     "state keys must be strings other than '__metadata__', got '__metadata__'"),
    "bytes_key": ("w.npz", {b"a": np.ones(1)}, TypeError,
                  "state keys must be strings other than '__metadata__', got b'a'"),
    "complex": ("w.npz", {"a": np.ones(1, np.complex64)}, TypeError,
                "state['a'] must be a bool, integer or float16/32/64 array, got dtype complex64"),
    "longdouble": ("w.safetensors", {"a": np.ones(1, np.longdouble)}, TypeError,
                   f"state['a'] must be a bool, integer or float16/32/64 array, got dtype {np.dtype(np.longdouble)}"),
    "strings": ("w.npz", {"ok": np.ones(1), "s": np.array(["x"])}, TypeError,
                "state['s'] must be a bool, integer or float16/32/64 array, got dtype <U1"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_what_save_refuses(tmp_path: Path, case: str) -> None:
    name, state, error, message = REFUSED[case]
    with pytest.raises(error, match=f"^{re.escape(message.format(dir=tmp_path))}$"):
        save(state, tmp_path / name)
    assert not (tmp_path / name).exists()


def test_safetensors_bytes_in_full(tmp_path: Path) -> None:
    """Widest dtype first then by name (every tensor aligned), compact JSON with sorted keys, padded with spaces to
    a multiple of 8, little-endian data whatever the arrays' byte order."""
    save({"b": np.array([1, 2], np.int8), "a": np.array([3], np.int8), "w": np.array([1.5], ">f4")},
         tmp_path / "w.safetensors")
    header = (b'{"a":{"data_offsets":[4,5],"dtype":"I8","shape":[1]},"b":{"data_offsets":[5,7],"dtype":"I8",'
              b'"shape":[2]},"w":{"data_offsets":[0,4],"dtype":"F32","shape":[1]}}')
    header += b" " * (-len(header) % 8)
    assert header.endswith(b"}  ")  # two spaces of padding
    expected = len(header).to_bytes(8, "little") + header + np.float32(1.5).tobytes() + b"\x03\x01\x02"
    assert (tmp_path / "w.safetensors").read_bytes() == expected
