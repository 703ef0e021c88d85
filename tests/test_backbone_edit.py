"""Peptides flipped and stretches of chain refined by hand (``backbone_edit``), on the sample
map and its model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from napari_densitybuild.backbone_edit import flip_peptide, refine_all, refine_zone
from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.geometry import rotate_about
from napari_densitybuild.review import peptide_flags
from napari_densitybuild.session import Session
from napari_densitybuild.settings import ZONE_BESIDE


def _atoms(row) -> dict[str, np.ndarray]:
    return {a[0]: np.array(a[1:]) for a in row.atoms}


def _session(s: Session, rows) -> Session:
    return Session(rows, None, s.meta, autosave=False)


def test_a_flip_turns_the_peptide_unit_about_its_calpha_axis(sample_session):
    dmap, s = sample_session
    i = 30
    edit = flip_peptide(s, i, dmap, refine=False)
    prev, cur = _atoms(s.residues[i - 1]), _atoms(s.residues[i])
    new_prev, new_cur = _atoms(edit.rows[i - 1]), _atoms(edit.rows[i])
    moved = {(i - 1, "C"), (i - 1, "O"), (i, "N")}
    for r, old, new in ((i - 1, prev, new_prev), (i, cur, new_cur)):
        for name in old:
            same = np.allclose(old[name], new[name])
            assert same != ((r, name) in moved), (r, name)
    # a turn about CA(i-1)-CA(i) keeps every distance to the two C-alphas
    for a, b in (("C", "CA"), ("O", "CA")):
        assert np.isclose(np.linalg.norm(new_prev[a] - prev[b]), np.linalg.norm(prev[a] - prev[b]))
        assert np.isclose(np.linalg.norm(new_prev[a] - cur[b]), np.linalg.norm(prev[a] - cur[b]))
    assert np.linalg.norm(new_prev["O"] - prev["O"]) > 3.0  # O goes to the other side
    assert edit.rows[i - 1].edited and edit.rows[i].edited
    assert edit.text.startswith(f"Peptide {s.residues[i - 1].label} - {s.residues[i].label} "
                                "flipped: map at its O ")  # fmt: skip
    assert edit.gain < -1.0  # the sample's O is in its density: flipped, it leaves it


def test_every_peptide_flipped_wrong_comes_back_with_one_flip(sample_session):
    """Each trans peptide of the sample turned over (as a wrong build would have it) is put
    back by one refined flip: O within 0.5 A of where the model has it."""
    dmap, s = sample_session
    model, _ = s.atom_model()
    errors = []
    for i in range(1, len(s.residues)):
        if not model.linked[i]:
            continue
        wrong = flip_peptide(s, i, dmap, refine=False)
        back = flip_peptide(_session(s, wrong.rows), i, dmap)
        assert back.gain > 1.0
        o, o_model = _atoms(back.rows[i - 1])["O"], _atoms(s.residues[i - 1])["O"]
        errors.append(np.linalg.norm(o - o_model))
        # only the residues refined with it moved
        outside = [k for k in range(len(s.residues)) if k not in back.changed]
        assert all(back.rows[k] is wrong.rows[k] for k in outside)
    errors = np.array(errors)
    assert len(errors) >= 60
    assert (errors < 0.5).mean() >= 0.95 and np.median(errors) < 0.2


def test_flips_are_refused_where_there_is_no_trans_peptide(sample_session):
    dmap, s = sample_session
    with pytest.raises(DensityBuildError, match="starts a piece of chain"):
        flip_peptide(s, 0, dmap)
    rows = list(s.residues)
    rows[10] = replace(rows[10], atoms=tuple(a for a in rows[10].atoms if a[0] != "O"))
    with pytest.raises(DensityBuildError, match=r"lacks backbone atoms \(O\)"):
        flip_peptide(_session(s, rows), 11, dmap)
    with pytest.raises(DensityBuildError, match="select a residue"):
        flip_peptide(s, len(s.residues), dmap)
    # a cis peptide: the residue after it moved so that the C-alphas are 2.9 A apart
    rows = list(s.residues)
    ca9, ca10 = rows[9].ca, rows[10].ca
    shift = (ca9 + 2.9 * (ca10 - ca9) / np.linalg.norm(ca10 - ca9)) - ca10
    rows[10] = replace(rows[10], atoms=tuple((a[0], *(np.array(a[1:]) + shift))
                                             for a in rows[10].atoms))  # fmt: skip
    with pytest.raises(DensityBuildError, match="is cis: Cis/trans peptide"):
        flip_peptide(_session(s, rows), 10, dmap)


def _noisy(s: Session, residues: range, sd: float, seed: int = 0) -> list:
    """The rows with the atoms of ``residues`` but their C-alphas (which keep the chain
    linked) moved at random."""
    rng = np.random.default_rng(seed)
    rows = list(s.residues)
    for r in residues:
        rows[r] = replace(rows[r], atoms=tuple(
            (a[0], *(np.array(a[1:]) + (0.0 if a[0] == "CA" else rng.normal(0, sd, 3))))
            for a in rows[r].atoms))  # fmt: skip
    return rows


def _rmsd(rows, ref, residues) -> float:
    d = [np.array([a[1:] for a in rows[r].atoms]) - np.array([a[1:] for a in ref[r].atoms])
         for r in residues]  # fmt: skip
    return float(np.sqrt((np.concatenate(d) ** 2).sum(1).mean()))


def test_a_zone_refined_comes_back_towards_the_model_and_nothing_else_moves(sample_session):
    dmap, s = sample_session
    i = 40
    zone = range(i - ZONE_BESIDE, i + ZONE_BESIDE + 1)
    rows = _noisy(s, zone, 0.35)
    edit = refine_zone(_session(s, rows), i, dmap)
    assert edit.changed == list(zone)
    before, after = _rmsd(rows, s.residues, zone), _rmsd(edit.rows, s.residues, zone)
    assert before > 0.45 and after < 0.5 * before
    assert all(edit.rows[k] is rows[k] for k in range(len(rows)) if k not in zone)
    assert not any(edit.rows[k].edited for k in zone)  # refined, not reviewed
    assert edit.gain > 0.2
    assert edit.text.startswith(f"Refined {s.residues[i - 2].label} - {s.residues[i + 2].label} "
                                "(5 residues): mean map at their atoms ")  # fmt: skip


def test_a_zone_stops_at_a_chain_break_and_mends_a_twisted_peptide(sample_session):
    dmap, s = sample_session
    rows = list(s.residues)
    del rows[30]  # residues 29 and 30 (the old 31) are no longer linked
    edit = refine_zone(_session(s, rows), 29, dmap)
    assert edit.changed == [27, 28, 29]
    edit = refine_zone(_session(s, rows), 30, dmap)
    assert edit.changed == [30, 31, 32]
    # the residue after peptide 20-21 turned 90 degrees about its C-N bond: twisted
    rows = list(s.residues)
    c, n = _atoms(rows[20])["C"], _atoms(rows[21])["N"]
    turned = [(a[0], *(a[1:] if a[0] == "N" else rotate_about(np.array(a[1:])[None], c, n - c,
                                                              90.0)[0]))
              for a in rows[21].atoms]  # fmt: skip
    rows[21] = replace(rows[21], atoms=tuple(turned))
    assert peptide_flags(_session(s, rows))[21] == "twisted"
    edit = refine_zone(_session(s, rows), 21, dmap)
    assert peptide_flags(_session(s, edit.rows))[21] == ""
    assert edit.gain > 0.2  # a local minimum: nearer the model, not all the way back
    assert _rmsd(edit.rows, s.residues, [21]) < 0.75 * _rmsd(rows, s.residues, [21])


def test_refine_all_mends_a_shaken_model_and_leaves_a_right_one_nearly_alone(sample_session):
    dmap, s = sample_session
    kept = refine_all(s, dmap)
    assert kept.changed == list(range(70))
    assert _rmsd(kept.rows, s.residues, range(70)) < 0.2  # geometry made ideal: a little
    assert kept.text.startswith("Refined all 70 residues: mean map at their atoms ")
    rows = _noisy(s, range(70), 0.3)
    edit = refine_all(_session(s, rows), dmap)
    before, after = _rmsd(rows, s.residues, range(70)), _rmsd(edit.rows, s.residues, range(70))
    assert before > 0.4 and after < 0.4 * before and edit.gain > 0.3
    rmsz = [float(x) for x in edit.text.split("bond RMSZ ")[1].split(" (")[0].split(" -> ")]
    assert rmsz[0] > 5 and rmsz[1] < 1
    assert not any(r.edited for r in edit.rows)  # refined, not reviewed


def test_refine_all_holds_what_reaches_outside_a_cryo_em_box(sample_session):
    dmap, s = sample_session
    xyz = np.array([a[1:] for r in s.residues for a in r.atoms])
    hi = xyz.max(0) + 3.0
    hi[0] = np.median(xyz[:, 0])
    box = replace(dmap, data_min=xyz.min(0) - 3.0, data_max=hi, covers_cell=False, kind="em")
    edit = refine_all(s, box)
    held = [k for k in range(70) if k not in edit.changed]
    assert 10 < len(held) < 60 and f", {len(held)} reaching outside the map held:" in edit.text
    assert all(edit.rows[k] is s.residues[k] for k in held)
    trace = [replace(r, atoms=tuple(a for a in r.atoms if a[0] == "CA")) for r in s.residues]
    with pytest.raises(DensityBuildError, match="no residue with N, CA and C inside the map"):
        refine_all(_session(s, trace), dmap)
