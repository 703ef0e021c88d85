"""A model from a file reviewed against the map: types kept, the disputed ones found first."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import water_only_structure

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.classify import Classifier
from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_structure
from napari_densitybuild.residues import INDEX
from napari_densitybuild.review import model_session


def test_a_misnamed_residue_is_the_first_doubtful_one():
    """The sample model with a lysine renamed tryptophan (its atoms as they were): every type
    stays as modelled, and the renamed residue is the least confident."""
    map_path, model_path = sample_paths()[:2]
    dmap = read_map(map_path)
    st = read_structure(model_path)
    res = st[0][0][10]
    assert res.name == "LYS"
    res.name = "TRP"
    s = model_session(st, dmap, Classifier.from_path(), map_path=None)
    names = [r.name for r in s.residues]
    assert names == [r.name for r in st[0][0]] and names[10] == "TRP"
    assert all(len(r.probs) == 20 for r in s.residues)
    assert s.doubtful() == 10 and s.residues[10].alternative[0] == "LYS"
    assert s.residues[10].confidence < 5
    p = np.array([r.probs[INDEX[r.name]] for k, r in enumerate(s.residues) if k != 10])
    assert np.median(p) > 0.8  # the right types, confirmed by the map
    kept = ("N", "CA", "C", "O", "CB", "CG")  # the atoms LYS and TRP share
    assert s.residues[10].atoms == tuple((a.name, *a.pos.tolist()) for a in res if a.name in kept)
    assert not s.can_undo


def test_a_model_without_amino_acids_is_refused():
    st = water_only_structure()
    dmap = read_map(sample_paths()[0])
    with pytest.raises(DensityBuildError, match="no amino-acid residue"):
        model_session(st, dmap, Classifier.from_path())
