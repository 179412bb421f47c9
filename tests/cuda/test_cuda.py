"""The CUDA path: pycnn.cuda, pycnn._cuda, model.to("cuda"), and pycnn.functional on device arrays.

Everywhere: what the build reports, is_available() False without raising where no device is usable, and the
errors when CUDA is asked for there — checked in fresh interpreters with CUDA_VISIBLE_DEVICES="", so they run on
GPU machines too. Where a device exists: every op and model against the CPU path and torch, in each precision,
and the errors for host/device mismatches. A device is a GPU, or the CPU emulator of a PYCNN_CUDA_EMULATOR=ON
build, which runs the same kernels (slowly) to check their indexing without a GPU; what needs torch's CUDA
tensors or full-size layers runs on a GPU only.

Tolerances, relative to the output's largest magnitude (conftest.assert_close):
    fp32  1e-4 per op, 1e-3 per model (as on the CPU): float32 products, sums in another order
    tf32  3e-3 per op, 3e-2 per model: operands rounded to 10-bit mantissas (2^-11 relative error each)
    bf16  2e-2 per op, 1e-1 per model: operands rounded to 7-bit mantissas (2^-8)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import pycnn
import pycnn.functional as F
from pycnn import nn

from conftest import assert_close
from reference import CONV_CASES, normal, run_python, torch_conv2d, torch_ref
from shapes import conv_layers

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

DEVICE = pycnn.cuda.is_available()
EMULATED = DEVICE and bool(pycnn.cuda._runtime.require_built().emulated)
GPU = DEVICE and not EMULATED and torch.cuda.is_available()
needs_device = pytest.mark.skipif(not DEVICE, reason="no CUDA device")
needs_gpu = pytest.mark.skipif(not GPU, reason="no CUDA device" if not DEVICE or not EMULATED else
                               "no CUDA device (the CPU emulator runs pycnn's kernels, not torch's)")
needs_full_size = pytest.mark.skipif(not GPU, reason="no CUDA device" if not EMULATED else
                                     "no CUDA device (full-size layers are too slow on the CPU emulator)")

OP_RTOL = {"fp32": 1e-4, "tf32": 3e-3, "bf16": 2e-2}
MODEL_RTOL = {"fp32": 1e-3, "tf32": 3e-2, "bf16": 1e-1}
PRECISIONS = list(OP_RTOL)


@pytest.fixture(autouse=True)
def fp32_torch() -> Any:
    """torch's CUDA references in true fp32 (torch lets cuDNN use TF32 by default)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def on_device(fn: Callable[..., Any], *args: Any, **options: Any) -> np.ndarray:
    """fn with DeviceArray copies of the numpy arrays among `args`; its result, which must be a DeviceArray, back
    on the host."""
    result = fn(*(pycnn.cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args), **options)
    assert isinstance(result, pycnn.cuda.DeviceArray), type(result)
    host: np.ndarray = result.numpy()
    return host


# --- everywhere: the build, and CUDA asked for where it cannot run ----------------------------------------------

def test_config_reports_the_cuda_build() -> None:
    c = pycnn.config()
    assert c["cuda_built"] is pycnn.cuda.is_built()
    assert c["cuda_available"] is pycnn.cuda.is_available() is (pycnn.cuda.device_count() > 0)
    assert c["cuda_precision"] == pycnn.cuda.get_precision()
    if c["cuda_built"]:
        assert c["cuda_compiler"] and c["cuda_architectures"]
    if c["cuda_available"]:
        assert c["cuda_status"] == "ok" and "(sm_" in str(c["cuda_device"])


