"""load_state_dict on a wrapped or nested checkpoint says in one line how to unwrap it, instead of listing every
key as missing and unexpected; the fix it gives then loads."""

from __future__ import annotations

import re

import numpy as np
import pytest

import pycnn
from pycnn.nn.state_hints import nested_state_key, prefix_fix, state_dict_hint, unwrap_state_dict


def test_a_prefixed_checkpoint_gets_the_prefix_and_the_fix() -> None:
    model = pycnn.models.resnet18()
    state_dict = {f"module.{k}": v + 1 for k, v in model.state_dict().items()}
    with pytest.raises(pycnn.nn.StateDictError) as caught:
        model.load_state_dict(state_dict)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300
    fix = re.search(r"load (\{.*\})$", message)
    assert "'module.'" in message and fix is not None
    model.load_state_dict(eval(fix.group(1), {"state_dict": state_dict}))  # the fix, as the message words it
    assert np.array_equal(model.state_dict()["fc.bias"], state_dict["module.fc.bias"])


def test_a_training_checkpoint_gets_the_key_to_load() -> None:
    model = pycnn.models.resnet18()
    checkpoint = {"model": dict(model.state_dict()), "epoch": 3, "optimizer": {"lr": 0.1}}
    with pytest.raises(pycnn.nn.StateDictError, match=r"under 'model' beside .*; load state_dict\['model'\]$"):
        model.load_state_dict(checkpoint)


def test_unrelated_keys_still_list_what_is_missing() -> None:
    model = pycnn.nn.Linear(2, 3)
    with pytest.raises(pycnn.nn.StateDictError, match=r"Missing key\(s\): weight, bias"):
        model.load_state_dict({"other": np.zeros(1)})


def keys_of(model: pycnn.nn.Module) -> list[str]:
    return list(model.state_dict())


def test_a_checkpoint_prefixed_differently_is_renamed() -> None:
    model = pycnn.nn.Sequential({"backbone": pycnn.nn.Sequential(pycnn.nn.Conv2d(2, 3, 1), pycnn.nn.Linear(2, 2))})
    state_dict = {k.replace("backbone.", "module."): v for k, v in model.state_dict().items()}
    assert prefix_fix(keys_of(model), state_dict) == ("module.", "backbone.")
    with pytest.raises(pycnn.nn.StateDictError) as caught:
        model.load_state_dict(state_dict)
    assert str(caught.value).endswith(
        "the checkpoint's keys all start with 'module.' where the model's start with 'backbone.' (a wrapped model's "
        "state dict); load {'backbone.' + k.removeprefix('module.'): v for k, v in state_dict.items()}")
    assert unwrap_state_dict(keys_of(model), state_dict).keys() == model.state_dict().keys()


def test_a_checkpoint_nested_alone_or_under_any_key() -> None:
    model = pycnn.nn.Linear(2, 3)
    state = dict(model.state_dict())
    assert state_dict_hint(keys_of(model), {"state_dict": state}) == (
        "the checkpoint holds the model's state dict under 'state_dict' (a training checkpoint); "
        "load state['state_dict']")
    assert state_dict_hint(keys_of(model), {"step": 3, "weights": state}, "ckpt") == (
        "the checkpoint holds the model's state dict under 'weights' beside 'step' (a training checkpoint); "
        "load ckpt['weights']")
    assert nested_state_key(keys_of(model), {"model": {}, "ema": {0: 1}, "net": state}) == "net"  # empty, non-str
    assert nested_state_key(keys_of(model), {"model": {"weight": 1, "other": 2}}) == "model"  # half the keys do
    assert nested_state_key(keys_of(model), {"model": {"other": 2}}) is None
    assert unwrap_state_dict(keys_of(model), {"epoch": 1, "model": state}) == state


def test_a_checkpoint_that_fits_is_left_as_it_is() -> None:
    model = pycnn.nn.Linear(2, 3)
    state = dict(model.state_dict())
    assert unwrap_state_dict(keys_of(model), state) == state
    assert state_dict_hint(keys_of(model), state) is None and prefix_fix(keys_of(model), state) is None
    # Keys that all fit win over a value that looks like a nested state dict.
    odd = {"weight": {"weight": 1, "bias": 2}, "bias": 3}
    assert unwrap_state_dict(["weight", "bias"], odd) == odd
    assert state_dict_hint(["weight", "bias"], odd) is None


def test_a_prefix_must_explain_at_least_half_of_the_model_s_keys() -> None:
    keys = ["a.x", "a.y", "b.x", "b.y"]
    assert prefix_fix(keys, ["m.a.x", "m.a.y"]) == ("m.", "")  # two of four: enough
    assert prefix_fix(keys, ["m.a.x", "m.c.y", "m.c.z"]) is None  # one of four: not enough
    assert prefix_fix(keys, ["a.x", "a.y", "m.b.x"]) is None  # no prefix shared: nothing to strip
    assert prefix_fix([], ["m.a.x"]) is None and prefix_fix(keys, []) is None
    assert prefix_fix(["net.a.x", "net.b.y"], ["a.x", "b.y"]) == ("", "net.")


def test_keys_of_any_depth_share_a_prefix() -> None:
    keys = ["fc.weight", "layer1.0.conv1.weight", "layer1.0.bn1.running_mean", "bn.bias"]
    assert prefix_fix(keys, ["module." + k for k in keys]) == ("module.", "")
    assert prefix_fix(["weight"], ["module.weight"]) == ("module.", "")  # one key: its own levels are shared


def test_a_prefix_is_stripped_even_where_the_model_s_keys_share_one() -> None:
    keys = ["features.0.weight", "features.0.bias", "features.3.weight"]
    checkpoint = ["module." + k for k in keys] + ["module.classifier.weight"]  # a head the model does not have
    assert prefix_fix(keys, checkpoint) == ("module.", "")


def test_a_rename_that_finds_no_more_keys_is_no_fix() -> None:
    keys = ["features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias"]
    assert prefix_fix(keys, keys[:3]) is None  # the keys fit as far as they go: one is missing, none misnamed


def test_the_longest_prefix_wins_a_tie() -> None:
    # Stripping "p.q." and stripping "p." find two model keys each; the longer strip is named.
    assert prefix_fix(["k1", "k2", "q.k1", "q.k2"], ["p.q.k1", "p.q.k2"]) == ("p.q.", "")


def test_a_nested_state_dict_must_hold_half_of_the_model_s_keys() -> None:
    model = pycnn.nn.Sequential(pycnn.nn.Conv2d(2, 3, 1), pycnn.nn.Conv2d(3, 3, 1), pycnn.nn.Linear(3, 2))
    state = dict(model.state_dict())
    head_only = {"2.weight": state["2.weight"], "optimizer_step": 7}  # one of six keys
    assert nested_state_key(keys_of(model), {"model": head_only, "weights": state}) == "weights"
