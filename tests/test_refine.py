"""Real-space refinement against a real map: perturbed deposited atoms go back into density
with ideal geometry; geometry tables and checks behave on deposited models."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REAL_DIR, real_model_path

from napari_densitybuild.geometry import bond_rmsz, rama_outlier_fraction, rigid_pairs
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_structure
from napari_densitybuild.refine import atom_model, build_restraints, geometry_energy, refine

HAS_1CBS = (REAL_DIR / "1cbs" / "map.mtz").is_file()


def test_tables_have_every_residue():
    from napari_densitybuild.residues import AMINO_ACIDS

    for name in AMINO_ACIDS:
        pairs = rigid_pairs(name)
        bonded = {(a, b) for a, b, d, _ in pairs if d < 2.0}
        assert ("N", "CA") in bonded and ("CA", "C") in bonded and ("C", "O") in bonded, name


@pytest.mark.realdata
@pytest.mark.skipif(not HAS_1CBS, reason="needs ../shared/data")
def test_deposited_model_geometry():
    st = read_structure(real_model_path(REAL_DIR / "1cbs"))
    assert 0.3 < bond_rmsz(st) < 1.5  # refined with restraints like these
    assert rama_outlier_fraction(st) < 0.02


@pytest.mark.realdata
@pytest.mark.skipif(not HAS_1CBS, reason="needs ../shared/data")
def test_refinement_pulls_perturbed_atoms_back():
    import torch

    st = read_structure(real_model_path(REAL_DIR / "1cbs"))
    dmap = read_map(REAL_DIR / "1cbs" / "map.mtz")
    model = atom_model(st)
    truth = model.xyz.copy()
    rng = np.random.default_rng(0)
    model.xyz = truth + rng.normal(scale=0.35, size=truth.shape)  # 0.6 A rms
    start = np.sqrt(((model.xyz - truth) ** 2).sum(1).mean())
    rs = build_restraints(model)
    e0 = float(geometry_energy(torch.tensor(model.xyz), rs)) / len(rs.d0)
    # the continuous part: no discrete rotamer or side-chain flip choices
    out = refine(model, dmap, rotamer_fit=False, side_chain_flips=False)
    end = np.sqrt(((out - truth) ** 2).sum(1).mean())
    e1 = float(geometry_energy(torch.tensor(out), rs)) / len(rs.d0)
    print(f"rmsd {start:.2f} -> {end:.2f} A, geometry z^2 {e0:.1f} -> {e1:.2f}")
    assert end < 0.35 and end < 0.5 * start
    assert e1 < 2.0 < e0
    # with them, a few side chains may take another rotamer; the rest are as well placed
    info: dict = {}
    full = refine(model, dmap, info=info)
    assert np.median(np.linalg.norm(full - truth, axis=1)) < 0.15
    assert info["rotamer_changes"] <= 0.05 * len(model.resname)
    # geometry only (no map): restraints win, atoms stay near where they were
    geo = refine(model, None, rounds=1)
    assert float(geometry_energy(torch.tensor(geo), rs)) / len(rs.d0) < 1.0