NO_DEVICE = """
import numpy as np
import pycnn, pycnn.functional as F

class ForeignCudaArray:  # what torch and CuPy hand over; never dereferenced here
    __cuda_array_interface__ = {"shape": (1, 3, 8, 8), "typestr": "<f4", "data": (1 << 40, False), "version": 3}

assert pycnn.cuda.is_available() is False and pycnn.cuda.device_count() == 0 and pycnn.cuda.status() != "ok"
print("status:", pycnn.cuda.status())
requests = {
    "model.to": lambda: pycnn.models.resnet18().to("cuda"),
    "layer.cuda": lambda: pycnn.nn.ReLU().cuda(),
    "to_device": lambda: pycnn.cuda.to_device(np.zeros(3, np.float32)),
    "synchronize": pycnn.cuda.synchronize,
    "device_name": pycnn.cuda.device_name,
    "conv2d": lambda: F.conv2d(ForeignCudaArray(), ForeignCudaArray()),
    "relu": lambda: F.relu(ForeignCudaArray()),
}
for name, request in requests.items():
    try:
        request()
    except pycnn.cuda.CudaUnavailableError as e:
        assert isinstance(e, RuntimeError)
        print(name, "->", e)
    else:
        raise AssertionError(f"{name} did not raise")
model = pycnn.models.resnet18()
assert model(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 1000)  # the CPU path is untouched
"""


def test_without_a_usable_device_cuda_requests_fail_clearly() -> None:
    result = run_python(NO_DEVICE, CUDA_VISIBLE_DEVICES="")
    assert result.returncode == 0, result.stdout + result.stderr
    reason = ("this pycnn was built without CUDA kernels" if not pycnn.cuda.is_built() else
              "this pycnn has CUDA kernels, but no usable CUDA device was found")
    lines = [line for line in result.stdout.splitlines() if "->" in line]
    assert len(lines) == 7 and all(reason in line for line in lines), result.stdout


def test_importing_pycnn_leaves_cuda_alone_and_is_available_never_raises() -> None:
    result = run_python("import pycnn, sys; print('pycnn._cuda' in sys.modules, pycnn.cuda.is_available(), "
                        "pycnn.cuda.is_built(), pycnn.cuda.device_count())", CUDA_VISIBLE_DEVICES="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", str(pycnn.cuda.is_built()), "0"]


def test_precision_setting() -> None:
    assert pycnn.cuda.get_precision() == "fp32"
    with pycnn.cuda.precision("tf32"):
        assert pycnn.cuda.get_precision() == "tf32"
        with pycnn.cuda.precision("bf16"):
            assert pycnn.cuda.get_precision() == "bf16"
        assert pycnn.cuda.get_precision() == "tf32"
    assert pycnn.cuda.get_precision() == "fp32"
    with pytest.raises(ValueError, match="precision must be one of 'fp32', 'tf32', 'bf16', got 'fp16'"):
        pycnn.cuda.set_precision("fp16")
    result = run_python("import pycnn; print(pycnn.cuda.get_precision())", PYCNN_CUDA_PRECISION="bf16")
    assert result.stdout.strip() == "bf16", result.stderr


class ForeignCudaArray:
    """A device array as torch or CuPy present one (never dereferenced by these tests)."""

    def __init__(self, shape: tuple[int, ...]):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": "<f4", "data": (1 << 40, False), "version": 3}


