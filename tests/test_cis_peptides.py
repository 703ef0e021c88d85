"""Trans links into prolines tried again as cis peptides against the map (``cis_peptides``)."""

from __future__ import annotations

import dataclasses

import gemmi
import numpy as np
import pytest
from conftest import model_density, write_ccp4

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.cis_peptides import (
    check_cis_prolines,
    peptide_candidate,
    peptide_unit,
    proline_links,
)
from napari_densitybuild.geometry import CIS_CA, cis_peptide_pairs, dihedral, peptide_pairs
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_structure
from napari_densitybuild.refine import atom_model, refine_residues

MAP, MODEL = sample_paths()
PRO = 18  # residue index of the sample's PRO 19, after a trans peptide from GLU 18


def _omega_ca(xyz, prev, atoms) -> tuple[float, float]:
    pts = [xyz[prev["CA"]], xyz[prev["C"]], xyz[atoms["N"]], xyz[atoms["CA"]]]
    return float(dihedral(*pts)), float(np.linalg.norm(pts[3] - pts[0]))


def _link(model, r=PRO):
    return model.residue_atoms(r - 1), model.residue_atoms(r)


def _map_of(model, xyz, tmp_path, name: str):
    """A 1.8 A map (sigma units) calculated from ``xyz`` in the sample's cell."""
    st = read_structure(MODEL)
    where = {(int(r), str(a)): i for i, (r, a) in enumerate(zip(model.residue, model.atom))}
    k = -1
    for res in st[0][0]:
        k += 1
        for atom in res:
            i = where.get((k, atom.name))
            if i is not None:
                atom.pos = gemmi.Position(*xyz[i])
    return read_map(write_ccp4(model_density(st, d_min=1.8), tmp_path / f"{name}.ccp4"))


@pytest.fixture(scope="module")
def sample():
    model = atom_model(read_structure(MODEL))
    assert model.resname[PRO] == "PRO" and model.linked[PRO]
    return model, read_map(MAP)


def _cis_truth(model, dmap, r: int) -> np.ndarray:
    """The sample with the peptide into residue ``r`` rebuilt cis and settled by geometry."""
    prev, atoms = _link(model, r)
    xyz = peptide_candidate(model.xyz, model, prev, atoms, dmap)
    xyz = refine_residues(dataclasses.replace(model, xyz=xyz), None, [r - 2, r - 1, r, r + 1])
    omega, ca = _omega_ca(xyz, prev, atoms)
    assert abs(omega) < 15 and ca < CIS_CA
    return xyz


@pytest.fixture(scope="module")
def cis_truth(sample):
    """The sample with its GLU 18 - PRO 19 peptide cis."""
    return _cis_truth(*sample, PRO)


@pytest.mark.parametrize("cis", [True, False], ids=["cis", "trans"])
def test_the_peptide_unit_has_the_measured_distances_and_is_flat(cis):
    unit = peptide_unit(cis)
    ca1, c, o, n, ca2 = unit
    table = {(a, b): d for a, b, d, _ in (cis_peptide_pairs() if cis else peptide_pairs())}
    at = {"CA": ca1, "C": c, "O": o}
    after = {"N": n, "CA": ca2}
    for (a, b), d in table.items():
        assert np.linalg.norm(at[a] - after[b]) == pytest.approx(d, abs=0.02), (a, b)
    assert abs(dihedral(ca1, c, n, ca2)) == pytest.approx(0.0 if cis else 180.0, abs=1e-6)
    assert np.allclose(unit[:, 2], 0)
    assert np.linalg.norm(c - o) == pytest.approx(1.231, abs=1e-3)
    assert 2.3 < np.linalg.norm(ca1 - o) < 2.5  # O bonded to C, on the far side from CA(i)


