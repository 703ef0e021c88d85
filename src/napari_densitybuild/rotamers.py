"""Side-chain rotamers: a library from the training structures and a real-space rotamer fit.

The pose head places a side chain from its box, and refinement only moves it downhill, so a
side chain started in the wrong rotamer stays there (an arginine lying along the surface
while its density points out into the solvent). As a crystallographer does, a side chain with
an atom out of density (below :data:`OUT_OF_DENSITY`) is tried in every rotamer of its type on
its backbone; the best one with every atom in density replaces it when it scores clearly
better, and refinement then polishes it. Side chains wholly in density are left alone: on 12
real maps (deposited models, the held-out ones excluded) the fit moved 0.3 % of the deposited
side chains and put back 71 % of side chains moved to their worst rotamer.

The library (``data/rotamers.npz``, made by ``scripts/make_rotamers.py`` from the TRAIN split)
holds, per type, the common chi-angle combinations (30-degree bins holding at least 0.3 % of
that type's residues) as mean side-chain coordinates in the backbone frame of
:func:`~.boxes.backbone_frames` (CB onwards, :data:`~.residues.HEAVY_ATOMS` order), with their
frequencies. Proline (a ring, two puckers), glycine and alanine have none.

Score of a side chain (atoms beyond CB): ``sum (Z / 6) f(rho)`` over its atoms, where
``f(rho) = min(rho, 3)`` and twice ``rho`` below 0 (a side chain is a continuous tube of
density: a few atoms in a strong peak, a water or an ion, must not pay for others in none), minus
:data:`CLASH_WEIGHT` per A that an atom comes within :data:`CLASH_DISTANCE` of an atom of
another residue (crystal neighbours included), plus :data:`PRIOR_WEIGHT` times the log of the
rotamer's frequency relative to the commonest.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
import torch

from .boxes import backbone_frames
from .hbonds import symmetry_mates
from .pose import frame_to_world
from .residues import HEAVY_ATOMS

if TYPE_CHECKING:
    from .refine import AtomModel
    from .symmetry import Symmetry

#: The four atoms of each chi angle, per type.
CHI_ATOMS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "ARG": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "NE"),
            ("CG", "CD", "NE", "CZ")),
    "ASN": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "OD1")),
    "ASP": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "OD1")),
    "CYS": (("N", "CA", "CB", "SG"),),
    "GLN": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "OE1")),
    "GLU": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "OE1")),
    "HIS": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "ND1")),
    "ILE": (("N", "CA", "CB", "CG1"), ("CA", "CB", "CG1", "CD1")),
    "LEU": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "LYS": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "CE"),
            ("CG", "CD", "CE", "NZ")),
    "MET": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "SD"), ("CB", "CG", "SD", "CE")),
    "PHE": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "SER": (("N", "CA", "CB", "OG"),),
    "THR": (("N", "CA", "CB", "OG1"),),
    "TRP": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "TYR": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "VAL": (("N", "CA", "CB", "CG1"),),
}  # fmt: skip
#: Weight of the rotamer prior (log frequency relative to the commonest rotamer of the type).
PRIOR_WEIGHT = 0.3
#: Clash: atoms of different residues closer than this (A) ...
CLASH_DISTANCE = 3.0
#: ... cost this much per A of overlap.
CLASH_WEIGHT = 4.0
#: Neighbours looked at per atom for clashes (its own residue's among them).
CLASH_NEIGHBOURS = 24
#: Required gain in score for a new rotamer.
FIT_MARGIN = 1.0
#: Side chains with an atom below this (sigma) are out of density: only those are refitted,
#: and only into rotamers with every atom above it.
OUT_OF_DENSITY = 0.5
#: Map values above this (sigma) score no more.
RHO_CAP = 3.0
#: Map values below 0 count this many times.
NEGATIVE_WEIGHT = 2.0
#: Atomic numbers (density weights / 6), as in refinement.
_Z = {"C": 6.0, "N": 7.0, "O": 8.0, "S": 16.0}


@lru_cache(maxsize=1)
def rotamer_library() -> dict[str, dict[str, np.ndarray]]:
    """Per type: ``xyz`` (K, m, 3) frame coordinates of CB onwards, ``logp`` (K,), ``chi``."""
    path = resources.files("napari_densitybuild").joinpath("data", "rotamers.npz")
    with path.open("rb") as f, np.load(f) as data:
        return {
            name: {key: data[f"{name}_{key}"] for key in ("xyz", "logp", "chi")}
            for name in CHI_ATOMS
            if f"{name}_xyz" in data
        }


def candidates(name: str, n: np.ndarray, ca: np.ndarray, c: np.ndarray) -> np.ndarray:
    """World coordinates (K, m, 3) of every library rotamer of ``name`` on one backbone."""
    lib = rotamer_library()[name]
    centre, rot = backbone_frames(n, ca, c)
    k = len(lib["xyz"])
    return frame_to_world(lib["xyz"], np.repeat(centre, k, 0), np.repeat(rot, k, 0))


class ClashIndex:
    """Atoms of a model and of its crystal neighbours, to find clashes of candidate side chains.

    Parameters
    ----------
    xyz
        (N, 3) atom positions of ``model``.
    model
        The :class:`~.refine.AtomModel` (its ``residue`` says which atoms are whose).
    sym
        The crystal's :class:`~.symmetry.Symmetry`, or None (no crystal neighbours).
    only
        (R,) True for the residues whose side chains will be tried (default: all): crystal
        neighbours are looked for around those alone.
    """

    def __init__(
        self,
        xyz: np.ndarray,
        model: AtomModel,
        sym: Symmetry | None = None,
        only: np.ndarray | None = None,
    ) -> None:
        from scipy.spatial import cKDTree

        near = None if only is None else xyz[np.asarray(only, dtype=bool)[model.residue]]
        mates, _ = symmetry_mates(xyz, sym, cutoff=CLASH_DISTANCE + 8.0, near=near)
        self.owner = np.concatenate([model.residue, np.full(len(mates), -1)])
        self.tree = cKDTree(np.concatenate([xyz, mates]))

    def overlap(self, pts: np.ndarray, r: int) -> np.ndarray:
        """(M,) overlap (A) of each point with the nearest atom not of residue ``r``."""
        d, idx = self.tree.query(pts, k=CLASH_NEIGHBOURS, distance_upper_bound=CLASH_DISTANCE)
        other = np.isfinite(d) & (self.owner[np.minimum(idx, len(self.owner) - 1)] != r)
        nearest = np.where(other, d, np.inf).min(1)
        return np.where(np.isfinite(nearest), CLASH_DISTANCE - nearest, 0.0)


def side_chain_scores(
    confs: np.ndarray,
    side: np.ndarray,
    r: int,
    model: AtomModel,
    density: Callable[[torch.Tensor], torch.Tensor],
    neighbours: ClashIndex,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of side-chain conformations of residue ``r`` (the module's score, no prior).

    Parameters
    ----------
    confs
        (K, m, 3) world positions of the side chain's atoms, CB onwards.
    side
        (m,) the model's atom indices of those atoms (for their elements).
    r
        The residue (its own atoms do not clash).
    model, density
        The :class:`~.refine.AtomModel` and the map callable (as :func:`fit_rotamers`).
    neighbours
        Atoms that candidates may clash with.

    Returns
    -------
    score, rho
        (K,) density score minus clash cost, and (K, m - 1) map values (sigma) at the atoms
        beyond CB.
    """
    weights = np.array([_Z.get(str(model.element[i]).upper()[:1], 6.0) / 6.0 for i in side])
    pts = confs[:, 1:].reshape(-1, 3)
    with torch.no_grad():
        raw = density(torch.as_tensor(pts, dtype=torch.float64)).numpy()
    raw = raw.reshape(len(confs), -1)
    rho = np.minimum(raw, RHO_CAP)
    rho = np.where(rho < 0, NEGATIVE_WEIGHT * rho, rho)
    score = (rho * weights[1:]).sum(1)
    score -= CLASH_WEIGHT * neighbours.overlap(pts, r).reshape(len(confs), -1).sum(1)
    return score, raw


