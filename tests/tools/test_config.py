"""show_config(), config() and the FMA-peak yardstick."""

from __future__ import annotations

import importlib.util
import io
import math
import os
from pathlib import Path

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
    caches = c["caches"]
    assert caches["source"] in ("cpuid", "sysfs", "assumed") and str(c["cpu"]).strip()
    assert 8 << 10 <= caches["L1d"] < caches["L2"] and (caches["L3"] == 0 or caches["L3"] > caches["L2"])


SYSFS = Path("/sys/devices/system/cpu/cpu0/cache")


@pytest.mark.skipif(not (SYSFS / "index0").exists(), reason="this system has no sysfs cache folder to compare with")
@pytest.mark.skipif(_core.caches_from_cpuid()["source"] != "cpuid", reason="this CPU has no CPUID cache leaves")
def test_cpuid_s_caches_are_the_ones_the_kernel_reports() -> None:
    sizes = ("L1d", "L2", "L3")
    from_cpuid, from_sysfs = _core.caches_from_cpuid(), _core.caches_from_sysfs(str(SYSFS))
    assert from_sysfs["source"] == "sysfs"
    assert {k: from_cpuid[k] for k in sizes} == {k: from_sysfs[k] for k in sizes}
    assert _core.cpu_caches() == from_cpuid


def test_sysfs_caches_are_read_by_level_and_kind(tmp_path: Path) -> None:
    def cache(index: int, level: int, kind: str, size: str) -> None:
        folder = tmp_path / f"index{index}"
        folder.mkdir()
        for name, text in (("level", str(level)), ("type", kind), ("size", size)):
            (folder / name).write_text(text + "\n")

    cache(0, 1, "Data", "48K")
    cache(1, 1, "Instruction", "64K")
    cache(2, 2, "Unified", "2048K")
    cache(3, 3, "Unified", "480M")
    assert _core.caches_from_sysfs(str(tmp_path)) == {"L1d": 48 << 10, "L2": 2 << 20, "L3": 480 << 20,
                                                       "source": "sysfs"}
    assert _core.caches_from_sysfs(str(tmp_path / "none"))["source"] == ""  # no folder: not found, no error


def test_show_config_prints_every_fact() -> None:
    out = io.StringIO()
    pycnn.show_config(out)
    text = out.getvalue()
    c = pycnn.config()
    cuda = ("CUDA        not built" if not c["cuda_built"] else
            f"CUDA        {c['cuda_device']}" if c["cuda_available"] else
            f"CUDA        built with {c['cuda_compiler']} for {c['cuda_architectures']}; no usable device")
    for fact in (f"pycnn {c['version']}", f"CPU         {c['cpu']}; L1d ", f"(from {c['caches']['source']})",
                 f"ISA found   {c['isa_found']}", f"ISA used    {c['isa_used']}",
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
