"""pycnn.summary against torchvision's documented parameter counts and operation counts."""

from __future__ import annotations

import pytest
import torchvision.models as tvm

import pycnn
import pycnn.models as models
from pycnn.viz.complexity import complexity_points
from pycnn.viz.imagenet_accuracy import TOP1_PERCENT

WEIGHTS = {"alexnet": "AlexNet", "vgg11": "VGG11", "vgg11_bn": "VGG11_BN", "vgg13": "VGG13", "vgg13_bn": "VGG13_BN",
           "vgg16": "VGG16", "vgg16_bn": "VGG16_BN", "vgg19": "VGG19", "vgg19_bn": "VGG19_BN",
           "googlenet": "GoogLeNet", "resnet18": "ResNet18", "resnet34": "ResNet34", "resnet50": "ResNet50",
           "resnet101": "ResNet101", "resnet152": "ResNet152"}


def documented(name: str) -> dict:
    return getattr(tvm, f"{WEIGHTS[name]}_Weights").IMAGENET1K_V1.meta


@pytest.mark.parametrize("name", WEIGHTS)
def test_totals_match_torchvision_documentation(name):
    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    meta = documented(name)
    s = pycnn.summary(getattr(models, name)(**kwargs), (1, 3, 224, 224))
    assert s.params == meta["num_params"]
    # torchvision's "GFLOPS" counts multiply-adds, rounded to 3 decimals.
    assert round(s.macs / 1e9, 3) == meta["_ops"]
    text = str(s)
    assert f"total parameters: {meta['num_params']:,} (" in text
    assert f" ({meta['_ops']:.3f} G)" in text


def test_the_complexity_chart_uses_torchvision_documented_numbers():
    assert TOP1_PERCENT.keys() == WEIGHTS.keys()
    for name, top1 in TOP1_PERCENT.items():
        assert top1 == documented(name)["_metrics"]["ImageNet-1K"]["acc@1"], name
    # One VGG stands for its family (each takes seconds to build); the totals above cover every model.
    charted = ["alexnet", "vgg11", "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    points = complexity_points(charted, measure_latency=False)
    assert [p.model for p in points] == charted
    for p in points:
        meta = documented(p.model)
        assert (p.params, round(p.gmacs, 3), p.top1_percent, p.latency_ms) == (
            meta["num_params"], meta["_ops"], meta["_metrics"]["ImageNet-1K"]["acc@1"], None), p.model


def test_rows_and_table():
    s = pycnn.summary(models.resnet18(), (2, 3, 224, 224))
    assert s.rows[0].name == "conv1" and s.rows[0].output_shape == (2, 64, 112, 112)
    assert s.rows[0].params == 64 * 3 * 7 * 7 and s.rows[0].macs == 2 * 64 * 112 * 112 * 3 * 49
    assert s.rows[0].activation_bytes == 4 * 2 * 64 * 112 * 112
    assert [r.type for r in s.rows if r.name == "layer1.0.add"] == ["add"]
    assert s.rows[-1].name == "fc" and s.rows[-1].output_shape == (2, 1000)
    assert s.macs == sum(r.macs for r in s.rows) == 2 * pycnn.summary(models.resnet18()).macs
    text = str(s)
    assert "layer1.0.conv1" in text and "total parameters: 11,689,512" in text


def test_summary_computes_nothing_and_checks_shapes():
    with pytest.raises(ValueError, match="expects 3 input channels"):
        pycnn.summary(models.alexnet(), (1, 4, 224, 224))
    s = pycnn.summary(models.vgg16(), (64, 3, 224, 224))  # would take minutes if it ran
    assert s.macs == 64 * pycnn.summary(models.vgg16()).macs
