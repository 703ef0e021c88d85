"""Side-chain disorder for simulated maps: alternative rotamers at partial occupancy.

In a real 2mFo-DFc map a mobile surface side chain is not a sharp tube: it is spread over a
few rotamers, so the density beyond CB is weak and smeared, and a deposited model still names
the residue (and usually models its major conformer). A simulation from the deposited atoms
alone draws every side chain at full occupancy, so the classifier never learns what a lysine
or a glutamate looks like when it is half there. This module gives some of the side chains
(long charged ones and those of high B most often) one or two alternative conformers from
the rotamer library (:mod:`napari_densitybuild.rotamers`) at partial occupancy, before the
density is computed. Only the map changes: labels and pose targets stay the deposited ones.

Examples
--------
>>> n = add_disorder(structure, np.random.default_rng(0), fraction=0.08)  # doctest: +SKIP
"""

from __future__ import annotations

import gemmi
import numpy as np
from scipy.spatial import cKDTree

from ..residues import HEAVY_ATOMS
from ..rotamers import candidates, rotamer_library

#: How much more often a side chain of each type is disordered than a serine's, at equal B:
#: long, charged surface side chains most (calibrated so that the density at the side-chain
#: tips, relative to C-alpha, matches the eleven real training maps: ``scripts/
#: side_chain_strength.py --by-type``).
TYPE_WEIGHT = {"LYS": 6.0, "GLU": 5.0, "GLN": 3.0, "ARG": 2.5, "MET": 2.0, "ASP": 2.0, "ASN": 2.0}
#: Alternative conformers must differ from the deposited one by this much (RMSD beyond CB, A).
MIN_SHIFT = 1.0
#: And keep this far (A) from every atom of other residues.
MIN_CLEARANCE = 2.6


def _eligible(st: gemmi.Structure, library: dict) -> list[tuple[gemmi.Residue, float, int]]:
    """Residues with a library type and every heavy atom: residue, mean side-chain B, index."""
    out = []
    for index, res in enumerate(r for chain in st[0] for r in chain):
        names = HEAVY_ATOMS.get(res.name)
        if res.name not in library or names is None:
            continue
        atoms = {a.name: a for a in res}
        if all(n in atoms for n in names):
            out.append((res, float(np.mean([atoms[n].b_iso for n in names[4:]])), index))
    return out


def add_disorder(
    st: gemmi.Structure,
    rng: np.random.Generator,
    fraction: float = 0.08,
    occupancy: tuple[float, float] = (0.5, 0.8),
    max_alternatives: int = 2,
    b_extra: tuple[float, float] = (0.0, 15.0),
) -> int:
    """Give side chains alternative conformers, the mobile ones more often, in place.

    Parameters
    ----------
    st
        The model the density will be computed from (first model, no alternative conformations
        yet); altered in place: the chosen residues get ``altloc`` A (the deposited atoms beyond
        CB, at occupancy drawn from ``occupancy``) and B, C (library rotamers sharing the rest).
    rng
        Random generator.
    fraction
        Base probability that a side chain (of a library type, complete) is disordered; each
        one's probability is this times its type's :data:`TYPE_WEIGHT` (1 if not listed) times
        twice its rank by mean side-chain B over the number of side chains (mean 1), at most 1.
    occupancy
        Range of the deposited conformer's occupancy (it stays the major one).
    max_alternatives
        At most this many alternative conformers per residue (1 to this, uniformly).
    b_extra
        Range of B (A^2) added to the disordered atoms (all conformers).

    Returns
    -------
    int
        How many residues were given alternatives.
    """
    library = rotamer_library()
    eligible = _eligible(st, library)
    if not eligible:
        return 0
    ranks = np.argsort(np.argsort([b for _, b, _ in eligible])) + 1.0
    weight = np.array([TYPE_WEIGHT.get(res.name, 1.0) for res, _, _ in eligible])
    p = np.minimum(fraction * weight * 2.0 * ranks / (len(eligible) + 1), 1.0)
    chosen = np.flatnonzero(rng.random(len(eligible)) < p)
    residues = [r for chain in st[0] for r in chain]
    xyz = np.array([a.pos.tolist() for r in residues for a in r])
    owner = np.repeat(np.arange(len(residues)), [len(r) for r in residues])
    tree = cKDTree(xyz)
    done = 0
    for i in chosen:
        res, _, index = eligible[i]
        done += _disorder_residue(res, index, rng, library, tree, owner, occupancy,
                                  max_alternatives, b_extra)  # fmt: skip
    return done


def _disorder_residue(
    res: gemmi.Residue,
    index: int,
    rng: np.random.Generator,
    library: dict[str, dict[str, np.ndarray]],
    tree: cKDTree,
    owner: np.ndarray,
    occupancy: tuple[float, float],
    max_alt: int,
    b_extra: tuple[float, float],
) -> bool:
    """Alternative conformers for one residue (see :func:`add_disorder`); False if none fits."""
    names = HEAVY_ATOMS[res.name]
    atoms = {a.name: a for a in res}
    pos = {n: np.array(atoms[n].pos.tolist()) for n in names}
    cand = candidates(res.name, pos["N"][None], pos["CA"][None], pos["C"][None])[:, 1:]
    side = np.array([pos[n] for n in names[5:]])  # beyond CB (every library type has some)
    shift = np.sqrt(((cand - side) ** 2).sum(-1).mean(-1))
    ok = shift > MIN_SHIFT
    for k in np.flatnonzero(ok):
        near = tree.query_ball_point(cand[k], MIN_CLEARANCE)
        if any(owner[j] != index for hits in near for j in hits):
            ok[k] = False
    options = np.flatnonzero(ok)
    if len(options) == 0:
        return False
    p = np.exp(library[res.name]["logp"][options])
    n_alt = min(int(rng.integers(1, max_alt + 1)), len(options))
    picks = rng.choice(options, size=n_alt, replace=False, p=p / p.sum())
    q = float(rng.uniform(*occupancy))
    extra = float(rng.uniform(*b_extra))
    for name in names[5:]:
        a = atoms[name]
        a.altloc, a.occ, a.b_iso = "A", q, a.b_iso + extra
    for alt, k in zip("BC", picks):
        for name, xyz in zip(names[5:], cand[k]):
            a = gemmi.Atom()
            a.name, a.element, a.altloc = name, atoms[name].element, alt
            a.pos, a.occ = gemmi.Position(*xyz), (1.0 - q) / n_alt
            a.b_iso = atoms[name].b_iso
            res.add_atom(a)
    return True