def test_the_candidate_is_a_cis_peptide_with_ideal_bonds(sample):
    model, dmap = sample
    prev, atoms = _link(model)
    assert [r for r, *_ in proline_links(model)] == [18, 35, 36]
    omega, ca = _omega_ca(model.xyz, prev, atoms)
    assert abs(omega) > 150 and ca > CIS_CA  # trans in the sample
    xyz = peptide_candidate(model.xyz, model, prev, atoms, dmap)
    omega, ca = _omega_ca(xyz, prev, atoms)
    assert abs(omega) < 1.0 and ca == pytest.approx(peptide_unit()[4, 0], abs=1e-6)
    bond = lambda a, b: float(np.linalg.norm(xyz[a] - xyz[b]))  # noqa: E731
    assert bond(prev["C"], atoms["N"]) == pytest.approx(1.343, abs=1e-3)
    built = lambda a, b: float(np.linalg.norm(model.xyz[a] - model.xyz[b]))  # noqa: E731
    # bonds of the cis unit ideal; bonds to the atoms that moved with a C-alpha kept
    assert bond(prev["CA"], prev["C"]) == pytest.approx(1.525, abs=1e-3)
    assert bond(atoms["N"], atoms["CA"]) == pytest.approx(1.458, abs=1e-3)
    for a, b in (
        (prev["N"], prev["CA"]),
        (atoms["CA"], atoms["C"]),
        (atoms["C"], atoms["O"]),
        (prev["CA"], prev["CB"]),
        (atoms["CA"], atoms["CB"]),
        (atoms["CG"], atoms["CD"]),
    ):
        assert bond(a, b) == pytest.approx(built(a, b), abs=1e-6)  # fmt: skip
    # the ring moved with the proline's N: its bond to CD as built
    assert bond(atoms["N"], atoms["CD"]) == pytest.approx(built(atoms["N"], atoms["CD"]), abs=0.02)
    others = ~np.isin(model.residue, [PRO - 1, PRO])
    assert np.array_equal(xyz[others], model.xyz[others])


def test_a_cis_proline_built_trans_is_rebuilt_cis(sample, cis_truth, tmp_path):
    model, _ = sample
    dmap = _map_of(model, cis_truth, tmp_path, "cis")
    prev, atoms = _link(model)
    before = np.linalg.norm(model.xyz[atoms["N"]] - cis_truth[atoms["N"]])
    xyz, kept, gains = check_cis_prolines(model, dmap)
    assert kept == [PRO] and gains[0] > 0.1 and max(gains[1:]) < 0
    after = np.linalg.norm(xyz[atoms["N"]] - cis_truth[atoms["N"]])
    assert before > 1.0 and after < 0.3, (before, after)
    omega, ca = _omega_ca(xyz, prev, atoms)
    assert abs(omega) < 15 and ca < CIS_CA


def test_of_two_prolines_in_a_row_the_cis_one_is_found(sample, tmp_path):
    """PRO 36 - PRO 37 (indices 35, 36): their windows overlap, so each is tried cis alone."""
    model, sample_map = sample
    truth = _cis_truth(model, sample_map, 36)
    xyz, kept, gains = check_cis_prolines(model, _map_of(model, truth, tmp_path, "pp"))
    assert kept == [36] and gains[2] > 0.1 and gains[1] < 0, gains
    n = model.residue_atoms(36)["N"]
    assert np.linalg.norm(model.xyz[n] - truth[n]) > 1.0 > 0.3 > np.linalg.norm(xyz[n] - truth[n])


def test_trans_prolines_stay_trans(sample, tmp_path):
    model, _ = sample
    dmap = _map_of(model, model.xyz, tmp_path, "trans")
    xyz, kept, gains = check_cis_prolines(model, dmap)
    assert kept == [] and len(gains) == 3 and max(gains) < -0.1
    # every residue of a window was refined again, the rest held
    far = ~np.isin(model.residue, np.arange(PRO - 2, 38))
    assert np.array_equal(xyz[far], model.xyz[far])
    assert np.abs(xyz - model.xyz).max() < 0.5
