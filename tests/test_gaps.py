"""Closing chain breaks: pieces joined, residues deleted from the sample model built again."""

from __future__ import annotations

from dataclasses import replace

import gemmi
import numpy as np
import pytest
from conftest import backbone_state

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.breaks import chain_breaks
from napari_densitybuild.classify import Classifier
from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.gaps import close_gap, joined_rows, plan_gap
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_structure
from napari_densitybuild.residues import ONE_LETTER
from napari_densitybuild.session import ResidueState, Session
from napari_densitybuild.symmetry import Symmetry

CELL, SG = [60.0, 50.0, 70.0, 90.0, 100.0, 90.0], "P 1 21 1"


def _line(chain: str, first: int, n: int, x0: float, y: float = 20.0) -> list[ResidueState]:
    return [backbone_state(chain, first + k, [x0 + 3.8 * k, y, 20.0]) for k in range(n)]


@pytest.fixture(scope="module")
def sample():
    """The sample map, its model as a session, and the shipped classifier."""
    map_path, model_path = sample_paths()[:2]
    dmap = read_map(map_path)
    st = read_structure(model_path)
    return dmap, Session.from_structure(st, None, dmap), Classifier.from_path()


def test_a_start_a_peptide_away_is_joined_and_numbered_on():
    """Chain B starts 3.8 A after chain A ends: it becomes A 6-9; a later piece of chain A whose
    numbers it would take is numbered on after it."""
    a = _line("A", 1, 5, 10.0)
    later = _line("A", 6, 3, 10.0, y=40.0)  # a second piece of chain A, far away
    b = _line("B", 1, 4, 10.0 + 3.8 * 5)
    s = Session(a + later + b, None, {}, autosave=False)
    brk = chain_breaks(s)[0]
    assert (brk.end, brk.start) == (4, 8)
    plan = plan_gap(s, brk, dmap=None)  # a join needs no map
    assert len(plan.ca) == 0 and not plan.moved
    closed = close_gap(s, brk, dmap=None, refine=False)
    labels = [(r.chain, r.seqid) for r in closed.rows]
    assert labels == [("A", k) for k in range(1, 13)]
    assert [r.ca[1] for r in closed.rows[5:9]] == [20.0] * 4  # B's residues, in order
    assert closed.text == "Joined LEU 5 of chain A to LEU 1 of chain B, now LEU 6 of chain A"
    assert closed.built == [4, 5]
    assert chain_breaks(Session(closed.rows, None, {}, autosave=False))[0].end == 8
    assert len(s.residues) == 12 and s.residues[5].chain == "A"  # the session is unchanged
    s.replace(closed.rows)
    assert s.residues[5].chain == "A" and s.residues[8].chain == "A" and s.can_undo
    assert s.undo() and s.residues[8].chain == "B"


def test_a_piece_on_a_crystal_copy_is_moved_next_to_the_end():
    s = Session(_line("A", 1, 5, 10.0) + _line("B", 1, 4, 10.0 + 3.8 * 5), None,
                {"cell": CELL, "spacegroup": SG}, autosave=False)  # fmt: skip
    where = [r.ca for r in s.residues]
    sym = Symmetry.from_cell(gemmi.UnitCell(*CELL), SG)
    moved = []
    for r in s.residues:  # chain B onto a crystal copy: operation 1, one cell along b
        if r.chain == "B":
            atoms = tuple((a[0], *sym.apply(np.array([a[1:]]), 1, (0, 1, 0))[0]) for a in r.atoms)
            centre = tuple(sym.apply(np.array([r.centre]), 1, (0, 1, 0))[0])
            rot = sym.cart_rotations()[1] @ np.array(r.rotation).reshape(3, 3)
            r = replace(r, atoms=atoms, centre=centre, rotation=tuple(rot.ravel()))
        moved.append(r)
    s.residues = moved
    brk = chain_breaks(s)[0]
    plan = plan_gap(s, brk, None)
    assert plan.moved
    rows, span = joined_rows(s, plan)
    assert span == slice(0, 9)
    assert np.allclose([r.ca for r in rows], where, atol=1e-6)  # back where it was built
    assert np.allclose([r.rotation for r in rows[5:]], np.eye(3).ravel(), atol=1e-9)
    assert np.allclose([r.centre for r in rows[5:]], [r.ca + np.array([0, 0, 2.4])
                                                      for r in rows[5:]])  # fmt: skip


