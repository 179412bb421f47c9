"""The classic CNNs with torchvision's constructors, layouts and parameter names.

Pass ``weights=`` a torchvision checkpoint file (.pth) or a state dict to run pretrained networks;
pycnn downloads nothing.
"""

from .alexnet import AlexNet, AlexNetOriginal, alexnet, alexnet_original
from .googlenet import GoogLeNet, googlenet
from .resnet import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = ["AlexNet", "AlexNetOriginal", "alexnet", "alexnet_original", "VGG", "vgg11", "vgg11_bn", "vgg13",
           "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "GoogLeNet", "googlenet", "ResNet", "resnet18",
           "resnet34", "resnet50", "resnet101", "resnet152"]
