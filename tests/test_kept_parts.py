"""A reviewed model's other atoms (waters, ligands) and B-factors kept for its export
(``kept_parts``), on the sample model with a water and a sulfate added."""

from __future__ import annotations

import json
from dataclasses import replace

import gemmi
import numpy as np
import pytest

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.kept_parts import ATOM_B, KEPT, export_table, kept_parts, kept_summary
from napari_densitybuild.models import read_structure, write_model
from napari_densitybuild.session import Session


def _with_extras() -> gemmi.Structure:
    """The sample model with B-factors 10 + atom index / 100, and a water and a sulfate
    appended to its chain."""
    st = read_structure(sample_paths()[1])
    chain = st[0][0]
    for k, a in enumerate(a for res in chain for a in res):
        a.b_iso = 10.0 + 0.01 * k
    for name, atoms in (
        ("HOH", [("O", "O", (1.0, 2.0, 3.0))]),
        ("SO4", [("S", "S", (5.0, 5.0, 5.0)), ("O1", "O", (6.4, 5.0, 5.0))]),
    ):
        res = gemmi.Residue()
        res.name, res.het_flag = name, "H"
        res.seqid = gemmi.SeqId(900 + len(chain), " ")
        for atom_name, element, xyz in atoms:
            a = gemmi.Atom()
            a.name, a.element, a.pos, a.b_iso, a.occ = (
                atom_name,
                gemmi.Element(element),
                gemmi.Position(*xyz),
                33.0,
                0.5,
            )
            res.add_atom(a)
        chain.add_residue(res)
    return st


@pytest.fixture(scope="module")
def reviewed():
    st = _with_extras()
    s = Session.from_structure(st)
    s.meta.update(kept_parts(st, s))
    return st, s


def test_the_other_atoms_and_the_b_factors_are_kept_json_ready(reviewed):
    _, s = reviewed
    assert len(s.residues) == 70
    kept = s.meta[KEPT]
    assert [(r[6], r[7]) for r in kept] == [("HOH", "O"), ("SO4", "S"), ("SO4", "O1")]
    assert kept[0][9:] == [33.0, 0.5]
    assert len(s.meta[ATOM_B]) == sum(len(r.atoms) for r in s.residues)
    json.dumps(s.meta)  # the autosave writes it
    assert (
        kept_summary(s.meta) == "1 water and 1 other residue (SO4) kept aside, exported as they are"
    )
    assert kept_summary({}) == ""


def test_the_export_holds_them_as_they_were(reviewed, tmp_path):
    st, s = reviewed
    path = tmp_path / "out.cif"
    write_model(export_table(s), path)
    back = read_structure(path)
    names = [res.name for ch in back[0] for res in ch]
    assert names.count("HOH") == 1 and names.count("SO4") == 1 and len(names) == 72
    src = {(a.name, res.seqid.num): a.b_iso for res in st[0][0] for a in res}
    got = {(a.name, res.seqid.num): a.b_iso for ch in back[0] for res in ch for a in res}
    same = [k for k in got if k in src]
    assert len(same) > 500 and all(abs(got[k] - src[k]) < 0.01 for k in same)
    so4 = next(res for ch in back[0] for res in ch if res.name == "SO4")
    assert so4["O1"][0].occ == pytest.approx(0.5) and so4["S"][0].b_iso == pytest.approx(33.0)


def test_atoms_a_correction_adds_take_their_residues_mean_b(reviewed):
    _, s = reviewed
    i = next(k for k, r in enumerate(s.residues) if r.name == "ALA")
    rows = list(s.residues)
    ca = rows[i].ca
    rows[i] = replace(rows[i], atoms=(*rows[i].atoms, ("OG", *(ca + np.array([0, 0, 2.4])))))
    table = export_table(Session(rows, None, s.meta, autosave=False))
    mine = table.seqid == rows[i].seqid
    old = table.b_iso[mine & (table.atom != "OG")]
    assert np.isclose(table.b_iso[mine & (table.atom == "OG")][0], old.mean())


def test_a_build_session_keeps_its_confidence_column():
    st = read_structure(sample_paths()[1])
    s = Session.from_structure(st)
    table = export_table(s)
    assert np.allclose(table.b_iso, [r.confidence for r in s.residues for _ in r.atoms])


def test_modified_residues_reviewed_as_their_parent_are_named():
    """A phosphoserine is reviewed (and written) as a serine: the summary says so, since its
    phosphate is not in the session."""
    st = _with_extras()
    ser = next(r for r in st[0][0] if r.name == "SER")
    ser.name = "SEP"
    p = gemmi.Atom()
    p.name, p.element, p.pos = "P", gemmi.Element("P"), ser["OG"][0].pos
    ser.add_atom(p)
    s = Session.from_structure(st)
    s.meta.update(kept_parts(st, s))
    label = f"SEP {st[0][0].name}{ser.seqid.num}"
    assert s.meta["as_parent"] == [label]
    assert kept_summary(s.meta).endswith(
        f"exported as they are; 1 modified residue ({label}) reviewed and written as its "
        "parent type"
    )
    assert kept_summary({"as_parent": [label]}).startswith("1 modified residue (")


def test_a_saved_session_keeps_them(reviewed, tmp_path):
    """The autosave writes the session as JSON: restored, it exports the same model."""
    _, s = reviewed
    back = Session.load(s.save(tmp_path / "session.json"))
    a, b = export_table(s), export_table(back)
    assert len(a) == len(b) and list(b.resname[-3:]) == ["HOH", "SO4", "SO4"]
    assert np.allclose(a.b_iso, b.b_iso) and np.allclose(a.occupancy, b.occupancy)


def test_what_the_review_leaves_out_of_the_file_is_said():
    """Other alternative conformations, hydrogens and models after the first were left out of
    the export (``assign`` wrote them back without a word)."""
    st = _with_extras()
    res = st[0][0][3]
    extra = gemmi.Atom()
    extra.name, extra.element, extra.pos = "H", gemmi.Element("H"), res[0].pos
    res.add_atom(extra)
    for a in st[0][0][5]:  # a second conformation of residue 6
        a.altloc = "A"
    for b in [a.clone() for a in st[0][0][5]]:
        b.altloc = "B"
        st[0][0][5].add_atom(b)
    st.add_model(st[0].clone())
    s = Session.from_structure(st)
    s.meta.update(kept_parts(st, s))
    n = len(st[0][0][5]) // 2
    assert kept_summary(s.meta).endswith(
        f"; left out: {n} atoms of other alternative conformations, 1 hydrogen, 1 model after "
        "the first"
    )
    json.dumps(s.meta)
