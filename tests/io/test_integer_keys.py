"""Integer keys, as torch writes them for optimizer state and for modules kept in a dict by index, are flattened
into names like every other key: nothing in a checkpoint is dropped for its key's type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import pycnn


def test_integer_keyed_entries_are_flattened_not_dropped(tmp_path: Path) -> None:
    w0, w1 = torch.arange(6.0).reshape(2, 3), torch.ones(4)
    checkpoint = {
        "blocks": {0: w0, 1: w1},  # a dict of modules by index
        "optimizer": {"state": {0: {"step": torch.tensor(7.0), "exp_avg": torch.full((2,), 0.5)}},
                      "param_groups": [{"lr": 0.01, "params": [0, 1]}]},
    }
    path = tmp_path / "checkpoint.pth"
    torch.save(checkpoint, path)
    got = pycnn.load(path)
    assert set(got) == {"blocks.0", "blocks.1", "optimizer.state.0.step", "optimizer.state.0.exp_avg",
                        "optimizer.param_groups.0.lr", "optimizer.param_groups.0.params.0",
                        "optimizer.param_groups.0.params.1"}
    np.testing.assert_array_equal(got["blocks.0"], w0.numpy())
    np.testing.assert_array_equal(got["blocks.1"], w1.numpy())
    assert float(got["optimizer.state.0.step"]) == 7.0