@pytest.mark.parametrize("missing", [1, 2])
def test_deleted_residues_are_built_again_where_they_were(sample, missing):
    """Residues deleted from the sample model (a simulated 1.5 A map): the gap is closed with
    as many residues as the numbering leaves room for, in their place, joined by peptides."""
    dmap, full, clf = sample
    for i in (20, 41):
        gone = full.residues[i : i + missing]
        s = Session(full.residues[:i] + full.residues[i + missing :], None, full.meta,
                    autosave=False)  # fmt: skip
        brk = next(b for b in chain_breaks(s) if b.end == i - 1)
        closed = close_gap(s, brk, dmap, clf)
        new = closed.rows[i : i + missing]
        assert len(closed.rows) == len(full.residues)
        assert [(r.chain, r.seqid) for r in closed.rows] == [(r.chain, r.seqid)
                                                             for r in full.residues]  # fmt: skip
        d = np.linalg.norm([a.ca - b.ca for a, b in zip(new, gone)], axis=1)
        assert d.max() < 0.6, d
        assert all(r.edited and r.type >= 0 and len(r.atoms) >= 5 for r in new)
        for a, b in zip(closed.rows[i - 1 : i + missing], closed.rows[i : i + missing + 1]):
            c = dict((x[0], np.array(x[1:])) for x in a.atoms)["C"]
            n = dict((x[0], np.array(x[1:])) for x in b.atoms)["N"]
            assert 1.2 < np.linalg.norm(c - n) < 1.45  # a peptide bond
        assert closed.built == list(range(i, i + missing))
        assert set(closed.built) < set(closed.changed)
        for k in closed.changed:  # refined: boxed on their own backbone, for a later Classify
            r = closed.rows[k]
            assert r.centre == r.reframed().centre and r.rotation == r.reframed().rotation
        assert closed.text.startswith(f"Built {missing} residue")
        assert s.residues[i] is full.residues[i + missing]  # the session is not changed


def test_a_gap_over_solvent_is_refused_with_a_reason(sample):
    dmap, full, _ = sample
    a = _line("A", 1, 5, 0.0)
    b = _line("B", 1, 3, 3.8 * 4 + 6.5)
    s = Session(a + b, None, full.meta, autosave=False)
    grid = dmap.grid.clone()
    grid.fill(0.0)
    flat = replace(dmap, grid=grid)
    with pytest.raises(DensityBuildError, match=r"cannot close the 6\.5 A gap after LEU 5: the "
                       r"best path runs through 0\.0 sigma; add residues by hand"):  # fmt: skip
        plan_gap(s, chain_breaks(s)[0], flat)
    alone = Session(_line("A", 1, 5, 0.0), None, {}, autosave=False)
    with pytest.raises(DensityBuildError, match="no other piece of chain starts near it"):
        plan_gap(alone, chain_breaks(alone)[0], flat)


def test_a_model_becomes_a_session_to_review():
    st = read_structure(sample_paths()[1])
    s = Session.from_structure(st)
    assert len(s.residues) == 70 and not s.map_path
    r = s.residues[0]
    assert (r.chain, r.seqid, r.name, r.probs, r.score) == ("B", 1, "LEU", (), 1.0)
    assert [a[0] for a in r.atoms] == ["N", "CA", "C", "O", "CB", "CG", "CD1", "CD2"]
    assert s.meta["cell"] == pytest.approx(list(st.cell.parameters))
    assert s.structure()[0].count_atom_sites() == st[0].count_atom_sites()


@pytest.mark.parametrize(
    ("chain", "first", "x0", "said"),
    [
        ("B", 6, 10.0 + 3.8 * 4 + 7.0, "are numbered as neighbours but their C-alphas lie 7.0 A"),
        ("B", 7, 10.0 + 3.8 * 5, "leave room for 1 residue by their numbers but their C-alphas"),
        ("A", 10, 10.0 + 3.8 * 4 + 9.0, "the numbering leaves room for 4 residues"),
    ],
)
def test_numbers_that_contradict_the_gap_are_reported(chain, first, x0, said):
    """Residues numbered on across a gap (in one chain, or pieces of one sequence built as
    chains of their own): where the numbers and the distance disagree, an end is misplaced or
    misnumbered, and nothing is built."""
    s = Session(_line("A", 1, 5, 10.0) + _line(chain, first, 4, x0), None, {}, autosave=False)
    with pytest.raises(DensityBuildError, match=said):
        plan_gap(s, chain_breaks(s)[0], None)


def test_chains_numbered_from_1_leave_the_count_to_the_map(sample):
    """A chain numbered far on from another's end (a build without a sequence numbers each
    chain from 1) says nothing about the residues between: the map decides."""
    dmap, full, _ = sample
    i = 30
    rest = [replace(r, chain="C", seqid=100 + k) for k, r in enumerate(full.residues[i + 1 :])]
    s = Session(full.residues[:i] + rest, None, full.meta, autosave=False)
    plan = plan_gap(s, next(b for b in chain_breaks(s) if b.end == i - 1), dmap)
    assert len(plan.ca) == 1 and np.linalg.norm(plan.ca[0] - full.residues[i].ca) < 0.6


