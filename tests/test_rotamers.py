"""Rotamer library and real-space rotamer fitting, on the bundled sample map and model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from napari_densitybuild.geometry import dihedral
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_structure
from napari_densitybuild.refine import DensityField, atom_model, refine
from napari_densitybuild.residues import HEAVY_ATOMS
from napari_densitybuild.rotamers import (
    CHI_ATOMS,
    candidates,
    fit_rotamers,
    rotamer_library,
)

SAMPLE = Path(__file__).parents[1] / "sample_data"


def test_dihedral_signs():
    a, b, c = np.array([1.0, 0, 0]), np.zeros(3), np.array([0, 0, 1.0])
    assert dihedral(a, b, c, np.array([1.0, 0, 1])) == pytest.approx(0.0)
    assert dihedral(a, b, c, np.array([0, 1.0, 1])) == pytest.approx(90.0)
    assert dihedral(a, b, c, np.array([-1.0, 0, 1])) == pytest.approx(180.0)


def test_library_covers_every_type_with_side_chain_torsions():
    lib = rotamer_library()
    assert set(lib) == set(CHI_ATOMS)
    for name, rot in lib.items():
        assert all(a in HEAVY_ATOMS[name] for quad in CHI_ATOMS[name] for a in quad)
        k = len(rot["xyz"])
        assert 3 <= k <= 80, name
        assert rot["xyz"].shape == (k, len(HEAVY_ATOMS[name]) - 4, 3)
        assert rot["chi"].shape == (k, len(CHI_ATOMS[name]))
        assert np.isfinite(rot["xyz"]).all() and np.all(rot["logp"] <= 0)
        # CB is where the backbone puts it, whatever the rotamer
        assert np.ptp(rot["xyz"][:, 0], axis=0).max() < 0.3, name


@pytest.fixture(scope="module")
def sample():
    model = atom_model(read_structure(SAMPLE / "sample_model.cif"))
    dmap = read_map(SAMPLE / "sample_map.mtz")
    return model, dmap, DensityField(dmap, model.xyz)


def _side_chains(model):
    """(residue, side-chain atom indices CB onwards) of residues with library rotamers."""
    lib = rotamer_library()
    out = []
    for r, name in enumerate(model.resname):
        atoms = model.residue_atoms(r)
        names = HEAVY_ATOMS.get(str(name), ())[4:]
        if str(name) in lib and all(a in atoms for a in names):
            out.append((r, np.array([atoms[a] for a in names])))
    return out


def _candidates_of(model, xyz, r):
    atoms = model.residue_atoms(r)
    bb = (xyz[atoms[a]][None] for a in ("N", "CA", "C"))
    return candidates(str(model.resname[r]), *bb)


def test_library_reproduces_real_side_chains(sample):
    model, _, _ = sample
    best = []
    for r, side in _side_chains(model):
        cand = _candidates_of(model, model.xyz, r)
        rmsd = np.sqrt(((cand - model.xyz[side][None]) ** 2).sum(-1).mean(-1))
        best.append(rmsd.min())
    best = np.array(best)
    assert len(best) > 40
    assert np.mean(best < 1.0) > 0.85, np.sort(best)[-10:]


def test_misplaced_side_chains_are_refitted(sample):
    model, _, field = sample
    settled, _ = fit_rotamers(model.xyz, model, field)
    wrong = settled.copy()
    picked = []
    for r, side in _side_chains(model)[::4]:
        cand = _candidates_of(model, settled, r)
        rmsd = np.sqrt(((cand - settled[side][None]) ** 2).sum(-1).mean(-1))
        if rmsd.max() > 2.0:  # put it in the rotamer farthest from where it belongs
            wrong[side] = cand[int(np.argmax(rmsd))]
            picked.append((r, side))
    assert len(picked) >= 5
    out, changed = fit_rotamers(wrong, model, field)
    refitted = [r in set(changed.tolist()) for r, _ in picked]
    assert np.mean(refitted) >= 0.8, refitted
    err = [np.sqrt(((out[s] - settled[s]) ** 2).sum(-1).mean()) for _, s in picked]
    assert np.median(err) < 0.6 and np.mean(np.array(err) < 1.0) >= 0.8, err
    # the deposited side chains themselves are left as they are (nearly all are in density)
    _, changed_true = fit_rotamers(model.xyz, model, field)
    assert len(changed_true) <= 0.03 * len(_side_chains(model))
    # only the residues asked for may change (refining a few residues with the rest held)
    only = np.zeros(len(model.resname), dtype=bool)
    only[picked[0][0]] = True
    out, changed = fit_rotamers(wrong, model, field, only=only)
    assert set(changed.tolist()) <= {picked[0][0]}
    moved = np.flatnonzero(np.abs(out - wrong).max(1) > 0)
    assert set(model.residue[moved].tolist()) <= {picked[0][0]}


def test_refine_counts_rotamer_changes(sample):
    model, dmap, field = sample
    wrong = dataclasses.replace(model, xyz=model.xyz.copy())
    for r, side in _side_chains(model)[1::5]:
        cand = _candidates_of(model, model.xyz, r)
        rmsd = np.sqrt(((cand - model.xyz[side][None]) ** 2).sum(-1).mean(-1))
        wrong.xyz[side] = cand[int(np.argmax(rmsd))]
    info: dict = {}
    out = refine(wrong, dmap, field=field, info=info)
    assert info["rotamer_changes"] >= 3
    kept = refine(wrong, dmap, field=field, rotamer_fit=False, info=info)
    assert info["rotamer_changes"] == 0
    moved = [side for _, side in _side_chains(model)[1::5]]
    err_fit = np.mean([np.linalg.norm(out[s] - model.xyz[s], axis=1).mean() for s in moved])
    err_kept = np.mean([np.linalg.norm(kept[s] - model.xyz[s], axis=1).mean() for s in moved])
    assert err_fit < 0.5 * err_kept
