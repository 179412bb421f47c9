"""The CPU a benchmark ran on: its model name and cache sizes, printed beside every figure and kept in the JSON."""

from __future__ import annotations

import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
CACHES = Path("/sys/devices/system/cpu/cpu0/cache")
_CACHE_KIND = {"Data": "d", "Instruction": "i", "Unified": ""}


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name as `lscpu` shows it (Linux /proc/cpuinfo), else platform.processor(), else "unknown"."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_caches(caches: Path = CACHES) -> dict[str, str]:
    """The first core's caches by name, {"L1d": "48K", "L1i": "64K", "L2": "2048K", "L3": "491520K"}, as sysfs
    gives their sizes; empty where sysfs has none (not Linux, or a container that hides it)."""
    found: dict[str, str] = {}
    for index in sorted(caches.glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = _CACHE_KIND.get((index / "type").read_text().strip(), "")
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        found[f"L{level}{kind}"] = size
    return found


def describe_cpu(model: str, caches: dict[str, str]) -> str:
    """'Intel(R) Xeon(R) Processor (L1d 48K, L1i 64K, L2 2048K, L3 491520K)': one line for a table's header."""
    return f"{model} ({', '.join(f'{name} {size}' for name, size in caches.items())})" if caches else model
