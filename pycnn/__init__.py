"""pycnn: a convolution engine for Python — hand-written SIMD C++ kernels behind a numpy API.

    import pycnn.functional as F
    y = F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2)
"""

from __future__ import annotations

from ._extension import check_same_version, extend_search_path
from ._version import __version__

# From a source tree without a compiled extension, pycnn._core and pycnn._cuda load from the installed pycnn
# (see pycnn/_extension.py); None when the extension sits next to these sources.
_borrowed_extension_dir = extend_search_path(__path__)

try:
    from . import _core
except ImportError as error:
    raise ImportError(f"pycnn's compiled extension pycnn._core could not be loaded ({error}). Reinstall pycnn "
                      "(`python3 -m pip install .`) or rebuild it in place as CONTRIBUTING.md describes.") from error
if _borrowed_extension_dir is not None:
    check_same_version(str(_core.__version__), __version__, _borrowed_extension_dir, __path__)

# The rest needs the extension located first.
from . import _threads, cuda, functional, models, nn  # noqa: E402
from ._args import integer  # noqa: E402
from ._config import config, show_config  # noqa: E402
from ._precision import PRECISIONS, get_precision, precision, set_precision  # noqa: E402
from .io import load, save  # noqa: E402
from .shapes import conv_output_size  # noqa: E402
from .summary import Summary, summary  # noqa: E402

__all__ = ["__version__", "functional", "nn", "models", "cuda", "summary", "Summary", "conv_output_size", "load",
           "save", "isa", "set_num_threads", "get_num_threads", "show_config", "config", "set_precision",
           "get_precision", "precision", "PRECISIONS"]

_threads.use_default()


def isa() -> str:
    """The instruction set whose kernels are in use: 'avx512_bf16', 'avx512', 'avx2' or 'generic'."""
    return str(_core.isa())


def set_num_threads(n: int) -> None:
    """Use up to n threads in every kernel. The default is PYCNN_NUM_THREADS, else OMP_NUM_THREADS, else the CPUs
    this process may run on (its affinity mask, capped by its cgroup's CPU quota)."""
    _threads.set_num_threads(integer(n, "n"))


def get_num_threads() -> int:
    return int(_core.get_num_threads())
