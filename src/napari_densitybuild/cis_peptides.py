"""Cis peptides before prolines that a build made trans, tried again cis against the map.

About 5 % of the peptides before a proline are cis (C-alphas 2.97 A apart instead of 3.8 A).
The trace steps between C-alphas about 0.4 A off, so most cis links come out at trans length,
refinement keeps them trans, and the proline's N ends 1.2-1.8 A from where the map has it (on
the 13 real rule maps, builds with the sequence made 3 of the 11 deposited cis prolines whose
residues they linked cis; docs/build/peptides.md, "Cis prolines rebuilt after the build").

For each trans link into a proline, :func:`peptide_candidate` rebuilds the peptide unit as a
cis one: the two C-alphas moved along their axis to the cis distance, the unit (C, O, N from
the ideal planar cis peptide, :func:`peptide_unit`) turned about that axis to where the map is
highest at C, O and N, and each residue moved rigidly with its C-alpha and its bond into the
unit. Both versions are refined locally (the two residues and one on either side free, the
rest held; refinement restrains a link this short before a proline as a cis peptide), and the
cis one is kept where the map over the two residues' atoms is higher on average by ``margin``
sigma (:func:`check_cis_prolines`; prolines next to each other are tried one at a time).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .boxes import backbone_frames
from .geometry import cis_peptide_pairs, peptide_pairs, rotate_about
from .pepflip import peptide_units
from .trace import CA_C, N_CA

if TYPE_CHECKING:
    from .build_result import BuildResult
    from .maps import DensityMap
    from .refine import AtomModel

#: The C=O bond (A; ``geometry.json``); N-CA and CA-C are the trace's.
C_O = 1.231
#: Turns (degrees) of a unit about its C-alpha axis tried.
UNIT_TURNS = np.arange(0.0, 360.0, 15.0)
#: Mean map gain (sigma) over the two residues' atoms for a cis peptide to be kept.
CIS_PRO_MARGIN = 0.0
#: Residues refined on either side of the link (both versions alike).
FREE_BESIDE = 1
#: The local refinements: no discrete moves, so the two versions differ by the peptide alone.
LOCAL_REFINE = dict(
    peptide_flips=False, side_chain_flips=False, rotamer_fit=False, start_turns=False
)


def _circle_point(p: np.ndarray, dp: float, q: np.ndarray, dq: float, up: bool) -> np.ndarray:
    """The point of the xy plane ``dp`` from ``p`` and ``dq`` from ``q``, on the +y side of the
    line p -> q where ``up`` (its left when looking along p -> q)."""
    d = float(np.linalg.norm(q - p))
    x = (d * d + dp * dp - dq * dq) / (2 * d)
    h = np.sqrt(max(dp * dp - x * x, 0.0))
    u = (q - p) / d
    w = np.array([-u[1], u[0]])
    return p + x * u + (h if up else -h) * w


@lru_cache(maxsize=2)
def peptide_unit(cis: bool = True) -> np.ndarray:
    """(5, 3) ideal peptide CA(i), C(i), O(i), N(i+1), CA(i+1) in the xy plane: CA(i) at the
    origin, CA(i+1) on +x, C on +y, N on +y for a cis peptide and -y for a trans one (distances
    from ``geometry.json``'s peptides of each kind: a cis peptide's bond angles open)."""
    pairs = cis_peptide_pairs() if cis else peptide_pairs()
    d = {(a, b): v for a, b, v, _ in pairs}
    ca1, ca2 = np.zeros(2), np.array([d["CA", "CA"], 0.0])
    n = _circle_point(ca1, d["CA", "N"], ca2, N_CA, up=cis)
    c = _circle_point(ca1, CA_C, ca2, d["C", "CA"], up=True)
    # O bonded to C and d(O, N) from N, of the two such places the one d(O, CA) from CA(i+1)
    o = min((_circle_point(c, C_O, n, d["O", "N"], up) for up in (True, False)),
            key=lambda p: abs(float(np.linalg.norm(p - ca2)) - d["O", "CA"]))  # fmt: skip
    return np.column_stack([np.stack([ca1, c, o, n, ca2]), np.zeros(5)])


def proline_links(model: AtomModel) -> list[tuple[int, dict[str, int], dict[str, int]]]:
    """(residue, atoms of the residue before, its atoms) of every trans link into a proline
    (:func:`~.pepflip.peptide_units`) whose two residues also have N and C."""
    out = []
    for unit in peptide_units(model):
        r = int(model.residue[unit[4]])
        if model.resname[r] == "PRO":
            prev, atoms = model.residue_atoms(r - 1), model.residue_atoms(r)
            if "N" in prev and "C" in atoms:
                out.append((r, prev, atoms))
    return out


def pair_mean(model: AtomModel, xyz: np.ndarray, dmap: DensityMap, r: int) -> float:
    """Mean map value (sigma) over the atoms of residues ``r - 1`` and ``r`` of ``model`` at
    ``xyz`` (coordinates of its atoms)."""
    return float(dmap.sample_points(xyz[np.isin(model.residue, [r - 1, r])]).mean())


def pair_gain(
    model: AtomModel, dmap: DensityMap, new: np.ndarray, old: np.ndarray, r: int
) -> float:
    """:func:`pair_mean` at ``new`` less the same at ``old``."""
    return pair_mean(model, new, dmap, r) - pair_mean(model, old, dmap, r)


def peptide_candidate(
    xyz: np.ndarray,
    model: AtomModel,
    prev: dict[str, int],
    atoms: dict[str, int],
    dmap: DensityMap,
    cis: bool = True,
) -> np.ndarray:
    """``xyz`` with the peptide from residue ``prev`` to ``atoms`` rebuilt cis (or trans; see
    the module).

    The C-alphas move apart or together along their axis by the same amount, each to half the
    difference from the unit's distance; the unit's turn is the one of :data:`UNIT_TURNS` with
    the highest summed map value at C, O and N.
    """
    out = xyz.copy()
    unit = peptide_unit(cis)
    a, b = xyz[prev["CA"]], xyz[atoms["CA"]]
    axis = (b - a) / np.linalg.norm(b - a)
    mid, half = (a + b) / 2, unit[4, 0] / 2
    a2, b2 = mid - half * axis, mid + half * axis
    # a frame with x along the axis and y towards the present C: turn 0 keeps C's side
    side = xyz[prev["C"]] - a - ((xyz[prev["C"]] - a) @ axis) * axis
    y = side / max(np.linalg.norm(side), 1e-9)
    frame = np.stack([axis, y, np.cross(axis, y)])
    placed = a2 + unit @ frame  # (5, 3): CA, C, O, N, CA
    turned = rotate_about(placed[1:4], a2, axis, UNIT_TURNS)  # (T, 3, 3)
    score = dmap.sample_points(turned.reshape(-1, 3)).reshape(len(UNIT_TURNS), 3).sum(1)
    c, o, n = turned[int(np.argmax(score))]
    # each residue moved rigidly with its C-alpha and its bond into the unit (CA -> C before
    # the link, CA -> N after it), turned about that bond as little as the other backbone
    # atom allows; then the unit's atoms exactly where the unit has them
    for res, bond_to, other, ca_new, to_new in ((prev, "C", "N", a2, c), (atoms, "N", "C", b2, n)):
        old = [xyz[res[other]], xyz[res["CA"]], xyz[res[bond_to]]]
        new = [xyz[res[other]] + (ca_new - old[1]), ca_new, to_new]
        _, old_rot = backbone_frames(*old)
        _, new_rot = backbone_frames(*new)
        moved = list(res.values())
        out[moved] = (xyz[moved] - old[1]) @ old_rot[0] @ new_rot[0].T + ca_new
    out[prev["C"]], out[prev["O"]], out[atoms["N"]] = c, o, n
    return out


def link_window(model: AtomModel, r: int) -> np.ndarray:
    """The residues refined with the peptide into residue ``r``: r - 1 and r, and
    :data:`FREE_BESIDE` more on either side that lie in the same fragment."""
    lo, hi = r - 1, r
    for _ in range(FREE_BESIDE):
        if lo > 0 and model.linked[lo]:
            lo -= 1
        if hi + 1 < len(model.resname) and model.linked[hi + 1]:
            hi += 1
    return np.arange(lo, hi + 1)


def check_cis_prolines(
    model: AtomModel, dmap: DensityMap, margin: float = CIS_PRO_MARGIN
) -> tuple[np.ndarray, list[int], list[float]]:
    """Coordinates of ``model`` with the trans links into prolines that fit the map better cis
    rebuilt cis; the prolines so changed; the map gain (sigma) of every link tried.

    A link's gain is the mean map value over its two residues' atoms after a local refinement
    of its window (the two residues and :data:`FREE_BESIDE` on either side) from the cis
    candidate, less the same after refining the window as built. Links whose windows overlap or
    adjoin (prolines next to each other or one apart) form a group and are tried one at a time,
    each cis alone; a group keeps its best link cis where that gains over ``margin`` (two cis
    peptides that close are rarer still). Groups do not touch, so the first link of every group
    is tried in one refinement, the second of every group in the next, and so on.
    """
    from .refine import refine_residues

    links = proline_links(model)
    if not links:
        return model.xyz.copy(), [], []
    _, groups, spans, as_built = link_groups(model, links, dmap)
    gains, trials = [0.0] * len(links), {}
    for j in range(max(len(g) for g in groups)):
        tried = [(g[j], span) for g, span in zip(groups, spans) if len(g) > j]
        xyz = model.xyz.copy()
        for k, _ in tried:
            xyz = peptide_candidate(xyz, model, links[k][1], links[k][2], dmap)
        free = np.concatenate([span for _, span in tried])
        trial = refine_residues(replace(model, xyz=xyz), dmap, free, **LOCAL_REFINE)
        for k, _ in tried:
            gains[k], trials[k] = pair_gain(model, dmap, trial, as_built, links[k][0]), trial
    out, kept = as_built.copy(), []
    for g, span in zip(groups, spans):
        best = max(g, key=lambda k: gains[k])
        if gains[best] > margin:
            kept.append(links[best][0])
            moved = np.isin(model.residue, span)
            out[moved] = trials[best][moved]
    return out, kept, gains


def link_groups(
    model: AtomModel, links: list[tuple[int, dict[str, int], dict[str, int]]], dmap: DensityMap
) -> tuple[list[np.ndarray], list[list[int]], list[np.ndarray], np.ndarray]:
    """For links (residue, atoms before, atoms) of ``model``: each link's window
    (:func:`link_window`), the links grouped where windows touch, each group's residues, and
    the coordinates with every group's residues refined locally as built."""
    from .refine import refine_residues

    windows = [link_window(model, r) for r, _, _ in links]
    groups = _touching(windows)
    spans = [np.unique(np.concatenate([windows[k] for k in g])) for g in groups]
    as_built = refine_residues(model, dmap, np.concatenate(spans), **LOCAL_REFINE)
    return windows, groups, spans, as_built


def _touching(windows: list[np.ndarray]) -> list[list[int]]:
    """Indices of ``windows`` (ascending residue ranges, in order) grouped where one window
    overlaps or adjoins the next (their links cannot be refined apart)."""
    groups: list[list[int]] = []
    for k, w in enumerate(windows):
        if groups and w[0] <= windows[groups[-1][-1]][-1] + 1:
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def rebuild_cis_prolines(
    result: BuildResult, dmap: DensityMap, margin: float = CIS_PRO_MARGIN
) -> list[int]:
    """Rebuild cis the trans links into prolines of a finished build that fit ``dmap`` better
    cis (:func:`check_cis_prolines`); changes ``result.model.xyz`` (types, numbering and
    confidence stay). Returns the prolines (residue indices) whose peptide was rebuilt."""
    xyz, kept, _ = check_cis_prolines(result.model, dmap, margin)
    result.model.xyz = xyz
    return kept
