"""Polar contacts of a residue under review, and the acid/amide and VAL/THR hints they give."""

from __future__ import annotations

import numpy as np

from napari_densitybuild.contacts import contact_hint, polar_contacts
from napari_densitybuild.hbonds import ACCEPTOR, DONOR
from napari_densitybuild.residues import INDEX
from napari_densitybuild.session import ResidueState, Session


def residue(name: str, seqid: int, atoms: dict[str, tuple[float, float, float]]) -> ResidueState:
    return ResidueState("A", seqid, "", INDEX[name], (), (0.0, 0.0, 0.0),
                        tuple(np.eye(3).ravel()), 1.0,
                        tuple((a, *map(float, xyz)) for a, xyz in atoms.items()))  # fmt: skip


def acid(name: str = "ASP", at=(0.0, 0.0, 0.0)) -> ResidueState:
    """An ASP (or ASN: same positions) with its ends at x = +-1.1 A around ``at`` + 3 A in z."""
    x, y, z = at
    ends = ("OD1", "OD2") if name == "ASP" else ("OD1", "ND2")
    return residue(name, 10, {
        "N": (x - 1.0, y + 1.0, z - 1.5), "CA": (x, y, z - 1.5), "C": (x + 1.5, y, z - 1.5),
        "O": (x + 2.0, y + 1.0, z - 1.5), "CB": (x, y, z), "CG": (x, y, z + 1.5),
        ends[0]: (x - 1.1, y, z + 2.2), ends[1]: (x + 1.1, y, z + 2.2),
    })  # fmt: skip


def partner(atom: str, name: str, seqid: int, xyz) -> ResidueState:
    return residue(name, seqid, {atom: xyz})


def test_acceptor_only_partner_suggests_the_amide():
    s = Session([acid(), partner("O", "LEU", 50, (3.9, 0.0, 2.2))], autosave=False)
    (c,) = polar_contacts(s, 0)
    assert (c.atom, c.partner, c.role) == ("OD2", "O LEU A50", ACCEPTOR)
    assert abs(c.distance - 2.8) < 1e-6
    hint = contact_hint("ASP", [c])
    assert "O LEU A50 2.8 (acceptor)" in hint and hint.endswith("an N there (ASN).")
    # the same partner at 3.3 A is listed but too far to say anything
    s = Session([acid(), partner("O", "LEU", 50, (4.4, 0.0, 2.2))], autosave=False)
    (c,) = polar_contacts(s, 0)
    assert "an N there" not in contact_hint("ASP", [c])


def test_donors_at_both_ends_suggest_the_acid():
    s = Session([acid("ASN"), partner("NZ", "LYS", 20, (-3.9, 0.0, 2.2)),
                 partner("N", "GLY", 30, (3.9, 0.0, 2.2))], autosave=False)  # fmt: skip
    contacts = polar_contacts(s, 0)
    assert {(c.atom, c.role) for c in contacts} == {("OD1", DONOR), ("ND2", DONOR)}
    assert contact_hint("ASN", contacts).endswith("an acid (ASP).")
    # one end only: no suggestion
    assert "acid" not in contact_hint("ASN", contacts[:1])


def test_backbone_and_own_atoms_are_not_probes_or_partners():
    res = acid()
    # a backbone N next to the residue's own backbone O, and nothing near the side chain
    s = Session([res, partner("N", "GLY", 30, (2.0, 3.5, -1.5))], autosave=False)
    assert polar_contacts(s, 0) == []
    assert contact_hint("ASP", []) == "H-bonds: none within 3.4 A of the side chain."
    assert contact_hint("LEU", []) == ""


def test_polar_partner_at_a_gamma_atom_suggests_thr():
    val = residue("VAL", 5, {"CA": (0.0, 0.0, 0.0), "CB": (0.0, 0.0, 1.5),
                             "CG1": (1.2, 0.0, 2.3), "CG2": (-1.2, 0.0, 2.3)})  # fmt: skip
    s = Session([val, partner("OG", "SER", 9, (4.1, 0.0, 2.3))], autosave=False)
    (c,) = polar_contacts(s, 0)
    assert c.atom == "CG1" and contact_hint("VAL", [c]).endswith("a hydroxyl there (THR).")
    s = Session([val, partner("OG", "SER", 9, (4.5, 0.0, 2.3))], autosave=False)  # 3.3 A
    (c,) = polar_contacts(s, 0)
    assert "THR" not in contact_hint("VAL", [c])


def test_partners_in_crystal_copies():
    # a P 1 cell of 20 A: the partner sits across the cell edge from the residue's OD1
    res = acid(at=(1.1, 5.0, 5.0))  # OD1 at x = 0.0
    far = partner("O", "LEU", 50, (17.2, 5.0, 7.2))  # its copy at x = -2.8: 2.8 A from OD1
    meta = {"cell": [20, 20, 20, 90, 90, 90], "spacegroup": "P 1"}
    (c,) = polar_contacts(Session([res, far], None, meta, autosave=False), 0)
    assert c.atom == "OD1" and c.partner == "O LEU A50 (crystal copy)"
    assert abs(c.distance - 2.8) < 1e-6 and abs(c.partner_xyz[0] + 2.8) < 1e-6
    assert polar_contacts(Session([res, far], autosave=False), 0) == []  # no cell: no copies
    # the residue's own atoms only as crystal copies: its OD1 and OD2 are 2.2 A apart, but only
    # the copies one 5 A cell edge away (2.8 A) are partners
    meta = {"cell": [5, 20, 20, 90, 90, 90], "spacegroup": "P 1"}
    alone = polar_contacts(Session([acid(at=(0.0, 5.0, 5.0))], None, meta, autosave=False), 0)
    assert sorted((c.atom, c.partner) for c in alone) == [
        ("OD1", "OD2 ASP A10 (crystal copy)"),
        ("OD2", "OD1 ASP A10 (crystal copy)"),
    ]
    assert all(abs(c.distance - 2.8) < 1e-6 for c in alone)
