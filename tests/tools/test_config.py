"""show_config(), config() and the FMA-peak yardstick."""

from __future__ import annotations

import importlib.util
import io
import math
import os

import numpy as np
import pytest

import pycnn
from pycnn import _core

from reference import run_python

pytestmark = pytest.mark.smoke  # in `pytest -m smoke`, the quick subset of every tier


def test_config_reports_this_build_and_machine() -> None:
    c = pycnn.config()
    assert c["version"] == pycnn.__version__ == _core.__version__
    assert c["isa_used"] == pycnn.isa() and c["isa_found"] == _core.cpu_isa()
    assert c["threads"] == pycnn.get_num_threads() and 1 <= c["cores"] <= len(os.sched_getaffinity(0))
    assert c["numpy"] == np.__version__
    assert c["cuda_built"] is (importlib.util.find_spec("pycnn._cuda") is not None) is pycnn.cuda.is_built()
    assert c["cuda_available"] is pycnn.cuda.is_available()
    assert _core.build_info()["cuda"] is c["cuda_built"]
    assert str(c["compiler"]).strip() and c["build_type"] == "Release"


def test_show_config_prints_every_fact() -> None:
    out = io.StringIO()
    pycnn.show_config(out)
    text = out.getvalue()
    c = pycnn.config()
    cuda = ("CUDA        not built" if not c["cuda_built"] else
            f"CUDA        {c['cuda_device']}" if c["cuda_available"] else
            f"CUDA        built with {c['cuda_compiler']} for {c['cuda_architectures']}; no usable device")
    for fact in (f"pycnn {c['version']}", f"ISA found   {c['isa_found']}", f"ISA used    {c['isa_used']}",
                 f"threads     {c['threads']}", cuda, str(c["compiler"])):
        assert fact in text, (fact, text)


def test_show_config_names_the_isa_cap() -> None:
    result = run_python("import pycnn; pycnn.show_config()", PYCNN_ISA="generic")
    assert result.returncode == 0, result.stderr
    assert "ISA used    generic (capped by PYCNN_ISA=generic)" in result.stdout


def test_measure_fma_peak_is_a_positive_rate() -> None:
    gflops = _core.measure_fma_peak(20)
    assert math.isfinite(gflops) and gflops > 0.1


@pytest.mark.parametrize("milliseconds", [0, -5])
def test_measure_fma_peak_rejects_non_positive_durations(milliseconds: int) -> None:
    with pytest.raises(ValueError, match="milliseconds"):
        _core.measure_fma_peak(milliseconds)
