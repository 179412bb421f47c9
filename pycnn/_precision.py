"""The precision convolutions and linear layers multiply in: one setting for the process and every device, like
torch's ``allow_tf32`` flags, overridden per model by Module.set_precision. Accumulation, the fused bias, residual
and ReLU, and every other layer stay float32 in every precision; nothing lowers it on its own.

'fp32' (the default): float32 products everywhere.
'bf16': operands rounded to bfloat16 (8-bit significand, float32's range), products summed in float32 — on the
    CPU by AVX512-BF16 (vdpbf16ps) where it has it, else by the same arithmetic in float32 FMAs (as slow as fp32:
    for the numerics only); on CUDA by tensor cores.
'tf32': CUDA tensor cores with operands rounded to TF32 (11-bit significand, as torch.backends.cudnn.allow_tf32);
    the CPU has no TF32 arithmetic and computes in fp32, as torch does there.
The environment variable PYCNN_PRECISION sets the initial value.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16")


def checked(name: str, argument: str = "precision") -> str:
    if name not in PRECISIONS:
        raise ValueError(f"{argument} must be one of {', '.join(map(repr, PRECISIONS))}, got {name!r}")
    return name


def _from_environment() -> str:
    try:
        return checked(os.environ.get("PYCNN_PRECISION", "fp32") or "fp32", "PYCNN_PRECISION")
    except ValueError as error:
        raise ValueError(f"{error}: unset it or pick one of those") from None


_precision = _from_environment()


def get_precision() -> str:
    """The precision set for the process: 'fp32', 'tf32' or 'bf16'."""
    return _precision


def set_precision(name: str) -> None:
    """Multiply in `name` ('fp32', 'tf32' or 'bf16') from now on, in every model and functional call of the process
    that has no precision of its own (Module.set_precision)."""
    global _precision
    _precision = checked(name)


@contextlib.contextmanager
def precision(name: str) -> Iterator[None]:
    """set_precision(name) inside the block, the previous precision after it (for the whole process)."""
    previous = get_precision()
    set_precision(name)
    try:
        yield
    finally:
        set_precision(previous)
