"""Each way a PyTorch zip checkpoint can be malformed (its pickle, records or archive) is refused with the exact
reason; the valid files next to each limit load as torch would."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_io import (
    F32_BYTES,
    STORAGE_F32,
    claim_size,
    one_tensor,
    op_call,
    op_global,
    op_int,
    op_str,
    op_tuple,
    state_pickle,
    write_checkpoint,
)
from test_io import refusal_reason as reason

from pycnn.io import UnsafeCheckpointError, load, torch_zip

INVALID = "data.pkl is not a valid checkpoint pickle: ValueError: "


def record(key: bytes = op_str("0"), storage_type: str = "FloatStorage", numel: int = 12) -> bytes:
    return op_tuple([op_str("storage"), op_global("torch", storage_type), key, op_str("cpu"), op_int(numel)]) + b"Q"


def tensor(storage: bytes, offset: int = 0, size: tuple[int, ...] = (12,), stride: tuple[int, ...] = (1,)) -> bytes:
    return op_call("torch._utils", "_rebuild_tensor_v2", storage, op_int(offset), op_tuple(map(op_int, size)),
                   op_tuple(map(op_int, stride)), b"\x89", b"}")


def tensor_v3(storage: bytes, dtype: bytes, size: tuple[int, ...] = (12,)) -> bytes:
    return op_call("torch._utils", "_rebuild_tensor_v3", storage, op_int(0), op_tuple(map(op_int, size)),
                   op_tuple([op_int(1)] * len(size)), b"\x89", b"}", dtype)



def checkpoint(tmp_path: Path, data_pkl: bytes) -> Path:
    return write_checkpoint(tmp_path / "c.pth", data_pkl, {"0": F32_BYTES, "1": F32_BYTES})


BAD_PICKLES = {  # data.pkl → the exact reason
    "persistent_id_of_four": (state_pickle({"w": op_tuple([op_str(s) for s in "sabc"]) + b"Q"}),
                              INVALID + "unexpected persistent id ('s', 'a', 'b', 'c')"),
    "persistent_id_not_storage": (state_pickle({"w": op_tuple([op_str(s) for s in ("module", "a", "b", "c", "d")])
                                                + b"Q"}),
                                  INVALID + "unexpected persistent id ('module', 'a', 'b', 'c', 'd')"),
    "persistent_id_a_string": (state_pickle({"w": op_str("storage") + b"Q"}),
                               INVALID + "unexpected persistent id 'storage'"),
    "empty_key": (state_pickle({"w": tensor(record(op_str("")))}), INVALID + "storage key '' is not a record name"),
    "key_with_a_slash": (state_pickle({"w": tensor(record(op_str("../0")))}),
                         INVALID + "storage key '../0' is not a record name"),
    "key_a_number": (state_pickle({"w": tensor(record(op_int(0)))}), INVALID + "storage key 0 is not a record name"),
    "negative_numel": (state_pickle({"w": tensor(record(numel=-1))}),
                       INVALID + "numel of storage 0 must be a non-negative integer, got -1"),
    "storage_type_a_string": (state_pickle({"w": op_tuple([op_str(s) for s in ("storage", "FloatStorage", "0", "cpu")]
                                                          + [op_int(12)]) + b"Q"}),
                              INVALID + "storage record '0' has type 'FloatStorage', not a torch storage type"),
    "bytes_not_a_multiple_of_the_dtype": (state_pickle({"w": tensor_v3(record(storage_type="UntypedStorage", numel=10),
                                                                       op_global("torch", "float32"), (2,))}),
                                          INVALID + "a storage of 10 bytes cannot hold float32 elements"),
    "dtype_a_number": (state_pickle({"w": tensor_v3(record(storage_type="UntypedStorage", numel=48), op_int(1))}),
                       INVALID + "tensor dtype is int, not a torch dtype"),
    "one_element_past_the_storage": (state_pickle({"w": tensor(record(), size=(2,), stride=(12,))}),
                                     INVALID + "tensor view (offset 0, size (2,), stride (12,)) needs element 12 of a "
                                     "storage that holds 12"),
    "size_and_stride_differ": (state_pickle({"w": tensor(record(), size=(3, 4))}),
                               INVALID + "tensor size (3, 4) and stride (1,) differ in length"),
    "parameter_of_a_number": (state_pickle({"w": op_call("torch._utils", "_rebuild_parameter", op_int(1), b"\x89",
                                                         b"}")}),
                              INVALID + "a Parameter wraps int, not a tensor"),
    "memo_index_one_too_far": (b"\x80\x02}q\x04.", INVALID + "memo index 4 at opcode 3 is implausible"),
    "memo_index_of_put": (b"\x80\x02}p9\n.", INVALID + "memo index 9 at opcode 3 is implausible"),
    "memo_index_of_long_binput": (b"\x80\x02}r\x09\x00\x00\x00.", INVALID + "memo index 9 at opcode 3 is implausible"),
    "not_callable": (b"\x80\x02" + op_str("f") + op_tuple([]) + b"R.",
                     "data.pkl is not a valid checkpoint pickle: TypeError: 'str' object is not callable"),
    "complex": (state_pickle({"w": op_global("torch", "ComplexFloatStorage")}),
                "holds complex tensors (torch.ComplexFloatStorage), which pycnn cannot load"),
    "quantized": (state_pickle({"w": op_global("torch._utils", "_rebuild_qtensor")}),
                  "holds quantized, sparse, nested or subclassed tensors (torch._utils._rebuild_qtensor), which pycnn "
                  "cannot load"),
    "top_level_list": (b"\x80\x02].", "holds a list, not a mapping of names to tensors"),
    "cycle": (b"\x80\x02}q\x00" + op_str("a") + b"h\x00s.", "container at 'a' appears twice (a cycle or a shared "
              "reference)"),
    "name_collision": (state_pickle({"a.b": op_int(1), "a": b"}" + op_str("b") + op_int(2) + b"s"}),
                       "two entries flatten to the same name 'a.b'"),
}


@pytest.mark.parametrize("case", BAD_PICKLES)
def test_malformed_pickle_refused_with_its_reason(tmp_path: Path, case: str) -> None:
    data_pkl, expected = BAD_PICKLES[case]
    assert reason(checkpoint(tmp_path, data_pkl)) == expected


UNSAFE_TAIL = (". pycnn only rebuilds tensors and plain containers and never calls code a checkpoint names; if you "
               "trust the file, re-save just its tensors with torch: torch.save(model.state_dict(), path)")


def test_unsafe_global_message_in_full(tmp_path: Path) -> None:
    path = checkpoint(tmp_path, b"\x80\x02" + op_global("os", "system") + b".")
    assert reason(path, UnsafeCheckpointError) == "refused to unpickle global 'os.system'" + UNSAFE_TAIL
    path = checkpoint(tmp_path, b"\x80\x02" + op_global("__torch__.m", "M") + b".")
    assert reason(path, UnsafeCheckpointError) == (
        "refused to unpickle global '__torch__.m.M' (a TorchScript archive: load it with torch.jit.load and save its "
        "state_dict())" + UNSAFE_TAIL)


def test_every_tensor_rebuild_torch_writes_loads(tmp_path: Path) -> None:
    """v1, v2, v3 (over an untyped storage), a Parameter, the last element alone, an empty view anywhere, a
    dimension of one whose stride no array could take."""
    got = load(checkpoint(tmp_path, state_pickle({
        "v1": op_call("torch._utils", "_rebuild_tensor", record(), op_int(0), op_tuple([op_int(12)]),
                      op_tuple([op_int(1)])),
        "v3": tensor_v3(record(op_str("1"), "UntypedStorage", 48), op_global("torch", "float32")),
        "parameter": op_call("torch._utils", "_rebuild_parameter", tensor(record()), b"\x89", b"}"),
        "last": tensor(record(), offset=11, size=(1,)),
        "empty_far_away": tensor(record(), offset=100, size=(0,)),
        "huge_stride_of_a_single_row": tensor(record(), offset=1, size=(1, 3), stride=(2**62, 2)),
    })))
    assert list(got) == ["v1", "v3", "parameter", "last", "empty_far_away", "huge_stride_of_a_single_row"]
    assert got["huge_stride_of_a_single_row"].tolist() == [STORAGE_F32[1:7:2].tolist()]
    for name in ("v1", "v3", "parameter"):
        assert got[name].dtype == np.float32 and got[name].tolist() == STORAGE_F32.tolist(), name
    assert got["last"].tolist() == [1.75] and got["empty_far_away"].shape == (0,)


def test_views_may_copy_out_eight_times_their_stored_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The limit on what stride-0 views expand to is 8× the bytes of their storages plus a slack (1 GiB, set to 0
    here so that the limit is a few bytes): at the limit the file loads, one element past it is refused."""
    monkeypatch.setattr(torch_zip, "_EXPANSION_SLACK_BYTES", 0)
    at_limit = load(checkpoint(tmp_path, state_pickle({"w": tensor(record(), size=(96,), stride=(0,))})))
    assert at_limit["w"].tolist() == [STORAGE_F32[0]] * 96  # 384 bytes from the 48 of a 12-element storage
    past = checkpoint(tmp_path, state_pickle({"w": tensor(record(), size=(97,), stride=(0,))}))
    assert reason(past) == ("tensors would take 388 bytes from 48 bytes of stored data (strided views expanding far "
                            "beyond the file)")
