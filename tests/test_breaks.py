"""Chain breaks of a session: each chain's end, and the nearest other chain's start."""

from __future__ import annotations

import gemmi
import numpy as np
from conftest import backbone_state

from napari_densitybuild.breaks import ChainBreak, chain_breaks, describe_start, loose_starts
from napari_densitybuild.session import ResidueState, Session
from napari_densitybuild.symmetry import Symmetry

CELL, SG = [60.0, 50.0, 70.0, 90.0, 100.0, 90.0], "P 1 21 1"


def _session(meta: dict | None = None, b_at=None) -> Session:
    """Chain A (5 residues along x from 10 A), a gap of 6.4 A, chain B (4 more along x), and
    chain C far away."""
    a = [backbone_state("A", k + 1, [10.0 + 3.8 * k, 20.0, 20.0]) for k in range(5)]
    x0 = 10.0 + 3.8 * 4 + 6.4
    b = [backbone_state("B", k + 7, [x0 + 3.8 * k, 20.0, 20.0]) for k in range(4)]
    c = [backbone_state("C", k + 1, [10.0 + 3.8 * k, 45.0, 60.0]) for k in range(3)]
    return Session(a + b + c, None, meta or {})


def test_every_chain_end_is_a_break_with_the_nearest_other_start():
    s = _session()
    breaks = chain_breaks(s)
    assert [b.end for b in breaks] == [4, 8, 11]
    assert breaks[0].start == 5 and np.isclose(breaks[0].distance, 6.4)
    assert breaks[1] == ChainBreak(8) and breaks[2] == ChainBreak(11)  # nothing within 11 A
    assert breaks[0].describe(s.residues) == (
        "chain A stops at LEU 5; chain B goes on 6.4 A away from LEU 7 (Close gap)"
    )
    assert breaks[2].describe(s.residues) == (
        "chain C stops at LEU 3; nothing goes on within 11 A (Add residue, where the map shows "
        "more chain)"
    )
    assert chain_breaks(Session([], None, {})) == []
    # chains A and C begin with nothing before them; B's start is where A's end leads
    assert loose_starts(s) == [0, 9] == loose_starts(s, breaks)
    assert describe_start(s.residues, 9) == (
        "chain C starts at LEU 1; no chain ends within 11 A before it (Add residue, where the "
        "map shows more chain)"
    )
    assert loose_starts(Session([], None, {})) == []


def test_a_start_on_a_crystal_copy_is_found_across_the_contact():
    s = _session({"cell": CELL, "spacegroup": SG})
    sym = Symmetry.from_cell(gemmi.UnitCell(*CELL), SG)
    moved = []
    for r in s.residues:  # chain B onto a crystal copy: operation 1, one cell along b
        if r.chain == "B":
            atoms = tuple((a[0], *sym.apply(np.array([a[1:]]), 1, (0, 1, 0))[0]) for a in r.atoms)
            r = ResidueState(**{**r.__dict__, "atoms": atoms})
        moved.append(r)
    s.residues = moved
    assert np.linalg.norm(s.residues[5].ca - s.residues[4].ca) > 20
    b = chain_breaks(s)[0]
    assert b.start == 5 and np.isclose(b.distance, 6.4)
    assert chain_breaks(Session(moved, None, {}))[0].start is None  # without the cell: apart


def test_a_gap_inside_a_chain_is_a_break_too():
    """Residues deleted from the middle of chain A: the piece before the gap ends there."""
    s = _session()
    del s.residues[2]  # A 3 gone: A 2 and A 4 lie 7.6 A apart
    breaks = chain_breaks(s)
    assert [b.end for b in breaks] == [1, 3, 7, 10]
    assert breaks[0].start == 2 and np.isclose(breaks[0].distance, 7.6)
    assert breaks[1].start == 4 and np.isclose(breaks[1].distance, 6.4)
