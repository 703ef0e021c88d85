"""Build metrics against a deposited model: the flip-blind and density-based figures."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_structure
from napari_densitybuild.symmetry import Symmetry
from napari_densitybuild.training.evaluate_build import IN_DENSITY, compare_models

MAP, MODEL = sample_paths()


@pytest.fixture(scope="module")
def truth():
    return read_structure(MODEL), read_map(MAP)


def _residue(st: gemmi.Structure, seqid: int) -> gemmi.Residue:
    return next(r for r in st[0]["B"] if r.seqid.num == seqid)


def test_identical_model_scores_zero(truth):
    st, dmap = truth
    m = compare_models(st, st, Symmetry.of_map(dmap), dmap)
    assert m["all_atom_rmsd"] == pytest.approx(0.0, abs=1e-9)
    assert m["all_atom_rmsd_flip_blind"] == pytest.approx(0.0, abs=1e-9)
    assert m["all_atom_rmsd_in_density"] == pytest.approx(0.0, abs=1e-9)
    assert m["far_residues"] == 0 and m["far_built_in_higher_density"] == 0
    assert m["far_list"] == []
    assert 0.0 < m["in_density_fraction"] <= 1.0


def test_amide_flip_counts_only_in_the_strict_figure(truth):
    st, dmap = truth
    built = st.clone()
    res = _residue(built, 25)  # ASN
    od1, nd2 = res.find_atom("OD1", "*"), res.find_atom("ND2", "*")
    od1.pos, nd2.pos = gemmi.Position(nd2.pos), gemmi.Position(od1.pos)
    m = compare_models(built, st, Symmetry.of_map(dmap))
    assert m["all_atom_rmsd"] > 0.1
    assert m["all_atom_rmsd_flip_blind"] == pytest.approx(0.0, abs=1e-9)
    assert "all_atom_rmsd_in_density" not in m  # no map given


def test_side_chain_out_of_density_is_far_and_lower(truth):
    st, dmap = truth
    built = st.clone()
    res = _residue(built, 6)  # LYS: its side chain pushed 3 A away from its density
    for a in res:
        if a.name not in ("N", "CA", "C", "O", "CB"):
            a.pos = gemmi.Position(a.pos.x + 3.0, a.pos.y, a.pos.z)
    m = compare_models(built, st, Symmetry.of_map(dmap), dmap)
    assert m["far_residues"] == 1 and m["far_built_in_higher_density"] == 0
    (far,) = m["far_list"]
    assert far["built"] == far["deposited"] == "B6" and far["type"] == "LYS"
    assert far["rmsd"] > 1.0 and far["built_sigma"] < far["deposited_sigma"]
    assert m["all_atom_rmsd"] > 0.1
    # the figure over residues in density leaves it out only if it was not wholly in density
    rho = dmap.sample_points(np.array([a.pos.tolist() for a in _residue(st, 6)]))
    if (rho >= IN_DENSITY).all():
        assert m["all_atom_rmsd_in_density"] > 0.1
    else:
        assert m["all_atom_rmsd_in_density"] == pytest.approx(0.0, abs=1e-9)


def test_impossible_deposited_residue_is_listed_and_left_out_of_the_clash_free_figure(truth):
    st, dmap = truth
    deposited = st.clone()
    lys, other = _residue(deposited, 6), _residue(deposited, 30)
    nz = lys.find_atom("NZ", "*")
    ca = other.find_atom("CA", "*")
    nz.pos = gemmi.Position(ca.pos.x + 1.0, ca.pos.y, ca.pos.z)  # 1 A from another residue's CA
    built = st.clone()  # the true model: only the deposited LYS 6 is off, where it is impossible
    m = compare_models(built, deposited, Symmetry.of_map(dmap))
    # LYS 6 and residue 30, whose chain neighbours' N and C are within 2.2 A of that CA too
    assert m["deposited_clashing"] == ["B6", "B29", "B30", "B31"]
    assert m["all_atom_rmsd"] > 0.1
    assert m["all_atom_rmsd_clash_free"] == pytest.approx(0.0, abs=1e-9)
    assert m["clashing_residues"] == 0  # the built model is the true one
    # the same check on a built model: its own impossible contacts are counted
    assert compare_models(deposited, st, Symmetry.of_map(dmap))["clashing_residues"] == 4
    # the unchanged model has no impossible contacts, so both figures agree
    m = compare_models(built, st, Symmetry.of_map(dmap))
    assert m["deposited_clashing"] == []
    assert m["all_atom_rmsd_clash_free"] == m["all_atom_rmsd"]


def test_c_terminal_o_and_oxt_count_as_one_pair(truth):
    """At a deposited C-terminus the carboxylate's O and OXT are equivalent: a built O where
    the deposited OXT is scores as right; one elsewhere still scores as wrong."""
    st, dmap = truth
    sym = Symmetry.of_map(dmap)
    deposited = st.clone()
    last = deposited[0]["B"][len(deposited[0]["B"]) - 1]
    ca, c, o = (np.array(last.find_atom(n, "*").pos.tolist()) for n in ("CA", "C", "O"))
    u = (c - ca) / np.linalg.norm(c - ca)
    oxt = c + 2 * np.dot(o - c, u) * u - (o - c)  # O mirrored about the CA-C axis
    atom = gemmi.Atom()
    atom.name, atom.element, atom.pos, atom.occ = "OXT", gemmi.Element("O"), gemmi.Position(*oxt), 1
    last.add_atom(atom)
    built = st.clone()
    b_last = built[0]["B"][len(built[0]["B"]) - 1]
    b_last.find_atom("O", "*").pos = gemmi.Position(*oxt)  # named the other way round
    assert compare_models(built, deposited, sym)["backbone_rmsd"] == pytest.approx(0, abs=1e-6)
    assert compare_models(built, st, sym)["backbone_rmsd"] > 0.01  # no OXT there: O is off


def test_terminal_oxygen_added_only_at_the_sequence_end(truth):
    """OXT goes to a chain's last residue when it is numbered as its sequence's last, in the
    plane of CA, C and O, at carboxylate geometry; nowhere else."""
    from napari_densitybuild.assemble import add_terminal_oxygens

    st, _ = truth
    chain = st[0]["B"]
    last = chain[len(chain) - 1]
    assert add_terminal_oxygens(st.clone(), {"B": "A" * (last.seqid.num + 1)}) == 0
    copy = st.clone()
    assert add_terminal_oxygens(copy, {"B": "A" * last.seqid.num}) == 1
    res = copy[0]["B"][len(chain) - 1]
    ca, c, o, oxt = (np.array(res.find_atom(n, "*").pos.tolist()) for n in ("CA", "C", "O", "OXT"))

    def angle(a, b, c):
        u, v = a - b, c - b
        return np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)))

    assert np.linalg.norm(oxt - c) == pytest.approx(np.linalg.norm(o - c), abs=1e-6)
    assert 115 < angle(o, c, oxt) < 128 and 112 < angle(ca, c, oxt) < 125
    assert abs(np.linalg.det(np.stack([ca - c, o - c, oxt - c]))) < 1e-6  # planar
    assert add_terminal_oxygens(copy, {"B": "A" * last.seqid.num}) == 0  # there already


def test_impossible_contacts_across_a_peptide_bond_are_counted(truth):
    """A proline's ring on the C=O before it (as a build once left rnasa's PRO B29) and two
    neighbours' O atoms 2.1 A apart count as clashes; the model as deposited has none, and
    neither have the 16 real models (looked at when the check was written)."""
    from napari_densitybuild.training.evaluate_build import clashing_residues, neighbour_clashes

    st, _ = truth
    assert not neighbour_clashes(st) and not clashing_residues(st)
    folded = st.clone()
    glu, pro = _residue(folded, 18), _residue(folded, 19)
    assert pro.name == "PRO"
    c = glu.find_atom("C", "*").pos
    pro.find_atom("CD", "*").pos = gemmi.Position(c.x + 0.3, c.y, c.z)
    assert neighbour_clashes(folded) == {("B", 18, ""), ("B", 19, "")}
    assert {("B", 18, ""), ("B", 19, "")} <= clashing_residues(folded)
    pushed = st.clone()
    first, second = _residue(pushed, 40), _residue(pushed, 41)
    o, o2 = first.find_atom("O", "*"), second.find_atom("O", "*")
    toward = np.array(o2.pos.tolist()) - np.array(o.pos.tolist())
    o2.pos = gemmi.Position(*(np.array(o.pos.tolist()) + 2.1 * toward / np.linalg.norm(toward)))
    assert neighbour_clashes(pushed) == {("B", 40, ""), ("B", 41, "")}
    d = np.linalg.norm(toward)
    assert d > 2.5 and not neighbour_clashes(st)  # where they were: no clash
