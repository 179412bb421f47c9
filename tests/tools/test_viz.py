"""pycnn.viz: filter grids, activation maps, the complexity chart (PNG of the size asked for), captured outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

import pycnn
from pycnn import nn
from pycnn.viz import (
    ComplexityPoint,
    activation_maps,
    complexity_points,
    filter_images,
    imagenet_input,
    layer_names,
    layer_output,
    plot_activations,
    plot_complexity,
    plot_filters,
    tile,
)
from pycnn.viz.grid import grid_shape


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


@pytest.fixture(scope="module")
def resnet18() -> pycnn.nn.Module:
    return pycnn.models.resnet18()


@pytest.fixture(scope="module")
def cat() -> np.ndarray:
    return skimage.data.chelsea()  # (300, 451, 3) uint8


# --- pictures of filters ------------------------------------------------------------------------------------------

def test_first_layer_filters_are_rgb_each_stretched_to_its_range(rng: np.random.Generator) -> None:
    weight = rng.standard_normal((5, 3, 4, 2), dtype=np.float32)
    images = filter_images(weight)
    assert images.shape == (5, 4, 2, 3)
    np.testing.assert_allclose(images.min(axis=(1, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(images.max(axis=(1, 2, 3)), 1, atol=1e-6)
    f = weight[2].transpose(1, 2, 0)
    np.testing.assert_allclose(images[2], (f - f.min()) / (f.max() - f.min()), rtol=1e-5)


def test_deeper_filters_are_signed_maps(rng: np.random.Generator) -> None:
    weight = rng.standard_normal((6, 16, 3, 3), dtype=np.float32)
    mean = weight.mean(axis=1)
    np.testing.assert_allclose(filter_images(weight), mean / np.abs(mean).max(axis=(1, 2), keepdims=True), rtol=1e-5)
    one = weight[:, 7]
    np.testing.assert_allclose(filter_images(weight, channel=7), one / np.abs(one).max(axis=(1, 2), keepdims=True),
                               rtol=1e-5)
    assert filter_images(np.zeros((2, 16, 3, 3))).max() == 0  # no division by zero
    with pytest.raises(ValueError, match=r"channel must be in 0\.\.15"):
        filter_images(weight, channel=16)
    with pytest.raises(ValueError, match="weight must be"):
        filter_images(weight[0])


def test_plot_filters_writes_a_png_of_the_size_asked_for(tmp_path: Path) -> None:
    conv = nn.Conv2d(3, 96, kernel_size=11, stride=4)
    assert png_size(plot_filters(conv, tmp_path / "default.png")) == (800, 800)
    assert png_size(plot_filters(conv.weight, tmp_path / "wide.png", size=(640, 360))) == (640, 360)
    assert png_size(plot_filters(nn.Conv2d(64, 32, 3), tmp_path / "deep.png", channel=3, size=(300, 200))) == \
        (300, 200)
    with pytest.raises(ValueError, match=r"\.png"):
        plot_filters(conv, tmp_path / "filters.jpg")


def test_tile_places_images_row_by_row_with_gaps() -> None:
    images = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    grid = tile(images, columns=2, pad=1)
    assert grid.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(grid[3:5, 4:7], images[3])  # row 1, column 1
    assert np.isnan(grid[2]).all() and np.isnan(grid[:, 3]).all()  # the gaps
    assert np.isnan(grid[6:, 4:]).all()  # the empty last cell
    assert grid_shape(64) == (8, 8)
    assert grid_shape(64, tile_aspect=1, aspect=4) == (4, 16)
    assert grid_shape(10, columns=3) == (4, 3)


# --- intermediate outputs -------------------------------------------------------------------------------------------

def test_layer_output_is_what_the_layers_compute(resnet18: pycnn.nn.Module, rng: np.random.Generator) -> None:
    m = resnet18
    x = rng.standard_normal((1, 3, 64, 64), dtype=np.float32)
    with nn.eager():
        stem = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        block = m.layer1[0](stem)
        expected_layer1 = m.layer1(stem)
    np.testing.assert_array_equal(layer_output(m, x, "layer1"), expected_layer1)
    np.testing.assert_array_equal(layer_output(m, x, m.layer1), expected_layer1)
    np.testing.assert_array_equal(layer_output(m, x, "layer1.0.relu"), block)  # a reused ReLU: its last call
    np.testing.assert_array_equal(layer_output(m, x, "layer1.0.add"), m.layer1[0].bn2(m.layer1[0].conv2(
        m.layer1[0].relu(m.layer1[0].bn1(m.layer1[0].conv1(stem))))) + stem)
    np.testing.assert_allclose(layer_output(m, x, "fc"), m(x), rtol=1e-4, atol=1e-4 * np.abs(m(x)).max())


def test_layer_output_of_a_concatenation(rng: np.random.Generator) -> None:
    model = pycnn.models.googlenet(aux_logits=False, init_weights=True)
    x = rng.standard_normal((1, 3, 96, 96), dtype=np.float32)
    out = layer_output(model, x, "inception3a")
    assert out.shape == (1, 256, 12, 12)
    np.testing.assert_array_equal(out, layer_output(model, x, "inception3a.cat"))
    branch = layer_output(model, x, "inception3a.branch1")
    np.testing.assert_array_equal(out[:, :64], branch)


def test_layer_names_and_unknown_layers(resnet18: pycnn.nn.Module) -> None:
    names = layer_names(resnet18)
    assert names[:6] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer1.0"]
    assert {"layer1.0.add", "layer4.1.conv2", "fc"} <= set(names)
    with pytest.raises(ValueError, match=r"no layer named .layer5.*layer4"):
        layer_output(resnet18, np.zeros((1, 3, 32, 32), np.float32), "layer5")
    with pytest.raises(ValueError, match="not a part of"):
        layer_output(resnet18, np.zeros((1, 3, 32, 32), np.float32), nn.Conv2d(3, 3, 1))


def test_imagenet_input_normalises_a_photograph(cat: np.ndarray) -> None:
    x = imagenet_input(cat)
    assert x.shape == (1, 3, 300, 451) and x.dtype == np.float32 and x.flags.c_contiguous
    r, g, b = cat[10, 20] / 255
    np.testing.assert_allclose(x[0, :, 10, 20], [(r - 0.485) / 0.229, (g - 0.456) / 0.224, (b - 0.406) / 0.225],
                               rtol=1e-5)
    np.testing.assert_allclose(imagenet_input(cat / 255.0), x, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        imagenet_input(cat[..., :2])


# --- activation maps ------------------------------------------------------------------------------------------------

def test_plot_activations_of_a_model_layer(resnet18: pycnn.nn.Module, cat: np.ndarray, tmp_path: Path) -> None:
    assert png_size(plot_activations(resnet18, cat, tmp_path / "layer1.png", layer="layer1")) == (1000, 1000)
    path = plot_activations(resnet18, cat, tmp_path / "first.png", size=(500, 300), max_maps=8)
    assert png_size(path) == (500, 300)
    first = activation_maps(resnet18, cat)  # default: the first ReLU
    np.testing.assert_array_equal(first, layer_output(resnet18, imagenet_input(cat), "relu"))
    assert first.shape == (1, 64, 150, 226) and first.min() == 0
    with pytest.raises(ValueError, match="not \\(N, C, H, W\\) maps"):
        plot_activations(resnet18, cat, tmp_path / "fc.png", layer="fc")


def test_plot_activations_of_a_single_layer(cat: np.ndarray, tmp_path: Path) -> None:
    conv = nn.Conv2d(3, 6, kernel_size=5, stride=2)
    maps = activation_maps(conv, cat)
    np.testing.assert_array_equal(maps, conv(imagenet_input(cat)))
    assert png_size(plot_activations(conv, cat, tmp_path / "conv.png", size=(400, 400))) == (400, 400)
    with pytest.raises(ValueError, match="only with a model"):
        activation_maps(conv, cat, layer="features.0")


# --- the complexity chart ------------------------------------------------------------------------------------------

def test_complexity_points_count_and_measure() -> None:
    [point] = complexity_points(["resnet18"], measure_latency=True, repeat=1)
    assert point == ComplexityPoint("resnet18", 1.814073344, 11_689_512, 69.758, point.latency_ms)
    assert point.latency_ms is not None and point.latency_ms > 0
    assert complexity_points(["googlenet"], measure_latency=False)[0].latency_ms is None
    with pytest.raises(ValueError, match="no documented ImageNet accuracy"):
        complexity_points(["alexnet_original"])


def test_plot_complexity_size(tmp_path: Path) -> None:
    points = [ComplexityPoint("alexnet", 0.714, 61_100_840, 56.522, 40.0),
              ComplexityPoint("vgg16", 15.47, 138_357_544, 71.592, None),
              ComplexityPoint("vgg16_bn", 15.47, 138_365_992, 73.36, 300.0),
              ComplexityPoint("resnet50", 4.09, 25_557_032, 76.13, 100.0)]
    assert png_size(plot_complexity(points, tmp_path / "chart.png", note="test")) == (1200, 800)
    assert png_size(plot_complexity(points[:1], tmp_path / "small.png", size=(600, 450))) == (600, 450)
    with pytest.raises(ValueError, match="no models"):
        plot_complexity([], tmp_path / "empty.png")
