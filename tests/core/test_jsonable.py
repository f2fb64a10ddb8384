"""json_safe: the one conversion every report writer uses before strict JSON."""

import json
import math

import numpy as np

from ganedge.jsonable import json_safe


def test_non_finite_floats_become_null_at_any_depth():
    data = {"psnr": math.inf, "rows": [{"cv": math.nan, "p50": 1.5}, (-math.inf, 2)], "n": 3, "name": "x"}
    safe = json_safe(data)
    assert safe == {"psnr": None, "rows": [{"cv": None, "p50": 1.5}, [None, 2]], "n": 3, "name": "x"}
    assert json.loads(json.dumps(safe, allow_nan=False)) == safe


def test_numpy_float64_is_a_float_and_the_input_is_not_changed():
    data = {"a": np.float64("nan"), "b": [np.float64(0.25)]}
    assert json_safe(data) == {"a": None, "b": [0.25]}
    assert math.isnan(data["a"])  # a copy: the caller's data keeps its values
    assert json_safe(None) is None and json_safe(True) is True
