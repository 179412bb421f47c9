"""The optional packages `pycnn predict` needs, checked before any work, each refusal naming the pip line that
installs them."""

from __future__ import annotations

import importlib.util


class ExtraMissingError(ImportError):
    """An optional package is not installed; the message names the extra that installs it."""


# What each need imports, and the extra that installs it.
NEEDS = {
    "pillow": (("PIL",), 'pycnn predict decodes images with Pillow: pip install "pycnn[predict]"'),
    "ray": (("ray", "ray.data"), 'pycnn predict --cluster ray needs Ray Data: pip install "pycnn[cluster]"'),
    "dask": (("dask", "distributed"), 'pycnn predict --cluster dask needs Dask distributed: '
                                      'pip install "pycnn[cluster]"'),
}


def require(need: str) -> None:
    modules, message = NEEDS[need]
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a submodule of a package that is missing
            found = False
        if not found:
            raise ExtraMissingError(message)
