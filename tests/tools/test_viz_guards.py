"""pycnn.viz where a newcomer slips: a whole model given to plot_filters, a 0..255 float picture given to
imagenet_input, a complexity chart whose bubbles need a key to read; and GoogLeNet built without a warning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torchvision
from PIL import Image

import pycnn
from pycnn import nn
from pycnn.viz import ComplexityPoint, imagenet_input, plot_filters
from pycnn.viz.complexity import complexity_figure, key_params
from pycnn.viz.filters import first_convolution

from reference import run_python


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_plot_filters_of_a_whole_model_draws_its_first_convolution(tmp_path: Path) -> None:
    model = pycnn.models.resnet18()
    assert first_convolution(model) == ("conv1", model.conv1)
    assert first_convolution(pycnn.models.vgg11())[0] == "features.0"
    assert first_convolution(pycnn.models.googlenet())[0] == "conv1.conv"
    whole = plot_filters(model, tmp_path / "model.png")
    layer = plot_filters(model.conv1, tmp_path / "layer.png", title="conv1: 64 filters (64x3x7x7), RGB")
    np.testing.assert_array_equal(pixels(whole), pixels(layer))  # the same picture, the layer named in its title


def test_plot_filters_of_a_model_without_convolution_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^Sequential has no convolution \(no layer with a 4-D weight\): pass a "
                                         r"Conv2d layer or a weight array"):
        plot_filters(nn.Sequential(nn.Linear(4, 2)), tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_imagenet_input_refuses_floats_in_0_255() -> None:
    cat = skimage.data.chelsea()
    with pytest.raises(ValueError, match=r"^image holds float32 values up to 231: pixel values in 0\.\.255, it "
                                         r"seems, where floats must be in 0\.\.1; pass image / 255"):
        imagenet_input(cat.astype(np.float32))
    expected = imagenet_input(cat)
    np.testing.assert_allclose(imagenet_input(cat.astype(np.float32) / 255), expected, rtol=1e-5, atol=1e-5)
    # torchvision's own preprocessing of the uint8 picture agrees (ToTensor, then Normalize with ImageNet's stats).
    transform = torchvision.transforms.Compose([torchvision.transforms.ToTensor(), torchvision.transforms.Normalize(
        [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    reference = transform(cat)[None].numpy()
    np.testing.assert_allclose(expected, reference, rtol=1e-5, atol=1e-5)
    assert np.abs(expected).max() < 3  # normalised values, not ~1000
    overshoot = np.clip(cat / 255 * 1.2, 0, 1.2).astype(np.float32)  # resampling can overshoot 1 a little
    assert imagenet_input(overshoot).shape == (1, 3, 300, 451)


def test_the_complexity_chart_has_a_key_of_bubble_sizes() -> None:
    points = [ComplexityPoint("vgg16", 15.47, 138_357_544, 71.59, None),
              ComplexityPoint("resnet18", 1.81, 11_689_512, 69.76, None),
              ComplexityPoint("googlenet", 1.50, 6_624_904, 69.78, None)]
    figure = complexity_figure(points)
    [axes] = figure.axes
    keys = [child for child in axes.get_children() if type(child).__name__ == "Legend"]
    titles = sorted(key.get_title().get_text() for key in keys)
    assert titles == ["bubble area: parameters", "family"]
    size_key = next(key for key in keys if key.get_title().get_text() == "bubble area: parameters")
    assert [t.get_text() for t in size_key.get_texts()] == ["10 M params", "50 M params", "100 M params"]
    families = {c.get_label(): c for c in axes.collections}
    assert float(families["vgg"].get_sizes()[0]) == pytest.approx(2000)  # the largest model's bubble
    assert float(families["resnet"].get_sizes()[0]) == pytest.approx(2000 * 11_689_512 / 138_357_544)
    reference_areas = [float(handle.get_sizes()[0]) for handle in size_key.legend_handles]
    assert reference_areas == pytest.approx([2000 * p / 138_357_544 for p in (10e6, 50e6, 100e6)])
    assert key_params(6_624_904) == [6_624_904.0]  # only small models: the key shows the largest one


def test_googlenet_is_built_without_torchvisions_future_warning() -> None:
    """torchvision's GoogLeNet warns about a future default (the check below sees it); pycnn's says nothing."""
    code = "import warnings, {module}\nwarnings.simplefilter('always')\n{module}.models.googlenet()\n"
    theirs = run_python(code.format(module="torchvision"))
    assert theirs.returncode == 0 and "FutureWarning" in theirs.stderr
    ours = run_python(code.format(module="pycnn"))
    assert ours.returncode == 0, ours.stderr
    assert ours.stderr == ""
