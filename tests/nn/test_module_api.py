"""Module's bookkeeping against torch.nn.Module: names of children, parameters and buffers, assignment, reprs of
containers, devices, and layers a user writes (forward only, or op only)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import pycnn
from pycnn import nn
from pycnn.nn.plan import PlanCache

from conftest import assert_close

pytestmark = pytest.mark.smoke


def block(lib):
    """The same small tree in pycnn.nn or torch.nn: a top-level parameter and buffer, a nested container, a
    shared layer and an empty slot."""

    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            if lib is nn:
                self.register_parameter("scale", np.ones(2, np.float32))
            else:
                self.scale = lib.Parameter(torch.ones(2))
            self.register_buffer("offset", torch.zeros(3) if lib is torch.nn else np.zeros(3, np.float32))
            self.conv = lib.Conv2d(2, 3, 1)
            self.body = lib.Sequential(lib.BatchNorm2d(3), lib.ReLU())
            self.again = self.conv
            self.head = None
            self.add_module("skip", None)

        def extra_repr(self):
            return "scale=2"

    return Block()


def test_names_match_torch():
    ours, theirs = block(nn), block(torch.nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__ for m in theirs.modules()]
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]
    assert [p.shape for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert [b.shape for b in ours.buffers()] == [tuple(b.shape) for b in theirs.buffers()]
    assert [n for n, _ in ours.named_modules(prefix="net")][:3] == ["net", "net.conv", "net.body"]


def test_container_reprs_match_torch():
    assert repr(block(nn)) == repr(block(torch.nn))

    class Leaf(nn.Module):
        pass

    class TorchLeaf(torch.nn.Module):
        pass

    assert repr(Leaf()) == "Leaf()" and repr(TorchLeaf()) == "TorchLeaf()"


def test_attributes_route_to_their_tables():
    model = block(nn)
    with pytest.raises(AttributeError, match=r"^'Block' object has no attribute 'missing'$"):
        _ = model.missing
    model.offset = [1, 2, 3]  # a buffer keeps its dtype
    assert model.offset.dtype == np.float32 and model.offset.tolist() == [1, 2, 3]
    model.body = nn.Linear(2, 2)  # a module replaces a module
    assert type(dict(model.named_children())["body"]) is nn.Linear
    model.scale = nn.ReLU()  # a module replaces a parameter of the same name
    assert "scale" not in dict(model.named_parameters()) and type(model.scale) is nn.ReLU
    model.offset = nn.ReLU()
    assert "offset" not in dict(model.named_buffers())
    model.conv = None  # emptying a child's slot
    assert model.conv is None and "conv" not in dict(model.named_children())
    model.note = "kept"  # anything else is a plain attribute
    assert model.note == "kept" and "note" not in model.state_dict()
    with pytest.raises(TypeError, match=r"^child must be a pycnn\.nn\.Module, got Linear$"):
        model.add_module("child", torch.nn.Linear(2, 2))


def test_buffers_keep_their_dtype_and_parameters_become_float32():
    bn = nn.BatchNorm2d(2)
    bn.num_batches_tracked = 7.0
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked == 7
    bn.register_buffer("counts", np.arange(3, dtype=np.int32))
    assert bn.counts.dtype == np.int32
    bn.weight = [1, 2]
    assert bn.weight.dtype == np.float32
    bn.register_buffer("empty", None)
    bn.empty = np.ones(2, np.float16)  # an empty buffer takes the value's own dtype
    assert bn.empty.dtype == np.float16


def test_stored_arrays_are_private_contiguous_copies():
    weight = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    linear = nn.Linear(3, 2)
    linear.weight = weight
    weight[0, 0] = 99
    assert linear.weight[0, 0] == 0 and linear.weight.flags.c_contiguous
    bias = np.ones(2, np.float32)
    linear.load_state_dict({"weight": np.ones((2, 3)), "bias": bias})
    bias[0] = 5
    assert linear.bias.tolist() == [1, 1] and not linear.bias.flags.writeable


def test_torch_tensors_and_bfloat16_load():
    reference = torch.nn.Linear(3, 2).to(torch.bfloat16)
    linear = nn.Linear(3, 2)
    linear.load_state_dict(reference.state_dict())
    np.testing.assert_array_equal(linear.weight, reference.weight.float().detach().numpy())
    assert linear.weight.dtype == np.float32


@pytest.mark.parametrize("value, message", [
    (np.array([1 + 2j, 3j]), r"^bias must hold real numbers, got dtype complex128$"),
    (np.array(["a", "b"]), r"^bias must hold real numbers, got dtype <U1$"),
    ([[1, 2], [3]], r"^bias cannot be converted to an array: "),
])
def test_values_that_are_not_real_arrays_are_refused(value, message):
    with pytest.raises(TypeError, match=message):
        nn.Linear(3, 2).bias = value


def test_load_state_dict_refuses_a_non_mapping():
    with pytest.raises(TypeError, match=r"^state_dict must be a mapping of name to array, got list$"):
        nn.Linear(2, 2).load_state_dict([("weight", np.zeros((2, 2)))])


def test_load_state_dict_keeps_dtypes_and_returns_torch_s_result():
    model, reference = block(nn), block(torch.nn)
    result = model.load_state_dict(reference.state_dict())
    assert result == reference.load_state_dict(reference.state_dict()) == ([], [])
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert model.state_dict()["body.0.num_batches_tracked"].dtype == np.int64
    assert all(not v.flags.writeable for v in model.state_dict().values())


def test_a_load_error_lists_the_problems_one_per_line():
    model = nn.Linear(2, 3)
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict({"weight": np.zeros((3, 3)), "extra": np.zeros(1), "more": np.zeros(1)})
    assert str(info.value) == ("Error(s) in loading state_dict for Linear:\n"
                               "  size mismatch for weight: checkpoint shape (3, 3), model shape (3, 2)\n"
                               "  Missing key(s): bias\n"
                               "  Unexpected key(s): extra, more")


def test_a_wrapped_checkpoint_fails_with_the_hint_naming_the_model():
    model = nn.Linear(2, 3)
    wrapped = {f"module.{k}": v for k, v in model.state_dict().items()}
    with pytest.raises(nn.StateDictError, match=r"^Error\(s\) in loading state_dict for Linear: the checkpoint's "
                                                r"keys all start with 'module\.', .* for k, v in state_dict\.items"):
        model.load_state_dict(wrapped)
    assert model.load_state_dict(wrapped, strict=False) == (["weight", "bias"], ["module.weight", "module.bias"])


def test_inference_only_modes():
    model = nn.Linear(2, 2)
    assert model.train(False) is model and model.eval() is model
    with pytest.raises(NotImplementedError,
                       match=r"^pycnn runs inference only: modules cannot be put in training mode$"):
        model.train()


def test_moving_between_devices(rng):
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU())
    x = rng.standard_normal((1, 2, 5, 5), dtype=np.float32)
    expected = model(x)
    assert model.cpu() is model and model.to(torch.device("cpu")) is model
    np.testing.assert_array_equal(model(x), expected)
    with pytest.raises(ValueError, match=r"device must be"):
        model.to("tpu")
    if pycnn.cuda.is_available():
        assert model.cuda() is model
        assert_close(model(x), expected)
        assert model.cpu() is model
        np.testing.assert_array_equal(model(x), expected)
    else:
        with pytest.raises(pycnn.cuda.CudaUnavailableError, match=r"^Sequential\.to\('cuda'\): "):
            model.cuda()
        with pytest.raises(pycnn.cuda.CudaUnavailableError, match=r"^Sequential\.to\('cuda:0'\): "):
            model.to(torch.device("cuda:0"))


def test_to_moves_the_module_and_drops_the_plans_built_before(stand_in_cuda, rng):
    """What the host found when it ran the module (its forward cannot be traced) is found again on the device."""
    x = rng.standard_normal((1, 2, 5, 5), dtype=np.float32)
    model = AddsOne()
    with pytest.warns(RuntimeWarning, match="layer by layer"):
        model(x)
    model.to("cuda")
    with pytest.raises(RuntimeError, match=r"^AddsOne cannot run on StandIn: its forward cannot be traced \(only two "
                                           r"traced values can be added\); it runs through a plan there$"):
        model(x)
    model.to("cpu")
    with pytest.warns(RuntimeWarning, match="layer by layer"):
        np.testing.assert_array_equal(model(x), x + 1)


def test_a_module_without_forward_says_so(rng):
    class NoForward(nn.Module):
        pass

    x = rng.standard_normal((1, 2, 4, 4), dtype=np.float32)
    for call in (lambda: NoForward()(x), lambda: NoForward()(x, x)):
        with pytest.raises(NotImplementedError, match=r"^NoForward does not define forward\(\)$"):
            call()


class Tanh(nn.Layer):
    """A layer written with forward only: plans run it as a call of forward."""

    def forward(self, x):
        return np.tanh(x)


class Shift(nn.Layer):
    """A layer written with op (and the default output_shape) only: its forward runs that op."""

    def op(self, input_shape):
        return nn.Op("channel_affine", (np.ones(2, np.float32), np.array([1, -1], np.float32)),
                     view=(input_shape[0], 2, -1))


class Enlarge(nn.Layer):
    """A layer whose output_shape promises more than any memory holds."""

    def output_shape(self, input_shape):
        return (*input_shape[:2], 2**24, 2**24)


class DeviceArrayLookalike:
    """What a CUDA array looks like to pycnn (torch CUDA tensors and CuPy arrays have the same attribute)."""

    @property
    def __cuda_array_interface__(self):
        return {}


def test_a_layer_names_itself_when_its_output_cannot_exist():
    message = r"^Enlarge output of shape \(1, 1, 16777216, 16777216\) would need 1024 TiB: too large to allocate$"
    with pytest.raises(ValueError, match=message):
        Enlarge()(np.ones((1, 1, 1, 1), np.float32))


@pytest.mark.skipif(pycnn.cuda.is_available(), reason="a CUDA device is here: device arrays run on it")
@pytest.mark.parametrize("layer", [nn.BatchNorm2d(3), Shift()], ids=["BatchNorm2d", "Shift"])
def test_layers_given_a_device_array_without_a_device_name_themselves(layer):
    with pytest.raises(pycnn.cuda.CudaUnavailableError, match=rf"^{type(layer).__name__}: this pycnn "):
        layer(DeviceArrayLookalike())


def test_user_layers_run_alone_and_in_plans(rng):
    x = rng.standard_normal((2, 2, 3, 3), dtype=np.float32)
    shifted = x + np.array([1, -1], np.float32)[:, None, None]
    np.testing.assert_allclose(Shift()(x), shifted, rtol=1e-6)
    np.testing.assert_allclose(Shift()(torch.from_numpy(x)).numpy(), shifted, rtol=1e-6)  # tensor in, tensor out
    model = nn.Sequential(nn.MaxPool2d(1), Tanh(), Shift())
    np.testing.assert_allclose(model(x), np.tanh(x) + np.array([1, -1], np.float32)[:, None, None], rtol=1e-6)
    assert [r.macs for r in pycnn.summary(model, x.shape).rows] == [0, 0, 0]


def test_a_traced_value_used_as_an_array_falls_back_with_the_reason(rng):
    class Numpy(nn.Module):
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(np.abs(x))

    x = rng.standard_normal((1, 2, 4, 4), dtype=np.float32)
    reason = ("a traced value was used as a numpy array; use pycnn layers and pycnn.nn.cat in forward")
    with pytest.warns(RuntimeWarning, match=re.escape(f"({reason})")):
        np.testing.assert_array_equal(Numpy()(x), np.abs(x))


class Residual(nn.Module):
    """A residual add, a layer made in forward (not registered) and a concatenation."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.branch = nn.Sequential(nn.Conv2d(2, 3, 1))

    def forward(self, x):
        return nn.cat([nn.ReLU()(self.conv(x) + x), self.branch(x)], 1)


