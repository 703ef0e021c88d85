"""Side chains turned over or put in another rotamer by hand (``side_chain_edit``), on the
sample map and its model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.residues import HEAVY_ATOMS
from napari_densitybuild.rotamers import rotamer_library
from napari_densitybuild.session import Session
from napari_densitybuild.side_chain_edit import (
    DISTINCT,
    flip_side_chain,
    hbond_score,
    place_rotamer,
    rotamer_choices,
    side_chain_rmsd,
    turned_hbond_scores,
)
from napari_densitybuild.sideflip import FLIP_PAIRS


def _atoms(row) -> dict[str, np.ndarray]:
    return {a[0]: np.array(a[1:]) for a in row.atoms}


def _first(s: Session, name: str) -> int:
    return next(i for i, r in enumerate(s.residues) if r.name == name)


def _side(row) -> np.ndarray:
    xyz = _atoms(row)
    return np.array([xyz[a] for a in HEAVY_ATOMS[row.name][4:]])


@pytest.mark.parametrize("name", ["ASN", "GLN", "HIS"])
def test_a_flip_swaps_the_ends_and_nothing_else(sample_session, name):
    dmap, s = sample_session
    i = _first(s, name)
    before, after = _atoms(s.residues[i]), _atoms(flip_side_chain(s, i, dmap, refine=False).rows[i])
    pairs = {"ASN": [("OD1", "ND2")], "GLN": [("OE1", "NE2")],
             "HIS": [("ND1", "CD2"), ("CE1", "NE2")]}[name]  # fmt: skip
    swapped = {x for pair in pairs for x in pair}
    for a, b in pairs:
        assert np.allclose(after[a], before[b]) and np.allclose(after[b], before[a])
    assert all(np.allclose(after[k], before[k]) for k in before if k not in swapped)


def test_a_refined_flip_moves_only_its_residue_and_marks_it(sample_session):
    dmap, s = sample_session
    i = _first(s, "GLN")
    edit = flip_side_chain(s, i, dmap)
    assert edit.rows[i].edited and edit.rank is None and edit.index == i
    assert all(edit.rows[k] is s.residues[k] for k in range(len(s.residues)) if k != i)
    assert edit.text.startswith(f"{s.residues[i].label} turned over (OE1/NE2 swapped): H-bond")
    # turned back, it is where it was: the sample model's naming is the map's own
    back = flip_side_chain(Session(edit.rows, None, s.meta, autosave=False), i, dmap)
    gap = np.abs(_side(back.rows[i]) - _side(s.residues[i])).max()
    assert gap < 0.3


def test_the_hbond_score_counts_impossible_pairs_against(sample_session):
    """An amide N turned to face a backbone N (two donors) scores lower than facing an O."""
    dmap, s = sample_session
    scores = []
    for i, r in enumerate(s.residues):
        if r.name in ("ASN", "GLN"):
            turned = flip_side_chain(s, i, dmap, refine=False)
            scores.append((hbond_score(s, i), hbond_score(Session(turned.rows, None, s.meta,
                                                                  autosave=False), i)))  # fmt: skip
    # in the deposited model most amides are named so their H-bonds fit at least as well
    kept = sum(a >= b for a, b in scores)
    assert kept >= 0.7 * len(scores) and any(a > b for a, b in scores)


def test_the_turned_scores_are_those_of_the_flip(sample_session):
    dmap, s = sample_session
    for i, row in enumerate(s.residues):
        got = turned_hbond_scores(s, i)
        if row.name not in ("ASN", "GLN", "HIS"):
            assert got is None
            continue
        turned = Session(flip_side_chain(s, i, dmap, refine=False).rows, None, s.meta,
                         autosave=False)  # fmt: skip
        assert got == (hbond_score(s, i), hbond_score(turned, i))


def test_flips_that_cannot_be_made_are_refused(sample_session):
    dmap, s = sample_session
    with pytest.raises(DensityBuildError, match="its two ends are alike"):
        flip_side_chain(s, _first(s, "ASP"), dmap)
    with pytest.raises(DensityBuildError, match="only ASN, GLN and HIS"):
        flip_side_chain(s, _first(s, "LYS"), dmap)
    with pytest.raises(DensityBuildError, match="select a residue"):
        flip_side_chain(s, len(s.residues), dmap)
    i = _first(s, "ASN")
    row = s.residues[i]
    bare = list(s.residues)
    bare[i] = replace(row, atoms=tuple(a for a in row.atoms if a[0] in ("N", "CA", "C", "O")))
    with pytest.raises(DensityBuildError, match="lacks OD1, ND2: predict poses first"):
        flip_side_chain(Session(bare, None, s.meta, autosave=False), i, dmap)


def test_side_chains_put_out_of_density_come_back_as_the_first_rotamer(sample_session):
    """The sample's side chains sit in their own map: each moved to its worst distinct rotamer,
    the first rotamer offered puts it back (within 0.6 A once refined; an ASN or GLN amide
    either way round, which the map does not tell and "Flip side chain" settles) wherever the
    side chain is in density (2 sigma or more), and nearly everywhere else."""
    dmap, s = sample_session
    lib = rotamer_library()
    back_in_place, weak = [], []
    for i, row in enumerate(s.residues):
        if row.name not in lib:
            continue
        present = _side(row)
        positions, score, _ = rotamer_choices(s, i, dmap)
        assert len(positions) >= 2 and np.all(np.diff(score) <= 0)
        worst = place_rotamer(s, i, dmap, rank=len(positions) - 1, refine=False)
        assert worst.rank == len(positions) - 1 and worst.gain < 0
        back = place_rotamer(Session(worst.rows, None, s.meta, autosave=False), i, dmap, rank=0)
        assert back.rank == 0 and back.gain > 0.5
        assert back.text.startswith(f"{row.label}: rotamer 1 of ")
        got = _side(back.rows[i])
        err = min(side_chain_rmsd(row.name, got, present),
                  side_chain_rmsd(row.name, got, _amide_turned(row.name, present)))  # fmt: skip
        in_density = dmap.sample_points(present[1:] if len(present) > 1 else present).mean() >= 2
        (back_in_place if in_density else weak).append(err < 0.6)
    assert len(back_in_place) >= 40 and all(back_in_place)
    assert np.mean(back_in_place + weak) >= 0.95


def _amide_turned(name: str, side: np.ndarray) -> np.ndarray:
    out = side.copy()
    names = HEAVY_ATOMS[name][4:]
    for a, b in FLIP_PAIRS.get(name, ()):
        i, j = names.index(a), names.index(b)
        out[[i, j]] = side[[j, i]]
    return out


def test_rotamers_offered_differ_and_the_ranks_wrap(sample_session):
    dmap, s = sample_session
    i = _first(s, "LYS")
    positions, _, lib_index = rotamer_choices(s, i, dmap)
    present = _side(s.residues[i])
    for k, p in enumerate(positions):
        assert side_chain_rmsd("LYS", p, present) >= DISTINCT
        for q in positions[:k]:
            assert side_chain_rmsd("LYS", p, q) >= DISTINCT
    assert len(set(lib_index.tolist())) == len(lib_index)
    first = place_rotamer(s, i, dmap, rank=0, refine=False)
    again = place_rotamer(s, i, dmap, rank=len(positions), refine=False)
    assert again.rank == 0 and np.allclose(_side(again.rows[i]), _side(first.rows[i]))


def test_the_side_chain_rmsd_takes_the_better_naming():
    ring = np.array([[0.0, 0, 0], [1, 0, 0], [2, 1, 0], [2, -1, 0], [3, 1, 0], [3, -1, 0],
                     [4, 0, 0]])  # CB CG CD1 CD2 CE1 CE2 CZ  # fmt: skip
    turned = ring[[0, 1, 3, 2, 5, 4, 6]]
    assert side_chain_rmsd("PHE", ring, turned) == 0.0
    assert side_chain_rmsd("ASN", ring[:4], turned[:4]) > 1.0  # an amide's ends differ


def test_residues_without_rotamers_are_refused(sample_session):
    dmap, s = sample_session
    for name in ("GLY", "ALA", "PRO"):
        if any(r.name == name for r in s.residues):
            with pytest.raises(DensityBuildError, match="has no rotamers to choose from"):
                place_rotamer(s, _first(s, name), dmap)
