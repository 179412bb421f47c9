"""pycnn.io against the real peers: files torch writes are read here without torch and compared bit for bit;
hostile and damaged files must be refused quickly with WeightsFileError, never executed or crashed on."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shlex
import shutil
import struct
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from pycnn.io import UnsafeCheckpointError, WeightsFileError, load, save

from conftest import count_case
from reference import LONG_FUZZ_EXAMPLES, SLOWDOWN, run_python, run_python_capped

FAST_SECONDS = 1.0 * SLOWDOWN


SANDBOXED_LOAD = """
    import sys
    from pycnn.io import WeightsFileError, load
    try:
        load(sys.argv[1])
    except WeightsFileError as e:
        print("refused:", e)
"""


def load_in_sandbox(path: Path) -> str:
    """What loading prints in a child capped at 4 GiB and 30 s: a regression that would exhaust memory or run
    for hours fails the test instead of the machine."""
    result = run_python_capped(SANDBOXED_LOAD, str(path), memory_gib=4, timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def refused(path: Path, error: type[Exception] = WeightsFileError) -> Exception:
    """Loading `path` raises `error` within FAST_SECONDS, with a message naming the file."""
    start = time.perf_counter()
    with pytest.raises(error) as info:
        load(path)
    assert time.perf_counter() - start < FAST_SECONDS
    assert str(path) in str(info.value)
    return info.value


def assert_identical(got: dict[str, np.ndarray], expected: dict[str, np.ndarray], layout: bool = True) -> None:
    """Same names in the same order, dtypes, shapes and bytes; `layout`: also C-contiguous and writeable."""
    assert list(got) == list(expected)
    for name, want in expected.items():
        have = got[name]
        assert (have.dtype, have.shape) == (want.dtype, want.shape), name
        assert have.tobytes() == want.tobytes(), name  # bitwise (C order): NaN payloads, -0.0
        assert not layout or (have.flags.c_contiguous and have.flags.writeable), name


def npz_dict(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


# ------------------------------------------------------------------- a tiny pickle assembler for crafted files


def op_global(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


def op_str(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def op_int(value: int) -> bytes:
    if -(2**31) <= value < 2**31:
        return b"J" + struct.pack("<i", value)
    data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def op_tuple(items) -> bytes:
    return b"(" + b"".join(items) + b"t"


def refusal_reason(path: Path, error: type[Exception] = WeightsFileError) -> str:
    """The message loading `path` raises `error` with, less the path that starts it."""
    with pytest.raises(error) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    return message[len(f"{path}: "):]


def op_call(module: str, name: str, *args: bytes) -> bytes:
    return op_global(module, name) + op_tuple(args) + b"R"


def storage_record(storage_type: str = "FloatStorage", key: str = "0", numel: int = 12) -> bytes:
    fields = [op_str("storage"), op_global("torch", storage_type), op_str(key), op_str("cpu"), op_int(numel)]
    return op_tuple(fields) + b"Q"


def tensor_op(storage_type: str = "FloatStorage", key: str = "0", numel: int = 12, offset: int = 0,
              size=(12,), stride=(1,)) -> bytes:
    """torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()), as torch.save does."""
    return op_call("torch._utils", "_rebuild_tensor_v2", storage_record(storage_type, key, numel), op_int(offset),
                   op_tuple(map(op_int, size)), op_tuple(map(op_int, stride)), b"\x89",
                   op_call("collections", "OrderedDict"))


def dict_op(entries: dict[str, bytes]) -> bytes:
    return op_call("collections", "OrderedDict") + b"(" + b"".join(op_str(k) + v for k, v in entries.items()) + b"u"


def state_pickle(entries: dict[str, bytes]) -> bytes:
    return b"\x80\x02" + dict_op(entries) + b"."


def write_checkpoint(path: Path, data_pkl: bytes, storages: dict[str, bytes] | None = None,
                     byteorder: bytes = b"little", compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", data_pkl)
        zf.writestr("archive/byteorder", byteorder)
        for key, data in (storages or {}).items():
            zf.writestr(f"archive/data/{key}", data, compress_type=compression)
        zf.writestr("archive/version", b"3\n")
    return path


STORAGE_F32 = np.arange(12, dtype=np.float32) * 0.25 - 1
STORAGE_F64 = np.array([np.pi, -np.e])
STORAGE_BF16 = np.array([0x3F80, 0xC049, 0x7FC1, 0x8000], dtype=np.uint16)  # 1.0, -3.140625, a NaN, -0.0
F32_BYTES = STORAGE_F32.tobytes()

VALID_VIEWS = {
    "full": tensor_op(size=(3, 4), stride=(4, 1)),
    "transposed": tensor_op(size=(4, 3), stride=(1, 4)),
    "tail": tensor_op(offset=5, size=(7,)),
    "every_other": tensor_op(offset=1, size=(2, 3), stride=(6, 2)),
    "broadcast": tensor_op(offset=2, size=(3, 2), stride=(0, 1)),
    "scalar": tensor_op(offset=11, size=(), stride=()),
    "double": tensor_op("DoubleStorage", "1", 2, size=(2,)),
    "bf16": tensor_op("BFloat16Storage", "2", 4, size=(2, 2), stride=(1, 2)),
    "empty": tensor_op(size=(0, 5), stride=(5, 1)),
}


def write_valid_views(path: Path, byteorder: str = "<") -> Path:
    storages = {"0": STORAGE_F32.astype(byteorder + "f4").tobytes(),
                "1": STORAGE_F64.astype(byteorder + "f8").tobytes(),
                "2": STORAGE_BF16.astype(byteorder + "u2").tobytes()}
    return write_checkpoint(path, state_pickle(VALID_VIEWS), storages, b"little" if byteorder == "<" else b"big")


# --------------------------------------------------------------------------------------- files from torch

TORCH_WRITER = r"""
import collections, pathlib, sys
import numpy as np
import torch, torchvision

torch.set_num_threads(1)
out = pathlib.Path(sys.argv[1])
torch.manual_seed(0)

