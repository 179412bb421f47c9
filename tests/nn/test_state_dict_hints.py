"""load_state_dict on a wrapped or nested checkpoint says in one line how to unwrap it, instead of listing every
key as missing and unexpected; the fix it gives then loads."""

from __future__ import annotations

import re

import numpy as np
import pytest

import pycnn


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