class Top(nn.Module):
    def __init__(self):
        super().__init__()
        self.res = Residual()

    def forward(self, x):
        return nn.ReLU()(self.res(x))


def test_traced_nodes_are_named_after_their_containers(rng):
    rows = pycnn.summary(Top(), (1, 2, 5, 5)).rows
    assert [(r.name, r.output_shape) for r in rows] == [
        ("res.conv", (1, 2, 5, 5)), ("res.add", (1, 2, 5, 5)), ("res.relu", (1, 2, 5, 5)),
        ("res.branch.0", (1, 3, 5, 5)), ("res.cat", (1, 5, 5, 5)), ("relu", (1, 5, 5, 5))]
    assert [r.name for r in pycnn.summary(Residual(), (1, 2, 5, 5)).rows] == ["conv", "add", "relu", "branch.0", "cat"]
    model = Top()
    x = rng.standard_normal((2, 2, 5, 5), dtype=np.float32)
    planned = model(x)
    with nn.eager():
        assert_close(planned, model(x))


def test_concatenating_along_the_last_axis_matches_torch(rng):
    class Twice(nn.Module):
        def forward(self, x):
            return nn.cat([nn.ReLU()(x), nn.MaxPool2d(1)(x)], -1)

    x = rng.standard_normal((1, 2, 3, 4), dtype=np.float32)
    t = torch.from_numpy(x)
    np.testing.assert_array_equal(Twice()(x), torch.cat([torch.relu(t), t], -1).numpy())