def numpy_of(t):
    t = t.detach()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()

special = torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0, 1e-45, 3.4e38])
base = torch.arange(20, dtype=torch.float32) * 0.5 - 3
sd = collections.OrderedDict()
sd["float32"] = torch.cat([torch.randn(10), special]).reshape(2, 8)
sd["float64"] = torch.randn(3, 2, dtype=torch.float64)
sd["float16"] = torch.randn(5).half()
sd["bfloat16"] = torch.cat([torch.randn(6), torch.tensor([float("nan"), -0.0])]).bfloat16()
sd["bn.num_batches_tracked"] = torch.tensor(12345, dtype=torch.long)
sd["int64"] = torch.tensor([2**62 + 1, -2**63, 7])
sd["int32"] = torch.randint(-2**31, 2**31 - 1, (4,), dtype=torch.int32)
sd["int16"] = torch.randint(-2**15, 2**15 - 1, (4,), dtype=torch.int16)
sd["int8"] = torch.randint(-128, 127, (4,), dtype=torch.int8)
sd["uint8"] = torch.randint(0, 255, (4,), dtype=torch.uint8)
sd["uint16"] = torch.tensor([0, 1, 65535], dtype=torch.uint16)
sd["bool"] = torch.tensor([True, False, True])
sd["transposed"] = torch.randn(4, 6).t()
sd["view_a"] = base[2:8].view(2, 3)
sd["view_b"] = base[5:]
sd["strided"] = base[1::3]
sd["expanded"] = torch.arange(3.0).expand(4, 3)
sd["empty"] = torch.empty(0, 3)
sd["scalar"] = torch.tensor(2.5)
sd["param"] = torch.nn.Parameter(torch.randn(3))
for k, v in torchvision.models.resnet18().state_dict().items():
    sd["resnet18." + k] = v
torch.save(sd, out / "state.pth")
np.savez(out / "expected.npz", **{k: numpy_of(v) for k, v in sd.items()})

small = collections.OrderedDict()
small.update({"conv." + k: v for k, v in torch.nn.Conv2d(3, 4, 3).state_dict().items()})
small.update({"bn." + k: v for k, v in torch.nn.BatchNorm2d(4).state_dict().items()})
torch.save(small, out / "small.pth")
wrapped = {"state_dict": small, "epoch": 3, "note": "x", "lr": 0.1, "best": None, "milestones": [30, 60]}
torch.save(wrapped, out / "wrapped.pth")
expected = {"state_dict." + k: numpy_of(v) for k, v in small.items()}
expected.update({"epoch": np.array(3), "lr": np.array(0.1)})
expected.update({"milestones.0": np.array(30), "milestones.1": np.array(60)})
np.savez(out / "wrapped_expected.npz", **expected)
torch.save(small, out / "legacy.pth", _use_new_zipfile_serialization=False)
torch.save({"c": torch.zeros(2, dtype=torch.complex64)}, out / "complex.pth")
torch.jit.script(torch.nn.Linear(2, 2)).save(str(out / "scripted.pt"))

for crafted in sorted(out.glob("crafted_*.pth")):
    try:
        loaded = torch.load(crafted, weights_only=True)
    except Exception as e:
        (out / (crafted.stem + ".torch_error")).write_text(repr(e))
    else:
        np.savez(out / (crafted.stem + ".expected.npz"), **{k: numpy_of(v) for k, v in loaded.items()})
print("written")
"""

TORCH_FREE_READER = r"""
import pathlib, sys
sys.modules["torch"] = None
try:
    import torch
except ImportError:
    pass
else:
    raise SystemExit("torch was importable")
import numpy as np
from pycnn.io import load

d = pathlib.Path(sys.argv[1])
compared = 0
for checkpoint, reference in [("state.pth", "expected.npz"), ("wrapped.pth", "wrapped_expected.npz")]:
    got = load(d / checkpoint)
    with np.load(d / reference) as f:
        expected = {k: f[k] for k in f.files}
    assert list(got) == list(expected), (checkpoint, sorted(set(got) ^ set(expected)))
    for k, want in expected.items():
        have = got[k]
        assert (have.dtype, have.shape) == (want.dtype, want.shape), (k, have.dtype, have.shape, want.shape)
        assert have.tobytes() == want.tobytes(), k
        assert have.flags.c_contiguous and have.flags.writeable, k
        compared += 1
assert sys.modules["torch"] is None and not any(m.startswith("torch.") for m in sys.modules)
print("compared", compared)
"""


def write_peer_files(out: Path) -> None:
    write_valid_views(out / "crafted_views.pth")
    write_valid_views(out / "crafted_views_big.pth", byteorder=">")
    write_checkpoint(out / "crafted_too_small.pth", state_pickle({"w": tensor_op(size=(3, 5), stride=(5, 1))}),
                     {"0": F32_BYTES})
    write_checkpoint(out / "crafted_offset_beyond.pth", state_pickle({"w": tensor_op(offset=12, size=(1,))}),
                     {"0": F32_BYTES})
    result = run_python(TORCH_WRITER, str(out), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def peer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files written by torch (and crafted files torch.load has judged), in one directory.

    Nothing of pycnn writes them, so they are kept in pytest's cache, per torch version and content of this file
    (the mutation tier's thousands of sessions would otherwise each start torch for them)."""
    cache = getattr(request.config, "cache", None)
    if cache is None:  # -p no:cacheprovider
        out = tmp_path_factory.mktemp("peer")
        write_peer_files(out)
        return out
    key = hashlib.sha256(torch.__version__.encode() + Path(__file__).read_bytes()).hexdigest()[:16]
    out = Path(cache.mkdir("torch_peer")) / key
    if not (out / "complete").exists():
        staging = Path(tempfile.mkdtemp(dir=out.parent))
        write_peer_files(staging)
        (staging / "complete").touch()
        try:
            staging.rename(out)  # atomic; another session may have put its copy there first
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return out


# ----------------------------------------------------------------------------------- torch checkpoints


