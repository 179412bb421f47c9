"""Layer shapes of real networks (AlexNet, VGG-16, GoogLeNet, ResNet-50 at 224×224), shared by tests and benches.

conv_layers.csv was recorded from torchvision's models with forward hooks: one row per distinct shape.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

_CSV = Path(__file__).with_name("conv_layers.csv")


@dataclass(frozen=True)
class ConvLayer:
    net: str
    layer: str
    in_channels: int
    in_h: int
    in_w: int
    out_channels: int
    kernel_h: int
    kernel_w: int
    stride: int
    padding: int
    groups: int

    @property
    def name(self) -> str:
        return f"{self.net}.{self.layer}"

    @property
    def out_hw(self) -> tuple[int, int]:
        oh = (self.in_h + 2 * self.padding - self.kernel_h) // self.stride + 1
        ow = (self.in_w + 2 * self.padding - self.kernel_w) // self.stride + 1
        return oh, ow

    def macs(self, batch: int = 1) -> int:
        oh, ow = self.out_hw
        return batch * self.out_channels * oh * ow * self.in_channels // self.groups * self.kernel_h * self.kernel_w


def conv_layers(net: str | None = None) -> list[ConvLayer]:
    with _CSV.open(newline="") as f:
        rows = [ConvLayer(**{k: (v if k in ("net", "layer") else int(v)) for k, v in row.items()})
                for row in csv.DictReader(f)]
    return [r for r in rows if net is None or r.net == net]
