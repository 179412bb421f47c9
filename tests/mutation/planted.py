"""The realistic bugs once planted in the Python layer that the suite missed, planted again one at a time: for each,
the quick tier's tests that now fail.

    python3 tests/mutation/planted.py            # about 6 minutes on 2 cores; exits 1 if a bug goes unnoticed

Each bug is an edit of one line of pycnn/, made in a copy of the package (the compiled extension alongside), so
the working tree is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUICK_TIER = ["tests/ops", "tests/io", "tests/nn/test_nn.py", "tests/nn/test_plan.py", "tests/nn/test_layer_paths.py",
              "tests/nn/test_state_dict_hints.py", "tests/nn/test_module_api.py", "tests/nn/test_pickle.py"]


@dataclass(frozen=True)
class Bug:
    what: str
    path: str  # inside pycnn/
    line: str  # the line as it is
    planted: str  # the line with the bug


BUGS = [
    Bug("nn.AvgPool2d's count_include_pad default flipped", "nn/layers.py",
        "                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:",
        "                 count_include_pad: bool = False, divisor_override: int | None = None) -> None:"),
    Bug("the planned AvgPool2d ignoring count_include_pad", "nn/layers.py",
        '        return Op("avg_pool2d", (self.window, self.count_include_pad, self._divisor))',
        '        return Op("avg_pool2d", (self.window, True, self._divisor))'),
    Bug("a standalone BatchNorm2d in a plan dropping its shift", "nn/layers.py",
        '        return Op("channel_affine", (scale.astype(np.float32), shift.astype(np.float32)),',
        '        return Op("channel_affine", (scale.astype(np.float32), np.zeros_like(shift, np.float32)),'),
    Bug("the weights-file flattening dropping integer-keyed entries", "io/torch_pickle.py",
        "        return ((str(k), v) for k, v in dict.items(node) if isinstance(k, (str, int)))",
        "        return ((str(k), v) for k, v in dict.items(node) if isinstance(k, str))"),
    Bug("the BN fold dropping the convolution's bias", "nn/plan/fuse.py",
        "        b = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.astype(np.float64)",
        "        b = np.zeros(conv.out_channels)"),
    Bug("F.avg_pool2d's count_include_pad default flipped", "functional.py",
        "               count_include_pad: bool = True, divisor_override: int | None = None) -> Result:",
        "               count_include_pad: bool = False, divisor_override: int | None = None) -> Result:"),
]


def failing_tests(package: Path) -> list[str]:
    env = dict(os.environ, PYTHONPATH=f"{package.parent}{os.pathsep}{ROOT / 'tests'}")
    # Run from the staging folder, so that the copy (not the tree's pycnn/) is the package imported.
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
                          "-rf", *(str(ROOT / t) for t in QUICK_TIER)], cwd=package.parent, env=env,
                         capture_output=True, text=True)
    if run.returncode not in (0, 1):  # 0: all passed, 1: some failed; anything else: the run itself failed
        raise SystemExit(f"the quick tier did not run:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    # "FAILED ../path/to/tests/x.py::test[id with spaces] - message": the test's id from tests/ on
    return sorted(set(re.findall(r"^FAILED \S*?(tests/.*?)(?: - .*)?$", run.stdout, re.MULTILINE)))


def main() -> int:
    missed = 0
    with tempfile.TemporaryDirectory() as staging:
        package = Path(staging) / "pycnn"
        shutil.copytree(ROOT / "pycnn", package, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))
        if failing_tests(package):
            raise SystemExit("the quick tier fails without a planted bug; fix that first")
        for bug in BUGS:
            source = package / bug.path
            original = source.read_text()
            if original.count(bug.line + "\n") != 1:
                raise SystemExit(f"{bug.path}: the line to plant {bug.what!r} in is not there once; update planted.py")
            source.write_text(original.replace(bug.line + "\n", bug.planted + "\n"))
            try:
                failed = failing_tests(package)
            finally:
                source.write_text(original)
            missed += not failed
            print(f"{bug.what}: {'MISSED' if not failed else f'caught by {len(failed)} test(s)'}")
            for test in failed:
                print(f"    {test}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
