"""pycnn imported from a source tree without a compiled extension: `python3 -m pycnn` from a clone's root after
`pip install .` runs, with the clone's sources and the installed extension; mismatches and absence say what to do.

Each case lays out, in a temporary folder, a clone (pycnn's Python sources, no compiled module) and an
installation (the same sources with the compiled modules), then runs Python in the clone's root.
"""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pycnn
from pycnn import _core

SOURCES = Path(pycnn.__file__).resolve().parent
EXTENSION_DIR = Path(_core.__file__).resolve().parent  # the sources' folder, or an installed pycnn's


def is_compiled(path: Path) -> bool:
    return any(path.name.endswith(suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def copy_sources(destination: Path) -> Path:
    """pycnn's Python files (no compiled module, no cache) under destination/pycnn."""
    shutil.copytree(SOURCES, destination / "pycnn",
                    ignore=lambda folder, names: [n for n in names if n == "__pycache__" or is_compiled(Path(n))])
    return destination / "pycnn"


def make_install(site: Path) -> Path:
    """An installed pycnn in `site`: the sources and a copy of each compiled module this pycnn uses."""
    package = copy_sources(site)
    for module in EXTENSION_DIR.iterdir():
        if is_compiled(module) and module.name.startswith(("_core.", "_cuda.")):
            shutil.copy(module, package / module.name)
    return package


def run_in(root: Path, site: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    """`python3 ARGS` with `root` as working directory (first on sys.path) and `site` on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_pycnn_command_from_a_clone_uses_the_installed_extension(tmp_path: Path) -> None:
    clone, site = copy_sources(tmp_path / "clone").parent, tmp_path / "site"
    installed = make_install(site)
    result = run_in(clone, site, "-m", "pycnn", "--info")
    assert result.returncode == 0, result.stderr
    assert f"sources     {clone / 'pycnn'}" in result.stdout
    assert f"extension   {installed}{os.sep}_core." in result.stdout

    probe = run_in(clone, site, "-c", "import numpy as np, pycnn, pycnn.functional as F\n"
                                      "print(pycnn.__file__, pycnn._core.__file__, F.__file__)\n"
                                      "print(F.relu(np.array([-1.0, 2.0], np.float32)).tolist())")
    assert probe.returncode == 0, probe.stderr
    package, extension, functional = probe.stdout.split("\n")[0].split()
    assert Path(package).parent == clone / "pycnn" == Path(functional).parent  # the clone's Python sources
    assert Path(extension).parent == installed  # the installation's compiled module
    assert probe.stdout.split("\n")[1] == "[0.0, 2.0]"


def test_pycnn_bench_from_a_clone_runs(tmp_path: Path) -> None:
    clone, site = copy_sources(tmp_path / "clone").parent, tmp_path / "site"
    make_install(site)
    result = run_in(clone, site, "-m", "pycnn", "bench", "--models", "alexnet", "--repeat", "1", "--peers", "none")
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("alexnet ") for line in result.stdout.splitlines()), result.stdout


def test_an_installed_extension_of_another_version_is_refused(tmp_path: Path) -> None:
    clone, site = copy_sources(tmp_path / "clone").parent, tmp_path / "site"
    installed = make_install(site)
    (clone / "pycnn" / "_version.py").write_text('__version__ = "9.9.9"\n')
    result = run_in(clone, site, "-c", "import pycnn")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (f"ImportError: the pycnn sources in {clone / 'pycnn'} are version 9.9.9, but the compiled "
                    f"extension found in the installed pycnn ({installed}) is version {pycnn.__version__}. "
                    "Reinstall from this tree (`python3 -m pip install .`), or import pycnn from outside it.")


def test_a_clone_with_nothing_installed_says_how_to_install(tmp_path: Path) -> None:
    clone = copy_sources(tmp_path / "clone").parent
    result = run_in(clone, None, "-S", "-c", "import pycnn")  # -S: no site-packages, so no installed pycnn
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"pycnn._extension.ExtensionMissingError: pycnn's compiled extension pycnn._core is "
                           f"missing from {clone / 'pycnn'}, and no installed pycnn has it. Install pycnn "
                           "(`python3 -m pip install .`)"), result.stderr
