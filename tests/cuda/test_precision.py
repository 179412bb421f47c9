"""The CUDA precision switch: a process-wide setting, a context manager, and PYCNN_CUDA_PRECISION."""

from __future__ import annotations

import pytest

import pycnn

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
    result = run_python("import pycnn; print(pycnn.cuda.get_precision())", PYCNN_CUDA_PRECISION="bf16")
    assert result.stdout.strip() == "bf16", result.stderr