def test_torch_checkpoints_load_without_torch_bit_exact(peer: Path) -> None:
    result = run_python(TORCH_FREE_READER, str(peer), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    expected = len(npz_dict(peer / "expected.npz")) + len(npz_dict(peer / "wrapped_expected.npz"))
    assert result.stdout.split() == ["compared", str(expected)]
    assert expected > 120  # resnet18 alone has 122 entries


def test_torch_dtypes_and_views(peer: Path) -> None:
    got = load(peer / "state.pth")
    want = npz_dict(peer / "expected.npz")
    assert_identical(got, want)
    assert got["bfloat16"].dtype == np.float32 and got["bn.num_batches_tracked"].dtype == np.int64
    assert got["bn.num_batches_tracked"].shape == () and int(got["bn.num_batches_tracked"]) == 12345
    assert got["uint16"].dtype == np.uint16 and got["bool"].dtype == np.bool_
    got["view_a"][...] = 0  # views of one storage come back as independent copies
    np.testing.assert_array_equal(got["view_b"], want["view_b"])


def test_wrapped_checkpoint_is_flattened(peer: Path) -> None:
    got = load(peer / "wrapped.pth")
    assert "note" not in got and "best" not in got
    assert got["epoch"].shape == () and got["epoch"].dtype == np.int64 and int(got["epoch"]) == 3
    assert float(got["lr"]) == 0.1 and got["lr"].dtype == np.float64
    assert [k for k in got if k.startswith("state_dict.")] == [
        "state_dict." + k for k in ("conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                    "bn.running_var", "bn.num_batches_tracked")]


def test_crafted_views_match_torch(peer: Path) -> None:
    want = npz_dict(peer / "crafted_views.expected.npz")
    assert_identical(load(peer / "crafted_views.pth"), want)
    assert_identical(load(peer / "crafted_views_big.pth"), want)  # byteorder 'big': torch swaps, so must we
    assert_identical(npz_dict(peer / "crafted_views_big.expected.npz"), want, layout=False)
    assert np.isnan(want["bf16"]).sum() == 1 and want["transposed"].strides != want["full"].strides


@pytest.mark.parametrize("name", ["crafted_too_small", "crafted_offset_beyond"])
def test_views_beyond_storage_refused_like_torch(peer: Path, name: str) -> None:
    assert "storage" in (peer / f"{name}.torch_error").read_text()  # torch.load refuses it too
    assert "needs element" in str(refused(peer / f"{name}.pth"))


def test_legacy_format_asks_to_resave(peer: Path, tmp_path: Path) -> None:
    assert "re-save" in str(refused(peer / "legacy.pth"))
    renamed = tmp_path / "legacy.dat"
    renamed.write_bytes((peer / "legacy.pth").read_bytes())
    assert "legacy" in str(refused(renamed))


def test_unsupported_torch_content(peer: Path) -> None:
    assert "complex" in str(refused(peer / "complex.pth"))
    error = refused(peer / "scripted.pt", UnsafeCheckpointError)
    assert "TorchScript" in str(error) and error.global_name.startswith("__torch__.")


def test_extension_is_only_a_hint(peer: Path, tmp_path: Path) -> None:
    want = load(peer / "small.pth")
    for name in ("weights.bin", "weights", "weights.safetensors"):
        (tmp_path / name).write_bytes((peer / "small.pth").read_bytes())
        assert_identical(load(tmp_path / name), want)
    save(want, tmp_path / "w.safetensors")
    (tmp_path / "w.dat").write_bytes((tmp_path / "w.safetensors").read_bytes())
    save(want, tmp_path / "w.npz")
    (tmp_path / "w.pth").write_bytes((tmp_path / "w.npz").read_bytes())
    assert_identical(load(tmp_path / "w.dat"), {k: want[k] for k in sorted(want)})
    assert_identical(load(tmp_path / "w.pth"), want)


# -------------------------------------------------------------------------------------------- safetensors


def test_torch_tensors_through_our_writer_and_reader(peer: Path, tmp_path: Path) -> None:
    save(torch.load(peer / "state.pth", weights_only=True), tmp_path / "from_torch.safetensors")
    want = npz_dict(peer / "expected.npz")
    assert_identical(load(tmp_path / "from_torch.safetensors"), {k: want[k] for k in sorted(want)})


def every_dtype() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    codes = ("f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8")
    arrays = {code: (rng.standard_normal(6) * 100).astype(code) for code in codes}
    arrays.update({
        "bool": np.array([[True, False], [False, True]]),
        "scalar": np.float32(-0.0),
        "empty": np.zeros((0, 4), np.float16),
        "transposed": np.arange(12, dtype=np.float32).reshape(3, 4).T,
        "big_endian": np.array([1.5, -2.25], dtype=">f4"),
        "layer1.0.conv1.weight": np.full((2, 1, 1, 1), np.nan, np.float32),
        "file": np.int64(3),
        "allow_pickle": np.zeros(2, np.uint8),
    })
    return arrays


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_save_load_round_trip(tmp_path: Path, suffix: str) -> None:
    arrays = every_dtype()
    save(arrays, tmp_path / f"w{suffix}")
    got = load(tmp_path / f"w{suffix}")
    assert set(got) == set(arrays)
    for name, want in arrays.items():
        want = np.asarray(want)
        assert got[name].dtype == want.dtype.newbyteorder("=") and got[name].shape == want.shape, name
        np.testing.assert_array_equal(got[name], want)
        assert got[name].flags.c_contiguous and got[name].flags.writeable


def test_written_npz_is_what_numpy_reads(tmp_path: Path) -> None:
    arrays = every_dtype()
    save(arrays, tmp_path / "w.npz")
    got = npz_dict(tmp_path / "w.npz")
    assert list(got) == list(arrays)
    for name, want in arrays.items():
        np.testing.assert_array_equal(got[name], want)
        assert got[name].dtype == np.asarray(want).dtype


def test_written_safetensors_follows_the_spec(tmp_path: Path) -> None:
    arrays = {"bb": np.arange(3, dtype=np.float16), "a": np.array([[1.0, 2.0]], ">f8"), "c": np.array([True, False])}
    save(arrays, tmp_path / "w.safetensors")
    raw = (tmp_path / "w.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    text = raw[8:8 + n]
    json_len = len(text.rstrip(b" "))
    assert json_len % 8 != 0 and n == json_len + (-json_len % 8) and text.startswith(b"{")  # space-padded to 8
    header = json.loads(text)
    assert list(header) == ["a", "bb", "c"]
    assert header["a"] == {"dtype": "F64", "shape": [1, 2], "data_offsets": [0, 16]}
    assert header["bb"] == {"dtype": "F16", "shape": [3], "data_offsets": [16, 22]}
    assert header["c"] == {"dtype": "BOOL", "shape": [2], "data_offsets": [22, 24]}
    assert raw[8 + n:] == np.array([1.0, 2.0], "<f8").tobytes() + np.arange(3, dtype="<f2").tobytes() + b"\x01\x00"


def test_hand_made_safetensors_file(tmp_path: Path) -> None:
    header = {"__metadata__": {"format": "pt"},
              "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
              "n": {"dtype": "I64", "shape": [], "data_offsets": [16, 24]},
              "h": {"dtype": "BF16", "shape": [2], "data_offsets": [24, 28]},
              "b": {"dtype": "BOOL", "shape": [3], "data_offsets": [28, 31]}}
    text = json.dumps(header).encode()
    data = (struct.pack("<4f", 1, -2, 0.5, 3) + struct.pack("<q", -7) + struct.pack("<2H", 0x3F80, 0xC049)
            + b"\x00\x02\x01")
    (tmp_path / "m.safetensors").write_bytes(struct.pack("<Q", len(text)) + text + data)
    got = load(tmp_path / "m.safetensors")
    assert list(got) == ["w", "n", "h", "b"]
    np.testing.assert_array_equal(got["w"], np.array([[1, -2], [0.5, 3]], np.float32))
    assert got["n"].shape == () and got["n"].dtype == np.int64 and int(got["n"]) == -7
    assert got["h"].dtype == np.float32 and got["h"].tolist() == [1.0, -3.140625]
    assert got["b"].tolist() == [False, True, True] and got["b"].view(np.uint8).tolist() == [0, 1, 1]  # 2 → True


def safetensors_file(path: Path, header: dict | bytes, data: bytes = b"", length: int | None = None) -> Path:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


F32_2 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
EIGHT = b"\0" * 8
LYING_SAFETENSORS = {  # header, data, header length if it lies, what the error must say
    "offsets_beyond_data": ({"a": F32_2}, b"\0" * 4, None, "outside"),
    "offsets_disagree_with_shape": ({"a": {**F32_2, "shape": [3]}}, EIGHT, None, "needs 12 bytes"),
    "unknown_dtype": ({"a": {**F32_2, "dtype": "F8_E4M3"}}, EIGHT, None, "F8_E4M3"),
    "dtype_not_a_string": ({"a": {**F32_2, "dtype": ["F32"]}}, EIGHT, None, "dtype"),
    "negative_dim": ({"a": {**F32_2, "shape": [-2]}}, EIGHT, None, "non-negative"),
    "bool_dim": ({"a": {**F32_2, "shape": [True, 2]}}, EIGHT, None, "non-negative"),
    "reversed_offsets": ({"a": {**F32_2, "data_offsets": [8, 0]}}, EIGHT, None, "outside"),
    "overlap": ({"a": F32_2, "b": F32_2}, EIGHT, None, "overlap"),
    "hole": ({"a": {**F32_2, "shape": [1], "data_offsets": [4, 8]}}, EIGHT, None, "overlap or hole"),
    "trailing_bytes": ({"a": F32_2}, b"\0" * 12, None, "belong to no tensor"),
    "missing_offsets": ({"a": {"dtype": "F32", "shape": [2]}}, EIGHT, None, "data_offsets"),
    "header_longer_than_file": ({"a": F32_2}, EIGHT, 4096, "exceeds the file"),
    "header_length_2_63": ({"a": F32_2}, EIGHT, 2**63, "exceeds the file"),
    "not_json": (b"{not json}", b"", None, "not valid JSON"),
    "json_list": (b"[1, 2]", b"", None, "not a JSON object"),
    "not_utf8": (b'{"\xff": 1}', b"", None, "not valid JSON"),
    "duplicate_key": (b'{"a": ' + json.dumps(F32_2).encode() + b', "a": ' + json.dumps(F32_2).encode() + b"}",
                      EIGHT, None, "duplicate"),
    "deeply_nested": (b'{"a": ' + b"[" * 100000 + b"]" * 100000 + b"}", b"", None, "JSON"),
    "entry_not_an_object": ({"a": 3}, b"", None, "needs dtype"),
    "empty_but_impossible_shape": ({"a": {**F32_2, "shape": [0, 2**63 - 1], "data_offsets": [0, 0]}}, b"", None,
                                   "larger than any array"),
}


@pytest.mark.parametrize("case", LYING_SAFETENSORS)
def test_lying_safetensors_refused(tmp_path: Path, case: str) -> None:
    header, data, length, message = LYING_SAFETENSORS[case]
    assert message in str(refused(safetensors_file(tmp_path / "x.safetensors", header, data, length)))


def test_safetensors_control_file_is_valid(tmp_path: Path) -> None:
    """The lying cases differ from this valid file only in what they lie about."""
    got = load(safetensors_file(tmp_path / "x.safetensors", {"a": F32_2}, struct.pack("<2f", 1.5, 2)))
    assert got["a"].tolist() == [1.5, 2.0]


def test_truncated_safetensors(tmp_path: Path) -> None:
    save(every_dtype(), tmp_path / "w.safetensors")
    raw = (tmp_path / "w.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    for cut in (0, 3, 8, 8 + n // 2, 8 + n, 8 + n + 1, len(raw) - 1):
        path = tmp_path / f"cut{cut}.safetensors"
        path.write_bytes(raw[:cut])
        refused(path)


# ------------------------------------------------------------------------------------------------- npz


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def test_npz_with_object_array_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "o.npz", w=np.ones(2, np.float32), o=np.array([1, "x"], dtype=object))
    assert "Python objects" in str(refused(tmp_path / "o.npz"))


def test_npz_with_strings_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "s.npz", s=np.array(["abc"]))
    assert "non-numeric" in str(refused(tmp_path / "s.npz"))


def test_npz_zip_bomb_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", compression=zipfile.ZIP_LZMA) as zf:
        zf.writestr("w.npy", npy_bytes(np.zeros(2 << 20, np.float32)))
    assert "zip bomb" in str(refused(tmp_path / "bomb.npz"))


def test_npz_header_lying_about_size_refused(tmp_path: Path) -> None:
    raw = npy_bytes(np.zeros(4, np.float32)).replace(b"(4,)", b"(9,)")
    with zipfile.ZipFile(tmp_path / "lie.npz", "w") as zf:
        zf.writestr("w.npy", raw)
    assert "does not match" in str(refused(tmp_path / "lie.npz"))


# ------------------------------------------------------------------------------------------------- save


def test_save_rejects_what_it_cannot_write(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"safetensors or \.npz"):
        save({"w": np.zeros(2)}, tmp_path / "w.pth")
    assert not (tmp_path / "w.pth").exists()
    for bad in (np.array(["a"]), np.zeros(2, np.complex64), np.array([object()]), np.zeros(2, np.longdouble)):
        with pytest.raises(TypeError, match="state\\['w'\\]"):
            save({"w": bad}, tmp_path / "w.safetensors")
    with pytest.raises(TypeError, match="keys"):
        save({1: np.zeros(2)}, tmp_path / "w.npz")


# ----------------------------------------------------------------------------------- hostile pickles


class Reduce:
    """Pickles as a call of `func(*args)`: what an attacker puts in data.pkl."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def dumps(func, *args, protocol: int = 2) -> bytes:
    return pickle.dumps(Reduce(func, *args), protocol=protocol, fix_imports=False)


def payloads(marker: Path) -> dict[str, tuple[bytes, str, bool]]:
    """name → (data.pkl, the global that must be named, whether plain pickle.loads runs it)."""
    command = f"touch {shlex.quote(str(marker))}"
    run_command = op_tuple([op_str(command)]) + b"R"
    import_os = op_call("builtins", "__import__", op_str("os"))
    # getattr(__import__('os'), 'system')(command), once with each of the two globals met first
    import_first = import_os + b"q\x00" + b"0" + op_global("builtins", "getattr") + b"h\x00" + op_str("system")
    getattr_first = op_global("builtins", "getattr") + b"(" + import_os + op_str("system") + b"t"
    state_with_evil = state_pickle({"w": tensor_op(), "x": op_global("os", "system") + run_command})
    evil_storage_type = state_pickle({"w": op_call(
        "torch._utils", "_rebuild_tensor_v2",
        op_tuple([op_str("storage"), op_global("posix", "system"), op_str("0"), op_str("cpu"), op_int(12)]) + b"Q",
        op_int(0), op_tuple([op_int(12)]), op_tuple([op_int(1)]), b"\x89", b"}")})
    return {
        "os.system": (b"\x80\x02" + op_global("os", "system") + run_command + b".", "os.system", True),
        "posix.system": (dumps(os.system, command), "posix.system", True),
        "builtins.eval": (dumps(eval, f"__import__('os').system({command!r})"), "builtins.eval", True),
        "subprocess.Popen": (dumps(subprocess.Popen, ["touch", str(marker)]), "subprocess.Popen", True),
        "builtins.__import__": (b"\x80\x02" + import_first + b"\x86R" + run_command + b".", "builtins.__import__",
                                True),
        "builtins.getattr": (b"\x80\x02" + getattr_first + b"R" + run_command + b".", "builtins.getattr", True),
        "protocol 4 STACK_GLOBAL": (dumps(os.system, command, protocol=4), "posix.system", True),
        "python 2 name": (b"\x80\x02" + op_call("__builtin__", "eval", op_str("1")) + b".", "__builtin__.eval", False),
        "after a valid tensor": (state_with_evil, "os.system", False),
        "as a storage type": (evil_storage_type, "posix.system", False),
    }


def wait_for(path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return path.exists()


@pytest.mark.parametrize("name", list(payloads(Path("/unused"))))
def test_malicious_pickle_refused_and_never_run(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "MARKER"
    data_pkl, global_name, runs_under_pickle = payloads(marker)[name]
    if runs_under_pickle:  # the payload is live: plain pickle does run it
        pickle.loads(data_pkl)
        assert wait_for(marker, 5)
        marker.unlink()
    path = write_checkpoint(tmp_path / "evil.pth", data_pkl, {"0": F32_BYTES})
    error = refused(path, UnsafeCheckpointError)
    assert error.global_name == global_name and f"'{global_name}'" in str(error)
    assert isinstance(error, pickle.UnpicklingError) and isinstance(error, WeightsFileError)
    assert not wait_for(marker, 0.2)


def build(target: bytes, state: bytes) -> bytes:
    return state_pickle({"w": target + state + b"b"})


REDUCE_AND_BUILD = {  # each must fail for the reason given, never as an unsafe global
    "reduce_on_string": (b"\x80\x02" + op_str("os.system") + op_tuple([op_str("x")]) + b"R.", "not callable"),
    "call_storage_type": (state_pickle({"w": op_call("torch", "FloatStorage")}), "not callable"),
    "build_dict_on_tensor": (build(tensor_op(), b"}" + op_str("offset") + op_int(99) + b"s"), "BUILD"),
    "build_slots_on_tensor": (build(tensor_op(), op_tuple([b"N", b"}" + op_str("offset") + op_int(99) + b"s"])),
                              "BUILD"),
    "build_fields_on_tensor": (build(tensor_op(), op_tuple([storage_record(), op_global("torch", "float32"),
                                                            op_int(1000), op_tuple([op_int(4)]),
                                                            op_tuple([op_int(1)])])), "BUILD"),
    "build_on_storage_type": (build(op_global("torch", "FloatStorage"), b"}" + op_str("element") + op_int(0) + b"s"),
                              "BUILD"),
}


def test_reduce_and_build_control(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path / "control.pth", state_pickle({"w": tensor_op()}), {"0": F32_BYTES})
    np.testing.assert_array_equal(load(path)["w"], STORAGE_F32)


@pytest.mark.parametrize("case", REDUCE_AND_BUILD)
def test_reduce_and_build_on_anything_else_refused(tmp_path: Path, case: str) -> None:
    data_pkl, message = REDUCE_AND_BUILD[case]
    error = refused(write_checkpoint(tmp_path / "x.pth", data_pkl, {"0": F32_BYTES}))
    assert not isinstance(error, UnsafeCheckpointError) and message in str(error)


# ------------------------------------------------------------------------------ damaged checkpoints


def test_truncated_checkpoint(peer: Path, tmp_path: Path) -> None:
    raw = (peer / "small.pth").read_bytes()
    for cut in (0, 1, 3, 4, 30, len(raw) // 3, len(raw) // 2, len(raw) - 23, len(raw) - 1):
        path = tmp_path / f"cut{cut}.pth"
        path.write_bytes(raw[:cut])
        refused(path)


def member_data_offset(raw: bytes, info: zipfile.ZipInfo) -> int:
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len


def flipped(raw: bytes, position: int) -> bytes:
    return raw[:position] + bytes([raw[position] ^ 0xFF]) + raw[position + 1:]


def test_flipped_bytes_in_checkpoint(peer: Path, tmp_path: Path) -> None:
    raw = (peer / "small.pth").read_bytes()
    want = load(peer / "small.pth")
    with zipfile.ZipFile(peer / "small.pth") as zf:
        infos = {i.filename: i for i in zf.infolist()}
    targets = [member_data_offset(raw, infos["small/data.pkl"]) + 40,  # CRC
               member_data_offset(raw, infos["small/data/0"]) + 2,  # CRC
               raw.rindex(b"PK\x01\x02"), raw.rindex(b"PK\x05\x06")]  # directory signatures
    for position in targets:
        (tmp_path / "f.pth").write_bytes(flipped(raw, position))
        refused(tmp_path / "f.pth")
    for position in range(0, len(raw), max(1, len(raw) // 60)):  # anywhere else: refused, or read correctly
        (tmp_path / "f.pth").write_bytes(flipped(raw, position))
        try:
            got = load(tmp_path / "f.pth")
        except WeightsFileError:
            continue
        assert_identical(got, want)


def one_tensor(**kwargs) -> bytes:
    return state_pickle({"w": tensor_op(**kwargs)})


LYING_RECORDS = {  # data.pkl, storages, what the error must say
    "member_shorter_than_record": (one_tensor(), {"0": F32_BYTES[:40]}, "needs 48"),
    "member_missing": (one_tensor(key="7"), {"0": F32_BYTES}, "missing"),
    "same_key_two_types": (state_pickle({"a": tensor_op(), "b": tensor_op("DoubleStorage", numel=6, size=(6,))}),
                           {"0": F32_BYTES}, "described twice"),
    "size_stride_lengths_differ": (one_tensor(size=(3, 4)), {"0": F32_BYTES}, "differ in length"),
    "negative_stride": (one_tensor(offset=11, stride=(-1,)), {"0": F32_BYTES},
                        "stride must be a non-negative integer, got -1"),
    "negative_offset": (one_tensor(offset=-1), {"0": F32_BYTES},
                        "storage offset must be a non-negative integer, got -1"),
    "negative_size": (one_tensor(size=(-2,)), {"0": F32_BYTES}, "size must be a non-negative integer, got -2"),
    "too_many_dims": (one_tensor(size=(1,) * 65, stride=(1,) * 65), {"0": F32_BYTES},
                      "size must be a tuple of at most 64 integers"),
    "empty_but_impossible_size": (one_tensor(size=(0, 2**64), stride=(1, 1)), {"0": F32_BYTES},
                                  "size [0, 18446744073709551616] is larger than any array can be"),
    "expands_to_4_tib": (one_tensor(size=(2**20, 2**20), stride=(0, 0)), {"0": F32_BYTES}, "expanding"),
    "view_checked_before_reading": (one_tensor(key="9", size=(3, 5), stride=(5, 1)), {}, "needs element"),
    "bad_persistent_id": (state_pickle({"w": op_tuple([op_str("storage"), op_str("0")]) + b"Q"}), {},
                          "persistent id"),
    "storage_type_is_a_string": (state_pickle({"w": op_tuple([op_str("storage"), op_str("FloatStorage"), op_str("0"),
                                                              op_str("cpu"), op_int(12)]) + b"Q"}), {},
                                 "not a torch storage type"),
    "tensor_from_a_number": (state_pickle({"w": op_call("torch._utils", "_rebuild_tensor_v2", op_int(1), op_int(0),
                                                        b")", b")", b"\x89", b"}")}), {},
                             "a tensor is rebuilt from int, not from a storage record"),
    "no_stop": (state_pickle({})[:-1], {}, "STOP"),
    "top_level_list": (b"\x80\x02]" + tensor_op() + b"a.", {"0": F32_BYTES}, "not a mapping"),
    "cycle": (b"\x80\x02}q\x00" + op_str("a") + b"h\x00s.", {}, "appears twice"),
    "name_collision": (state_pickle({"a.b": op_int(1), "a": b"}" + op_str("b") + op_int(2) + b"s"}),
                       {}, "same name"),
}


@pytest.mark.parametrize("case", LYING_RECORDS)
def test_lying_checkpoint_records_refused(tmp_path: Path, case: str) -> None:
    data_pkl, storages, message = LYING_RECORDS[case]
    assert message in str(refused(write_checkpoint(tmp_path / "x.pth", data_pkl, storages)))


def test_nested_containers_deep_or_shared(tmp_path: Path) -> None:
    deep = b"\x80\x02" + (b"}" + op_str("a")) * 5000 + op_int(1) + b"s" * 5000 + b"."
    assert "nested deeper" in str(refused(write_checkpoint(tmp_path / "deep.pth", deep)))
    shared = b"\x80\x02}(" + op_str("x") + op_int(1) + b"uq\x00"  # 2**60 paths to one leaf through shared dicts
    for level in range(1, 61):
        twice = op_str("a") + b"h" + bytes([level - 1]) + op_str("b") + b"h" + bytes([level - 1])
        shared += b"}(" + twice + b"uq" + bytes([level])
    output = load_in_sandbox(write_checkpoint(tmp_path / "shared.pth", shared + b"."))
    assert output.startswith("refused:") and "appears twice" in output


def test_flattening_rules(tmp_path: Path) -> None:
    data_pkl = state_pickle({
        "state_dict": b"}(" + op_str("w") + tensor_op(size=(2, 2), stride=(2, 1)) + b"u",
        "epoch": op_int(3), "note": op_str("x"), "none": b"N", "ok": b"\x88", "lr": b"G" + struct.pack(">d", 0.5),
        "big": op_int(2**70), "steps": b"](" + op_int(4) + op_int(5) + b"e", "args": b")", "kwargs": b")",
        "shape": op_call("torch", "Size", op_tuple([op_int(2), op_int(3)])),
        "device": op_call("torch", "device", op_str("cuda"), op_int(0)),
        "blob": op_call("_codecs", "encode", op_str("abc"), op_str("latin1")),
        "ids": op_call("builtins", "set", b"](" + op_int(1) + b"e"),
    })
    got = load(write_checkpoint(tmp_path / "w.pth", data_pkl, {"0": F32_BYTES}))
    assert list(got) == ["state_dict.w", "epoch", "ok", "lr", "steps.0", "steps.1", "shape.0", "shape.1"]
    np.testing.assert_array_equal(got["state_dict.w"], STORAGE_F32[:4].reshape(2, 2))
    assert [(got[k].dtype, got[k].item()) for k in ("epoch", "ok", "lr", "steps.1", "shape.0")] == [
        (np.int64, 3), (np.bool_, True), (np.float64, 0.5), (np.int64, 5), (np.int64, 2)]


def test_build_on_state_dict_sets_nothing_that_is_read(tmp_path: Path) -> None:
    """torch BUILDs `_metadata` onto a state dict; a hostile BUILD of `items` must not redirect flattening."""
    state = b"}(" + op_str("_metadata") + b"}" + op_str("items") + op_global("torch", "Size") + b"u"
    data_pkl = b"\x80\x02" + dict_op({"w": tensor_op()}) + state + b"b."
    got = load(write_checkpoint(tmp_path / "w.pth", data_pkl, {"0": F32_BYTES}))
    assert list(got) == ["w"]
    np.testing.assert_array_equal(got["w"], STORAGE_F32)


def central_entries(raw: bytearray, name: str) -> list[int]:
    positions, start = [], 0
    while (start := raw.find(b"PK\x01\x02", start)) >= 0:
        name_len = struct.unpack("<H", raw[start + 28:start + 30])[0]
        if raw[start + 46:start + 46 + name_len] == name.encode():
            positions.append(start)
        start += 4
    return positions


def claim_size(path: Path, member: str, size: int) -> None:
    """Rewrites the uncompressed size that `member`'s local header and directory entries claim."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        local = zf.getinfo(member).header_offset
    raw[local + 22:local + 26] = struct.pack("<I", size)
    for central in central_entries(raw, member):
        raw[central + 24:central + 28] = struct.pack("<I", size)
    path.write_bytes(bytes(raw))


def test_zip_bombs_refused(tmp_path: Path) -> None:
    zeros = np.zeros(2 << 20, np.float32).tobytes()
    big = one_tensor(numel=2 << 20, size=(2 << 20,))
    path = write_checkpoint(tmp_path / "ratio.pth", big, {"0": zeros}, compression=zipfile.ZIP_LZMA)
    assert "zip bomb" in str(refused(path))
    small = one_tensor(numel=10, size=(10,))
    assert "needs 40" in str(refused(write_checkpoint(tmp_path / "size.pth", small, {"0": zeros})))
    # 8 MiB of deflated zeros whose directory entries claim 40 bytes: reading stops at 40 and the CRC fails.
    path = write_checkpoint(tmp_path / "lying.pth", small, {"0": zeros}, compression=zipfile.ZIP_DEFLATED)
    claim_size(path, "archive/data/0", 40)
    assert "cannot read record" in str(refused(path))


def test_huge_memo_index_cannot_exhaust_memory(tmp_path: Path) -> None:
    """A LONG_BINPUT of 2**32-16 must be refused before the C unpickler sizes its memo table (64 GiB) from it."""
    output = load_in_sandbox(write_checkpoint(tmp_path / "memo.pth", b"\x80\x02}r\xf0\xff\xff\xff."))
    assert output.startswith("refused:") and "memo index" in output


def test_error_classes() -> None:
    assert issubclass(WeightsFileError, ValueError)
    assert issubclass(UnsafeCheckpointError, WeightsFileError)
    assert issubclass(UnsafeCheckpointError, pickle.UnpicklingError)


def test_unrecognised_files(tmp_path: Path) -> None:
    (tmp_path / "w.xyz").write_bytes(b"\x00\x01 not weights" * 10)
    message = str(refused(tmp_path / "w.xyz"))
    assert ".safetensors" in message and ".npz" in message and "torch.save" in message
    (tmp_path / "empty.pth").write_bytes(b"")
    assert "empty" in str(refused(tmp_path / "empty.pth"))
    (tmp_path / "short.pth").write_bytes(b"PK\x03")
    assert "not a zip archive" in str(refused(tmp_path / "short.pth"))
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert "neither" in str(refused(tmp_path / "other.zip"))
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.pth")


# ------------------------------------------------------------------------------------------ random damage

DAMAGE = r'''
import json, os, sys, time, zipfile
import numpy as np
from pycnn.io import WeightsFileError, load

sources, count, workdir, seed = sys.argv[1].split(","), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
seconds = float(sys.argv[5])
rng = np.random.default_rng(seed)
WIDE = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 2**31 - 1, 2**31, 2**32 - 1, 2**53, 2**63 - 1, 2**64 - 1]


def damage_bytes(raw):
    """raw with one random kind of damage, and what was done."""
    kind = ["truncate", "flip", "integer", "delete", "duplicate"][rng.integers(5)]
    at = int(rng.integers(len(raw) + 1))
    if kind == "truncate":
        return raw[:at], f"truncate at {at}"
    at = min(at, len(raw) - 1)
    if kind == "flip":
        spots = sorted(int(p) for p in rng.integers(len(raw), size=rng.integers(1, 5)))
        out = bytearray(raw)
        for p in spots:
            out[p] ^= int(rng.integers(1, 256))
        return bytes(out), f"flip {spots}"
    if kind == "integer":
        width, value = [1, 2, 4, 8][rng.integers(4)], WIDE[rng.integers(len(WIDE))]
        data = (value & (2 ** (8 * width) - 1)).to_bytes(width, "little")
        return raw[:at] + data + raw[at + width:], f"write {value} in {width} bytes at {at}"
    length = int(rng.integers(1, 65))
    if kind == "delete":
        return raw[:at] + raw[at + length:], f"delete {length} at {at}"
    return raw[:at] + raw[at:at + length] + raw[at:], f"duplicate {length} at {at}"


def damage_member(raw, path):
    """A valid zip whose one member is damaged: the damage reaches the parsers behind the CRC check."""
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    target = int(rng.integers(len(members)))
    out_path = os.path.join(workdir, "member.zip")
    with zipfile.ZipFile(out_path, "w") as zf:
        for i, (info, data) in enumerate(members):
            if i == target:
                data, how = damage_bytes(data)
                how = f"member {info.filename}: {how}"
            zf.writestr(info, data)
    with open(out_path, "rb") as f:
        return f.read(), how


def damage_header(raw):
    """A safetensors file whose JSON header has one value replaced, its length kept consistent."""
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    name = list(header)[rng.integers(len(header))]
    entry = header[name]
    if not isinstance(entry, dict) or "dtype" not in entry:
        return damage_bytes(raw)
    field = ["dtype", "shape", "data_offsets"][rng.integers(3)]
    if field == "dtype":
        entry["dtype"] = ["F32", "F16", "BF16", "F64", "I64", "U8", "BOOL", "C64", "F8_E5M2", ""][rng.integers(10)]
    elif entry[field]:
        entry[field][rng.integers(len(entry[field]))] = [-1, 0, 1, 7, 2**31, 2**63 - 1, 2**64][rng.integers(7)]
    else:
        entry[field].append(int(rng.integers(0, 5)))
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + raw[8 + n:], f"header {name}.{field} = {entry[field]}"


outcomes = {"loaded": 0, "refused": 0}
failures = []
for i in range(count):
    source = sources[i % len(sources)]
    with open(source, "rb") as f:
        raw = f.read()
    way = rng.integers(3)
    if way == 1 and raw.startswith(b"PK"):
        data, how = damage_member(raw, source)
    elif way == 1:
        data, how = damage_header(raw)
    else:
        data, how = damage_bytes(raw)
    path = os.path.join(workdir, "damaged" + os.path.splitext(source)[1])
    with open(path, "wb") as f:
        f.write(data)
    start = time.perf_counter()
    try:
        state = load(path)
        assert all(isinstance(v, np.ndarray) and v.dtype.kind in "biuf" and v.flags.c_contiguous
                   for v in state.values()), "a loaded value is not a numeric C-contiguous array"
        outcomes["loaded"] += 1
    except WeightsFileError as e:
        assert path in str(e), "the error does not name the file"
        outcomes["refused"] += 1
    except BaseException as e:  # anything else, MemoryError included, is a bug
        failures.append(f"{os.path.basename(source)}, {how}: {type(e).__name__}: {str(e)[:300]}")
    if time.perf_counter() - start > seconds:
        failures.append(f"{os.path.basename(source)}, {how}: took {time.perf_counter() - start:.1f} s")
print(json.dumps({"outcomes": outcomes, "failures": failures}))
'''


@pytest.mark.fuzz
def test_randomly_damaged_files_load_or_are_refused(peer: Path, tmp_path: Path) -> None:
    """Truncated, bit-flipped, overwritten, spliced files, and archives whose members (behind a valid CRC) or
    safetensors headers are damaged: each loads as numeric arrays or raises WeightsFileError, quickly."""
    sources = [peer / "small.pth", peer / "wrapped.pth", tmp_path / "w.safetensors", tmp_path / "w.npz"]
    save(every_dtype(), sources[2])
    save(every_dtype(), sources[3])
    count = LONG_FUZZ_EXAMPLES or 400
    result = run_python_capped(DAMAGE, ",".join(map(str, sources)), str(count), str(tmp_path), str(count),
                               str(2 * FAST_SECONDS), memory_gib=4, timeout=60 + count)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    print(f"damaged files: {report['outcomes']}")
    assert not report["failures"], "\n".join(report["failures"][:20])
    assert sum(report["outcomes"].values()) == count and report["outcomes"]["refused"] > count // 4
    count_case("damaged weights file", count)


def test_a_file_is_recognised_from_its_first_bytes_alone(tmp_path: Path) -> None:
    small, huge = tmp_path / "small.bin", tmp_path / "huge.bin"
    small.write_bytes(b"\x00\x01 not a weights file")
    with open(huge, "wb") as f:
        f.write(small.read_bytes())
        f.truncate(6 << 30)  # sparse: 6 GiB that take no disk, more than the sandbox may allocate
    assert load_in_sandbox(huge) == f"refused: {refused(small)}\n".replace(str(small), str(huge))
