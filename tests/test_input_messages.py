"""Messages about bad input that read as one clear sentence (a hunt's findings): ``classify``
with a model of no protein names the file and says what was left out in words, not as a
Python dict; a cryo-EM map of zeros but for one voxel, or a mask, is called what it is, not
"flat"."""

from __future__ import annotations

import numpy as np
import pytest
from test_input_hunt import SAMPLE, mrc, one_line_error, waters_only

from napari_densitybuild.errors import MapReadError
from napari_densitybuild.maps import read_map


def test_classify_with_a_model_of_no_protein_names_the_file_in_words(tmp_path, capsys):
    """It said "the model has no amino-acid residue with N, CA and C atoms (skipped:
    {'missing N/CA/C': 0, 'not amino acid': 5, 'outside map': 0})" without naming the file."""
    waters = waters_only(tmp_path / "waters.pdb")
    out = tmp_path / "p.json"
    argv = ["classify", SAMPLE / "sample_map.mtz", "--boxes-from", waters, "--out", out,
            "--device", "cpu"]  # fmt: skip
    err = one_line_error(argv, capsys)
    assert err.endswith(f"{waters}: the model has no amino-acid residue with N, CA and C atoms "
                        "to classify (5 not amino acid)\n")  # fmt: skip
    assert "{" not in err and not out.exists()


def test_an_em_map_of_zeros_but_one_voxel_is_not_called_flat(tmp_path, capsys):
    """It was "the map is flat (every value 7)": 10,559 of its voxels are 0."""
    data = np.zeros((20, 22, 24), np.float32)
    data[3, 4, 5] = 7.0
    path = mrc(tmp_path / "one.mrc", data)
    with pytest.raises(MapReadError) as info:
        read_map(path)
    said = f"{path}: every voxel but one is 0 (that one is 7): no density to show"
    assert str(info.value) == said and "flat" not in said
    assert one_line_error(["info", path], capsys).endswith(said + "\n")


def test_an_em_mask_is_called_a_mask_not_a_flat_map(tmp_path):
    """A mask (0 and 1) opened as the map was "the map is flat (every value 1)"."""
    data = np.zeros((20, 22, 24), np.float32)
    data[5:15, 5:15, 5:15] = 1.0
    with pytest.raises(MapReadError, match=r"every voxel is 0 or 1 \(1,000 of 10,560 are 1\): "
                       "a mask, not a density map"):  # fmt: skip
        read_map(mrc(tmp_path / "mask.mrc", data))
    data[5, 5, 5] = 0.5  # a voxel of another value: a map (of little density), read
    assert read_map(mrc(tmp_path / "map.mrc", data)).kind == "em"
