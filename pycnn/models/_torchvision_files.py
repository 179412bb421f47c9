"""The files torchvision downloads for each model's pretrained weights: what to pass as `weights=` instead of a tag.

pycnn downloads nothing; torchvision fetches these from DOWNLOAD_URL and keeps them in TORCH_CACHE.
"""

from __future__ import annotations

DOWNLOAD_URL = "https://download.pytorch.org/models/"
TORCH_CACHE = "~/.cache/torch/hub/checkpoints/"

# model -> {torchvision weights tag: file name}; the first tag is the model's DEFAULT.
TORCHVISION_FILES: dict[str, dict[str, str]] = {
    "alexnet": {"IMAGENET1K_V1": "alexnet-owt-7be5be79.pth"},
    "vgg11": {"IMAGENET1K_V1": "vgg11-8a719046.pth"},
    "vgg11_bn": {"IMAGENET1K_V1": "vgg11_bn-6002323d.pth"},
    "vgg13": {"IMAGENET1K_V1": "vgg13-19584684.pth"},
    "vgg13_bn": {"IMAGENET1K_V1": "vgg13_bn-abd245e5.pth"},
    "vgg16": {"IMAGENET1K_V1": "vgg16-397923af.pth", "IMAGENET1K_FEATURES": "vgg16_features-amdegroot-88682ab5.pth"},
    "vgg16_bn": {"IMAGENET1K_V1": "vgg16_bn-6c64b313.pth"},
    "vgg19": {"IMAGENET1K_V1": "vgg19-dcbb9e9d.pth"},
    "vgg19_bn": {"IMAGENET1K_V1": "vgg19_bn-c79401a0.pth"},
    "googlenet": {"IMAGENET1K_V1": "googlenet-1378be20.pth"},
    "resnet18": {"IMAGENET1K_V1": "resnet18-f37072fd.pth"},
    "resnet34": {"IMAGENET1K_V1": "resnet34-b627a593.pth"},
    "resnet50": {"IMAGENET1K_V2": "resnet50-11ad3fa6.pth", "IMAGENET1K_V1": "resnet50-0676ba61.pth"},
    "resnet101": {"IMAGENET1K_V2": "resnet101-cd907fc2.pth", "IMAGENET1K_V1": "resnet101-63fe2227.pth"},
    "resnet152": {"IMAGENET1K_V2": "resnet152-f82ba261.pth", "IMAGENET1K_V1": "resnet152-394f9c45.pth"},
}


def torchvision_file(model: str, tag: str) -> str | None:
    """The file of torchvision's `tag` weights ("IMAGENET1K_V1", or "DEFAULT") for `model`; None if it has none."""
    files = TORCHVISION_FILES.get(model, {})
    if tag == "DEFAULT" and files:
        return next(iter(files.values()))
    return files.get(tag)
