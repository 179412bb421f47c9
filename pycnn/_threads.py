"""How many threads pycnn's kernels use by default: what the environment asks for, else the CPUs this process
may use.

Order: PYCNN_NUM_THREADS, then OMP_NUM_THREADS (what Ray, Dask and job schedulers set for each worker), then the
CPUs of the process's affinity mask, capped by its cgroup's CPU quota (a container limited to 1.5 CPUs gets 2
threads, one limited to 1 CPU gets 1). `pycnn.set_num_threads` overrides all three.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

from . import _core

# The variables that set the thread count, in order of precedence.
THREAD_VARIABLES = ("PYCNN_NUM_THREADS", "OMP_NUM_THREADS")


# Where the thread count in use came from: a variable's name, 'cpus' or 'set_num_threads'.
source = "cpus"


def use_default() -> None:
    """Sets the kernels' thread count from the environment (at import)."""
    global source
    threads, source = default_num_threads()
    _core.set_num_threads(threads)


def get_num_threads() -> int:
    return int(_core.get_num_threads())


def set_num_threads(threads: int) -> None:
    global source
    _core.set_num_threads(threads)
    source = "set_num_threads"


def default_num_threads(environ: Mapping[str, str] | None = None,
                        cgroup_root: Path = Path("/sys/fs/cgroup"),
                        proc_cgroup: Path = Path("/proc/self/cgroup")) -> tuple[int, str]:
    """(threads, where the number comes from: a variable's name or 'cpus')."""
    environ = os.environ if environ is None else environ
    cpus = usable_cpus(cgroup_root, proc_cgroup)
    for name in THREAD_VARIABLES:
        value = environ.get(name, "").strip()
        if not value:
            continue
        # OpenMP allows a list of counts, one per nesting level: the first is the outer one.
        first = value.split(",")[0].strip()
        if first.isdigit() and int(first) > 0:
            return int(first), name
        warnings.warn(f"pycnn: ignoring {name}={value!r}: not a positive integer; set it to a number of threads "
                      f"such as {cpus}", RuntimeWarning, stacklevel=2)
    return cpus, "cpus"


def usable_cpus(cgroup_root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")) -> int:
    """The CPUs of this process's affinity mask, no more than its cgroup's CPU quota rounded up."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_cpu_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def cgroup_cpu_quota(cgroup_root: Path, proc_cgroup: Path) -> float | None:
    """The tightest CPU quota (in CPUs) of this process's cgroup and its ancestors, v2 or v1; None when there
    is none or it cannot be read."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        _, controllers, path = fields
        if controllers == "":  # cgroup v2: one hierarchy, the limit in cpu.max ("max 100000" or "50000 100000")
            quotas += [_v2_quota(folder / "cpu.max") for folder in _ancestors(cgroup_root, path)]
        elif "cpu" in controllers.split(","):  # cgroup v1: the cpu controller's own hierarchy
            mount = next((cgroup_root / name for name in (controllers, "cpu,cpuacct", "cpu")
                          if (cgroup_root / name).is_dir()), None)
            if mount is not None:
                quotas += [_v1_quota(folder) for folder in _ancestors(mount, path)]
    found = [q for q in quotas if q is not None]
    return min(found) if found else None


def _ancestors(root: Path, path: str) -> list[Path]:
    """The cgroup folder of `path` under `root` and each folder above it up to `root`, those that exist."""
    parts = [p for p in path.strip().split("/") if p and p != ".."]
    return [folder for folder in (root.joinpath(*parts[:k]) for k in range(len(parts), -1, -1)) if folder.is_dir()]


def _v2_quota(cpu_max: Path) -> float | None:
    try:
        quota, period = cpu_max.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _v1_quota(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 or period <= 0 else quota / period
    except (OSError, ValueError):
        return None
