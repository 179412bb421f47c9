"""Receptive fields in pycnn.summary: against hand derivations for the four families, and against what a
network's output actually depends on.

The hand tables below were worked out on paper with the recurrence, starting from one pixel (r = 1, j = 1):

    r_out = r_in + (k − 1)·j_in        j_out = j_in·s

for a window of kernel k and stride s (windows here are undilated); a 1×1 convolution and the layers without a
window (ReLU, BN, LRN, Dropout) change nothing; a residual addition and an Inception concatenation take the
largest field of their inputs (all are centred alike); a global pool or Flatten sees every position:
r + (n − 1)·j for n positions per axis. They are literals, not computed by the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

import pycnn
import pycnn.models as models
import pycnn.nn as nn


def fields(model: nn.Module) -> dict[str, tuple[int, tuple[int, int] | None]]:
    """name → (square receptive field, jump) from the summary at 224×224; the last row of each name."""
    table = {}
    for row in pycnn.summary(model, (1, 3, 224, 224)).rows:
        assert row.receptive_field is not None and row.receptive_field[0] == row.receptive_field[1], row
        table[row.name] = (row.receptive_field[0], row.jump)
    return table


def square(jump: int | None) -> tuple[int, int] | None:
    return None if jump is None else (jump, jump)


def check(model: nn.Module, hand: dict[str, tuple[int, int | None]]) -> None:
    computed = fields(model)
    for name, (size, jump) in hand.items():
        assert computed[name] == (size, square(jump)), name


# AlexNet (torchvision), 224×224:
#   layer                  k  s   r                      j
#   conv1   features.0    11  4   1 + 10·1  = 11         4
#   pool1   features.2     3  2   11 + 2·4  = 19         8
#   conv2   features.3     5  1   19 + 4·8  = 51         8
#   pool2   features.5     3  2   51 + 2·8  = 67        16
#   conv3   features.6     3  1   67 + 2·16 = 99        16
#   conv4   features.8     3  1   99 + 32   = 131       16
#   conv5   features.10    3  1   131 + 32  = 163       16
#   pool5   features.12    3  2   163 + 2·16 = 195      32
#   avgpool (6×6 → 6×6: a 1×1 window)   195             32
#   flatten (6 positions per axis)      195 + 5·32 = 355  —
ALEXNET = {"features.0": (11, 4), "features.2": (19, 8), "features.3": (51, 8), "features.5": (67, 16),
           "features.6": (99, 16), "features.8": (131, 16), "features.10": (163, 16), "features.12": (195, 32),
           "avgpool": (195, 32), "flatten": (355, None), "classifier.6": (355, None)}

# The original two-tower AlexNet has the same windows (96 filters, groups and LRN change no field); its
# features hold an LRN after conv1 and conv2, so the indices shift: conv1 0, LRN 2, pool1 3, conv2 4, LRN 6,
# pool2 7, conv3 8, conv4 10, conv5 12, pool5 14. No adaptive pool: flatten sees 195 + 5·32 = 355.
ALEXNET_ORIGINAL = {"features.0": (11, 4), "features.2": (11, 4), "features.3": (19, 8), "features.4": (51, 8),
                    "features.6": (51, 8), "features.7": (67, 16), "features.8": (99, 16), "features.10": (131, 16),
                    "features.12": (163, 16), "features.14": (195, 32), "flatten": (355, None)}

# VGG-16 (configuration D): each 3×3 convolution adds 2·j, each 2×2 pool adds 1·j and doubles j.
#   block  convolutions (features index: r)              pool (index: r, j)
#   1      0: 3      2: 5                                4: 6,   2
#   2      5: 6+4 = 10    7: 14                          9: 16,  4
#   3      10: 16+8 = 24  12: 32   14: 40                16: 44, 8
#   4      17: 44+16 = 60 19: 76   21: 92                23: 100, 16
#   5      24: 100+32 = 132  26: 164  28: 196 (conv5_3)  30: 212, 32
#   avgpool 7×7 → 7×7: 212; flatten: 212 + 6·32 = 404
VGG16 = {"features.0": (3, 1), "features.2": (5, 1), "features.4": (6, 2), "features.5": (10, 2),
         "features.7": (14, 2), "features.9": (16, 4), "features.10": (24, 4), "features.12": (32, 4),
         "features.14": (40, 4), "features.16": (44, 8), "features.17": (60, 8), "features.19": (76, 8),
         "features.21": (92, 8), "features.23": (100, 16), "features.24": (132, 16), "features.26": (164, 16),
         "features.28": (196, 16), "features.30": (212, 32), "avgpool": (212, 32), "flatten": (404, None)}

# GoogLeNet (torchvision: its "5×5" branch is a 3×3):
#   conv1 7/2: 7, j 2     maxpool1 3/2: 7 + 2·2 = 11, j 4     conv2 1×1: 11     conv3 3×3: 11 + 2·4 = 19
#   maxpool2 3/2: 19 + 2·4 = 27, j 8
#   inception3a: 1×1 branch 27; 1×1 → 3×3 branches 27 + 2·8 = 43; pool 3/1 → 1×1 branch 43; concatenation 43
#   inception3b: 43 + 16 = 59          maxpool3 3/2: 59 + 2·8 = 75, j 16
#   inception4a..4e: +32 each: 107, 139, 171, 203, 235          maxpool4 2/2: 235 + 1·16 = 251, j 32
#   inception5a: 251 + 64 = 315; 5b: 379          avgpool (7×7 → 1): 379 + 6·32 = 571, j 7·32 = 224
GOOGLENET = {"conv1.conv": (7, 2), "maxpool1": (11, 4), "conv2.conv": (11, 4), "conv3.conv": (19, 4),
             "maxpool2": (27, 8), "inception3a.branch1.conv": (27, 8), "inception3a.branch2.1.conv": (43, 8),
             "inception3a.branch3.1.conv": (43, 8), "inception3a.branch4.0": (43, 8), "inception3a.cat": (43, 8),
             "inception3b.cat": (59, 8), "maxpool3": (75, 16), "inception4a.cat": (107, 16),
             "inception4b.cat": (139, 16), "inception4c.cat": (171, 16), "inception4d.cat": (203, 16),
             "inception4e.cat": (235, 16), "maxpool4": (251, 32), "inception5a.cat": (315, 32),
             "inception5b.cat": (379, 32), "avgpool": (571, 224), "fc": (571, None)}

# ResNet-50: stem conv1 7/2: 7, j 2; maxpool 3/2: 7 + 2·2 = 11, j 4. A bottleneck's one 3×3 adds 2·j_in (its
# stride applies after); its shortcut (identity or 1×1) sees less, so the addition takes the main path's field.
#   layer1 (j 4):  11 + 8 = 19, 27, 35
#   layer2 (the first 3×3 has stride 2: 35 + 2·4 = 43, then j 8):  43, 59, 75, 91
#   layer3 (91 + 2·8 = 107, then j 16):  107, 139, 171, 203, 235, 267
#   layer4 (267 + 2·16 = 299, then j 32):  299, 363, 427
#   avgpool (7×7 → 1): 427 + 6·32 = 619
RESNET50 = {"conv1": (7, 2), "maxpool": (11, 4),
            "layer1.0.add": (19, 4), "layer1.1.add": (27, 4), "layer1.2.add": (35, 4),
            "layer1.0.downsample.0": (11, 4),
            "layer2.0.conv1": (35, 4), "layer2.0.conv2": (43, 8), "layer2.0.downsample.0": (35, 8),
            "layer2.0.add": (43, 8), "layer2.1.add": (59, 8), "layer2.2.add": (75, 8), "layer2.3.add": (91, 8),
            "layer3.0.add": (107, 16), "layer3.1.add": (139, 16), "layer3.2.add": (171, 16),
            "layer3.3.add": (203, 16), "layer3.4.add": (235, 16), "layer3.5.add": (267, 16),
            "layer4.0.add": (299, 32), "layer4.1.add": (363, 32), "layer4.2.add": (427, 32),
            "avgpool": (619, 224), "fc": (619, None)}

# ResNet-18: two 3×3 per basic block, +2·j each.
#   layer1 (j 4): 11 + 8 + 8 = 27, 43
#   layer2: 43 + 2·4 = 51 (j 8) + 16 = 67, then 67 + 32 = 99
#   layer3: 99 + 2·8 = 115 (j 16) + 32 = 147, then 211
#   layer4: 211 + 2·16 = 243 (j 32) + 64 = 307, then 435;  avgpool: 435 + 6·32 = 627
RESNET18 = {"layer1.0.add": (27, 4), "layer1.1.add": (43, 4), "layer2.0.conv1": (51, 8), "layer2.0.add": (67, 8),
            "layer2.1.add": (99, 8), "layer3.0.add": (147, 16), "layer3.1.add": (211, 16),
            "layer4.0.add": (307, 32), "layer4.1.add": (435, 32), "avgpool": (627, 224)}


@pytest.mark.parametrize(("build", "hand"), [
    (models.alexnet, ALEXNET), (models.alexnet_original, ALEXNET_ORIGINAL), (models.vgg16, VGG16),
    (lambda: models.googlenet(aux_logits=False, init_weights=False), GOOGLENET),
    (models.resnet50, RESNET50), (models.resnet18, RESNET18)],
    ids=["alexnet", "alexnet_original", "vgg16", "googlenet", "resnet50", "resnet18"])
def test_fields_match_the_hand_derivation(build, hand) -> None:
    check(build(), hand)


def test_every_row_has_a_field_and_the_table_shows_it() -> None:
    s = pycnn.summary(models.vgg16(), (1, 3, 224, 224))
    assert all(r.receptive_field is not None for r in s.rows)
    assert s.row("features.28").receptive_field == (196, 196) and s.row("features.28").jump == (16, 16)
    lines = str(s).splitlines()
    assert lines[2].split()[-3:] == ["receptive", "field", "jump"]
    conv5_3 = next(line for line in lines if line.startswith("features.28 "))
    assert conv5_3.split()[-2:] == ["196", "16"]
    flatten = next(line for line in lines if line.startswith("flatten "))
    assert flatten.split()[-2:] == ["404", "-"]


def test_a_rectangular_input_and_window_give_rectangular_fields() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, kernel_size=(3, 7), stride=(1, 2)), nn.MaxPool2d((2, 1)))
    s = pycnn.summary(model, (1, 3, 20, 30))
    # conv: (1 + 2, 1 + 6) = (3, 7), jumps (1, 2); pool 2×1 stride (2, 1): (3 + 1·1, 7) = (4, 7), jumps (2, 2)
    assert [(r.receptive_field, r.jump) for r in s.rows] == [((3, 7), (1, 2)), ((4, 7), (2, 2))]
    assert " 4x7 " in str(s) and " 1x2" in str(s)


def test_adaptive_pooling_that_does_not_divide_takes_the_largest_window_and_step() -> None:
    s = pycnn.summary(nn.Sequential(nn.AdaptiveAvgPool2d((4, 5))), (1, 1, 10, 10))
    # H, 10 → 4: windows [0,3) [2,5) [5,8) [7,10): largest 3; starts 0, 2, 5, 7: largest step 3.
    # W, 10 → 5 divides: windows of 2, step 2.
    assert (s.rows[0].receptive_field, s.rows[0].jump) == ((3, 2), (3, 2))


def test_inputs_without_spatial_axes_have_no_field() -> None:
    s = pycnn.summary(nn.Sequential(nn.Linear(8, 4), nn.ReLU()), (2, 8))
    assert [(r.receptive_field, r.jump) for r in s.rows] == [(None, None), (None, None)]
    assert str(s).splitlines()[4].split()[-2:] == ["-", "-"]


# --- what the output actually depends on --------------------------------------------------------------------------

class Branches(nn.Module):
    """Inception-like: a 1×1, a centred 5×5 and an off-centre 5×5 (padded only below and right) concatenated:
    the union of the last two is wider than either."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.point = nn.Conv2d(channels, channels, 1)
        self.wide = nn.Conv2d(channels, channels, 5, padding=2)
        self.shifted = nn.Conv2d(channels, channels, 5, padding=(0, 4, 0, 4))

    def forward(self, x):
        return nn.cat([self.point(x), self.wide(x), self.shifted(x)], 1)


