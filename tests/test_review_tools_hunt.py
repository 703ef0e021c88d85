"""Odd inputs to the review panel's backbone tools (``backbone_edit``, ``chain_extend``): a
cryo-EM box that ends inside the model, residues without a C-alpha or without atoms, a chain's
sequence that ends where the chain does; on the sample map and its model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from napari_densitybuild.backbone_edit import flip_peptide, refine_zone
from napari_densitybuild.chain_extend import extend_chain
from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.residues import ONE_LETTER
from napari_densitybuild.session import UNKNOWN, Session


def _session(s: Session, rows, meta: dict | None = None) -> Session:
    return Session(list(rows), None, s.meta if meta is None else meta, autosave=False)


def _box(dmap, lo: np.ndarray, hi: np.ndarray):
    """``dmap`` as a cryo-EM box from ``lo`` to ``hi`` (x, y, z, A)."""
    return replace(dmap, data_min=np.asarray(lo, float), data_max=np.asarray(hi, float),
                   covers_cell=False, kind="em")  # fmt: skip


def _model_bounds(s: Session) -> tuple[np.ndarray, np.ndarray]:
    xyz = np.array([a[1:] for r in s.residues for a in r.atoms])
    return xyz.min(0) - 3.0, xyz.max(0) + 3.0


def test_a_flip_whose_o_lies_outside_a_cryo_em_box_is_refused(sample_session):
    """A box's values outside it are wrapped round from its far side: a flip there would be
    refined into them and its status line would quote them."""
    dmap, s = sample_session
    lo, hi = _model_bounds(s)
    assert flip_peptide(s, 30, _box(dmap, lo, hi), refine=False).gain < -1.0  # inside: flipped
    away = _box(dmap, lo + 200.0, hi + 200.0)
    with pytest.raises(DensityBuildError, match="outside the map"):
        flip_peptide(s, 30, away)


def test_a_zone_stops_before_residues_reaching_outside_a_cryo_em_box(sample_session):
    """A zone grows over linked neighbours inside the box only; a residue reaching outside
    it is not refined against wrapped values."""
    dmap, s = sample_session
    lo, hi = _model_bounds(s)
    hi = hi.copy()
    hi[0] = s.residues[30].ca[0]  # the box ends at residue 30's C-alpha along x
    box = _box(dmap, lo, hi)
    out = np.array([(box.depth_inside(np.array([a[1:] for a in r.atoms])) < 0).any()
                    for r in s.residues])  # fmt: skip
    model, _ = s.atom_model()
    # a residue inside whose next linked neighbour reaches outside
    i = next(k for k in range(2, len(out) - 2) if not out[k - 2 : k + 1].any() and out[k + 1]
             and model.linked[k - 1 : k + 2].all())  # fmt: skip
    edit = refine_zone(s, i, box)
    assert edit.changed == [i - 2, i - 1, i]
    assert all(edit.rows[k] is s.residues[k] for k in range(len(out)) if k not in edit.changed)
    with pytest.raises(DensityBuildError, match="reaches outside the map"):
        refine_zone(s, i + 1, box)


def test_a_flip_at_a_residue_without_atoms_says_what_is_missing(sample_session):
    """Without atoms a residue's C-alpha is guessed from its box, which made the peptide look
    like a chain break; the message names the missing backbone atoms instead."""
    dmap, s = sample_session
    rows = list(s.residues)
    rows[30] = replace(rows[30], atoms=())
    with pytest.raises(DensityBuildError, match=r"lacks backbone atoms \(N, CA\)"):
        flip_peptide(_session(s, rows), 30, dmap)
    with pytest.raises(DensityBuildError, match=r"lacks backbone atoms \(CA, C, O\)"):
        flip_peptide(_session(s, rows), 31, dmap)
    rows = list(s.residues[:40]) + [replace(r, chain="C") for r in s.residues[40:]]
    with pytest.raises(DensityBuildError, match="starts a piece of chain"):
        flip_peptide(_session(s, rows), 40, dmap)  # another chain: no peptide


def test_extending_from_a_residue_without_a_calpha_is_refused(sample_session):
    """A residue without its C-alpha atom has only a C-alpha guessed from its box (4.5 A off
    until that guess was mended: a residue was built 10 A from where the chain goes on); the
    step is built from an atom or not at all."""
    dmap, s = sample_session
    rows = list(s.residues[:41])
    rows[40] = replace(rows[40], atoms=tuple(a for a in rows[40].atoms if a[0] != "CA"))
    with pytest.raises(DensityBuildError, match="lacks a C-alpha"):
        extend_chain(_session(s, rows), 40, dmap, refine=False)
    with pytest.raises(DensityBuildError, match="lacks a C-alpha"):
        extend_chain(_session(s, [replace(rows[40], atoms=())]), 0, dmap, refine=False)


def _sequence_of(rows, length: int) -> str:
    """A sequence of ``length`` that the residues ``rows`` follow (X where none is numbered)."""
    seq = ["X"] * length
    for r in rows:
        seq[r.seqid - 1] = ONE_LETTER[r.name]
    return "".join(seq)


def test_a_chain_is_not_extended_past_its_sequence(sample_session):
    """A chain numbered by its sequence ends where the sequence does: no residue numbered past
    its last, or before its first. A sequence the chain no longer follows (Undo, renumbering)
    types nothing and limits nothing."""
    dmap, s = sample_session
    cut = s.residues[:60]
    end = cut[-1].seqid  # 61
    meta = {**s.meta, "chain_sequences": {"B": _sequence_of(cut, end)}}
    with pytest.raises(DensityBuildError, match=f"cannot add residue {end + 1} to chain B: its "
                       f"sequence has residues 1 to {end} only"):  # fmt: skip
        extend_chain(_session(s, cut, meta), 59, dmap, refine=False)
    longer = {**s.meta, "chain_sequences": {"B": _sequence_of(cut, end) + "A"}}
    assert extend_chain(_session(s, cut, longer), 59, dmap, refine=False).rows[60].name == "ALA"
    stale = {**s.meta, "chain_sequences": {"B": "W" * end}}
    added = extend_chain(_session(s, cut, stale), 59, dmap, refine=False)
    assert added.rows[60].type == UNKNOWN and added.rows[60].seqid == end + 1
    start = [replace(r, seqid=r.seqid - 10) for r in s.residues[10:]]  # starts at residue 1
    assert start[0].seqid == 1
    follows = {**s.meta, "chain_sequences": {"B": _sequence_of(start, start[-1].seqid)}}
    with pytest.raises(DensityBuildError, match="cannot add residue 0 to chain B"):
        extend_chain(_session(s, start, follows), 0, dmap, refine=False)
    assert extend_chain(_session(s, start), 0, dmap, refine=False).rows[0].seqid == 0


def test_a_null_chain_sequences_entry_is_no_sequence(sample_session):
    """A session file may hold ``"chain_sequences": null``: the new residue is left to type."""
    dmap, s = sample_session
    meta = {**s.meta, "chain_sequences": None}
    added = extend_chain(_session(s, s.residues[:60], meta), 59, dmap, refine=False)
    assert added.rows[60].type == UNKNOWN and added.rows[60].seqid == 62


def test_a_residue_without_atoms_has_its_calpha_where_its_box_frame_puts_it(sample_session):
    """``ResidueState.ca`` without a CA atom comes from the box: its centre lies 2.4 A from the
    C-alpha along the ideal CB direction (``backbone_frames``), not along the frame's z axis."""
    _, s = sample_session
    guessed = np.array([replace(r, atoms=()).ca for r in s.residues])
    true = np.array([r.ca for r in s.residues])
    assert np.linalg.norm(guessed - true, axis=1).max() < 0.15