def test_cat_of_arrays_is_a_float32_copy():
    out = nn.cat([np.ones((1, 2), np.float64), [[3, 4]]], dim=0)
    assert out.dtype == np.float32 and out.tolist() == [[1, 1], [3, 4]]
    assert nn.cat([np.ones((1, 2)), np.zeros((1, 1))]).tolist() == [[1, 1, 0]]  # dim=1 by default


def test_cat_of_one_traced_value_is_that_value(rng):
    class One(nn.Module):
        def forward(self, x):
            return nn.cat([nn.ReLU()(x)], 1)

    x = rng.standard_normal((1, 2, 3, 4), dtype=np.float32)
    np.testing.assert_array_equal(One()(x), torch.relu(torch.from_numpy(x)).numpy())


def test_cat_names_an_input_that_is_not_numbers():
    with pytest.raises(TypeError, match=r"^cat: tensors must hold real numbers, got dtype <U1"):
        nn.cat([np.ones((1, 2)), np.array([["a", "b"]])], dim=0)


def test_shapes_that_do_not_fit_name_both():
    class Add(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3)

        def forward(self, x):
            return self.conv(x) + x

    class Cat(Add):
        def forward(self, x):
            return nn.cat([self.conv(x), x], 1)

    x = np.zeros((1, 2, 5, 5), np.float32)
    with pytest.raises(ValueError, match=r"^cannot add values of shapes \(1, 2, 3, 3\) and \(1, 2, 5, 5\)$"):
        Add()(x)
    shapes = r"\[\(1, 2, 3, 3\), \(1, 2, 5, 5\)\]"
    with pytest.raises(ValueError, match=rf"^cat: shapes {shapes} differ outside dimension 1$"):
        Cat()(x)

    class CatOfRanks(Add):
        def forward(self, x):
            return nn.cat([nn.Flatten()(x), self.conv(x)], 1)  # alike in the dimensions the shorter one has

    with pytest.raises(ValueError, match=r"^cat: shapes \[\(1, 50\), \(1, 2, 3, 3\)\] differ outside dimension 1$"):
        CatOfRanks()(x)


