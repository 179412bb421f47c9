"""pycnn: a convolution engine for Python — hand-written SIMD C++ kernels behind a numpy API.

    import pycnn.functional as F
    y = F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2)
"""

from __future__ import annotations

from pathlib import Path

try:
    from . import _core
except ImportError as error:  # a source checkout on sys.path ahead of the installed package, most often
    raise ImportError(f"pycnn's compiled extension pycnn._core is missing from {Path(__file__).parent} ({error}). "
                      "Install pycnn (`pip install .`) and import it from outside the source tree, "
                      "or build the extension in place as CONTRIBUTING.md describes.") from error

from . import cuda, functional, models, nn
from ._args import integer
from ._config import config, show_config
from ._version import __version__
from .io import load, save
from .shapes import conv_output_size
from .summary import Summary, summary

__all__ = ["__version__", "functional", "nn", "models", "cuda", "summary", "Summary", "conv_output_size", "load",
           "save", "isa", "set_num_threads", "get_num_threads", "show_config", "config"]


def isa() -> str:
    """The instruction set whose kernels are in use: 'avx512', 'avx2' or 'generic'."""
    return str(_core.isa())


def set_num_threads(n: int) -> None:
    """Use up to n threads in every kernel (default: the cores this process may run on)."""
    _core.set_num_threads(integer(n, "n"))


def get_num_threads() -> int:
    return int(_core.get_num_threads())
