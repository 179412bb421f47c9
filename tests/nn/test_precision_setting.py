"""One precision setting for every device: pycnn.set_precision, the pycnn.precision block, PYCNN_PRECISION, and a
model's own choice (Module.set_precision) — on the CPU, where bf16 runs on this machine's bf16 path."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import pycnn
import pycnn.functional as F
from pycnn import nn

from reference import normal, run_python


def small_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 5))


def test_the_setting_and_its_block() -> None:
    assert pycnn.get_precision() == "fp32"
    with pycnn.precision("bf16"):
        assert pycnn.get_precision() == "bf16"
        with pycnn.precision("tf32"):
            assert pycnn.get_precision() == "tf32"
        assert pycnn.get_precision() == "bf16"
    assert pycnn.get_precision() == "fp32"
    assert pycnn.cuda.get_precision is pycnn.get_precision  # one setting, not one per device
    with pytest.raises(ValueError, match="precision must be one of 'fp32', 'tf32', 'bf16', got 'fp16'"):
        pycnn.set_precision("fp16")
    assert pycnn.get_precision() == "fp32"


def test_the_environment_sets_the_start_value() -> None:
    result = run_python("import pycnn; print(pycnn.get_precision(), pycnn.config()['precision'])",
                        PYCNN_PRECISION="bf16")
    assert result.stdout.split() == ["bf16", "bf16"], result.stderr
    result = run_python("import pycnn", PYCNN_PRECISION="half")
    assert result.returncode != 0
    assert "PYCNN_PRECISION must be one of 'fp32', 'tf32', 'bf16', got 'half'" in result.stderr


def test_functional_calls_read_the_setting_call_by_call() -> None:
    rng = np.random.default_rng(1)
    x, w = normal(rng, (1, 8, 7, 7)), normal(rng, (4, 8, 3, 3))
    rows, weight = normal(rng, (2, 50)), normal(rng, (5, 50))
    fp32, linear_fp32 = F.conv2d(x, w), F.linear(rows, weight)
    with pycnn.precision("bf16"):
        bf16, linear_bf16 = F.conv2d(x, w), F.linear(rows, weight)
    assert not np.array_equal(bf16, fp32) and not np.array_equal(linear_bf16, linear_fp32)
    np.testing.assert_allclose(bf16, fp32, rtol=0, atol=2e-2 * np.abs(fp32).max())
    np.testing.assert_array_equal(F.conv2d(x, w), fp32)
    np.testing.assert_array_equal(F.linear(rows, weight), linear_fp32)
    with pycnn.precision("tf32"):  # the CPU has no TF32 arithmetic: float32, as torch computes it there
        np.testing.assert_array_equal(F.conv2d(x, w), fp32)


def test_a_model_follows_the_setting_unless_it_has_its_own() -> None:
    rng = np.random.default_rng(2)
    model, x = small_model(), normal(rng, (2, 3, 6, 6))
    fp32 = model(x)
    assert model.precision == "fp32"
    with pycnn.precision("bf16"):
        assert model.precision == "bf16"
        bf16 = model(x)
    assert not np.array_equal(bf16, fp32)
    np.testing.assert_allclose(bf16, fp32, rtol=0, atol=3e-2 * np.abs(fp32).max())
    np.testing.assert_array_equal(model(x), fp32)  # each precision has its plan; fp32's is unchanged

    assert model.set_precision("bf16") is model
    assert all(m.precision == "bf16" for m in model.modules())
    np.testing.assert_array_equal(model(x), bf16)
    with pycnn.precision("fp32"):
        np.testing.assert_array_equal(model(x), bf16)  # its own precision wins
    copy = pickle.loads(pickle.dumps(model))  # and travels with it (to Ray and Dask workers)
    assert copy.precision == "bf16"
    np.testing.assert_array_equal(copy(x), bf16)
    model.set_precision(None)
    assert model.precision == "fp32"
    np.testing.assert_array_equal(model(x), fp32)
    with pytest.raises(ValueError, match="precision must be one of 'fp32', 'tf32', 'bf16', got 'float16'"):
        model.set_precision("float16")


def test_bf16_keeps_float32_parameters_and_arrays() -> None:
    model = small_model().set_precision("bf16")
    x = normal(np.random.default_rng(3), (1, 3, 6, 6))
    assert model(x).dtype == np.float32
    assert all(value.dtype == np.float32 for value in model.state_dict().values())
