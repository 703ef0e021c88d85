"""Fragments aligned to one sequence gathered into a chain per molecule, in sequence order."""

from __future__ import annotations

import numpy as np
from test_joins import SYM, _chain, _moved, _result

from napari_densitybuild.refine import AtomModel
from napari_densitybuild.seq_chains import chain_groups, sequence_chains
from napari_densitybuild.session import Session
from napari_densitybuild.symmetry import Symmetry


def _pieces(fragment: list[int], seqid: list[int], record=None):
    """The sample's first residues cut into ``fragment``s numbered ``seqid``, all aligned to
    sequence 0 unless ``record`` says otherwise."""
    model = _chain(len(fragment))
    result = _result(model, np.array(fragment), np.array(seqid))
    result.record = np.zeros(len(fragment), dtype=int) if record is None else np.array(record)
    return result, model.xyz.copy()


def _two_copies(model: AtomModel, shift) -> AtomModel:
    n, m = len(model.resname), model
    return AtomModel(np.r_[m.xyz, m.xyz + shift], np.r_[m.atom, m.atom],
                     np.r_[m.element, m.element], np.r_[m.residue, m.residue + n],
                     np.r_[m.resname, m.resname], np.r_[m.linked, m.linked])  # fmt: skip


def test_pieces_of_one_chain_become_one_chain_in_sequence_order():
    """Three fragments (the longest, numbered 10-22, first; 1-4; 6-8): one chain A, numbered as
    aligned, the fragments (and their atoms) as they were."""
    fragment = [1] * 4 + [2] * 3 + [0] * 13
    seqid = [1, 2, 3, 4, 6, 7, 8, *range(10, 23)]
    result, xyz = _pieces(fragment, seqid)
    out = sequence_chains(result, Symmetry.none())
    assert out.report["chains"] == 1 and out.chain.tolist() == ["A"] * 20
    assert out.seqid.tolist() == seqid
    assert out.trace.fragment.tolist() == [0] * 4 + [1] * 3 + [2] * 13
    assert not out.model.linked[[0, 4, 7]].any() and out.model.linked[1:4].all()
    np.testing.assert_allclose(out.model.xyz, xyz)
    assert "gathered into 1 chain by the sequence" in out.summary()


def test_two_copies_of_a_molecule_make_two_chains():
    """The same 12 residues twice, 40 A apart, each copy in two fragments (1-5 and 7-12): each
    copy's pieces join their own chain, not the nearer numbers of the other copy."""
    model = _two_copies(_chain(12), np.array([40.0, 0.0, 0.0]))
    fragment = np.array([0] * 5 + [1] * 7 + [2] * 5 + [3] * 7)
    seqid = np.r_[1:6, 7:14, 1:6, 7:14]
    result = _result(model, fragment, seqid)
    result.record = np.zeros(24, dtype=int)
    groups, moves = chain_groups(result, Symmetry.none())
    assert groups == [[0, 1], [2, 3]] and moves == {}
    out = sequence_chains(result, Symmetry.none())
    assert out.chain.tolist() == ["A"] * 12 + ["B"] * 12


def test_a_piece_on_a_crystal_copy_comes_back_next_to_its_chain():
    result, xyz = _pieces([0] * 7 + [1] * 5, [*range(1, 8), *range(9, 14)])
    _moved(result, np.arange(7, 12), 1, (0, 1, 0))
    out = sequence_chains(result, SYM)
    assert out.chain.tolist() == ["A"] * 12
    np.testing.assert_allclose(out.model.xyz, xyz, atol=1e-9)
    np.testing.assert_allclose(out.trace.ca, result.trace.ca[:7].tolist()
                               + xyz[np.searchsorted(result.model.residue, range(7, 12)) + 1]
                               .tolist(), atol=1e-9)  # fmt: skip


def test_unaligned_overlapping_or_unreachable_pieces_stay_chains_of_their_own():
    # an unaligned fragment; a fragment numbered over the first; one too far for its numbers
    for record, seqid in (([0] * 6 + [-1] * 6, [*range(1, 7), *range(1, 7)]),
                          ([0] * 12, [*range(1, 7), *range(6, 12)])):  # fmt: skip
        result, _ = _pieces([0] * 6 + [1] * 6, seqid, record)
        out = sequence_chains(result, Symmetry.none())
        assert out.report["chains"] == 2 and out is result
    result, _ = _pieces([0] * 6 + [1] * 6, [*range(1, 7), *range(7, 13)])
    _moved(result, np.arange(6, 12), 0, (0.5, 0, 0))  # 30 A along a: no peptide reaches
    assert sequence_chains(result, Symmetry.none()).report["chains"] == 2


