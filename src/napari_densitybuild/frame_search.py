"""Frames searched again where a sequence gives a residue a type the classifier doubts.

With a sequence, every aligned residue takes the sequence's type. Where the classifier found
that type unlikely, the box was often cut in a wrong frame: the C-alpha within 1 A of the true
one, but N and C (and so the C-beta direction) 1-2 A off, which is also why the classifier
misread it; the sequence's side chain, posed in that frame, then points where the map has
nothing. On builds of 12 real maps with their sequences, 24 such residues (0.8 %) held 38 % of
the squared all-atom error (docs/build.md). The net was trained on right frames, so its
probability of the true type is a test of a frame: :func:`search_frames` turns the residue's N
and C about its C-alpha through a fixed set of rotations and keeps the frame in which the
sequence's type is most probable; :func:`refit_doubted` poses the atoms in that frame where it
is clearly better and refines them into the model. Only frames whose N and C can make peptides
with the neighbours' C-alphas are tried (where the classifier trusts the neighbour's own type:
a doubted neighbour may be misplaced itself), and short side chains are not searched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial.transform import Rotation

from .build_result import backbone_of
from .joins import chain_neighbours
from .pose import frame_to_world
from .refine import refine_residues
from .residues import AMINO_ACIDS, HEAVY_ATOMS

if TYPE_CHECKING:
    from .classify import Classifier
    from .maps import DensityMap
    from .refine import AtomModel

#: Turns (degrees) of N and C about the C-alpha, about each of :data:`AXES`.
ANGLES = (-90, -60, -30, 30, 60, 90, 180)
#: Axes of the turns (frame-independent: world x, y, z, face and body diagonals).
AXES = ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, -1, 0), (1, 0, 1), (1, 0, -1),
        (0, 1, 1), (0, 1, -1), (1, 1, 1), (1, 1, -1), (1, -1, 1), (-1, 1, 1))  # fmt: skip
#: A residue is searched when the classifier's probability of its sequence type is under this.
DOUBT = 0.1
#: A searched frame is taken when it raises that probability by more than this.
GAIN = 0.3
#: C-alpha to the next residue's N, and C to the next C-alpha, across a peptide (A; cis or
#: trans alike: CA-C-N 116 degrees, C-N-CA 122 degrees).
PEPTIDE_REACH = 2.43
#: How far a candidate frame's N or C may lie from that reach of the neighbours' C-alphas.
REACH_TOLERANCE = 0.5
#: A neighbour constrains the frames only where the classifier gives its type at least this
#: probability (a doubted neighbour may itself be misplaced; it is refined along).
TRUSTED = 0.5
#: Types not searched: too few side-chain atoms beyond the C-beta for the classifier's
#: probability to tell frames apart, and little all-atom error to mend.
NOT_SEARCHED = ("GLY", "ALA", "SER", "CYS", "THR", "VAL", "PRO")


def candidate_rotations() -> np.ndarray:
    """(K, 3, 3) rotations tried, the identity first."""
    turns = [
        Rotation.from_rotvec(np.radians(a) * np.asarray(ax) / np.linalg.norm(ax)).as_matrix()
        for ax in AXES
        for a in ANGLES
    ]
    return np.concatenate([np.eye(3)[None], np.array(turns)])


def search_frames(
    dmap: DensityMap,
    classifier: Classifier,
    n: np.ndarray,
    ca: np.ndarray,
    c: np.ndarray,
    types: np.ndarray,
    prev_ca: np.ndarray | None = None,
    next_ca: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each residue (rows of ``n``, ``ca``, ``c``), the candidate frame in which
    ``classifier`` finds ``types`` most probable.

    ``prev_ca`` and ``next_ca`` (R, 3; NaN rows where a residue has no such neighbour) are the
    C-alphas of the residues before and after in the chain: only frames whose N and C can make
    peptides with them (:func:`peptide_feasible`) are candidates, besides the frame as given.

    Returns
    -------
    tuple
        (R, 3) centres and (R, 3, 3) rotations of the best frames, and the (R,) probabilities
        of the type in the best frame and in the frame as given.
    """
    rots = candidate_rotations()
    k = len(rots)
    r = len(ca)
    turned_n = ca[:, None] + np.einsum("kij,rj->rki", rots, n - ca)
    turned_c = ca[:, None] + np.einsum("kij,rj->rki", rots, c - ca)
    ok = np.ones((r, k), dtype=bool)
    for near, ends in ((prev_ca, turned_n), (next_ca, turned_c)):
        if near is not None:
            ok &= peptide_feasible(ends, near)
    ok[:, 0] = True
    centres, rotations = classifier.frames(turned_n[ok], np.repeat(ca, ok.sum(1), axis=0),
                                           turned_c[ok])  # fmt: skip
    probs = classifier.classify_frames(dmap, centres, rotations)
    p = np.full((r, k), -np.inf)
    p[ok] = probs[np.arange(len(probs)), np.repeat(types, ok.sum(1))]
    best = p.argmax(1)
    pick = np.cumsum(ok, axis=None).reshape(r, k)[np.arange(r), best] - 1
    return centres[pick], rotations[pick], p[np.arange(r), best], p[:, 0]


