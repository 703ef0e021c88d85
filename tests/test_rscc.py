"""Real-space correlation per residue (rscc): high where the map is its atoms' density, low
for a side chain moved out of it, the same in a cryo-EM box as in the crystal map, and not
measured for residues reaching outside the box."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest
from test_model_checks import MAP, MODEL, _em_box

from napari_densitybuild.maps import read_map
from napari_densitybuild.rscc import LOW_RSCC, residue_rscc
from napari_densitybuild.session import Session


@pytest.fixture(scope="module")
def dmap():
    return read_map(MAP)


def _rscc(st: gemmi.Structure, dmap) -> np.ndarray:
    return residue_rscc(Session.from_structure(st, None, dmap), dmap)


def test_the_true_model_correlates_and_a_moved_side_chain_does_not(dmap):
    st = gemmi.read_structure(MODEL)
    cc = _rscc(st, dmap)
    assert len(cc) == 70 and np.all(np.isfinite(cc))
    assert np.median(cc) > 0.88 and np.mean(cc < LOW_RSCC) < 0.05
    k, res = next((k, r) for k, r in enumerate(st[0][0]) if r.name == "PHE")
    for atom in res:
        if atom.name not in ("N", "CA", "C", "O", "CB"):
            atom.pos = gemmi.Position(atom.pos.x, atom.pos.y + 2.5, atom.pos.z)
    moved = _rscc(st, dmap)
    assert moved[k] < LOW_RSCC < cc[k]
    changed = np.flatnonzero(np.abs(moved - cc) > 0.02)
    assert k in changed and len(changed) <= 4  # it, and the few whose density it touches


def test_a_cryo_em_box_gives_the_same_correlations_inside_it(dmap, tmp_path):
    box = read_map(_em_box(tmp_path / "half.mrc", dmap, 0.5))
    st = gemmi.read_structure(MODEL)
    whole, part = _rscc(st, dmap), _rscc(st, box)
    inside = np.isfinite(part)
    assert 10 < inside.sum() < 60  # residues reaching outside the box are not measured
    assert np.corrcoef(whole[inside], part[inside])[0, 1] > 0.8
    assert np.median(np.abs(whole[inside] - part[inside])) < 0.05


def test_a_box_without_its_resolution_is_compared_at_the_one_that_fits(dmap, tmp_path):
    """A 4 A map cut as a cryo-EM box (an MRC file says no resolution): the model is compared at
    about 4 A, not at twice the voxel size, where a correct model would look poor."""
    mtz = gemmi.read_mtz_file(MAP)
    data = np.array(mtz, copy=True)
    mtz.set_data(data[mtz.make_d_array() >= 4.0])
    mtz.write_to_file(str(tmp_path / "four.mtz"))
    four = read_map(tmp_path / "four.mtz")
    box = read_map(_em_box(tmp_path / "four.mrc", four, 1.0))
    assert box.resolution is None
    st = gemmi.read_structure(MODEL)
    s = Session.from_structure(st, None, box)
    xyz = np.array([a[1:] for r in s.residues for a in r.atoms])
    from napari_densitybuild.rscc import best_resolution

    assert 3.0 <= best_resolution(s.structure(), box, xyz) <= 5.0
    auto = np.nanmedian(residue_rscc(s, box))
    known = np.nanmedian(residue_rscc(Session.from_structure(st, None, four), four))
    assert abs(auto - known) < 0.05  # as the 4 A crystal map, which says its resolution
    box.resolution = 2.0  # at twice the voxel size the correct model would look poor
    assert np.nanmedian(residue_rscc(s, box)) < auto - 0.15