class Residual(nn.Module):
    """x + two dilated 3×3 convolutions, as a ResNet block with dilation."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=2, dilation=2), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


def probe_network() -> nn.Sequential:
    """Windows of every kind: strided, padded, asymmetric, dilated, rectangular, pooled with ceil_mode,
    adaptive (dividing), a residual addition and a concatenation of off-centre branches."""
    return nn.Sequential(
        nn.Conv2d(1, 2, kernel_size=5, stride=2, padding=1), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        Residual(2), nn.ReLU(),
        Branches(2),
        nn.Conv2d(6, 2, kernel_size=(3, 1), padding=(1, 0)),
        nn.AvgPool2d(2),
        nn.AdaptiveAvgPool2d((3, 3)),
    )


def ones_weights(model: nn.Module) -> None:
    """All weights 1, biases 0: every value is then a sum of non-negative terms, positive exactly where some
    input pixel set to 1 reaches it."""
    model.load_state_dict({name: np.ones_like(p) if name.endswith("weight") else np.zeros_like(p)
                           for name, p in model.state_dict().items()})


def observed_extents(model: nn.Module, size: int, axis: int) -> list[tuple[int, int]]:
    """For each output position along `axis` (2: H, 3: W), the first and last input line (row or column) that
    changes it: one image per line, that line set to 1 and the rest 0."""
    images = np.zeros((size, 1, size, size), np.float32)
    for line in range(size):
        if axis == 2:
            images[line, 0, line, :] = 1
        else:
            images[line, 0, :, line] = 1
    with nn.eager():
        out = model(images)
    reached = (out > 0).any(axis=1)  # (line, H, W)
    reached = reached.any(axis=2 if axis == 2 else 1)  # (line, output position along the axis)
    extents = []
    for position in range(reached.shape[1]):
        lines = np.flatnonzero(reached[:, position])
        extents.append((int(lines[0]), int(lines[-1])))
    return extents


@pytest.mark.parametrize("axis", [2, 3], ids=["rows", "columns"])
def test_the_field_is_what_the_output_depends_on(axis: int) -> None:
    """Each output position depends on input lines from start + i·jump to start + i·jump + size − 1, clipped to
    the image (the field reaches into the padding at the borders)."""
    from pycnn.nn.trace import trace
    from pycnn.receptive_field import receptive_fields

    model = probe_network()
    ones_weights(model)
    size = 120
    graph_input, _, nodes = trace(model, (1, 1, size, size))
    field = receptive_fields(graph_input, nodes)[-1]
    assert field is not None
    along = field.h if axis == 2 else field.w
    extents = observed_extents(model, size, axis)
    interior = 0
    for i, (first, last) in enumerate(extents):
        start = along.start + i * along.jump
        assert (first, last) == (max(start, 0), min(start + along.size - 1, size - 1)), i
        interior += start >= 0 and start + along.size <= size
    assert interior == 1 and len(extents) == 3  # the middle output's field lies inside the image
    summary_row = pycnn.summary(model, (1, 1, size, size)).rows[-1]
    assert summary_row.receptive_field == field.size and summary_row.jump == field.jump


# --- layers without a window --------------------------------------------------------------------------------------

class EveryOtherRow(nn.Layer):
    """A layer that resizes without a window the summary knows: its field is unknown."""

    def output_shape(self, input_shape):
        n, c, h, w = input_shape
        return (n, c, (h + 1) // 2, w)


def test_layers_that_mix_an_axis_see_all_of_it_and_unknown_resizing_is_unknown() -> None:
    s = pycnn.summary(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Softmax(dim=3), nn.Linear(5, 4), EveryOtherRow(),
                                    nn.ReLU()), (1, 1, 9, 7))
    # conv 3×3 on 9×7: 3, jump 1, outputs 7×5. Softmax over W: all 5 columns, 3 + 4·1 = 7 wide, jump 0 along W.
    # Linear over W mixes the same columns again: unchanged. Then a resize without a window: unknown onwards.
    assert [(r.receptive_field, r.jump) for r in s.rows] == [
        ((3, 3), (1, 1)), ((3, 7), (1, 0)), ((3, 7), (1, 0)), (None, None), (None, None)]


def test_a_row_is_found_by_name() -> None:
    s = pycnn.summary(models.resnet18(), (1, 3, 224, 224))
    assert s.row("layer1.0.relu").output_shape == (1, 64, 56, 56)
    assert s.row("layer1.0.relu") is [r for r in s.rows if r.name == "layer1.0.relu"][-1]
    with pytest.raises(KeyError, match=r"no layer named 'layer1.0.conv' .*close: .*layer1.0.conv1"):
        s.row("layer1.0.conv")
