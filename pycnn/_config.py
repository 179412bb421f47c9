"""`pycnn.show_config()`: what this installation is and what it runs on."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import TextIO

import numpy as np

from . import _core, _threads
from ._precision import get_precision
from ._version import __version__


def config() -> dict[str, object]:
    """The facts show_config prints, as a dict (stable keys, for bug reports and scripts)."""
    build = dict(_core.build_info())
    return {
        "version": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{platform.system()} {platform.machine()}",
        "numpy": np.__version__,
        "compiler": build["compiler"],
        "build_type": build["build_type"],
        "target": build["target"],
        "pybind11": build["pybind11"],
        "cpu": _core.cpu_brand() or platform.processor() or "unknown",
        "caches": dict(_core.cpu_caches()),  # the sizes this CPU reports, in bytes, and where they came from
        "isa_found": _core.cpu_isa(),
        "isa_used": _core.isa(),
        "isa_cap": os.environ.get("PYCNN_ISA") or None,
        "precision": get_precision(),  # the process's (pycnn.set_precision)
        "bf16_path": _core.bf16_path(),  # what runs bf16 products with the ISA in use: amx, avx512_bf16 or emulated
        "threads": _core.get_num_threads(),
        "threads_from": _threads.source,  # PYCNN_NUM_THREADS, OMP_NUM_THREADS, cpus or set_num_threads
        "cores": _threads.usable_cpus(),
        "sources": str(Path(__file__).resolve().parent),
        "extension": str(Path(_core.__file__).resolve()),  # in an installed pycnn when the sources have none
        **_cuda_facts(),
    }


def _cuda_facts() -> dict[str, object]:
    """Whether pycnn._cuda exists and runs here, how it was built, and the device it would use."""
    from . import cuda

    facts: dict[str, object] = {"cuda_built": cuda.is_built(), "cuda_available": cuda.is_available(),
                                "cuda_status": cuda.status(), "cuda_device": None, "cuda_compiler": None,
                                "cuda_architectures": None, "cuda_precision": cuda.get_precision()}
    if facts["cuda_built"]:
        build = cuda._runtime.require_built().build_info()
        facts["cuda_compiler"], facts["cuda_architectures"] = build["compiler"], build["architectures"]
    if facts["cuda_available"]:
        facts["cuda_device"] = cuda.device_name()
    return facts


def show_config(file: TextIO | None = None) -> None:
    """Print pycnn's version, compiler, the CPU and its caches, the ISA found and the one in use, threads and CUDA
    support."""
    c = config()
    cap = f" (capped by PYCNN_ISA={c['isa_cap']})" if c["isa_cap"] else ""
    if c["cuda_available"]:
        cuda = f"{c['cuda_device']}, kernels built with {c['cuda_compiler']} for {c['cuda_architectures']}, " \
               f"precision {c['cuda_precision']}"
    elif c["cuda_built"]:
        cuda = f"built with {c['cuda_compiler']} for {c['cuda_architectures']}; no usable device ({c['cuda_status']})"
    else:
        cuda = "not built"
    lines = [
        f"pycnn {c['version']}",
        f"  python      {c['python']} on {c['platform']}, numpy {c['numpy']}",
        f"  built with  {c['compiler']}, {c['build_type']}, for {c['target']}, pybind11 {c['pybind11']}",
        f"  CPU         {c['cpu']}; {_caches_line(c['caches'])}",  # type: ignore[arg-type]
        f"  ISA found   {c['isa_found']} (best this CPU and OS support)",
        f"  ISA used    {c['isa_used']}{cap}",
        f"  precision   {c['precision']}; bf16 products by {_BF16_PATHS[str(c['bf16_path'])]}",
        f"  threads     {c['threads']} (from {c['threads_from']}; cores available: {c['cores']})",
        f"  sources     {c['sources']}",
        f"  extension   {c['extension']}",
        f"  CUDA        {cuda}",
    ]
    print("\n".join(lines), file=file or sys.stdout)


_BF16_PATHS = {"amx": "AMX tiles (tdpbf16ps)", "avx512_bf16": "AVX512-BF16 (vdpbf16ps)",
               "emulated": "float32 FMAs (this CPU has no bf16 arithmetic: no faster than fp32)"}


def _caches_line(caches: dict[str, object]) -> str:
    """'L1d 48 KiB, L2 2 MiB per core, L3 480 MiB (from cpuid)'."""
    def size(n: object) -> str:
        value = int(n)  # type: ignore[call-overload]
        return f"{value >> 20} MiB" if value >= 1 << 20 and value % (1 << 20) == 0 else f"{value >> 10} KiB"
    l3 = f", L3 {size(caches['L3'])}" if caches["L3"] else ", no L3"
    return f"L1d {size(caches['L1d'])}, L2 {size(caches['L2'])} per core{l3} (from {caches['source']})"
