"""The mutation score of tests/run_mutation.sh's two passes, and the survivors still to explain.

    python3 tests/mutation/score.py HOST_RESULTS CUDA_RESULTS
    python3 tests/mutation/score.py --unexplained HOST_RESULTS

Each results file is `mutmut results --all true` of one pass ("name: status" lines). A mutant of a module the
CUDA pass mutates alone (pycnn/backends/cuda.py) takes that pass's status; one both passes mutate is killed when
either pass kills it. The lists beside this script explain survivors: equivalent/<module>.txt (computes the same),
killed_outside_mutmut.txt (a test kills it that cannot run under mutmut: counts as killed), needs_a_gpu.txt (a
test on a CUDA GPU judges it: left out of the score). The score is killed / (all - equivalent - needs a GPU).
--unexplained prints the survivors of one pass that no list names, one per line (what the CUDA pass runs again).
Exits 1 when a mutant survives that no list names, or when a list names one that no longer survives (a stale
line), so that the lists stay exact.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Collection
from pathlib import Path

# mutmut's statuses that mean the tests failed the mutant.
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
CUDA_ONLY_MODULE = "pycnn.backends.cuda."
LISTS = Path(__file__).parent


def statuses(path: Path) -> dict[str, str]:
    result = {}
    for line in path.read_text().splitlines():
        name, sep, status = line.strip().partition(": ")
        if sep:
            result[name] = status.strip()
    return result


def joined(host: dict[str, str], cuda: dict[str, str]) -> dict[str, str]:
    result = {name: status for name, status in host.items() if not name.startswith(CUDA_ONLY_MODULE)}
    for name, status in cuda.items():
        if name.startswith(CUDA_ONLY_MODULE) or name not in result or status in KILLED:
            result[name] = status
    return result


def listed(path: Path) -> dict[str, str]:
    """name -> reason, from the lines `name reason` of a list (blank lines and # comments skipped)."""
    result = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, reason = line.partition(" ")
            if not reason.strip():
                raise SystemExit(f"{path}: {name} has no reason")
            result[name] = reason.strip()
    return result


def equivalents(folder: Path) -> dict[str, str]:
    """The lists of the folder's .txt files, one per module."""
    return {name: reason for path in sorted(folder.glob("*.txt")) for name, reason in listed(path).items()}


def unexplained(status: dict[str, str], explained: Collection[str]) -> list[str]:
    return sorted(name for name, s in status.items() if s not in KILLED and name not in explained)


def main(host_path: str, cuda_path: str) -> int:
    status = joined(statuses(Path(host_path)), statuses(Path(cuda_path)))
    equivalent = equivalents(LISTS / "equivalent")
    killed_outside = listed(LISTS / "killed_outside_mutmut.txt")
    needs_gpu = listed(LISTS / "needs_a_gpu.txt")
    counts = Counter(status.values())
    survivors = sorted(name for name, s in status.items() if s not in KILLED)
    listed_names = {**equivalent, **killed_outside, **needs_gpu}
    not_listed = unexplained(status, listed_names)
    stale = sorted(name for name in listed_names if status.get(name) in KILLED or name not in status)
    n_equivalent = sum(name in equivalent for name in survivors)
    n_outside = sum(name in killed_outside for name in survivors)
    n_gpu = sum(name in needs_gpu for name in survivors)
    killed = sum(counts[s] for s in KILLED) + n_outside
    judged = len(status) - n_equivalent - n_gpu
    print(f"mutants: {len(status)}; " + ", ".join(f"{s} {n}" for s, n in counts.most_common()))
    print(f"equivalent (listed): {n_equivalent}; killed by a test mutmut cannot run (listed): {n_outside}; "
          f"left to a GPU run (listed): {n_gpu}")
    print(f"score: {killed} killed of {judged} non-equivalent = {100 * killed / max(judged, 1):.2f}%")
    for name in not_listed:
        print(f"survives, not listed: {name} ({status[name]})")
    for name in stale:
        print(f"listed, but {'killed' if name in status else 'no such mutant'}: {name}")
    return 1 if not_listed or stale else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--unexplained"] and len(sys.argv) == 3:
        checked = {name: s for name, s in statuses(Path(sys.argv[2])).items() if s != "not checked"}
        explained = {**equivalents(LISTS / "equivalent"), **listed(LISTS / "killed_outside_mutmut.txt")}
        print("\n".join(unexplained(checked, explained)))
        sys.exit(0)
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(main(*sys.argv[1:]))