class AddsOne(nn.Module):
    def forward(self, x):
        return x + 1


class AddsToOne(nn.Module):
    def forward(self, x):
        return 1 + nn.ReLU()(x)


class ReturnsANumber(nn.Module):
    def forward(self, x):
        return 3


class CatsAnArray(nn.Module):
    def forward(self, x):
        return nn.cat([x, np.zeros((1, 2, 5, 5), np.float32)], 1)


@pytest.mark.parametrize("model, reason", [
    (AddsOne(), "only two traced values can be added"),
    (AddsToOne(), "only two traced values can be added"),
    (ReturnsANumber(), "forward returned int, not a traced value"),
    (CatsAnArray(), "cat got a ndarray where a traced value was expected"),
])
def test_untraceable_forwards_run_eagerly_and_say_why(model, reason, rng):
    x = rng.standard_normal((1, 2, 5, 5), dtype=np.float32)
    name = type(model).__name__
    message = rf"^{name} runs layer by layer: its forward cannot be traced \({reason}\)$"
    with pytest.warns(RuntimeWarning, match=message):
        got = model(x)
    with nn.eager():
        np.testing.assert_array_equal(got, model.forward(x))


def test_a_traced_value_kept_after_tracing_cannot_be_used():
    class Keeps(nn.Module):
        def forward(self, x):
            self.kept = x
            return nn.ReLU()(x)

    model = Keeps()
    pycnn.summary(model, (1, 2, 3, 3))
    with pytest.raises(TypeError, match=r"^a traced value was used outside of tracing$"):
        _ = model.kept + model.kept


