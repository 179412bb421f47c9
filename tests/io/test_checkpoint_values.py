"""The non-tensor values a checkpoint's pickle may hold (scalars, devices, sizes, sets, bytes, Parameters with
Python attributes): which load as what, and the exact error for each malformed one."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from test_io import (
    F32_BYTES,
    STORAGE_F32,
    op_call,
    op_global,
    op_int,
    op_str,
    op_tuple,
    state_pickle,
    storage_record,
    tensor_op,
    write_checkpoint,
)

import pycnn
from pycnn.io import WeightsFileError


def load_pickle(tmp_path: Path, entries: dict[str, bytes]) -> dict[str, np.ndarray]:
    return pycnn.load(write_checkpoint(tmp_path / "c.pth", state_pickle(entries), {"0": F32_BYTES}))


def refusal(tmp_path: Path, entries: dict[str, bytes]) -> str:
    """The message of the WeightsFileError the checkpoint holding `entries` is refused with, less the path."""
    path = write_checkpoint(tmp_path / "c.pth", state_pickle(entries), {"0": F32_BYTES})
    with pytest.raises(WeightsFileError) as info:
        pycnn.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    return message[len(f"{path}: "):]


def test_integer_scalars_load_exactly_within_int64_and_are_skipped_beyond(tmp_path: Path) -> None:
    values = {"min": -(2**63), "max": 2**63 - 1, "minus_127": -127, "below_min": -(2**63) - 1, "at_2_63": 2**63,
              "below_2_64": -(2**64)}
    got = load_pickle(tmp_path, {k: op_int(v) for k, v in values.items()})
    assert list(got) == ["min", "max", "minus_127"]
    assert [(got[k].dtype, got[k].shape, int(got[k])) for k in got] == [
        (np.dtype(np.int64), (), values[k]) for k in got]


def test_sets_and_bytes_as_torch_writes_them_are_skipped(tmp_path: Path) -> None:
    """torch.save spells a set `__builtin__.set` (pickle protocol 2) and bytes as `_codecs.encode`."""
    weight = torch.arange(6.0).reshape(2, 3)
    torch.save({"w": weight, "ids": {1, 2}, "frozen": frozenset({3}), "blob": b"\x00\xff"}, tmp_path / "c.pth")
    got = pycnn.load(tmp_path / "c.pth")
    assert list(got) == ["w"]
    np.testing.assert_array_equal(got["w"], weight.numpy())


def test_devices_as_torch_writes_them_are_skipped(tmp_path: Path) -> None:
    torch.save({"w": torch.ones(2), "cpu": torch.device("cpu"), "cuda1": torch.device("cuda", 1)}, tmp_path / "c.pth")
    got = pycnn.load(tmp_path / "c.pth")
    assert list(got) == ["w"] and got["w"].tolist() == [1.0, 1.0]


def test_parameter_with_python_attributes_loads_as_its_tensor(tmp_path: Path) -> None:
    """torch rebuilds such a Parameter with _rebuild_parameter_with_state; only the tensor matters."""
    parameter = torch.nn.Parameter(torch.tensor([1.5, -2.0, 0.25]))
    parameter.tag = "frozen"  # type: ignore[attr-defined]
    torch.save({"p": parameter}, tmp_path / "c.pth")
    got = pycnn.load(tmp_path / "c.pth")
    assert list(got) == ["p"] and got["p"].dtype == np.float32 and got["p"].tolist() == [1.5, -2.0, 0.25]


def test_parameter_with_state_of_something_else_refused(tmp_path: Path) -> None:
    call = op_call("torch._utils", "_rebuild_parameter_with_state", op_int(1), b"\x89", b"}", b"}")
    assert refusal(tmp_path, {"p": call}) == (
        "data.pkl is not a valid checkpoint pickle: ValueError: a Parameter wraps int, not a tensor")


BAD_VALUES = {  # pickled value → the exact refusal after "data.pkl is not a valid checkpoint pickle: ValueError: "
    "size_of_a_number": (op_call("torch", "Size", op_int(3)),
                         "torch.Size must be a tuple of at most 64 integers, got 3"),
    "size_with_a_string": (op_call("torch", "Size", op_tuple([op_str("x")])),
                           "torch.Size must be a non-negative integer, got 'x'"),
    "device_of_a_number": (op_call("torch", "device", op_int(5)), "torch.device(5, None) is not a device"),
    "device_with_a_string_index": (op_call("torch", "device", op_str("cuda"), op_str("0")),
                                   "torch.device('cuda', '0') is not a device"),
    "encode_as_utf8": (op_call("_codecs", "encode", op_str("abc"), op_str("utf-8")),
                       "_codecs.encode is only accepted as the latin1 encoding of a string"),
    "encode_without_encoding": (op_call("_codecs", "encode", op_str("abc")),
                                "_codecs.encode is only accepted as the latin1 encoding of a string"),
    "encode_a_number": (op_call("_codecs", "encode", op_int(5), op_str("latin1")),
                        "_codecs.encode is only accepted as the latin1 encoding of a string"),
    "set_of_a_number": (op_call("builtins", "set", op_int(5)), "a set is built from int, not a list"),
    "frozenset_of_a_dict": (op_call("builtins", "frozenset", b"}"), "a set is built from dict, not a list"),
    "build_on_a_tensor": (tensor_op() + b"}" + op_str("offset") + op_int(99) + b"sb",
                          "the pickle tries to modify a TensorRef (BUILD), which torch never does"),
    "build_on_a_dtype": (op_global("torch", "float32") + b"}" + op_str("name") + op_str("x") + b"sb",
                         "the pickle tries to modify a Element (BUILD), which torch never does"),
    "build_on_a_storage_record": (storage_record() + b"}" + op_str("numel") + op_int(0) + b"sb",
                                  "the pickle tries to modify a _StorageRef (BUILD), which torch never does"),
    "build_on_a_storage_type": (op_global("torch", "FloatStorage") + b"}" + op_str("element") + op_int(0) + b"sb",
                                "the pickle tries to modify a _StorageType (BUILD), which torch never does"),
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_malformed_values_refused_with_their_reason(tmp_path: Path, case: str) -> None:
    value, reason = BAD_VALUES[case]
    assert refusal(tmp_path, {"x": value}) == f"data.pkl is not a valid checkpoint pickle: ValueError: {reason}"


def test_valid_values_of_the_same_kinds_load(tmp_path: Path) -> None:
    """The controls of BAD_VALUES: each kind spelled right loads (sizes as names, the rest skipped)."""
    got = load_pickle(tmp_path, {
        "w": tensor_op(),
        "size": op_call("torch", "Size", op_tuple([op_int(2), op_int(0)])),
        "empty_size": op_call("torch", "Size"),
        "device": op_call("torch", "device", op_str("cpu")),
        "latin1": op_call("_codecs", "encode", op_str("abc"), op_str("latin1")),
        "latin_1": op_call("_codecs", "encode", op_str("\xe9"), op_str("latin-1")),
        "set": op_call("builtins", "set", b"](" + op_int(1) + b"e"),
        "frozenset": op_call("builtins", "frozenset", op_tuple([op_int(2)])),
        "storage_tensor": op_call("torch._utils", "_rebuild_tensor", storage_record(), op_int(10),
                                  op_tuple([op_int(2)]), op_tuple([op_int(1)])),
    })
    assert list(got) == ["w", "size.0", "size.1", "storage_tensor"]
    np.testing.assert_array_equal(got["w"], STORAGE_F32)
    assert (int(got["size.0"]), int(got["size.1"])) == (2, 0)
    np.testing.assert_array_equal(got["storage_tensor"], STORAGE_F32[10:])


def test_a_latin1_string_that_is_not_latin1_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, {"x": op_call("_codecs", "encode", op_str("\u20ac"), op_str("latin1"))})
    assert re.fullmatch(r"data\.pkl is not a valid checkpoint pickle: UnicodeEncodeError: 'latin-1' codec .*",
                        message)
