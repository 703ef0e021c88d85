"""Trans links into residues typed otherwise tried as cis prolines (``doubted_prolines``)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from test_cis_peptides import MAP, MODEL, PRO, _cis_truth, _link, _map_of, _omega_ca

from napari_densitybuild import doubted_prolines as dp
from napari_densitybuild.build_result import atom_bounds
from napari_densitybuild.geometry import CIS_CA
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_structure
from napari_densitybuild.refine import AtomModel, atom_model
from napari_densitybuild.residues import AMINO_ACIDS, HEAVY_ATOMS

SER = AMINO_ACIDS.index("SER")


@pytest.fixture(scope="module")
def sample():
    return atom_model(read_structure(MODEL)), read_map(MAP)


@pytest.fixture(scope="module")
def cis_truth(sample):
    """The sample with its GLU 18 - PRO 19 peptide cis."""
    return _cis_truth(*sample, PRO)


def _as_serine(model: AtomModel, r: int) -> AtomModel:
    """``model`` with proline ``r`` a serine: OG where the proline's CG was, CD gone."""
    lo = atom_bounds(model)[0][r]
    keep = np.ones(len(model), dtype=bool)
    keep[lo + 6] = False  # CD
    atom = model.atom.copy()
    atom[lo + 5] = "OG"
    resname = model.resname.copy()
    resname[r] = "SER"
    element = np.array([str(a)[0] for a in atom], dtype=object)
    return AtomModel(model.xyz[keep], atom[keep], element[keep], model.residue[keep], resname,
                     model.linked)  # fmt: skip


def _result(model: AtomModel, proline: AtomModel, p_pro: float = 0.05) -> SimpleNamespace:
    """A build result of ``model`` (residue PRO typed SER) whose pose head posed residue PRO's
    proline where ``proline`` has it; P(PRO) there ``p_pro``."""
    n = len(model.resname)
    probs = np.full((n, 20), 0.001)
    probs[PRO, SER], probs[PRO, dp.PRO] = 0.9, p_pro
    poses = np.full((n, 20, 14, 3), np.nan)
    atoms = proline.residue_atoms(PRO)
    poses[PRO, dp.PRO, :7] = proline.xyz[[atoms[a] for a in HEAVY_ATOMS["PRO"]]]
    types = np.zeros(n, dtype=np.int64)
    types[PRO] = SER
    return SimpleNamespace(model=model, probs=probs, poses=poses, types=types,
                           confidence=np.full(n, 50.0),
                           trace=SimpleNamespace(score=np.full(n, 0.8)))  # fmt: skip


def test_as_proline_puts_the_pose_heads_ring_on_the_residues_backbone(sample):
    model, _ = sample
    serine = _as_serine(model, PRO)
    # the pose head's proline, elsewhere in the cell and turned: only its shape counts
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    moved = AtomModel(model.xyz @ turn.T + 10.0, model.atom, model.element, model.residue,
                      model.resname, model.linked)  # fmt: skip
    atoms = moved.residue_atoms(PRO)
    pose = np.full((14, 3), np.nan)
    pose[:7] = moved.xyz[[atoms[a] for a in HEAVY_ATOMS["PRO"]]]
    made = dp.as_proline(serine, PRO, pose)
    assert made.resname[PRO] == "PRO" and len(made) == len(model)
    assert np.allclose(made.xyz, model.xyz, atol=1e-9)  # ring back where the sample has it
    assert list(made.atom) == list(model.atom) and np.array_equal(made.residue, model.residue)
    assert list(made.element[made.residue == PRO]) == ["N", "C", "C", "O", "C", "C", "C"]


def test_a_cis_proline_typed_serine_is_made_a_cis_proline(sample, cis_truth, tmp_path):
    model, _ = sample
    dmap = _map_of(model, cis_truth, tmp_path, "cis")
    serine = _as_serine(model, PRO)
    result = _result(serine, model)
    assert [r for r, *_ in dp.doubted_links(result)] == [PRO]
    assert dp.rebuild_doubted_prolines(result, dmap) == [PRO]
    made = result.model
    assert made.resname[PRO] == "PRO" and len(made) == len(model)
    assert result.types[PRO] == dp.PRO
    assert result.confidence[PRO] == pytest.approx(100 * 0.8 * 0.05)
    prev, atoms = _link(made)
    omega, ca = _omega_ca(made.xyz, prev, atoms)
    assert abs(omega) < 15 and ca < CIS_CA
    for name in ("N", "CD"):  # the proline's N and its ring where the cis map has them
        i = model.residue_atoms(PRO)[name]
        assert np.linalg.norm(made.xyz[atoms[name]] - cis_truth[i]) < 0.4, name
    # residues outside the window as they were, atom for atom
    far = ~np.isin(serine.residue, np.arange(PRO - 2, PRO + 2))
    assert np.array_equal(made.xyz[~np.isin(made.residue, np.arange(PRO - 2, PRO + 2))],
                          serine.xyz[far])  # fmt: skip


def test_a_trans_serine_stays_as_built(sample, tmp_path):
    model, _ = sample
    serine = _as_serine(model, PRO)
    dmap = _map_of(model, model.xyz, tmp_path, "trans")
    result = _result(serine, model)
    made, kept, gains = dp.check_doubted_prolines(result, dmap)
    assert kept == [] and len(gains) == 1 and gains[0] < dp.RETYPE_MARGIN
    assert made is serine
    assert dp.rebuild_doubted_prolines(result, dmap) == [] and result.types[PRO] == SER


def test_links_under_the_floor_are_not_tried(sample):
    model, _ = sample
    serine = _as_serine(model, PRO)
    result = _result(serine, model, p_pro=dp.PRO_FLOOR / 2)
    assert dp.doubted_links(result) == []
    assert dp.check_doubted_prolines(result, None)[0] is serine  # no map read
    unposed = _result(serine, model)
    unposed.poses[PRO, dp.PRO, 5] = np.nan
    assert dp.doubted_links(unposed) == []


def test_links_at_fragment_ends_are_not_tried(sample):
    model, _ = sample
    serine = _as_serine(model, PRO)
    for end in (PRO - 1, PRO + 1):  # the residue before starts a fragment; PRO ends one
        linked = serine.linked.copy()
        linked[end] = False
        result = _result(AtomModel(serine.xyz, serine.atom, serine.element, serine.residue,
                                   serine.resname, linked), model)  # fmt: skip
        assert dp.doubted_links(result) == [], end