def test_memo_index_equal_to_the_opcode_count_is_fine(tmp_path: Path) -> None:
    assert load(checkpoint(tmp_path, b"\x80\x02}q\x03.")) == {}


def nested(levels: int) -> bytes:
    """{'a': {'a': ... {'a': 1}}} with `levels` dicts below the root."""
    return b"\x80\x02}" + (op_str("a") + b"}") * levels + op_str("a") + op_int(1) + b"s" * (levels + 1) + b"."


def test_nesting_up_to_100_levels_loads_and_deeper_is_refused(tmp_path: Path) -> None:
    got = load(checkpoint(tmp_path, nested(100)))
    assert list(got) == [".".join("a" * 101)] and int(got[".".join("a" * 101)]) == 1
    assert reason(checkpoint(tmp_path, nested(101))) == (
        "containers nested deeper than 100 levels at " + repr(".".join("a" * 101))[:200])


def archive(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


EMPTY = state_pickle({})


def test_archive_level_refusals(tmp_path: Path) -> None:
    path = archive(tmp_path / "two.pth", {"b/data.pkl": EMPTY, "a/data.pkl": EMPTY, "c/x/data.pkl": EMPTY})
    assert reason(path) == "archive holds several checkpoints: ['a', 'b']"
    path = archive(tmp_path / "many.pth", {f"{name}/data.pkl": EMPTY for name in "gfedcba"})
    assert reason(path) == "archive holds several checkpoints: ['a', 'b', 'c', 'd', 'e']"  # the first five
    path = archive(tmp_path / "deep.pth", {"c/x/data.pkl": EMPTY})
    assert reason(path) == ("zip archive is neither a PyTorch checkpoint (no <archive>/data.pkl) nor an .npz (it has "
                            "members other than .npy)")
    path = archive(tmp_path / "order.pth", {"a/data.pkl": EMPTY, "a/byteorder": b"middle"})
    assert reason(path) == "byteorder record says b'middle', expected b'little' or b'big'"
    path = archive(tmp_path / "long.pth", {"a/data.pkl": EMPTY, "a/byteorder": b"little" + b" " * 11})
    assert reason(path) == "record a/byteorder is 17 bytes, more than the 16 accepted"
    path = archive(tmp_path / "sixteen.pth", {"a/data.pkl": EMPTY, "a/byteorder": b"little" + b" " * 10})
    assert reason(path) == "byteorder record says b'little          ', expected b'little' or b'big'"
    path = archive(tmp_path / "short.pth", {"a/data.pkl": state_pickle({"w": tensor(record())}),
                                            "a/data/0": F32_BYTES[:40]})
    assert reason(path) == "record a/data/0 holds 40 bytes, its description needs 48"
    path = archive(tmp_path / "missing.pth", {"a/data.pkl": state_pickle({"w": tensor(record(op_str("7")))})})
    assert reason(path) == "record a/data/7 is missing from the archive"


def test_byteorder_record_is_optional_and_may_say_big(tmp_path: Path) -> None:
    data_pkl = state_pickle({"w": tensor(record())})
    got = load(archive(tmp_path / "none.pth", {"a/data.pkl": data_pkl, "a/data/0": F32_BYTES}))
    assert got["w"].tolist() == STORAGE_F32.tolist()
    big = STORAGE_F32.astype(">f4").tobytes()
    got = load(archive(tmp_path / "big.pth", {"a/data.pkl": data_pkl, "a/byteorder": b"big", "a/data/0": big}))
    assert got["w"].dtype == np.float32 and got["w"].tolist() == STORAGE_F32.tolist()


def test_member_shorter_than_its_directory_entry_with_a_matching_crc(tmp_path: Path) -> None:
    """Deflated data that ends early while its CRC (over what is there) is right: zipfile returns the short data."""
    path = write_checkpoint(tmp_path / "c.pth", one_tensor(), {"0": F32_BYTES[:40]}, compression=zipfile.ZIP_DEFLATED)
    claim_size(path, "archive/data/0", 48)
    assert reason(path) == "record archive/data/0 is truncated: 40 of 48 bytes"


def test_a_data_pkl_beyond_its_bound_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_pkl = state_pickle({"w": tensor(record())})
    path = archive(tmp_path / "x.pth", {"a/data.pkl": data_pkl, "a/data/0": F32_BYTES})
    monkeypatch.setattr(torch_zip, "_MAX_PICKLE_BYTES", len(data_pkl) - 1)
    assert reason(path) == f"record a/data.pkl is {len(data_pkl)} bytes, more than the {len(data_pkl) - 1} accepted"
    monkeypatch.setattr(torch_zip, "_MAX_PICKLE_BYTES", len(data_pkl))
    assert list(load(path)) == ["w"]