@pytest.mark.parametrize(("call", "message"), [
    (lambda: F.conv2d(ForeignCudaArray((1, 3, 5, 5)), np.ones((2, 3, 3, 3))),
     "conv2d: input on the CUDA device but weight on the host"),
    (lambda: F.conv2d(np.ones((1, 3, 5, 5)), ForeignCudaArray((2, 3, 3, 3)), np.ones(2)),
     "conv2d: weight on the CUDA device but input, bias on the host"),
    (lambda: F.linear(np.ones((2, 3)), np.ones((4, 3)), ForeignCudaArray((4,))),
     "linear: bias on the CUDA device but input, weight on the host"),
    (lambda: F.batch_norm(ForeignCudaArray((1, 2, 3)), np.zeros(2), np.ones(2)),
     "batch_norm: input on the CUDA device but running_mean, running_var on the host"),
])
def test_mixing_host_and_device_arrays_is_a_type_error(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call()


def test_device_strings() -> None:
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda', got 'tpu'"):
        nn.ReLU().to("tpu")
    with pytest.raises(ValueError, match="pycnn runs on one GPU, cuda:0"):
        nn.ReLU().to("cuda:1")
    layer = nn.ReLU()
    assert layer.to("cpu") is layer and layer.cpu() is layer


# --- with a device: ops against torch and the CPU path -----------------------------------------------------------

@needs_device
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("name", CONV_CASES)
def test_conv2d_matches_torch_and_the_cpu_path(name: str, precision: str) -> None:
    case = CONV_CASES[name]
    x, w, b = case.arrays()
    with pycnn.cuda.precision(precision):
        got = on_device(F.conv2d, x, w, b, **case.options)
    assert_close(got, torch_conv2d(x, w, b, **case.options), OP_RTOL[precision])
    if precision == "fp32":
        assert_close(got, F.conv2d(x, w, b, **case.options))


@needs_device
@pytest.mark.parametrize("precision", PRECISIONS)
def test_small_integer_convolution_is_exact(precision: str) -> None:
    """Integers below 2^7 are exact in every precision, and so are their sums of products below 2^24."""
    x, w, b = replace(CONV_CASES["wide GEMM edges"], integer=True).arrays()
    with pycnn.cuda.precision(precision):
        got = on_device(F.conv2d, x, w, b, padding=1)
    np.testing.assert_array_equal(got, torch_conv2d(x, w, b, padding=1))


@needs_device
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize(("relu", "residual"), [(False, False), (True, False), (False, True), (True, True)])
def test_fused_bias_residual_relu(precision: str, relu: bool, residual: bool) -> None:
    """The convolution's store: y = relu(conv + bias + residual), with packed weights as a model plan uses them."""
    cuda = pycnn.cuda._runtime.require("test")
    rng = np.random.default_rng(3)
    x, w, b = normal(rng, (2, 70, 16, 12)), normal(rng, (130, 70, 3, 3)), normal(rng, (130,))  # 128x128 tiles
    res = normal(rng, (2, 130, 16, 12))
    want = torch_conv2d(x, w, b, padding=1) + (res if residual else 0)
    want = np.maximum(want, 0) if relu else want
    out = cuda.empty(want.shape)
    cuda.conv2d_packed(cuda.to_device(x), cuda.PackedConv2d(w, 1, precision), cuda.to_device(b), out, (1, 1),
                       (1, 1, 1, 1), (1, 1), relu, cuda.to_device(res) if residual else None)
    assert_close(out.numpy(), want, OP_RTOL[precision])


@needs_full_size
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("layer", conv_layers(), ids=lambda layer: layer.name)
def test_real_network_layers(layer: Any, precision: str) -> None:
    rng = np.random.default_rng(0)
    x = normal(rng, (2, layer.in_channels, layer.in_h, layer.in_w))
    w = normal(rng, (layer.out_channels, layer.in_channels // layer.groups, layer.kernel_h, layer.kernel_w))
    options = dict(stride=layer.stride, padding=layer.padding, groups=layer.groups)
    tx, tw = torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda()
    with torch.no_grad():
        want = TF.conv2d(tx, tw, **options).cpu().numpy()
    with pycnn.cuda.precision(precision):
        got = F.conv2d(tx, tw, **options)
    assert isinstance(got, torch.Tensor) and got.is_cuda
    assert_close(got.cpu().numpy(), want, OP_RTOL[precision])


POOLS = {
    "max 3x3 s2 ceil": (F.max_pool2d, TF.max_pool2d, (2, 3, 9, 10), dict(kernel_size=3, stride=2, ceil_mode=True)),
    "max 3x3 s1 p1 (inception)": (F.max_pool2d, TF.max_pool2d, (1, 4, 7, 7),
                                  dict(kernel_size=3, stride=1, padding=1, ceil_mode=True)),
    "max dilated": (F.max_pool2d, TF.max_pool2d, (2, 2, 11, 9), dict(kernel_size=(3, 2), stride=(2, 1), padding=1,
                                                                     dilation=(2, 3))),
    "max unbatched": (F.max_pool2d, TF.max_pool2d, (3, 8, 8), dict(kernel_size=2)),
    "avg include pad": (F.avg_pool2d, TF.avg_pool2d, (2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1)),
    "avg exclude pad ceil": (F.avg_pool2d, TF.avg_pool2d, (2, 3, 9, 8),
                             dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    "avg divisor": (F.avg_pool2d, TF.avg_pool2d, (1, 2, 6, 7), dict(kernel_size=(2, 3), divisor_override=5)),
    "adaptive 1x1": (F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, (2, 5, 7, 7), dict(output_size=1)),
    "adaptive 3x4 of 7x9": (F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, (2, 3, 7, 9), dict(output_size=(3, 4))),
    "adaptive 6x6 of 5x5": (F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, (1, 2, 5, 5), dict(output_size=6)),
    "adaptive (None, 2)": (F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d, (1, 2, 5, 6), dict(output_size=(None, 2))),
}


@needs_device
@pytest.mark.parametrize("name", POOLS)
def test_pools_match_torch_and_the_cpu_path(name: str) -> None:
    ours, theirs, shape, options = POOLS[name]
    x = normal(np.random.default_rng(1), shape)
    got = on_device(ours, x, **options)
    assert_close(got, torch_ref(theirs, x, **options))
    np.testing.assert_array_equal(got, ours(x, **options))


@needs_device
@pytest.mark.parametrize("padding", [(1, 0, 0, 1), (0, 1, 1, 0)])
def test_pools_with_asymmetric_padding_match_the_cpu_path(padding: tuple[int, ...]) -> None:
    x = normal(np.random.default_rng(2), (2, 3, 7, 8))
    for fn in (F.max_pool2d, F.avg_pool2d):
        np.testing.assert_array_equal(on_device(fn, x, 3, 2, padding), fn(x, 3, 2, padding))


@needs_device
def test_max_pool_propagates_nan_and_relu_keeps_it() -> None:
    x = normal(np.random.default_rng(4), (1, 2, 6, 6))
    x[0, 1, 2, 3], x[0, 0, 0, 0] = np.nan, -np.inf
    np.testing.assert_array_equal(on_device(F.max_pool2d, x, 2), F.max_pool2d(x, 2))
    np.testing.assert_array_equal(on_device(F.relu, x), F.relu(x))


@needs_device
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize(("x_shape", "out_features", "bias"), [((4, 25), 7, True), ((2, 3, 130), 65, False),
                                                               ((1, 9216), 300, True), ((0, 5), 3, True)])
def test_linear(x_shape: tuple[int, ...], out_features: int, bias: bool, precision: str) -> None:
    rng = np.random.default_rng(5)
    x, w = normal(rng, x_shape), normal(rng, (out_features, x_shape[-1]))
    b = normal(rng, (out_features,)) if bias else None
    with pycnn.cuda.precision(precision):
        got = on_device(F.linear, x, w, b)
    assert_close(got, torch_ref(TF.linear, x, w, b), OP_RTOL[precision])


@needs_device
@pytest.mark.parametrize(("shape", "dim"), [((4, 1000), 1), ((2, 3, 4), 0), ((2, 3, 4), -1), ((2, 5, 3, 3), 1),
                                            ((7,), 0)])
def test_softmax(shape: tuple[int, ...], dim: int) -> None:
    x = 10 * normal(np.random.default_rng(6), shape)
    assert_close(on_device(F.softmax, x, dim), torch_ref(TF.softmax, x, dim=dim))


@needs_device
def test_softmax_of_infinities_and_nan_matches_the_cpu_path() -> None:
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf], [np.nan, 1.0, 2.0]], np.float32)
    np.testing.assert_array_equal(on_device(F.softmax, x, 1), F.softmax(x, 1))


@needs_device
@pytest.mark.parametrize(("size", "shape"), [(5, (2, 16, 5, 5)), (2, (1, 7, 3, 4)), (3, (2, 4, 6))])
def test_local_response_norm(size: int, shape: tuple[int, ...]) -> None:
    x = normal(np.random.default_rng(7), shape)
    options = dict(alpha=1e-2, beta=0.75, k=2.0)
    assert_close(on_device(F.local_response_norm, x, size, **options),
                 torch_ref(TF.local_response_norm, x, size, **options))


@needs_device
def test_batch_norm() -> None:
    rng = np.random.default_rng(8)
    x, mean, var, w, b = (normal(rng, (2, 4, 3, 5)), normal(rng, (4,)), np.abs(normal(rng, (4,))) + 0.5,
                          normal(rng, (4,)), normal(rng, (4,)))
    assert_close(on_device(F.batch_norm, x, mean, var, w, b), torch_ref(TF.batch_norm, x, mean, var, w, b))


# --- with a device: DeviceArray --------------------------------------------------------------------------------

@needs_device
def test_device_array_round_trip_views_and_errors() -> None:
    x = normal(np.random.default_rng(9), (2, 3, 4))
    a = pycnn.cuda.to_device(x)
    assert (a.shape, a.ndim, a.size, a.nbytes, a.dtype) == ((2, 3, 4), 3, 24, 96, np.float32)
    assert repr(a) == "DeviceArray(shape=(2, 3, 4), dtype=float32, device='cuda:0')"
    np.testing.assert_array_equal(a.numpy(), x)
    np.testing.assert_array_equal(a.reshape(6, -1).numpy(), x.reshape(6, 4))
    np.testing.assert_array_equal(a.reshape((4, 6)).numpy(), x.reshape(4, 6))
    np.testing.assert_array_equal(a.view((5,), 3).numpy(), x.reshape(-1)[3:8])
    copy = a.copy()
    a.copy_from_host(np.zeros((2, 3, 4), np.float32))
    np.testing.assert_array_equal(copy.numpy(), x)
    assert not a.numpy().any()
    np.testing.assert_array_equal(pycnn.cuda.to_device(np.arange(4, dtype=np.int64)).numpy(), np.arange(4))
    with pytest.raises(ValueError, match=r"cannot reshape an array of shape \(2, 3, 4\) into \(5, -1\)"):
        a.reshape(5, -1)
    with pytest.raises(ValueError, match=r"a view of shape \(20,\) at offset 5 does not fit"):
        a.view((20,), 5)
    with pytest.raises(ValueError, match=r"cannot copy an array of shape \(3,\)"):
        a.copy_from_host(np.zeros(3, np.float32))


@needs_device
def test_torch_views_a_device_array_through_dlpack() -> None:
    x = normal(np.random.default_rng(10), (3, 5))
    tensor = torch.from_dlpack(pycnn.cuda.to_device(x))  # on the emulator, a CPU tensor: its memory is host memory
    assert tensor.is_cuda is GPU
    np.testing.assert_array_equal(tensor.cpu().numpy(), x)


@needs_device
def test_kernels_check_shapes() -> None:
    cuda = pycnn.cuda._runtime.require("test")
    x, out = cuda.empty((1, 3, 5, 5)), cuda.empty((1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"out has shape \(1, 2, 3, 4\), expected \(1, 2, 3, 3\)"):
        cuda.conv2d(x, cuda.empty((2, 3, 3, 3)), None, out, (1, 1), (0, 0, 0, 0), (1, 1), 1, "fp32")
    with pytest.raises(ValueError, match="precision must be 'fp32', 'tf32' or 'bf16', got 'fp8'"):
        cuda.PackedConv2d(np.zeros((2, 3, 3, 3), np.float32), 1, "fp8")
    with pytest.raises(ValueError, match="the inputs have 3 channels in all, out has 4"):
        cuda.concat([cuda.empty((1, 1, 4)), cuda.empty((1, 2, 4))], cuda.empty((1, 4, 4)))


# --- with a device: models ------------------------------------------------------------------------------------

class Branches(nn.Module):
    """Concatenations along channels and along width, a residual addition, and layers no plan fuses."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Sequential(nn.Conv2d(3, 5, 1), nn.BatchNorm2d(5), nn.ReLU())
        self.bn = nn.BatchNorm2d(9)
        self.pool = nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False)
        self.lrn = nn.LocalResponseNorm(3)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(), nn.Linear(9 * 5 * 6, 10), nn.ReLU(), nn.Linear(10, 7),
                                  nn.Softmax(dim=1))

    def forward(self, x: Any) -> Any:
        y = self.bn(nn.cat([self.a(x), self.b(x)], 1))
        y = self.lrn(self.pool(nn.cat([y, y + y], 3)))
        return self.head(y)


class Siblings(nn.Module):
    """Inception's shape: 1x1 convolutions of one input that a plan at batch 1 runs as one, whose outputs, and a
    3x3 convolution's, the concatenation takes in place."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.ReLU())
        self.b = nn.Sequential(nn.Conv2d(3, 6, 1), nn.ReLU())
        self.c = nn.Conv2d(6, 5, 3, padding=1)

    def forward(self, x: Any) -> Any:
        return nn.cat([self.a(x), self.c(self.b(x))], 1)


def randomise_batch_norm(model: nn.Module, rng: np.random.Generator) -> None:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean, m.running_var = rng.uniform(-0.2, 0.2, c), rng.uniform(0.5, 1.5, c)
            m.weight, m.bias = rng.uniform(0.5, 1.5, c), rng.uniform(-0.2, 0.2, c)


@needs_device
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize(("make", "batch"), [(Branches, 2), (Branches, 1), (Siblings, 1)])
def test_small_model_matches_the_cpu_path(precision: str, make: type[nn.Module], batch: int) -> None:
    rng = np.random.default_rng(11)
    model = make()
    randomise_batch_norm(model, rng)
    x = normal(rng, (batch, 3, 9, 6))
    expected = model(x)
    with pycnn.cuda.precision(precision):
        got = model.to("cuda")(x)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    assert_close(got, expected, MODEL_RTOL[precision])
    assert_close(model.to("cpu")(x), expected, 1e-6)


@needs_device
def test_model_plan_uploads_weights_once_per_precision() -> None:
    rng = np.random.default_rng(12)
    model = pycnn.models.resnet18().to("cuda")
    x1, x2 = normal(rng, (1, 3, 32, 32)), normal(rng, (2, 3, 40, 32))
    model(x1)
    uploaded = dict(model._plans.packed)
    assert len(uploaded) == 20 + 1  # 20 convolutions (BatchNorm folded in), the fc layer
    model(x2)
    model(x1)
    assert model._plans.packed == uploaded  # new shapes, no new uploads
    with pycnn.cuda.precision("bf16"):
        model(x1)
    assert len(model._plans.packed) == 2 * len(uploaded)
    assert {k[0] for k in model._plans.plans} == {x1.shape, x2.shape}


@needs_device
def test_model_on_cuda_takes_device_arrays_follows_weight_changes_and_returns_to_the_cpu() -> None:
    rng = np.random.default_rng(13)
    model = pycnn.models.resnet18()
    x = normal(rng, (1, 3, 32, 32))
    on_cpu = model(x)
    model.to("cuda")
    assert_close(model(x), on_cpu, 1e-3)
    result = model(pycnn.cuda.to_device(x))
    assert isinstance(result, pycnn.cuda.DeviceArray)
    assert_close(result.numpy(), on_cpu, 1e-3)
    model.fc.bias = model.fc.bias + 1.0
    assert_close(model(x), on_cpu + 1.0, 1e-3)
    model.to("cpu")
    assert model._plans is None
    assert_close(model(x), on_cpu + 1.0, 1e-5)


@needs_device
def test_single_layers_run_on_cuda() -> None:
    x = normal(np.random.default_rng(15), (2, 3, 8, 8))
    for layer in (nn.Conv2d(3, 4, 3, stride=2), nn.MaxPool2d(2), nn.Flatten(), nn.BatchNorm2d(3), nn.Softmax(1)):
        expected = layer(x)
        assert_close(layer.to("cuda")(x), expected, 1e-4)


@needs_device
def test_host_device_mismatches_on_models() -> None:
    model = pycnn.models.resnet18()
    with pytest.raises(TypeError, match="ResNet is on the CPU, but its input is a CUDA array"):
        model(pycnn.cuda.to_device(np.zeros((1, 3, 32, 32), np.float32)))
    model.to("cuda")
    with pytest.raises(ValueError, match="input of shape"):
        model(np.zeros((1, 4, 32, 32), np.float32))
    with pytest.raises(RuntimeError, match="ResNet is on CUDA"), nn.eager():
        model(np.zeros((1, 3, 32, 32), np.float32))


@needs_device
def test_profile_times_each_step_on_cuda() -> None:
    from pycnn.nn.plan import profile

    model = Branches().to("cuda")
    steps = profile(model, normal(np.random.default_rng(16), (1, 3, 9, 6)), repeat=2)
    assert [s.name.split(" + ")[0] for s in steps][:2] == ["a", "b.0"]
    assert all(s.seconds >= 0 for s in steps)


@needs_device
def test_googlenet_input_transform_runs_on_cuda() -> None:
    rng = np.random.default_rng(17)
    model = pycnn.models.googlenet(weights=pycnn.models.googlenet(aux_logits=False, init_weights=True).state_dict())
    randomise_batch_norm(model, rng)
    x = normal(rng, (1, 3, 64, 64))
    expected = model(x)
    assert_close(model.to("cuda")(x), expected, 1e-3)


TORCHVISION_MODELS = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
                      "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]


def torchvision_pair(name: str) -> tuple[Any, nn.Module]:
    from pycnn.bench.peers import torchvision_model

    reference = torchvision_model(name)
    extra = {"transform_input": False} if name == "googlenet" else {}
    model = getattr(pycnn.models, name)(weights=reference.state_dict(), **extra)
    return reference, model


@needs_full_size
@pytest.mark.parametrize("name", TORCHVISION_MODELS)
def test_every_model_matches_torch_on_the_gpu(name: str) -> None:
    reference, model = torchvision_pair(name)
    x = torch.from_numpy(normal(np.random.default_rng(18), (2, 3, 224, 224))).cuda()
    with torch.no_grad():
        expected = reference.cuda()(x).cpu().numpy()
    got = model.to("cuda")(x)
    assert isinstance(got, torch.Tensor) and got.is_cuda
    assert_close(got.cpu().numpy(), expected, MODEL_RTOL["fp32"])


@needs_full_size
@pytest.mark.parametrize("precision", ["tf32", "bf16"])
@pytest.mark.parametrize("name", ["alexnet", "vgg16", "googlenet", "resnet50"])
def test_tensor_core_models_stay_near_fp32_torch(name: str, precision: str) -> None:
    reference, model = torchvision_pair(name)
    x = normal(np.random.default_rng(19), (2, 3, 224, 224))
    with torch.no_grad():
        expected = reference.cuda()(torch.from_numpy(x).cuda()).cpu().numpy()
    with pycnn.cuda.precision(precision):
        got = model.to("cuda")(x)
    assert_close(got, expected, MODEL_RTOL[precision])


# --- on a GPU: torch's and CuPy's arrays -----------------------------------------------------------------------

class CudaArrayInterfaceOnly:
    """What CuPy and Numba arrays offer: __cuda_array_interface__, no DLPack (here borrowed from a torch tensor)."""

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor
        self.__cuda_array_interface__ = tensor.__cuda_array_interface__


class DLPackOnly:
    """An array that offers DLPack alone (JAX's, say)."""

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor

    def __dlpack__(self, stream: Any = None) -> Any:
        return self.tensor.__dlpack__(stream=stream)

    def __dlpack_device__(self) -> Any:
        return self.tensor.__dlpack_device__()


@needs_gpu
@pytest.mark.parametrize("wrap", [lambda t: t, CudaArrayInterfaceOnly, DLPackOnly], ids=["torch", "cai", "dlpack"])
def test_functional_takes_foreign_device_arrays(wrap: Callable[[torch.Tensor], Any]) -> None:
    rng = np.random.default_rng(20)
    x, w, b = normal(rng, (2, 3, 9, 9)), normal(rng, (4, 3, 3, 3)), normal(rng, (4,))
    tx, tw, tb = (torch.from_numpy(a).cuda() for a in (x, w, b))
    got = F.conv2d(wrap(tx), wrap(tw), wrap(tb), padding=1)
    host = got.cpu().numpy() if isinstance(got, torch.Tensor) else got.numpy()
    assert_close(host, torch_conv2d(x, w, b, padding=1))
    assert isinstance(got, torch.Tensor) == (wrap is not CudaArrayInterfaceOnly and wrap is not DLPackOnly)


@needs_gpu
def test_torch_tensors_in_torch_tensors_out_without_copies() -> None:
    x = torch.randn(2, 3, 8, 8, device="cuda")
    y = F.relu(x)
    assert isinstance(y, torch.Tensor) and y.is_cuda and y.dtype == torch.float32
    torch.testing.assert_close(y, torch.relu(x), rtol=0, atol=0)
    a = pycnn.cuda.to_device(x)
    assert a.__cuda_array_interface__["data"][0] == x.data_ptr()  # a view, not a copy
    back = torch.as_tensor(a, device="cuda")  # through __cuda_array_interface__
    assert back.data_ptr() == x.data_ptr()


@needs_gpu
def test_foreign_arrays_must_be_float32_and_contiguous() -> None:
    x = torch.randn(2, 3, 8, 8, device="cuda")
    for wrap in (lambda t: t, CudaArrayInterfaceOnly):
        with pytest.raises(TypeError, match="relu: input is not float32"):
            F.relu(wrap(x.double()))
    with pytest.raises(TypeError, match=r"relu: input of shape \(2, 3, 8, 8\) is not C-contiguous"):
        F.relu(x.transpose(2, 3))


@needs_gpu
def test_work_on_a_torch_stream_is_ordered() -> None:
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        x = torch.randn(64, 256, 28, 28, device="cuda") * 2  # queued on `stream`
        y = F.relu(x)  # pycnn waits for `stream`, torch's reads of y wait for pycnn
        expected = torch.relu(x)
    torch.cuda.synchronize()
    torch.testing.assert_close(y, expected, rtol=0, atol=0)


@needs_gpu
def test_model_takes_torch_tensors() -> None:
    reference, model = torchvision_pair("resnet18")
    x = torch.randn(2, 3, 64, 64, device="cuda")
    got = model.to("cuda")(x)
    with torch.no_grad():
        expected = reference.cuda()(x)
    assert isinstance(got, torch.Tensor) and got.is_cuda
    assert_close(got.cpu().numpy(), expected.cpu().numpy(), MODEL_RTOL["fp32"])


@needs_gpu
def test_bench_command_runs_on_cuda() -> None:
    result = run_python("import sys, pycnn.cli; sys.exit(pycnn.cli.main(sys.argv[1:]))", "bench", "--device",
                        "cuda", "--models", "resnet18", "--batch", "2", "--repeat", "2", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "torch ms" in result.stdout and "pycnn/torch" in result.stdout, result.stdout
