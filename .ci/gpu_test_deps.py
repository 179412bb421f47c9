"""Copies the pure-Python packages the CUDA tests need beyond torch and numpy (pytest, hypothesis and theirs)
from this environment into a folder, for a GPU machine that has no network and may lack them.

    python3 .ci/gpu_test_deps.py build/gpu-deps     # here; then carry build/gpu-deps to the GPU machine

`.ci/gpu-check.sh` puts that folder on PYTHONPATH only when pytest or hypothesis are not importable
there. Packages with compiled parts are never copied: they would not match the other machine's Python.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
from pathlib import Path

PACKAGES = ("pytest", "pluggy", "iniconfig", "packaging", "pygments", "hypothesis", "attrs", "sortedcontainers",
            "exceptiongroup", "tomli")


def copy_distribution(name: str, target: Path) -> int:
    """Copies the installed files of distribution `name` (its modules and metadata) into target; the count."""
    dist = importlib.metadata.distribution(name)
    files = [f for f in dist.files or [] if not str(f).startswith("..")]
    if any(str(f).endswith((".so", ".pyd")) for f in files):
        raise SystemExit(f"{name} has compiled files; it cannot be carried to another machine's Python")
    for f in files:
        source = Path(str(dist.locate_file(f)))
        if source.is_file():
            destination = target / str(f)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return len(files)


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "build/gpu-deps")
    target.mkdir(parents=True, exist_ok=True)
    for name in PACKAGES:
        try:
            print(f"{name}: {copy_distribution(name, target)} files")
        except importlib.metadata.PackageNotFoundError:
            print(f"{name}: not installed here, skipped")


if __name__ == "__main__":
    main()
