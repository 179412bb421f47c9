"""The onnx package's own backend node tests, for every operator pycnn.onnx runs.

The cases are the ones onnx generates its test data from (onnx.backend.test.case.node), each a one-node graph
with inputs and expected outputs. A case is collected when every operator of its graph is one pycnn runs; of
those, the few pycnn refuses on purpose (3-D pooling, training mode, non-tensor inputs) must be refused with an
UnsupportedOnnxError that says why — every other case must match within onnx's backend-test tolerance.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import pycnn.onnx
from pycnn.onnx.ops import OPS

# The onnx backend runner's tolerance (onnx/backend/test/runner: rtol 1e-3, atol 1e-7), with atol 1e-5 for the
# cases whose expected values were written out to four decimals.
RTOL, ATOL = 1e-3, 1e-5

# Cases refused on purpose, by name pattern: the reason their error must give.
REFUSED = {
    r"pool_3d": "kernel of 3 dimensions",
    r"training_mode|training_dropout(?!_zero_ratio)": "training",
    r"test_identity_(sequence|opt)$": "not a tensor",
}


def _cases() -> list:
    from onnx.backend.test.case import node

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    return [c for c in cases if {n.op_type for n in c.model.graph.node} <= set(OPS)]


CASES = _cases()


def test_the_suite_covers_every_operator() -> None:
    """Every operator pycnn.onnx runs (but ConstantOfShape's helpers) has node tests, and there are many cases."""
    covered = {n.op_type for c in CASES for n in c.model.graph.node}
    assert covered == set(OPS)
    assert len(CASES) >= 220


def _refusal(name: str) -> str | None:
    return next((why for pattern, why in REFUSED.items() if re.search(pattern, name)), None)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_node_case(case) -> None:
    why = _refusal(case.name)
    if why is not None:
        with pytest.raises(pycnn.onnx.UnsupportedOnnxError, match=why):
            model = pycnn.onnx.load(case.model.SerializeToString())
            for inputs, _ in case.data_sets:
                model(*inputs)
        return
    model = pycnn.onnx.load(case.model.SerializeToString())
    assert case.data_sets
    for inputs, expected in case.data_sets:
        outputs = model(*inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        assert len(outputs) == len(expected)
        for y, ref in zip(outputs, expected, strict=True):
            y, ref = np.asarray(y), np.asarray(ref)
            assert y.shape == ref.shape
            if ref.dtype.kind in "biu":
                np.testing.assert_array_equal(y, ref)
            else:
                np.testing.assert_allclose(y.astype(np.float64), ref.astype(np.float64), rtol=RTOL, atol=ATOL)
