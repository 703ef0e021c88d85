"""The JSON files the tools write are valid JSON: a figure that is not a number is null."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_densitybuild.json_out import dumps, finite


def strict(text: str):
    """``json.loads`` that refuses NaN and Infinity, as JSON readers outside Python do."""

    def refuse(name: str):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_figures_become_null_and_numpy_values_numbers():
    row = {"rmsd": float("nan"), "r": np.float32(0.25), "n": np.int64(3),
           "per": np.array([1.0, np.inf]), "pair": (np.nan, -np.inf), "name": "1cbs"}  # fmt: skip
    assert finite(row) == {"rmsd": None, "r": 0.25, "n": 3, "per": [1.0, None],
                           "pair": [None, None], "name": "1cbs"}  # fmt: skip
    assert strict(dumps(row))["per"] == [1.0, None]
    with pytest.raises(ValueError, match="not JSON"):
        strict(json.dumps({"x": float("nan")}))  # what json.dumps alone writes


def test_evaluate_writes_valid_json_where_a_figure_is_not_a_number(tmp_path, capsys):
    """A built model of UNK residues matches no type: its RMSDs over typed residues are NaN,
    which metrics.json held as a bare NaN."""
    import gemmi

    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.cli import main

    map_path, model_path = sample_paths()
    st = gemmi.read_structure(str(model_path))
    for res in st[0][0]:
        res.name = "UNK"
    built = tmp_path / "unk.pdb"
    st.write_pdb(str(built))
    out = tmp_path / "ev"
    argv = ["evaluate", "--task", "build", "--map", str(map_path), "--model", str(model_path),
            "--built", str(built), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    text = (out / "metrics.json").read_text()
    rows = strict(text)
    assert "NaN" not in text and any(v is None for r in rows.values() for v in r.values())