def test_eager_blocks_nest():
    x = np.ones((1, 2, 5, 5), np.float32)
    with nn.eager():
        with nn.eager():
            pass
        np.testing.assert_array_equal(AddsOne()(x), x + 1)  # still eager: no tracing, no warning
    with pytest.warns(RuntimeWarning, match="layer by layer"):
        AddsOne()(x)


def test_several_inputs_run_forward_directly(rng):
    class Sum(nn.Module):
        def __init__(self):
            super().__init__()
            self.relu = nn.ReLU()

        def forward(self, x, y):
            return self.relu(x) + self.relu(y)

    x, y = rng.standard_normal((2, 1, 2, 3, 3), dtype=np.float32)
    np.testing.assert_array_equal(Sum()(x, y), np.maximum(x, 0) + np.maximum(y, 0))


@pytest.mark.parametrize("layer", [nn.BatchNorm2d(3), Shift()], ids=["BatchNorm2d", "Shift"])
def test_layers_name_themselves_for_input_that_is_not_real(layer):
    name = type(layer).__name__
    message = rf"^{name}: input must hold real numbers, got dtype complex128 \(shape \(3, 2, 2\)\)$"
    with pytest.raises(TypeError, match=message):
        layer(np.zeros((3, 2, 2), complex))


class TinyClassifier(nn.Module):
    takes_images = True

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, 4, 3)

    def forward(self, x):
        return self.conv(x)


def test_an_image_model_names_the_channels_of_its_first_layer_as_it_is_now(rng):
    model = TinyClassifier(3)
    gray = rng.standard_normal((1, 1, 8, 8), dtype=np.float32)
    with pytest.raises(ValueError, match=r"^TinyClassifier takes \(N, 3, H, W\) images, or one \(3, H, W\) image; got "
                                         r"an input of shape \(1, 1, 8, 8\), with 1 channels where 3 are expected$"):
        model(gray)
    model.conv = nn.Conv2d(1, 4, 3)  # a new first layer: one-channel images now
    assert model(gray).shape == (1, 4, 6, 6)
    with pytest.raises(ValueError, match=r"with 3 channels where 1 are expected$"):
        model(rng.standard_normal((1, 3, 8, 8), dtype=np.float32))


def test_an_image_model_takes_one_unbatched_image_and_the_caller_s_array_type(rng):
    model = TinyClassifier(3)
    image = rng.standard_normal((3, 8, 8), dtype=np.float32)
    batched = model(image[None])
    single = model(torch.from_numpy(image))
    assert isinstance(single, torch.Tensor) and single.shape == (4, 6, 6)
    np.testing.assert_array_equal(single.numpy(), batched[0])
    with pytest.raises(TypeError, match=r"^TinyClassifier: input must hold real numbers, got dtype <U7"):
        model(["not", "numbers"])