def test_residues_built_into_a_gap_take_the_chain_sequence_type(sample):
    """A build with a sequence leaves each chain's sequence in the session: the residues built
    into a gap take their type from it (here a sequence with TRP at the deleted positions)."""
    dmap, full, clf = sample
    i = 20
    letters = ["X"] * full.residues[-1].seqid  # the sequence, by residue number
    for r in full.residues:
        letters[r.seqid - 1] = ONE_LETTER[r.name]
    for r in full.residues[i : i + 2]:
        letters[r.seqid - 1] = "W"
    s = Session(full.residues[:i] + full.residues[i + 2 :], None,
                {**full.meta, "chain_sequences": {"B": "".join(letters)}},
                autosave=False)  # fmt: skip
    closed = close_gap(s, next(b for b in chain_breaks(s) if b.end == i - 1), dmap, clf)
    new = [closed.rows[k] for k in closed.built]
    assert [r.name for r in new] == ["TRP", "TRP"] and all(len(r.atoms) == 14 for r in new)
    assert all(len(r.probs) == 20 for r in new)  # classified all the same, for review


def test_a_new_residue_before_a_cis_step_gets_a_cis_carbonyl():
    """The new C-alpha 2.96 A from the start (a cis step into a proline): its C is bonded to the
    start's N with the two C-alphas on one side of the C-N bond; a 3.8 A step keeps the C of the
    C-alpha trace table."""
    from napari_densitybuild.gaps import GapPlan, _new_residues
    from napari_densitybuild.trace import ca_trace_backbone

    e = backbone_state("A", 1, [10.0, 20.0, 20.0])
    x = np.array([12.0, 23.2, 20.5])
    for step, cis in ((2.96, True), (3.8, False)):
        u = np.array([0.8, 0.0, 0.6])
        s_ca = x + step * u
        s = backbone_state("A", 3, s_ca)
        n = s_ca + 1.46 * np.array([-0.6, -0.8, 0.0])  # the proline's N, towards the new residue
        s = replace(s, atoms=(("N", *n), *s.atoms[1:]))
        new = _new_residues(GapPlan(0, 1, x[None]), e, s)[0]
        c = np.array(dict((a[0], a[1:]) for a in new.atoms)["C"])
        if cis:
            assert np.linalg.norm(c - n) == pytest.approx(1.343, abs=1e-6)
            assert np.linalg.norm(c - x) == pytest.approx(1.525, abs=1e-6)
            omega = np.degrees(
                gemmi.calculate_dihedral(*(gemmi.Position(*p) for p in (x, c, n, s_ca)))
            )
            assert abs(omega) < 1e-3
        else:
            assert np.allclose(c, ca_trace_backbone(e.ca, x, s_ca)[1])


def test_a_gap_before_a_proline_is_closed_with_a_cis_peptide_where_the_map_shows_one(
    monkeypatch,
):
    """Density along a chain whose proline follows a cis peptide, one residue deleted before
    it: Close gap builds the short step, and its message says the peptide is cis."""
    from test_gap_paths import _five, _tube_map

    from napari_densitybuild import gap_paths
    from napari_densitybuild.geometry import CIS_CA
    from napari_densitybuild.residues import INDEX

    monkeypatch.setattr(gap_paths, "CIS_MARGIN", 0.0)  # the tubes are wide: no margin asked
    before, e, x, s, after = _five(gap_paths.CIS_STEP, 120.0)
    dmap = _tube_map(np.array([before, e, x, s, after]))
    rows = [backbone_state("A", k, p) for k, p in ((1, before), (2, e), (4, s), (5, after))]
    rows[2] = replace(rows[2], type=INDEX["PRO"])
    session = Session(rows, None, {}, autosave=False)
    closed = close_gap(session, chain_breaks(session)[0], dmap, refine=False)
    new, pro = closed.rows[2], closed.rows[3]
    assert np.linalg.norm(new.ca - x) < 0.5
    assert np.linalg.norm(new.ca - pro.ca) < CIS_CA
    assert closed.text.endswith("; the peptide into PRO 4 is cis")
    rows[2] = replace(rows[2], type=INDEX["LEU"])  # not a proline: no cis step is tried
    session = Session(rows, None, {}, autosave=False)
    closed = close_gap(session, chain_breaks(session)[0], dmap, refine=False)
    assert np.linalg.norm(closed.rows[2].ca - closed.rows[3].ca) == pytest.approx(gap_paths.STEP)
    assert "cis" not in closed.text