def peptide_feasible(ends: np.ndarray, near_ca: np.ndarray) -> np.ndarray:
    """(R, K) True where candidate N (or C) atoms ``ends`` (R, K, 3) lie within
    :data:`REACH_TOLERANCE` of :data:`PEPTIDE_REACH` from the neighbour's C-alpha ``near_ca``
    (R, 3), or where there is no neighbour (a NaN row)."""
    d = np.linalg.norm(ends - near_ca[:, None], axis=-1)
    return ~np.isfinite(d) | (np.abs(d - PEPTIDE_REACH) <= REACH_TOLERANCE)


def refit_doubted(
    model: AtomModel,
    dmap: DensityMap,
    classifier: Classifier,
    types: np.ndarray,
    probs: np.ndarray,
    from_sequence: np.ndarray,
    fragment: np.ndarray,
    hold_ca: bool = False,
) -> int:
    """Search frames for residues typed by a sequence whose type the classifier doubts
    (probability under :data:`DOUBT`; types in :data:`NOT_SEARCHED` left as they are), among
    frames whose N and C can make peptides with the chain neighbours' C-alphas; pose the atoms
    of those where a frame raises that probability by more than :data:`GAIN` in that frame
    (atom head, else pose head), and refine them and their chain neighbours against ``dmap``
    with the rest of the model held (``hold_ca``: their C-alphas too, the posed residue's where
    its pose puts it).
    Changes ``model.xyz``; returns how many residues took a new frame.
    """
    p_type = probs[np.arange(len(types)), types]
    searched = ~np.isin(types, [AMINO_ACIDS.index(t) for t in NOT_SEARCHED])
    idx = np.flatnonzero(from_sequence & searched & (p_type < DOUBT))
    if not len(idx):
        return 0
    n, ca, c = backbone_of(model)
    prev_ca, next_ca = (_neighbour_ca(ca, fragment, idx, step, p_type >= TRUSTED)
                        for step in (-1, 1))  # fmt: skip
    centres, rotations, p_best, p_given = search_frames(dmap, classifier, n[idx], ca[idx], c[idx],
                                                        types[idx], prev_ca, next_ca)  # fmt: skip
    take = p_best - p_given > GAIN
    if not take.any():
        return 0
    idx, centres, rotations = idx[take], centres[take], rotations[take]
    world = frame_to_world(classifier.model_atoms(dmap, centres, rotations), centres, rotations)
    for j, i in enumerate(idx):
        atoms = np.flatnonzero(model.residue == i)
        names = HEAVY_ATOMS[AMINO_ACIDS[types[i]]]
        model.xyz[atoms] = world[j, types[i], [names.index(a) for a in model.atom[atoms]]]
    model.xyz = refine_residues(model, dmap, chain_neighbours(idx, fragment),
                                held=("CA",) if hold_ca else (), peptide_flips=False,
                                side_chain_flips=False)  # fmt: skip
    return len(idx)


def _neighbour_ca(
    ca: np.ndarray, fragment: np.ndarray, idx: np.ndarray, step: int, trusted: np.ndarray
) -> np.ndarray:
    """C-alphas of the residues ``step`` along the chain from ``idx`` (NaN where there is none
    or it is not ``trusted``)."""
    j = idx + step
    has = (j >= 0) & (j < len(ca))
    has[has] &= (fragment[j[has]] == fragment[idx[has]]) & trusted[j[has]]
    out = np.full((len(idx), 3), np.nan)
    out[has] = ca[j[has]]
    return out
