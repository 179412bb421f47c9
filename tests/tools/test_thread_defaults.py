"""The default thread count: PYCNN_NUM_THREADS, then OMP_NUM_THREADS, then the CPUs this process may use
(affinity, capped by the cgroup's CPU quota); set_num_threads overrides them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pycnn._threads import cgroup_cpu_quota, default_num_threads

from reference import run_python

REPORT = "import pycnn; print(pycnn.get_num_threads(), pycnn.config()['threads_from'])"


def threads_in_child(code: str = REPORT, **env: str) -> tuple[int, str, str]:
    env = {"PYCNN_NUM_THREADS": "", "OMP_NUM_THREADS": "", **env}
    result = run_python(code, **env)
    assert result.returncode == 0, result.stderr
    count, source = result.stdout.split()
    return int(count), source, result.stderr


def test_omp_num_threads_sets_the_default() -> None:
    assert threads_in_child(OMP_NUM_THREADS="1")[:2] == (1, "OMP_NUM_THREADS")
    assert threads_in_child(OMP_NUM_THREADS="3,2")[:2] == (3, "OMP_NUM_THREADS")  # the outer level of a list


def test_pycnn_num_threads_comes_before_omp_num_threads() -> None:
    assert threads_in_child(PYCNN_NUM_THREADS="3", OMP_NUM_THREADS="1")[:2] == (3, "PYCNN_NUM_THREADS")


def test_set_num_threads_overrides_the_environment() -> None:
    code = "import pycnn; pycnn.set_num_threads(2); " + REPORT.split("; ", 1)[1]
    assert threads_in_child(code, OMP_NUM_THREADS="1")[:2] == (2, "set_num_threads")


@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5"])
def test_a_bad_value_warns_and_is_ignored(value: str) -> None:
    cpus = len(os.sched_getaffinity(0))
    count, source, stderr = threads_in_child(PYCNN_NUM_THREADS=value, OMP_NUM_THREADS="1")
    assert (count, source) == (1, "OMP_NUM_THREADS")
    assert f"pycnn: ignoring PYCNN_NUM_THREADS={value!r}: not a positive integer" in stderr
    count, source, stderr = threads_in_child(OMP_NUM_THREADS=value)
    assert source == "cpus" and 1 <= count <= cpus and "RuntimeWarning" in stderr


def test_the_affinity_mask_caps_the_default() -> None:
    code = "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); " + REPORT
    assert threads_in_child(code)[:2] == (1, "cpus")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_of_the_process_or_an_ancestor(tmp_path: Path) -> None:
    proc = tmp_path / "cgroup"
    write(proc, "0::/jobs/worker\n")
    root = tmp_path / "fs"
    write(root / "jobs" / "worker" / "cpu.max", "150000 100000\n")
    write(root / "jobs" / "cpu.max", "max 100000\n")
    assert cgroup_cpu_quota(root, proc) == 1.5
    assert default_num_threads({}, root, proc)[0] == min(2, len(os.sched_getaffinity(0)))
    write(root / "jobs" / "cpu.max", "100000 100000\n")  # the parent's limit is the tighter one
    assert cgroup_cpu_quota(root, proc) == 1.0 and default_num_threads({}, root, proc) == (1, "cpus")
    write(root / "jobs" / "cpu.max", "max 100000\n")
    write(root / "jobs" / "worker" / "cpu.max", "max 100000\n")
    assert cgroup_cpu_quota(root, proc) is None


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    proc = tmp_path / "cgroup"
    write(proc, "5:memory:/a\n3:cpu,cpuacct:/a\n0::/\n")
    root = tmp_path / "fs"
    write(root / "cpu,cpuacct" / "a" / "cpu.cfs_quota_us", "50000\n")
    write(root / "cpu,cpuacct" / "a" / "cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_quota(root, proc) == 0.5 and default_num_threads({}, root, proc) == (1, "cpus")
    write(root / "cpu,cpuacct" / "a" / "cpu.cfs_quota_us", "-1\n")  # no limit
    assert cgroup_cpu_quota(root, proc) is None


def test_unreadable_or_odd_cgroup_files_mean_no_quota(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(tmp_path, tmp_path / "missing") is None
    proc = tmp_path / "cgroup"
    write(proc, "garbage\n0::/x\n")
    write(tmp_path / "x" / "cpu.max", "lots\n")
    assert cgroup_cpu_quota(tmp_path, proc) is None
