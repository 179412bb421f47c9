"""The CUDA precision switch: a process-wide setting, a context manager, and PYCNN_PRECISION."""

from __future__ import annotations

import numpy as np
import pytest

import pycnn
import pycnn.functional as F

from reference import run_python

pytestmark = pytest.mark.cuda


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
    result = run_python("import pycnn; print(pycnn.cuda.get_precision())", PYCNN_PRECISION="bf16")
    assert result.stdout.strip() == "bf16", result.stderr


@pytest.mark.skipif(not pycnn.cuda.is_available(), reason="no CUDA device")
def test_each_functional_call_multiplies_in_the_precision_set_then() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 8, 6, 6), dtype=np.float32)
    w = rng.standard_normal((4, 8, 3, 3), dtype=np.float32)
    dx, dw = pycnn.cuda.to_device(x), pycnn.cuda.to_device(w)
    fp32 = F.conv2d(dx, dw).numpy()
    with pycnn.cuda.precision("bf16"):
        bf16 = F.conv2d(dx, dw).numpy()
    assert not np.array_equal(bf16, fp32)  # bfloat16 operands round visibly on these values
    assert np.array_equal(F.conv2d(dx, dw).numpy(), fp32)  # and the setting is read again, call by call
    rows = pycnn.cuda.to_device(x.reshape(2, -1))
    weight = pycnn.cuda.to_device(rng.standard_normal((4, 144), dtype=np.float32))
    linear_fp32 = F.linear(rows, weight).numpy()
    with pycnn.cuda.precision("bf16"):
        assert np.array_equal(F.conv2d(dx, dw).numpy(), bf16)
        assert not np.array_equal(F.linear(rows, weight).numpy(), linear_fp32)
    assert np.array_equal(F.linear(rows, weight).numpy(), linear_fp32)