def test_an_untraceable_model_warns_once_then_runs_layer_by_layer(rng):
    model = AddsOne()
    x = rng.standard_normal((1, 2, 5, 5), dtype=np.float32)
    with pytest.warns(RuntimeWarning, match=r"^AddsOne runs layer by layer: its forward cannot be traced"):
        first = model(torch.from_numpy(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # remembered: no second warning, no second trace
        second = model(torch.from_numpy(x))
    for out in (first, second):
        assert isinstance(out, torch.Tensor)
        np.testing.assert_array_equal(out.numpy(), x + 1)


# mutmut's trampolines put frames of their own between a caller and pycnn's functions: a stack level lands in them.
@pytest.mark.skipif(PlanCache.run.__code__.co_name != "run", reason="run under mutmut: stack levels shift")
def test_the_layer_by_layer_warning_points_at_the_caller(rng):
    with pytest.warns(RuntimeWarning, match="layer by layer") as warned:
        AddsOne()(rng.standard_normal((1, 2, 5, 5), dtype=np.float32))
    assert [w.filename for w in warned] == [__file__]


def test_a_planned_model_gives_torch_in_torch_out(rng):
    x = rng.standard_normal((2, 3, 8, 8), dtype=np.float32)
    model = TinyClassifier(3)
    out = model(torch.from_numpy(x))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_array_equal(out.numpy(), model(x))


def test_a_plan_whose_buffers_cannot_be_allocated_says_so(monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 1))
    monkeypatch.setattr(np, "empty", no_memory)
    with pytest.raises(MemoryError, match=r"^cannot allocate plan buffer of shape \(\d+,\) \(\d+ bytes\)$"):
        model(np.zeros((1, 3, 8, 8), np.float32))


@pytest.mark.parametrize("version", [0, 1, 2])
def test_the_first_call_checks_the_channels_whatever_the_weights_version(monkeypatch, version):
    model = TinyClassifier(3)
    monkeypatch.setattr(pycnn.nn.module, "_weights_version", version)
    with pytest.raises(ValueError, match=r"with 1 channels where 3 are expected$"):
        model(np.zeros((1, 1, 8, 8), np.float32))


def test_a_host_model_refuses_a_device_array_saying_how_to_move_either():
    class DeviceArray:  # what a CUDA array looks like to pycnn (torch CUDA tensors, CuPy arrays)
        @property
        def __cuda_array_interface__(self):
            return {}

    with pytest.raises(TypeError, match=r"^Sequential is on the CPU, but its input is a CUDA array: move the model "
                                        r"with \.to\('cuda'\), or the input with \.numpy\(\) / \.cpu\(\)$"):
        nn.Sequential(nn.Conv2d(3, 4, 3))(DeviceArray())


def test_off_the_host_a_model_takes_one_input_through_its_plan(stand_in_cuda):
    model, x = nn.Sequential(nn.ReLU()).to("cuda"), np.zeros((1, 2, 3, 3), np.float32)
    message = (r"^Sequential is on StandIn, where it runs one input through its plan; pycnn\.nn\.eager\(\) and several "
               r"inputs need \.to\('cpu'\)$")
    with pytest.raises(RuntimeError, match=message):
        model(x, x)
    with nn.eager(), pytest.raises(RuntimeError, match=message):
        model(x)


def test_a_buffer_is_named_when_it_is_not_numbers():
    with pytest.raises(TypeError, match=r"^stats must hold real numbers, got dtype <U4$"):
        nn.Module().register_buffer("stats", "text")


def test_only_what_has_both_detach_and_cpu_is_read_as_a_torch_tensor():
    class HasCpu:  # an array-like with a .cpu() of its own (not a tensor): numpy reads it
        def cpu(self):
            return self

        def __array__(self, dtype=None, copy=None):
            return np.arange(3.0)

    module = nn.Module()
    module.register_buffer("b", HasCpu())
    np.testing.assert_array_equal(module.b, [0, 1, 2])


def test_every_change_of_weights_gives_a_new_version():
    versions = [pycnn.nn.module.weights_version()]
    model = nn.Linear(2, 2)
    versions.append(pycnn.nn.module.weights_version())
    model.weight = np.zeros((2, 2), np.float32)
    versions.append(pycnn.nn.module.weights_version())
    assert versions == sorted(set(versions))


def test_a_buffer_is_a_frozen_copy_of_what_was_given():
    given = np.zeros(3, np.float32)
    module = nn.Module()
    module.register_buffer("b", given)
    given[0] = 1  # the caller's array stays theirs, writeable
    assert module.b.tolist() == [0, 0, 0] and not module.b.flags.writeable
