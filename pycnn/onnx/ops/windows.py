"""The sliding-window attributes of Conv and the pools: kernel, strides, dilations and pads, auto_pad resolved."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .registry import Attrs

Pads = tuple[int, int, int, int]  # top, bottom, left, right (pycnn's order)
_LARGEST = (1 << 31) - 1  # of any kernel size, stride, dilation or pad


@dataclass(frozen=True)
class Window2d:
    kernel: tuple[int, int]
    strides: tuple[int, int]
    dilations: tuple[int, int]
    auto_pad: str
    pads: Pads  # the explicit pads (auto_pad NOTSET)
    one_d: bool = False  # a 1-D window, run as a 2-D one of height 1 on inputs (N, C, 1, L)

    def pads_for(self, input_hw: tuple[int, int]) -> Pads:
        """The pads for an input of this height and width."""
        if self.auto_pad in ("NOTSET", "VALID"):
            return self.pads
        result = []
        for size, k, s, d in zip(input_hw, self.kernel, self.strides, self.dilations, strict=True):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, big = total // 2, total - total // 2
            result.append((small, big) if self.auto_pad == "SAME_UPPER" else (big, small))
        return (*result[0], *result[1])

    def static_pads(self) -> Pads | None:
        """The pads, when they do not depend on the input's size (as with SAME and a stride above 1)."""
        if self.auto_pad.startswith("SAME") and self.strides != (1, 1):
            return None
        return self.pads_for((1, 1))


def window2d(a: Attrs, kernel: tuple[int, ...] | None, what: str) -> Window2d:
    """The node's window; `kernel` from the weight's shape when the attributes do not give it."""
    given = a.ints("kernel_shape")
    if given is not None:
        if kernel is not None and tuple(given) != tuple(kernel):
            raise a.invalid(f"kernel_shape {given} differs from the weight's kernel {list(kernel)}")
        kernel = tuple(given)
    if kernel is None:
        raise a.invalid("kernel_shape is required")
    if len(kernel) not in (1, 2):
        raise a.refuse(f"pycnn runs 1-D and 2-D {what} (inputs (N, C, L) and (N, C, H, W)); this one has a "
                       f"kernel of {len(kernel)} dimensions: {list(kernel)}")
    n = len(kernel)
    strides = a.int_list("strides", [1] * n)
    dilations = a.int_list("dilations", [1] * n)
    pads = a.int_list("pads", [0] * 2 * n)
    auto_pad = a.get("auto_pad", "NOTSET") or "NOTSET"
    if len(strides) != n or len(dilations) != n or len(pads) != 2 * n:
        raise a.invalid(f"strides {strides}, dilations {dilations} and pads {pads} must have {n}, {n} and {2 * n} "
                        f"entries for a kernel of {n} dimension(s)")
    if n == 1:
        kernel, strides, dilations, pads = (1, kernel[0]), [1, *strides], [1, *dilations], [0, pads[0], 0, pads[1]]
    if auto_pad not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise a.refuse(f"auto_pad={auto_pad!r} is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER")
    if min(strides) < 1 or min(dilations) < 1 or min(pads) < 0:
        raise a.invalid(f"strides {strides} and dilations {dilations} must be positive and pads {pads} not negative")
    if max(*kernel, *strides, *dilations, *pads) > _LARGEST:
        raise a.invalid(f"kernel {list(kernel)}, strides {strides}, dilations {dilations} and pads {pads} must be at "
                        f"most {_LARGEST} (2^31 - 1), as pycnn's kernels take them")
    explicit: Pads = (0, 0, 0, 0) if auto_pad == "VALID" else (pads[0], pads[2], pads[1], pads[3])
    return Window2d((int(kernel[0]), int(kernel[1])), (strides[0], strides[1]), (dilations[0], dilations[1]),
                    auto_pad, explicit, n == 1)


def as_4d(a: Attrs, window: Window2d, x: Any, what: str) -> Any:
    """The input as (N, C, H, W): a 1-D window's (N, C, L) input as (N, C, 1, L)."""
    x = np.asarray(x)
    if x.ndim != (3 if window.one_d else 4):
        raise a.invalid(f"a {'1' if window.one_d else '2'}-D {what} needs an input of "
                        f"{3 if window.one_d else 4} dimensions, got shape {x.shape}")
    return x[:, :, None, :] if window.one_d else x


def from_4d(window: Window2d, y: Any) -> Any:
    return np.asarray(y)[:, :, 0, :] if window.one_d else y
