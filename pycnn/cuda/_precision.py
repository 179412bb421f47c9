"""The precision CUDA convolutions and linear layers multiply in: one setting for the process, like torch's
``allow_tf32`` flags. Accumulation and storage stay float32 in every precision."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16")


def _checked(name: str) -> str:
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, got {name!r}")
    return name


_precision = _checked(os.environ.get("PYCNN_CUDA_PRECISION", "fp32") or "fp32")


def get_precision() -> str:
    return _precision


def set_precision(name: str) -> None:
    """'fp32' (default): CUDA cores, float32 products. 'tf32': tensor cores, operands rounded to TF32 (10-bit
    mantissa, as torch.backends.cudnn.allow_tf32). 'bf16': tensor cores, operands rounded to bfloat16 (7-bit
    mantissa). The environment variable PYCNN_CUDA_PRECISION sets the initial value."""
    global _precision
    _precision = _checked(name)


@contextlib.contextmanager
def precision(name: str) -> Iterator[None]:
    """set_precision(name) inside the block, the previous precision after it (for the whole process)."""
    previous = get_precision()
    set_precision(name)
    try:
        yield
    finally:
        set_precision(previous)
