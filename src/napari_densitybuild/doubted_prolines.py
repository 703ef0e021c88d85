"""Trans links into residues typed otherwise that may be prolines, tried as cis prolines.

Without a sequence, about half the deposited cis prolines of the real rule maps were built as
trans links into a serine, threonine or glycine (docs/build/peptides.md, "Cis prolines rebuilt after
the build"): the trans-built frame puts N and the ring where a proline's are not, and the box cut
in it looks like a small residue. :mod:`.cis_peptides` tries only residues typed PRO. Here, in
builds without a sequence, each trans link into a residue typed otherwise whose proline
probability is at least :data:`PRO_FLOOR` is tried once more with that residue made a proline
(ring from the pose head's proline for its box, moved onto its backbone) and the peptide
rebuilt cis (:func:`~.cis_peptides.peptide_candidate`), refined locally as
:mod:`.cis_peptides` does; the residue keeps its proline type and the cis peptide where the
mean map over the two residues' atoms is higher than as built (its own type, trans, refined
the same way) by over :data:`RETYPE_MARGIN` sigma. Links at a fragment's ends are not tried:
on the rule maps the only residues wrongly made prolines were a fragment's second residue,
which only the link held (docs/build/peptides.md, "Cis prolines among residues typed otherwise").
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .boxes import backbone_frames
from .build_result import atom_bounds
from .cis_peptides import LOCAL_REFINE, link_groups, pair_mean, peptide_candidate
from .pepflip import peptide_units
from .pose import frame_to_world, world_to_frame
from .refine import AtomModel
from .residues import AMINO_ACIDS, HEAVY_ATOMS

if TYPE_CHECKING:
    from .build_result import BuildResult
    from .maps import DensityMap

#: Class index of proline.
PRO = AMINO_ACIDS.index("PRO")
#: Least classifier probability of proline for a residue typed otherwise to be tried.
PRO_FLOOR = 0.01
#: Mean map gain (sigma) over the two residues' atoms for the proline and cis peptide to be kept.
RETYPE_MARGIN = 0.2


def doubted_links(result: BuildResult) -> list[tuple[int, dict[str, int], dict[str, int]]]:
    """(residue, atoms of the residue before, its atoms) of every trans link into a residue not
    typed proline whose proline probability is at least :data:`PRO_FLOOR` and whose proline
    pose is complete, inside a fragment (neither residue a fragment end: an end residue is held
    by no neighbour outside the link, so the map's verdict on the peptide says less there)."""
    model, out = result.model, []
    n = len(model.resname)
    for unit in peptide_units(model):
        r = int(model.residue[unit[4]])
        inside = r >= 2 and model.linked[r - 1] and r + 1 < n and model.linked[r + 1]
        posed = np.isfinite(result.poses[r, PRO, : len(HEAVY_ATOMS["PRO"])]).all()
        if inside and posed and model.resname[r] != "PRO" and result.probs[r, PRO] >= PRO_FLOOR:
            prev, atoms = model.residue_atoms(r - 1), model.residue_atoms(r)
            if "N" in prev and all(a in atoms for a in ("C", "O")):
                out.append((r, prev, atoms))
    return out


def as_proline(model: AtomModel, r: int, pose: np.ndarray) -> AtomModel:
    """``model`` with residue ``r`` a proline: its N, CA, C and O kept, CB, CG and CD from
    ``pose`` ((14, 3) proline atoms in :data:`~.residues.HEAVY_ATOMS` order, world), moved
    rigidly from the pose's backbone frame onto the residue's."""
    atoms = model.residue_atoms(r)
    names = HEAVY_ATOMS["PRO"]
    here = backbone_frames(*(model.xyz[atoms[a]] for a in ("N", "CA", "C")))
    there = backbone_frames(pose[0], pose[1], pose[2])
    ring = frame_to_world(world_to_frame(pose[4:7][None], *there), *here)[0]
    xyz = np.concatenate([model.xyz[[atoms[a] for a in names[:4]]], ring])
    lo, hi = (b[r] for b in atom_bounds(model))
    n = len(names)
    return AtomModel(
        np.concatenate([model.xyz[:lo], xyz, model.xyz[hi:]]),
        np.concatenate([model.atom[:lo], np.array(names, dtype=object), model.atom[hi:]]),
        np.concatenate(
            [model.element[:lo], np.array([a[0] for a in names], dtype=object), model.element[hi:]]
        ),
        np.concatenate([model.residue[:lo], np.full(n, r), model.residue[hi:]]),
        np.where(np.arange(len(model.resname)) == r, "PRO", model.resname).astype(object),
        model.linked,
    )


def check_doubted_prolines(
    result: BuildResult, dmap: DensityMap, margin: float = RETYPE_MARGIN
) -> tuple[AtomModel, list[int], list[float]]:
    """The model of ``result`` with the doubted links (:func:`doubted_links`) that fit the map
    better as cis prolines made so; the residues made prolines; the gain of every link tried.

    As :func:`~.cis_peptides.check_cis_prolines`: links whose windows touch form a group and
    are tried one at a time, the j-th link of every group in one refinement, and a group keeps
    at most its best link. Residues outside the kept links' windows keep their coordinates.
    """
    from .refine import refine_residues

    model = result.model
    links = doubted_links(result)
    if not links:
        return model, [], []
    windows, groups, _, as_built = link_groups(model, links, dmap)
    gains, trials = [0.0] * len(links), {}
    for j in range(max(len(g) for g in groups)):
        tried = [g[j] for g in groups if len(g) > j]
        trial_model = model
        for k in tried:  # residue counts stay, so the later residues' indices hold
            trial_model = as_proline(trial_model, links[k][0], result.poses[links[k][0], PRO])
        xyz = trial_model.xyz
        for k in tried:
            r = links[k][0]
            xyz = peptide_candidate(xyz, trial_model, trial_model.residue_atoms(r - 1),
                                    trial_model.residue_atoms(r), dmap)  # fmt: skip
        trial_model = replace(trial_model, xyz=xyz)
        free = np.concatenate([windows[k] for k in tried])
        trial_model.xyz = refine_residues(trial_model, dmap, free, **LOCAL_REFINE)
        for k in tried:
            r = links[k][0]
            gains[k] = pair_mean(trial_model, trial_model.xyz, dmap, r) - pair_mean(
                model, as_built, dmap, r
            )
            trials[k] = trial_model
    kept = {}
    for g in groups:
        best = max(g, key=lambda k: gains[k])
        if gains[best] > margin:
            kept[best] = windows[best]
    if not kept:
        return model, [], gains
    # the kept residues made prolines as in their trials (windows of one round never share a
    # residue, so each window's atoms line up with its trial's), then each window's coordinates
    out = model
    for k in kept:
        out = as_proline(out, links[k][0], result.poses[links[k][0], PRO])
    for k, window in kept.items():
        out.xyz[np.isin(out.residue, window)] = trials[k].xyz[np.isin(trials[k].residue, window)]
    return out, [links[k][0] for k in kept], gains


def rebuild_doubted_prolines(
    result: BuildResult, dmap: DensityMap, margin: float = RETYPE_MARGIN
) -> list[int]:
    """Make cis prolines of the doubted links of a finished build without a sequence that fit
    ``dmap`` better so (:func:`check_doubted_prolines`): changes ``result.model``,
    ``result.types`` and ``result.confidence`` (the proline's probability) in place. Returns
    the residues (indices) made prolines."""
    model, kept, _ = check_doubted_prolines(result, dmap, margin)
    result.model = model
    for r in kept:
        result.types[r] = PRO
        result.confidence[r] = round(
            100.0 * float(result.trace.score[r]) * float(result.probs[r, PRO]), 2
        )
    return kept
