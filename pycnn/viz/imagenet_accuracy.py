"""ImageNet-1k top-1 accuracy of the classic models, as torchvision documents it for their pretrained weights.

Source: torchvision's model documentation, https://pytorch.org/vision/stable/models.html — the "acc@1" of each
model's IMAGENET1K_V1 weights (the `_metrics` of torchvision.models.<Model>_Weights.IMAGENET1K_V1), single
224×224 centre crop of the 50,000 validation images. These are the weights whose .pth files pycnn loads.
"""

from __future__ import annotations

SOURCE = "torchvision IMAGENET1K_V1 weights, acc@1 (pytorch.org/vision/stable/models.html)"

TOP1_PERCENT: dict[str, float] = {
    "alexnet": 56.522,
    "vgg11": 69.020, "vgg11_bn": 70.370, "vgg13": 69.928, "vgg13_bn": 71.586,
    "vgg16": 71.592, "vgg16_bn": 73.360, "vgg19": 72.376, "vgg19_bn": 74.218,
    "googlenet": 69.778,
    "resnet18": 69.758, "resnet34": 73.314, "resnet50": 76.130, "resnet101": 77.374, "resnet152": 78.312,
}
