"""Chains made one residue longer at an end by hand (``chain_extend``, the review panel's Add
residue), on the sample map and its model cut short."""

from __future__ import annotations

from dataclasses import replace

import gemmi
import numpy as np
import pytest

from napari_densitybuild.chain_extend import extend_chain
from napari_densitybuild.classify import Classifier
from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.session import UNKNOWN, Session


@pytest.fixture(scope="module")
def clf():
    return Classifier.from_path(device="cpu")


def _cut(s: Session, rows) -> Session:
    return Session(list(rows), None, s.meta, autosave=False)


def test_a_chain_cut_short_grows_back_one_residue_per_press(sample_session, clf):
    dmap, s = sample_session
    cut = _cut(s, s.residues[:60])
    for k in range(4):
        end = len(cut.residues) - 1
        added = extend_chain(cut, end, dmap, clf)
        assert added.built == end + 1 and added.c_terminal
        new, truth = added.rows[added.built], s.residues[60 + k]
        assert np.linalg.norm(new.ca - truth.ca) < 0.5
        assert new.seqid == truth.seqid and new.chain == truth.chain and new.edited
        assert {"N", "CA", "C", "O", "CB"} <= {a[0] for a in new.atoms} or new.name == "GLY"
        assert added.density > 2.0 and added.text.startswith(f"Added {new.label} after ")
        # the residues refined with it moved a little, the rest not at all; those refined are
        # boxed on their new backbones (for a later Classify)
        assert all(added.rows[i] is cut.residues[i] for i in range(end - 2))
        for i in added.changed:
            r = added.rows[i]
            assert r.centre == r.reframed().centre and r.rotation == r.reframed().rotation
        cut = _cut(s, added.rows)
    names = [r.name for r in cut.residues[60:64]]
    assert sum(a == b.name for a, b in zip(names, s.residues[60:64])) >= 3


def test_a_chain_grows_at_its_start_too(sample_session, clf):
    dmap, s = sample_session
    cut = _cut(s, s.residues[10:])
    added = extend_chain(cut, 0, dmap, clf)
    assert added.built == 0 and not added.c_terminal
    new = added.rows[0]
    assert np.linalg.norm(new.ca - s.residues[9].ca) < 0.5 and new.seqid == s.residues[9].seqid
    assert added.text.startswith(f"Added {new.label} before {s.residues[10].label} of chain")
    # the new residue's N-C direction runs into the chain: its C bonds the next residue's N
    c = dict((a[0], np.array(a[1:])) for a in new.atoms)["C"]
    n = dict((a[0], np.array(a[1:])) for a in added.rows[1].atoms)["N"]
    assert np.linalg.norm(c - n) < 1.5


def test_without_a_classifier_the_new_residue_is_a_backbone_to_type(sample_session):
    dmap, s = sample_session
    added = extend_chain(_cut(s, s.residues[:60]), 59, dmap, refine=False)
    new = added.rows[60]
    assert new.type == UNKNOWN and [a[0] for a in new.atoms] == ["N", "CA", "C"]


def test_a_sequence_types_the_new_residue(sample_session, clf):
    dmap, s = sample_session
    letters = {r.seqid: gemmi.find_tabulated_residue(r.name).one_letter_code.upper()
               for r in s.residues}  # fmt: skip
    seq = "".join(letters.get(k, "A") for k in range(1, max(letters) + 1))
    seq = seq[:61] + "W" + seq[62:]  # the sequence says TRP at 62, the residue after index 59
    cut = Session(list(s.residues[:60]), None, {**s.meta, "chain_sequences": {"B": seq}},
                  autosave=False)  # fmt: skip
    assert s.residues[59].seqid == 61  # the sample has no residue 35
    added = extend_chain(cut, 59, dmap, clf)
    assert added.rows[60].name == "TRP"


def test_extensions_that_cannot_be_made_are_refused(sample_session):
    dmap, s = sample_session
    with pytest.raises(DensityBuildError, match="inside a piece of chain"):
        extend_chain(s, 30, dmap)
    # residue 31 deleted and the rest numbered down: 31 is taken by the next piece
    rows = list(s.residues[:30]) + [replace(r, seqid=r.seqid - 1) for r in s.residues[31:]]
    assert rows[30].seqid == s.residues[29].seqid + 1
    with pytest.raises(DensityBuildError, match="already has a residue numbered 31"):
        extend_chain(_cut(s, rows), 29, dmap)
    # the map turned over (solvent high, atoms low): nothing clear to build into
    grid = gemmi.FloatGrid(-np.array(dmap.grid, copy=True), dmap.grid.unit_cell,
                           dmap.grid.spacegroup)  # fmt: skip
    with pytest.raises(
        DensityBuildError,
        match=r"the best step runs through -?\d\.\d sigma \(at least 1.75 needed\)",
    ):
        extend_chain(_cut(s, s.residues[:60]), 59, replace(dmap, grid=grid))
    # a cryo-EM box that ends at the chain's end: no place past its face
    ca = s.residues[59].ca
    box = replace(dmap, data_min=np.full(3, -1e3), data_max=np.full(3, 1e3), covers_cell=False,
                  kind="em")  # fmt: skip
    assert extend_chain(_cut(s, s.residues[:60]), 59, box).density > 2.0
    tight = replace(box, data_min=ca - 1.0, data_max=ca + 1.0)
    with pytest.raises(DensityBuildError, match="no place keeps"):
        extend_chain(_cut(s, s.residues[:60]), 59, tight)
