"""Models pickle, cloudpickle and deepcopy at any time — before and after their first call, on every device — as
their modules, weights and device name, never their compiled plans; a round trip computes bit-identical outputs."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import cloudpickle
import numpy as np
import pytest

import pycnn
from pycnn import nn

from reference import on_device, small_cnn, to_device, with_random_state

pytestmark = pytest.mark.smoke  # in `pytest -m smoke`, the quick subset of every tier

ROUND_TRIPS: dict[str, Callable[[Any], Any]] = {
    "pickle": lambda m: pickle.loads(pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL)),
    "cloudpickle": lambda m: cloudpickle.loads(cloudpickle.dumps(m)),
    "deepcopy": copy.deepcopy,
}


def images(n: int = 2, size: int = 32) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, 3, size, size)).astype(np.float32)


@pytest.mark.parametrize("trip", ROUND_TRIPS)
@pytest.mark.parametrize("called_first", [False, True], ids=["before-first-call", "after-first-call"])
def test_a_round_trip_gives_bit_identical_outputs(trip: str, called_first: bool, device: str) -> None:
    model = small_cnn().to(device)
    expected = on_device(device, model, images())
    if not called_first:
        model = small_cnn().to(device)
    copied = ROUND_TRIPS[trip](model)
    np.testing.assert_array_equal(on_device(device, copied, images()), expected)
    assert type(copied(to_device(device, images()))) is type(model(to_device(device, images())))  # same device


def test_the_pickle_holds_no_plan() -> None:
    model = with_random_state(pycnn.models.googlenet(num_classes=10, aux_logits=False, init_weights=False))
    before = len(pickle.dumps(model))
    model(images())
    model(images(1, 48))  # two plans, with packed weights
    assert len(pickle.dumps(model)) == before


def test_unpickled_weights_are_read_only_and_edits_reach_the_plan() -> None:
    model = with_random_state(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
    copied = pickle.loads(pickle.dumps(model))
    copied(images())
    with pytest.raises(ValueError, match="read-only"):
        copied[0].weight[...] = 0
    copied[0].weight = np.zeros_like(copied[0].weight)  # replacing a weight rebuilds the plan
    copied[0].bias = np.ones_like(copied[0].bias)
    np.testing.assert_array_equal(copied(images()), np.ones((2, 4, 30, 30), np.float32))
    assert np.any(model(images()) != 1)  # the original keeps its own weights


@pytest.mark.parametrize("trip", ROUND_TRIPS)
def test_a_layer_without_bias_still_has_none_after_a_round_trip(trip: str) -> None:
    model = with_random_state(nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.ReLU()))
    copied = ROUND_TRIPS[trip](model)
    assert copied[0].bias is None
    np.testing.assert_array_equal(copied(images()), model(images()))
