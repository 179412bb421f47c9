"""Pictures of what a CNN does: a convolution's filters, a layer's activation maps for a photograph, and the
"accuracy vs operations" chart of the classic models. PNG files, drawn with matplotlib — the optional extra
``pip install "pycnn[viz]"`` (the functions that only compute, such as layer_output, need no matplotlib)."""

from ._figure import VizUnavailable
from .activations import activation_maps, plot_activations
from .capture import layer_names, layer_output
from .complexity import ComplexityPoint, complexity_points, plot_complexity
from .filters import filter_images, plot_filters
from .grid import tile
from .image import IMAGENET_MEAN, IMAGENET_STD, imagenet_input
from .imagenet_accuracy import TOP1_PERCENT

__all__ = ["plot_filters", "plot_activations", "plot_complexity", "complexity_points", "ComplexityPoint",
           "layer_output", "layer_names", "activation_maps", "filter_images", "imagenet_input", "tile",
           "IMAGENET_MEAN", "IMAGENET_STD", "TOP1_PERCENT", "VizUnavailable"]
