"""ASN/GLN/HIS flips from H-bonds: roles, a hand-made amide, the sample model, refinement."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from napari_densitybuild.hbonds import ACCEPTOR, BOTH, DONOR, atom_role, model_roles, pair_score
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_structure
from napari_densitybuild.refine import AtomModel, DensityField, atom_model, refine
from napari_densitybuild.sideflip import flip_groups, flip_side_chains

SAMPLE = Path(__file__).parents[1] / "sample_data"


def test_roles_and_pair_scores():
    assert atom_role("ASN", "OD1") == ACCEPTOR and atom_role("ASN", "ND2") == DONOR
    assert atom_role("GLN", "NE2") == DONOR and atom_role("HIS", "ND1") == BOTH
    assert atom_role("PRO", "N") == 0 and atom_role("ALA", "N") == DONOR
    assert atom_role("LYS", "NZ") == DONOR and atom_role("ASP", "OD2") == ACCEPTOR
    assert atom_role("SER", "OG") == BOTH and atom_role("MET", "SD") == 0
    assert pair_score(DONOR, ACCEPTOR) == pair_score(ACCEPTOR, DONOR) == 1.0
    assert pair_score(DONOR, DONOR) == pair_score(ACCEPTOR, ACCEPTOR) == -1.0
    assert pair_score(BOTH, DONOR) == pair_score(ACCEPTOR, BOTH) == 1.0
    assert pair_score(0, DONOR) == pair_score(ACCEPTOR, 0) == 0.0


def _amide_between(o_partner: str, n_partner: str) -> AtomModel:
    """An ASN whose OD1 faces a GLY atom ``o_partner`` and ND2 faces a GLY atom ``n_partner``
    (each 2.9 A away); the two glycines are far from each other."""
    asn = {"N": (0.0, 1.4, 0.0), "CA": (0.0, 0.0, 0.0), "C": (1.5, -0.3, 0.0),
           "O": (2.2, 0.6, 0.0), "CB": (-0.8, -0.6, 1.2), "CG": (-0.8, -2.1, 1.2),
           "OD1": (-1.8, -2.8, 1.2), "ND2": (0.3, -2.8, 1.2)}  # fmt: skip
    xyz = [asn[a] for a in asn]
    names = list(asn)
    residue = [0] * len(asn)
    for r, (partner, near) in enumerate([(o_partner, "OD1"), (n_partner, "ND2")], start=1):
        target = np.array(asn[near]) + np.array([-2.9 if near == "OD1" else 2.9, 0.0, 0.0])
        gly = {"N": (0, 0, 3.0), "CA": (0, 0, 4.5), "C": (0, 0, 6.0), "O": (0, 0, 7.2)}
        shift = target - np.array(gly[partner])
        for a, p in gly.items():
            xyz.append(tuple(np.array(p) + shift)), names.append(a), residue.append(r)
    return AtomModel(np.array(xyz, float), np.array(names, dtype=object),
                     np.array([n[0] for n in names], dtype=object), np.array(residue),
                     np.array(["ASN", "GLY", "GLY"], dtype=object),
                     np.zeros(3, dtype=bool))  # fmt: skip


def test_amide_turned_to_its_h_bond_partners():
    right = _amide_between("N", "O")  # OD1 accepts from an N-H, ND2 donates to an O
    out, flipped = flip_side_chains(right.xyz, right)
    assert not flipped.any()
    np.testing.assert_array_equal(out, right.xyz)
    wrong = _amide_between("O", "N")  # the other way round: O..O and N-H..H-N
    out, flipped = flip_side_chains(wrong.xyz, wrong)
    assert flipped.tolist() == [True]
    od1, nd2 = wrong.residue_atoms(0)["OD1"], wrong.residue_atoms(0)["ND2"]
    np.testing.assert_array_equal(out[od1], wrong.xyz[nd2])
    np.testing.assert_array_equal(out[nd2], wrong.xyz[od1])
    rest = np.setdiff1d(np.arange(len(out)), [od1, nd2])
    np.testing.assert_array_equal(out[rest], wrong.xyz[rest])


def test_no_partners_no_flip():
    m = _amide_between("N", "O")
    alone = dataclasses.replace(m, xyz=m.xyz.copy())
    alone.xyz[m.residue > 0] += 50.0  # the glycines far away: nothing to decide by
    _, flipped = flip_side_chains(alone.xyz, alone)
    assert not flipped.any()


def _peak_at(point: np.ndarray, height: float = 2.0):
    """A density callable: ``height`` sigma within 0.5 A of ``point``, 1 sigma elsewhere."""

    def density(xyz: torch.Tensor) -> torch.Tensor:
        near = torch.linalg.norm(xyz - torch.as_tensor(point), dim=1) < 0.5
        return torch.where(near, torch.tensor(height, dtype=xyz.dtype), torch.ones_like(xyz[:, 0]))

    return density


def test_density_term_puts_the_amide_o_in_the_higher_density():
    m = _amide_between("N", "O")
    alone = dataclasses.replace(m, xyz=m.xyz.copy())
    alone.xyz[m.residue > 0] += 50.0  # no H-bond partners: only the map can decide
    nd2 = alone.residue_atoms(0)["ND2"]
    density = _peak_at(alone.xyz[nd2], height=2.2)  # the N position is 1.2 sigma higher
    _, flipped = flip_side_chains(alone.xyz, alone, density=density, density_weight=0.5)
    assert not flipped.any()  # 0.6 H-bonds' worth: under the margin of one
    out, flipped = flip_side_chains(alone.xyz, alone, density=density, density_weight=1.0)
    assert flipped.tolist() == [True]
    assert np.array_equal(out[alone.residue_atoms(0)["OD1"]], alone.xyz[nd2])
    _, flipped = flip_side_chains(alone.xyz, alone, density=density)  # default weight: 0
    assert not flipped.any()


def test_density_term_weighs_against_h_bonds():
    right = _amide_between("N", "O")  # two H-bonds made as it is: +2 against -2 turned
    nd2 = right.residue_atoms(0)["ND2"]
    weak = _peak_at(right.xyz[nd2], height=2.0)  # 1 sigma: 1 H-bond's worth, not 4 + 1
    _, flipped = flip_side_chains(right.xyz, right, density=weak, density_weight=1.0)
    assert not flipped.any()
    # capped at 5 sigma: (5 - 1) x 1.25 = 5 H-bonds' worth, against 4 lost and the margin
    strong = _peak_at(right.xyz[nd2], height=6.0)
    _, flipped = flip_side_chains(right.xyz, right, density=strong, density_weight=1.25)
    assert flipped.tolist() == [True]


def test_his_ring_n_goes_to_the_higher_density(sample_model):
    m = sample_model
    groups = flip_groups(m)
    r = next(res for res, _, _ in groups if str(m.resname[res]) == "HIS")
    atoms = m.residue_atoms(r)
    settled, _ = flip_side_chains(m.xyz, m)
    # density up at CD2's position: the ring turned puts ND1 (an N) there
    density = _peak_at(settled[atoms["CD2"]], height=5.0)
    _, base_flips = flip_side_chains(settled, m)
    out, flipped = flip_side_chains(settled, m, density=density, density_weight=10.0)
    g = next(k for k, grp in enumerate(groups) if grp[0] == r)
    assert flipped[g] and not base_flips[g]
    assert np.array_equal(out[atoms["ND1"]], settled[atoms["CD2"]])


@pytest.fixture(scope="module")
def sample_model():
    return atom_model(read_structure(SAMPLE / "sample_model.cif"))


def test_sample_model_flips_are_stable_and_undone(sample_model):
    m = sample_model
    groups = flip_groups(m)
    assert [str(m.resname[r]) for r, _, _ in groups].count("HIS") == 1 and len(groups) == 9
    assert all(len(a) == len(b) for _, a, b in groups)
    settled, _ = flip_side_chains(m.xyz, m)
    _, flipped = flip_side_chains(settled, m)
    assert not flipped.any()  # a settled model stays as it is
    # turn every group round: those with a clear H-bond environment come back, the rest stay
    swapped = settled.copy()
    for _, a, b in groups:
        swapped[a], swapped[b] = settled[b], settled[a]
    back, flipped = flip_side_chains(swapped, m)
    assert flipped.sum() >= 3
    for g, (_, a, b) in enumerate(groups):
        want = settled if flipped[g] else swapped
        np.testing.assert_array_equal(back[np.r_[a, b]], want[np.r_[a, b]])


def test_roles_follow_residue_names(sample_model):
    roles = model_roles(sample_model)
    assert roles.shape == (len(sample_model),)
    assert set(np.unique(roles)) <= {0, DONOR, ACCEPTOR, BOTH}
    carbons = np.array([str(a).startswith("C") for a in sample_model.atom])
    assert not roles[carbons].any()


def test_refine_counts_side_chain_flips(sample_model):
    dmap = read_map(SAMPLE / "sample_map.mtz")
    field = DensityField(dmap, sample_model.xyz)
    settled, _ = flip_side_chains(sample_model.xyz, sample_model)
    model = dataclasses.replace(sample_model, xyz=settled.copy())
    for _, a, b in flip_groups(sample_model):  # every amide and ring the wrong way round
        model.xyz[a], model.xyz[b] = settled[b], settled[a]
    info: dict = {}
    refine(model, dmap, field=field, info=info)
    assert info["side_chain_flips"] >= 3
    refine(model, dmap, field=field, side_chain_flips=False, info=info)
    assert info["side_chain_flips"] == 0


def test_only_the_residues_asked_for_turn_and_mates_are_found_around_them(
    sample_model, monkeypatch
):
    """With ``only``, other residues stay as they are, and looking for crystal neighbours
    around the chosen residues alone changes nothing for them."""
    from napari_densitybuild import hbonds, sideflip
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.symmetry import Symmetry

    m = sample_model
    sym = Symmetry.of_map(read_map(str(SAMPLE / "sample_map.mtz")))
    groups = flip_groups(m)
    settled, _ = flip_side_chains(m.xyz, m, sym)
    swapped = settled.copy()
    for _, a, b in groups:
        swapped[a], swapped[b] = settled[b], settled[a]
    _, every = flip_side_chains(swapped, m, sym)
    g = int(np.flatnonzero(every)[0])  # a group that turns back on its own
    only = np.zeros(len(m.resname), dtype=bool)
    only[groups[g][0]] = True
    out, flipped = flip_side_chains(swapped, m, sym, only=only)
    assert flipped.tolist() == [True]
    moved = np.flatnonzero(np.abs(out - swapped).max(1) > 0)
    assert set(m.residue[moved].tolist()) == {groups[g][0]}
    everywhere = hbonds.symmetry_mates  # the same with crystal neighbours of the whole model
    monkeypatch.setattr(sideflip, "symmetry_mates",
                        lambda xyz, s, cutoff, near=None: everywhere(xyz, s, cutoff))  # fmt: skip
    full, _ = flip_side_chains(swapped, m, sym, only=only)
    np.testing.assert_array_equal(out, full)