def fit_rotamers(
    xyz: np.ndarray,
    model: AtomModel,
    density: Callable[[torch.Tensor], torch.Tensor],
    sym: Symmetry | None = None,
    margin: float = FIT_MARGIN,
    only: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace side chains by library rotamers that fit the map clearly better.

    Parameters
    ----------
    xyz
        (N, 3) atom positions of ``model`` (not modified).
    model
        The :class:`~.refine.AtomModel`.
    density
        Callable: (M, 3) float64 tensor -> (M,) map values in sigma (a ``DensityField``).
    sym
        The crystal's :class:`~.symmetry.Symmetry` (clashes with crystal neighbours count).
    margin
        Required gain in score.
    only
        (R,) True for the residues that may change (default: all); the others are context.

    Returns
    -------
    xyz, changed
        New positions and the indices of the residues given a new rotamer.
    """
    out = np.array(xyz, dtype=float, copy=True)
    lib = rotamer_library()
    todo = []  # (residue, its atoms by name, side-chain atom indices CB onwards)
    for r, name in enumerate(model.resname):
        if only is not None and not only[r]:
            continue
        atoms = model.residue_atoms(r)
        side = [atoms.get(a) for a in HEAVY_ATOMS.get(str(name), ())[4:]]
        if (
            str(name) in lib
            and side
            and None not in side
            and all(a in atoms for a in "N CA C".split())
        ):
            todo.append((r, atoms, np.array(side)))
    if not todo:
        return out, np.zeros(0, dtype=np.int64)
    # the present side chains, all at once: only those with an atom out of density are refitted
    with torch.no_grad():
        flat = np.concatenate([out[side[1:]] for _, _, side in todo])
        rho_now = density(torch.as_tensor(flat, dtype=torch.float64)).numpy()
    ends = np.cumsum([len(side) - 1 for _, _, side in todo])
    lowest = [part.min(initial=np.inf) for part in np.split(rho_now, ends[:-1])]
    if min(lowest) >= OUT_OF_DENSITY:
        return out, np.zeros(0, dtype=np.int64)  # every side chain in density: nothing to try
    # clashes are judged against the model (and its crystal neighbours) as it was at the start
    neighbours = ClashIndex(out, model, sym, only)
    changed = []
    for (r, atoms, side), low in zip(todo, lowest):
        if low >= OUT_OF_DENSITY:
            continue  # every atom in density: leave it to refinement
        name = str(model.resname[r])
        cand = candidates(name, *(out[atoms[a]][None] for a in ("N", "CA", "C")))
        both = np.concatenate([out[side][None], cand])  # present side chain first
        score, raw = side_chain_scores(both, side, r, model, density, neighbours)
        logp = lib[name]["logp"]
        score[1:] += PRIOR_WEIGHT * (logp - logp.max())
        score[1:][raw[1:].min(1) < OUT_OF_DENSITY] = -np.inf  # candidates wholly in density
        best = int(np.argmax(score[1:])) + 1
        if score[best] >= score[0] + margin:
            out[side] = both[best]
            changed.append(r)
    return out, np.asarray(changed, dtype=np.int64)