def test_records_of_one_molecule_share_chains():
    """A FASTA record per chain of a model, one a residue longer: one molecule, so pieces
    aligned to either record gather; a different sequence does not."""
    from napari_densitybuild.seq_chains import molecules

    assert molecules(["MKV", "MKVLA", "GSS", "MKA"]).tolist() == [0, 0, 2, 3]
    assert molecules(["", "MKV", "GSS", "MKVL"]).tolist() == [0, 1, 2, 1]
    result, _ = _pieces([0] * 6 + [1] * 6, [*range(1, 7), *range(7, 13)], [0] * 6 + [1] * 6)
    assert sequence_chains(result, Symmetry.none()).report["chains"] == 2  # records unknown
    out = sequence_chains(result, Symmetry.none(), ["MKVLAGSSTTPQ", "MKVLAGSSTTPQRR"])
    assert out.report["chains"] == 1 and out.chain.tolist() == ["A"] * 12
    assert out.report["chain_sequences"] == {"A": "MKVLAGSSTTPQRR"}  # the longer record
    session = Session.from_build(out)  # for review: residues built into a gap take its types
    assert session.meta["chain_sequences"] == {"A": "MKVLAGSSTTPQRR"}
    other = sequence_chains(result, Symmetry.none(), ["MKVLAGSSTTPQ", "WWWWWWWWWWWW"])
    assert other.report["chains"] == 2


def test_residues_the_sequence_has_no_place_for_are_numbered_by_their_neighbours():
    """Before a fragment's first aligned residue, numbers count down from it (0 and below
    past the sequence's start); after an aligned residue, insertion codes; no positions: 1, 2."""
    from napari_densitybuild.assemble import number_residues
    from napari_densitybuild.trace import Trace

    fragment = np.array([0] * 7 + [1] * 3 + [2] * 2)
    trace = Trace(np.zeros((12, 3)), np.zeros((12, 3)), np.zeros((12, 3)), np.ones(12), fragment)
    positions = [np.array([-1, -1, 4, 5, -1, 6, -1]), np.array([-1, 0, 1]), None]
    chain, seqid, icode = number_residues(trace, positions)
    assert chain.tolist() == ["A"] * 7 + ["B"] * 3 + ["C"] * 2
    assert seqid.tolist() == [3, 4, 5, 6, 6, 7, 7, 0, 1, 2, 1, 2]
    assert icode.tolist() == ["", "", "", "", "A", "", "A", "", "", "", "", ""]


def test_a_long_run_of_insertions_keeps_every_residue_id_its_own():
    """Past 26 residues after one position the codes go on (a..z, 0..9), never repeating."""
    from napari_densitybuild.assemble import fragment_numbers

    pos = np.array([4, 5, 6] + [-1] * 60 + [7])
    seqid, icode = fragment_numbers(pos, len(pos))
    ids = list(zip(seqid, icode))
    assert len(set(ids)) == len(ids) and all(len(c) <= 1 for c in icode)
    assert ids[3] == (7, "A") and ids[28] == (7, "Z") and ids[29] == (7, "a") and ids[-1] == (8, "")


def test_a_fragment_whose_first_residue_the_sequence_skipped_joins_its_chain_after_it():
    """1-5 and (6), 7-12: the unaligned first residue of the second fragment, numbered 6, comes
    after 5 in one chain; numbered 5 (its place taken), the fragment is a chain of its own."""
    for lead, chains in ((6, 1), (5, 2)):
        result, _ = _pieces([0] * 5 + [1] * 7, [*range(1, 6), lead, *range(7, 13)],
                            [0] * 5 + [-1] + [0] * 6)  # fmt: skip
        out = sequence_chains(result, Symmetry.none())
        assert out.report["chains"] == chains
        if chains == 1:
            assert out.seqid.tolist() == list(range(1, 13))
