"""Checking where a command will write, before it works: a minute of measuring must not end in a path error."""

from __future__ import annotations

import os
from pathlib import Path


class OutputFileError(ValueError):
    """An output path that cannot be written; the message names the option, the path and what to do."""


def check_output_file(path: Path, option: str, suffix: str | None = None) -> Path:
    """`path` itself once it is known to be writable: its folder exists, it is not a folder, it has `suffix`
    (".png"; None: any), and a file can be created there (tried, then removed, when none exists yet).

    OutputFileError otherwise, one line: "--json: folder /no/such does not exist", for instance.
    """
    if suffix is not None and path.suffix.lower() != suffix:
        raise OutputFileError(f"{option}: {path} does not end in {suffix} (the file is written as "
                              f"{suffix.lstrip('.').upper()}); give a name such as {path.with_suffix(suffix)}")
    if path.is_dir():
        raise OutputFileError(f"{option}: {path} is a folder; give a file name in it, such as "
                              f"{path / ('out' + (suffix or '.json'))}")
    folder = path.parent
    if not folder.exists():
        raise OutputFileError(f"{option}: folder {folder} does not exist; create it first or choose another path")
    if not folder.is_dir():
        raise OutputFileError(f"{option}: {folder} is not a folder, so {path} cannot be written")
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as error:
        raise OutputFileError(f"{option}: cannot write {path} ({error.strerror or error})") from None
    if not existed:
        os.remove(path)
    return path
