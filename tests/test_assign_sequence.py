"""A sequence applied to a model after the build: types, numbers and chains from it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import gemmi
import numpy as np
import pytest
from conftest import backbone_state

from napari_densitybuild.assign_sequence import TYPE_WEIGHT, assign_sequence, plan_sequence, profile
from napari_densitybuild.residues import AMINO_ACIDS, HEAVY_ATOMS, INDEX, ONE_LETTER
from napari_densitybuild.seq_chains import followed_sequences
from napari_densitybuild.session import Session

SEQ = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEK"


def _probs(true: str, wrong: str | None = None) -> tuple[float, ...]:
    """Class probabilities that favour ``true`` (or ``wrong`` first, ``true`` second)."""
    p = np.full(20, 0.02)
    p[INDEX[true]] = 0.6
    if wrong is not None:
        p[INDEX[wrong]], p[INDEX[true]] = 0.5, 0.22
    return tuple((p / p.sum()).tolist())


def _three(letter: str) -> str:
    return next(a for a in AMINO_ACIDS if ONE_LETTER[a] == letter)


def _piece(chain: str, first_number: int, positions: range, start, step=(3.8, 0, 0), wrong=()):
    """Residues of sequence ``positions`` along a line from ``start``, typed as the classifier
    would (``wrong``: positions it names wrongly, the right type second)."""
    rows = []
    for k, pos in enumerate(positions):
        true = _three(SEQ[pos])
        name = "GLY" if pos in wrong and true != "GLY" else true
        if pos in wrong and true == "GLY":
            name = "ALA"
        r = backbone_state(chain, first_number + k, np.add(start, np.multiply(step, k)))
        probs = _probs(true, name if name != true else None)
        rows.append(replace(r, type=INDEX[name], probs=probs))
    return rows


def test_types_numbers_and_chains_follow_the_sequence():
    # a build without the sequence: chain A holds positions 20-33 (numbered 1-14), chain B
    # positions 36-47, starting 7 A after A's end (two residues missing: within reach), chain C
    # positions 0-9, 20 A away
    a1 = _piece("A", 1, range(20, 34), (10, 10, 10), wrong={22, 27, 31})
    b = _piece("B", 1, range(36, 48), (10 + 3.8 * 13 + 7.0, 10, 10), wrong={40})
    c = _piece("C", 1, range(0, 10), (10, 40, 10))
    s = Session(a1 + c + b, None, {})
    plan = plan_sequence(s, [SEQ])
    old = plan.order
    rows = plan.rows
    assert sorted(old) == list(range(len(rows)))
    # every residue typed as the sequence has it, numbered by its position
    assert [ONE_LETTER[r.name] for r in rows] == [SEQ[r.seqid - 1] for r in rows]
    assert {r.icode for r in rows} == {""}
    # A and B (two residues missing between, 7 A apart) are one chain; C runs before both in
    # the sequence and lies 20 A away: a chain of its own
    names = dict.fromkeys(r.chain for r in rows)
    chains = {c: [r.seqid for r in rows if r.chain == c] for c in names}
    assert chains == {"A": list(range(21, 35)) + list(range(37, 49)), "C": list(range(1, 11))}
    assert [rows[k].label for k in plan.retyped] == ["LEU 23", "GLY 28", "VAL 32", "GLY 41"]
    assert plan.chain_sequences == {"A": SEQ, "C": SEQ}
    assert plan.text.startswith("Sequence applied: 3 of 3 pieces of chain aligned (36 of 36 "
                                "residues), 4 types changed; numbered by the sequence, 3 chains "
                                "-> 2")  # fmt: skip
    # the atoms moved with their residues (a piece is never split)
    for k, i in enumerate(old):
        assert rows[k].atoms == s.residues[i].atoms
    # what it retyped had little of the classifier's probability: the first to look at
    assert Session(rows, None, {}).doubtful() in plan.retyped
    # the session follows the sequence once the rows are in, not before
    assert followed_sequences(Session(rows, None, {"chain_sequences": plan.chain_sequences}))
    assert not followed_sequences(Session(s.residues, None, {"chain_sequences": {"A": SEQ}}))


def test_two_copies_in_one_chain_are_parted_and_a_short_piece_kept_where_it_fits():
    # chain A: copy 1 (positions 0-14), a 3-residue piece numbered 16-18 that aligns to nothing,
    # copy 1 again (20-29), then a second copy of the molecule (0-11) far away
    first = _piece("A", 1, range(0, 15), (10, 10, 10))
    short = [replace(backbone_state("A", 16 + k, (10 + 3.8 * k, 25, 10)), type=INDEX["ALA"],
                     probs=_probs("ALA")) for k in range(3)]  # fmt: skip
    more = _piece("A", 19, range(20, 30), (10 + 3.8 * 20, 10, 10))
    copy = _piece("A", 29, range(0, 12), (10, 60, 60))
    kept = [[1.0, 2.0, 3.0, "B", 1, "", "HOH", "O", "O", 20.0, 1.0]]  # a water in chain B
    s = Session(first + short + more + copy, None, {"kept_atoms": kept})
    plan = plan_sequence(s, [SEQ])
    old = plan.order
    chains = {c: [r.label.split()[1] for r in plan.rows if r.chain == c]
              for c in dict.fromkeys(r.chain for r in plan.rows)}  # fmt: skip
    # the short piece's numbers (16-18) still fit between 15 and 21: it stays where it was;
    # the second copy takes a new name, not B (the kept water's chain)
    assert chains == {"A": [str(n) for n in [*range(1, 16), 16, 17, 18, *range(21, 31)]],
                      "C": [str(n) for n in range(1, 13)]}  # fmt: skip
    assert old == list(range(len(s.residues)))
    assert "3 of 4 pieces of chain aligned" in plan.text
    assert "1 piece too short or unsure to place keeps the classifier's types" in plan.text
    # two short pieces one after the other both stay, in their order
    short2 = [replace(backbone_state("A", 19 + k, (10 + 3.8 * k, 35, 10)), type=INDEX["ALA"],
                      probs=_probs("ALA")) for k in range(2)]  # fmt: skip
    more2 = [replace(r, seqid=r.seqid + 2) for r in more]
    plan = plan_sequence(Session(first + short + short2 + more2, None, {}), [SEQ])
    assert [(r.chain, r.seqid) for r in plan.rows[15:20]] == [("A", n) for n in range(16, 21)]
    assert {r.chain for r in plan.rows} == {"A"}
    # where its numbers do not fit, it becomes a chain of its own
    clash = [replace(r, seqid=r.seqid - 10) for r in short]
    plan = plan_sequence(Session(first + clash + more, None, {}), [SEQ])
    assert [(r.chain, r.seqid) for r in plan.rows if r.type == INDEX["ALA"]][-3:] == [
        ("B", 6), ("B", 7), ("B", 8)]  # fmt: skip


def test_a_model_from_a_file_keeps_its_chains_and_numbers():
    rows = _piece("A", 101, range(5, 25), (10, 10, 10), wrong={9})
    s = Session(rows, None, {"atom_b": {"A/101/CA": [20.0, 1.0]}})
    plan = plan_sequence(s, [SEQ], renumber=False)
    old = plan.order
    assert old == list(range(20))
    assert [(r.chain, r.seqid) for r in plan.rows] == [(r.chain, r.seqid) for r in rows]
    assert [plan.rows[k].label for k in plan.retyped] == ["ARG 105"]
    # numbered 95 on from the sequence: its sequence is shifted to match
    assert plan.chain_sequences == {"A": "X" * 95 + SEQ}
    assert "chains and numbers kept as the model file has them" in plan.text
    after = Session(plan.rows, None, {"chain_sequences": plan.chain_sequences})
    assert followed_sequences(after) == plan.chain_sequences
    # undone (types as before) it follows it still: one residue of 20 differs
    assert followed_sequences(Session(rows, None, {"chain_sequences": plan.chain_sequences}))
    shifted = [replace(r, seqid=r.seqid + 3) for r in plan.rows]
    assert followed_sequences(Session(shifted, None, after.meta)) == {}


def test_what_cannot_be_aligned_is_left_as_it_is():
    rows = _piece("A", 1, range(0, 3), (10, 10, 10))  # too short to place
    plan = plan_sequence(Session(rows, None, {}), [SEQ])
    assert plan.rows == rows and plan.retyped == [] and plan.chain_sequences == {}
    assert plan.text.startswith("Sequence applied: 0 of 1 pieces of chain aligned")
    other = "W" * 40  # a sequence the model is not
    plan = plan_sequence(Session(_piece("A", 1, range(0, 20), (10, 10, 10)), None, {}),
                            [other])  # fmt: skip
    assert plan.retyped == [] and plan.chain_sequences == {}


def test_numbers_a_kept_residue_holds_are_not_given_to_the_model():
    rows = _piece("A", 101, range(0, 20), (10, 10, 10), wrong={9})
    ligand = [[1.0, 2.0, 3.0, "A", 5, "", "SO4", "S", "S", 30.0, 1.0]]  # sulphate A 5
    plan = plan_sequence(Session(rows, None, {"kept_atoms": ligand}), [SEQ])
    assert [r.seqid for r in plan.rows] == list(range(101, 121))  # as they were
    assert [plan.rows[k].label for k in plan.retyped] == ["ARG 110"]  # the type still changes
    assert (
        "chains and numbers kept: the sequence's numbers would clash with the kept residue "
        "A 5" in plan.text
    )
    assert plan.chain_sequences == {"A": "X" * 100 + SEQ}  # shifted to its numbers


def test_the_profile_weighs_in_the_type_in_use():
    r = _piece("A", 1, range(0, 1), (0, 0, 0))[0]  # MET, the classifier's first choice
    assert np.allclose(profile([r]), [r.probs])
    hand = replace(r, type=INDEX["TRP"])
    p = profile([hand])[0]
    assert np.isclose(p[INDEX["TRP"]], (1 - TYPE_WEIGHT) * r.probs[INDEX["TRP"]] + TYPE_WEIGHT)
    assert np.isclose(p.sum(), 1.0)
    placed = replace(r, type=-1, probs=())
    assert np.allclose(profile([placed]), 1 / 20)


@pytest.mark.slow
def test_on_the_sample_mistyped_residues_get_the_sequences_type_and_its_atoms(sample_session):
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.review import classify_residues
    from napari_densitybuild.sequence import protein_sequences

    dmap, reviewed = sample_session
    sequences = protein_sequences(Path(__file__).parents[1] / "sample_data/sample_sequence.fasta")
    clf = Classifier.from_path(None)
    s = Session(list(reviewed.residues), None, {}, autosave=False)
    got = classify_residues(s, dmap, clf, keep_types=True, poses=False)
    truth = [got[i] for i in range(len(s.residues))]
    # as a build without the sequence might leave it: five residues named wrongly (their
    # atoms too: the pose of the wrong type), numbered from 1
    wrong = {i: "ALA" if truth[i].name != "ALA" else "SER" for i in (3, 10, 20, 30, 40)}
    rows = [replace(r, seqid=k + 1) for k, r in enumerate(truth)]
    for i, t in wrong.items():
        keep = set(HEAVY_ATOMS[t])
        rows[i] = replace(rows[i], type=INDEX[t], atoms=tuple(a for a in rows[i].atoms
                                                               if a[0] in keep))  # fmt: skip
    edit = assign_sequence(Session(rows, None, {}, autosave=False), sequences, dmap, clf)
    assert sorted(edit.retyped) == sorted(wrong)
    assert [r.name for r in edit.rows] == [r.name for r in truth]
    # numbered by the sequence file (the model's 70 residues; the model itself numbers them
    # 1-71, one number skipped)
    assert [r.seqid for r in edit.rows] == list(range(1, len(rows) + 1))
    for i in wrong:  # the new type's atoms, placed near the deposited ones
        names = [a[0] for a in edit.rows[i].atoms]
        assert names == list(HEAVY_ATOMS[truth[i].name])
        mine = np.array([a[1:] for a in edit.rows[i].atoms])
        ref = {a[0]: np.array(a[1:]) for a in truth[i].atoms}
        d = np.linalg.norm(mine - np.array([ref[n] for n in names]), axis=1)
        assert np.sqrt((d**2).mean()) < 1.0, (truth[i].label, d)
    # the residues the sequence left as they were did not move, but for their neighbours'
    # atoms, refined with the retyped ones around C-alphas held where the trace put them
    near = {j for i in wrong for j in (i - 1, i + 1)} - set(wrong)
    for k, (a, b) in enumerate(zip(edit.rows, rows)):
        if k not in wrong and k not in near:
            assert a.atoms == b.atoms
        elif k in near:
            assert np.array_equal(a.ca, b.ca)
    assert "5 types changed" in edit.text and edit.text.endswith("(posed and refined)")


def test_a_piece_across_a_crystal_contact_moves_onto_the_copy_that_goes_on():
    from napari_densitybuild.symmetry import Symmetry

    cell, sg = [60.0, 50.0, 70.0, 90.0, 100.0, 90.0], "P 1 21 1"
    sym = Symmetry.from_cell(gemmi.UnitCell(*cell), sg)
    a = _piece("A", 1, range(0, 15), (10, 10, 10))
    b = _piece("B", 1, range(16, 26), (10 + 3.8 * 14 + 6.0, 10, 10))  # one residue missing
    away = [r.on_copy(sym, 1, (0, 1, 0)) for r in b]  # B's copy in the model: far from A
    assert np.linalg.norm(away[0].ca - a[-1].ca) > 20
    meta = {"cell": cell, "spacegroup": sg}
    plan = plan_sequence(Session(a + away, None, meta), [SEQ])
    numbers = [*range(1, 16), *range(17, 27)]
    assert [(r.chain, r.seqid) for r in plan.rows] == [("A", n) for n in numbers]
    for r, want in zip(plan.rows[15:], b):  # back on the copy that goes on from A's end
        assert np.allclose(r.ca, want.ca, atol=1e-6)
        assert np.allclose(r.centre, want.centre, atol=1e-6)
        assert np.allclose(r.rotation, want.rotation, atol=1e-6)
    assert "2 chains -> 1" in plan.text
    # without the cell the copy is not known: the pieces stay chains of their own
    plan = plan_sequence(Session(a + away, None, {}), [SEQ])
    assert [r.chain for r in plan.rows] == ["A"] * 15 + ["B"] * 10


def test_pieces_of_two_molecules_stay_apart_each_with_its_sequence():
    other = "GSHMWEELLKKAEEYIRRNPDLAREFAKKLIEEGNTEALEEFVR"
    a = _piece("A", 1, range(0, 12), (10, 10, 10))
    # the other molecule's piece starts 3.8 A after A's end: near, but another sequence
    b = []
    for k, pos in enumerate(range(20, 32)):
        r = backbone_state("B", k + 1, (10 + 3.8 * (12 + k), 10, 10))
        name = _three(other[pos])
        b.append(replace(r, type=INDEX[name], probs=_probs(name)))
    plan = plan_sequence(Session(a + b, None, {}), [SEQ, other])
    assert [(r.chain, r.seqid) for r in plan.rows] == [("A", k) for k in range(1, 13)] + [
        ("B", k) for k in range(21, 33)]  # fmt: skip
    assert plan.chain_sequences == {"A": SEQ, "B": other}
    assert plan.retyped == []


@pytest.mark.slow
def test_a_backbone_built_for_the_wrong_type_is_framed_again(sample_session):
    """A residue a build typed GLY and turned 90 degrees about its C-alpha (so the net, boxing
    it there, doubts its true type): given its type by the sequence, the build's frame search
    turns N and C back, as a build with the sequence would; without it (and without the
    refinement with the neighbours) they stay off."""
    from scipy.spatial.transform import Rotation

    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.review import classify_residues
    from napari_densitybuild.sequence import protein_sequences

    dmap, reviewed = sample_session
    sequences = protein_sequences(Path(__file__).parents[1] / "sample_data/sample_sequence.fasta")
    clf = Classifier.from_path(None)
    rows = [replace(r, seqid=k + 1) for k, r in enumerate(reviewed.residues)]
    turn = Rotation.from_rotvec([0, 0, np.pi / 2]).as_matrix()
    for i in (57, 66):  # a TYR and a HIS inside the chain
        r, test = rows[i], list(rows)
        at = {a[0]: np.array(a[1:]) for a in r.atoms}
        bb = tuple((n, *(at["CA"] + turn @ (at[n] - at["CA"]) if n != "CA" else at[n]))
                   for n in ("N", "CA", "C", "O"))  # fmt: skip
        test[i] = replace(r, type=INDEX["GLY"], atoms=bb).reframed()
        got = classify_residues(Session(test, None, {}), dmap, clf, indices=[i], keep_types=True,
                                poses=False)[i]  # fmt: skip
        assert got.probs[r.type] < 0.1  # doubted where it was boxed
        test[i] = got
        off = {}
        for search, around in ((False, False), (True, False), (True, True)):
            edit = assign_sequence(Session(test, None, {}, autosave=False), sequences, dmap,
                                   clf, frame_search=search, neighbours=around)  # fmt: skip
            new = {a[0]: np.array(a[1:]) for a in edit.rows[i].atoms}
            assert edit.rows[i].name == r.name and i in edit.retyped
            off[search, around] = max(np.linalg.norm(new[n] - at[n]) for n in ("N", "C"))
            # turned about its C-alpha, which stays within the atom head's reach of where it was
            assert np.linalg.norm(edit.rows[i].ca - test[i].ca) < 0.3
        # the search alone turns it back; the defaults (neighbours refined first) too
        assert off[False, False] > 1.0 and off[True, False] < 0.3, (r.label, off)
        assert off[True, True] < 0.5, (r.label, off)


def test_a_backbone_shaped_by_the_wrong_type_settles_with_its_neighbours(sample_session):
    """A residue built as GLY with its backbone turned 35 degrees about the C-alpha (N, C and O
    0.8-1.3 A off, as a wrong side chain can pull them), given its type by the sequence: its
    side chain alone on that backbone leaves N and C where they are; refined with its chain
    neighbours, C-alphas held, they come back near the deposited ones and no C-alpha moves."""
    from scipy.spatial.transform import Rotation

    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.review import classify_residues
    from napari_densitybuild.sequence import protein_sequences

    dmap, reviewed = sample_session
    sequences = protein_sequences(Path(__file__).parents[1] / "sample_data/sample_sequence.fasta")
    clf = Classifier.from_path(None)
    rows = [replace(r, seqid=k + 1) for k, r in enumerate(reviewed.residues)]
    turn = Rotation.from_rotvec(np.radians(35) * np.array([1.0, 1.0, 0.0]) / np.sqrt(2))
    test = list(rows)
    for i in (24, 43):
        at = {a[0]: np.array(a[1:]) for a in rows[i].atoms}
        bb = tuple((n, *(at["CA"] + turn.apply(at[n] - at["CA"]))) for n in ("N", "CA", "C", "O"))
        test[i] = replace(rows[i], type=INDEX["GLY"], atoms=bb).reframed()
    test = [
        classify_residues(
            Session(test, None, {}), dmap, clf, indices=[24, 43], keep_types=True, poses=False
        ).get(k, r)
        for k, r in enumerate(test)
    ]
    off = {}
    for around in (False, True):
        edit = assign_sequence(Session(test, None, {}, autosave=False), sequences, dmap, clf,
                               frame_search=False, neighbours=around)  # fmt: skip
        assert sorted(edit.retyped) == [24, 43]
        for i in (24, 43):
            new = {a[0]: np.array(a[1:]) for a in edit.rows[i].atoms}
            ref = {a[0]: np.array(a[1:]) for a in rows[i].atoms}
            assert edit.rows[i].name == rows[i].name
            off[around, i] = max(np.linalg.norm(new[n] - ref[n]) for n in ("N", "C", "O"))
        assert all(np.array_equal(a.ca, b.ca) for a, b in zip(edit.rows, test))
    assert min(off[False, i] for i in (24, 43)) > 0.7, off
    assert max(off[True, i] for i in (24, 43)) < 0.4, off
