"""Where pycnn's compiled modules (pycnn._core, pycnn._cuda) come from when pycnn is imported from a source tree.

From a clone's root, `python3 -m pycnn` and `import pycnn` find the folder pycnn/ of the clone first (the working
directory leads sys.path), while `pip install .` compiled the extension into the installed copy. Rule: when the
folder pycnn is imported from holds no compiled pycnn._core, the folder of an installed pycnn that does is added
to the package's search path, so that the Python sources come from the tree and the compiled modules from the
installation — provided both are the same version (else an ImportError says to reinstall). This module imports
nothing of pycnn's: it runs before the extension is loaded.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

EXTENSION = "_core"


class ExtensionMissingError(ImportError):
    """No compiled pycnn._core next to the sources, nor in an installed pycnn: pycnn cannot run."""


def has_extension(package_dir: Path) -> bool:
    """Whether `package_dir` holds a compiled `_core` module loadable by this interpreter (any ABI suffix)."""
    return any((package_dir / f"{EXTENSION}{suffix}").is_file() for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _resolved(entry: str) -> Path | None:
    try:
        return Path(entry or os.getcwd()).resolve()  # "" on sys.path is the working directory
    except OSError:
        return None


def installed_package_dir(source_dir: Path, search_path: Iterable[str] | None = None) -> Path | None:
    """The folder of the first pycnn on `search_path` (default sys.path) that holds a compiled _core, other than
    `source_dir` itself; None when there is none."""
    source = source_dir.resolve()
    for entry in sys.path if search_path is None else search_path:
        root = _resolved(entry)
        if root is None or root == source.parent:
            continue
        spec = importlib.machinery.PathFinder.find_spec("pycnn", [str(root)])
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            candidate = Path(location).resolve()
            if candidate != source and has_extension(candidate):
                return candidate
    return None


def extend_search_path(package_path: list[str]) -> Path | None:
    """Appends an installed pycnn's folder to `package_path` (the package's __path__) when none of its folders
    holds the compiled extension; returns that folder, or None when the extension is already there.

    ExtensionMissingError when neither the sources nor any installed pycnn have it.
    """
    folders = [Path(p) for p in package_path]
    if any(has_extension(folder) for folder in folders):
        return None
    installed = installed_package_dir(folders[0])
    if installed is None:
        raise ExtensionMissingError(
            f"pycnn's compiled extension pycnn._core is missing from {folders[0]}, and no installed pycnn has it. "
            "Install pycnn (`python3 -m pip install .`), or build the extension in place as CONTRIBUTING.md "
            "describes.", name="pycnn._core")
    package_path.append(str(installed))
    return installed


def check_same_version(extension_version: str, source_version: str, installed: Path,
                       sources: Sequence[str]) -> None:
    """ImportError unless the borrowed extension was built from the sources' version."""
    if extension_version != source_version:
        raise ImportError(
            f"the pycnn sources in {sources[0]} are version {source_version}, but the compiled extension found in "
            f"the installed pycnn ({installed}) is version {extension_version}. Reinstall from this tree "
            "(`python3 -m pip install .`), or import pycnn from outside it.", name="pycnn._core")
