"""JSON files the tools write: valid JSON, with ``null`` where a figure is not a number.

Python's ``json`` writes NaN and infinities as bare ``NaN`` and ``Infinity``, which JSON does
not allow and strict readers (``jq``, JavaScript, most other languages) refuse. An RMSD over
no residues, or an R-free without free reflections, is such a figure.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(obj: Any) -> Any:
    """``obj`` with every float that is not finite (NaN, +-inf) replaced by None, through
    dicts, lists and tuples; numpy scalars and arrays become Python numbers and lists."""
    import numpy as np  # here: the command line's parser imports this module

    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`finite` ``(obj)``: never a bare NaN or Infinity."""
    return json.dumps(finite(obj), allow_nan=False, **kwargs)
