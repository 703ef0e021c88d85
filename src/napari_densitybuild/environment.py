"""Telling isosteric residues apart by their H-bonds: ASP/ASN, GLU/GLN, VAL/THR.

An amide and a carboxylate, or a threonine and a valine, have the same shape, and their
densities differ by an electron or two per atom: at 1.5-2.5 A the classifier is close to a coin
toss between them on real maps (ASP is called ASN half the time on the held-out maps). What
tells them apart is chemistry around them, which a crystallographer reads: a carboxylate pairs
with lysines and arginines and accepts from backbone N-H but never sits on a backbone O; an
amide's N-H donates to an O, often a backbone carbonyl, or to another carboxylate; a
threonine's OG1 makes H-bonds where a valine's methyl makes none.

:func:`pair_features` counts the polar atoms around the distinguishing atoms of a built model,
a logistic model per pair (``data/environment.json``, fitted on the training structures with
0.4 A coordinate noise by ``scripts/make_environment.py``) turns them into a log-likelihood
ratio, and :func:`rescore` adds it to the classifier's log-odds of the pair (Bayes' rule: the
classifier's probabilities already hold the prior), keeping the pair's total probability.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from .hbonds import HBOND_MAX, model_roles, symmetry_mates
from .residues import AMINO_ACIDS, HEAVY_ATOMS, INDEX

if TYPE_CHECKING:
    from .refine import AtomModel
    from .symmetry import Symmetry

#: (first, second) of each pair: the model gives the log-odds of the second.
PAIRS: tuple[tuple[str, str], ...] = (("ASP", "ASN"), ("GLU", "GLN"), ("VAL", "THR"))
#: The two distinguishing atoms of each type (same positions in both types of a pair).
SITES: dict[str, tuple[str, str]] = {
    "ASP": ("OD1", "OD2"), "ASN": ("OD1", "ND2"),
    "GLU": ("OE1", "OE2"), "GLN": ("OE1", "NE2"),
    "VAL": ("CG1", "CG2"), "THR": ("OG1", "CG2"),
}  # fmt: skip
#: Feature names per pair kind (counts of partner atoms of other residues, capped at 3).
FEATURES: dict[str, tuple[str, ...]] = {
    "acid_amide": ("backbone_O", "backbone_N", "lys_arg_N", "acid_O", "hydroxyl_O", "other_polar"),
    "val_thr": ("polar_at_branch_1", "polar_at_branch_2"),
}
CAP = 3.0
#: Charged partners (lysine, arginine) count out to this distance (salt bridges).
SALT_BRIDGE_MAX = 4.0
_POSITIVE = {("LYS", "NZ"), ("ARG", "NE"), ("ARG", "NH1"), ("ARG", "NH2")}
_ACID_O = {("ASP", "OD1"), ("ASP", "OD2"), ("GLU", "OE1"), ("GLU", "OE2")}
_HYDROXYL = {("SER", "OG"), ("THR", "OG1"), ("TYR", "OH")}


def kind_of(pair: tuple[str, str]) -> str:
    """ "val_thr" for VAL/THR, "acid_amide" for the others."""
    return "val_thr" if pair == ("VAL", "THR") else "acid_amide"


def pair_features(
    model: AtomModel, residues: np.ndarray | None = None, sym: Symmetry | None = None
) -> dict[int, np.ndarray]:
    """Environment features of the residues of ``model`` that belong to a pair.

    Parameters
    ----------
    model
        An :class:`~.refine.AtomModel`; each residue's atoms are those of its present type.
    residues
        Which residues to describe (default: every ASP, ASN, GLU, GLN, VAL and THR).
    sym
        The crystal's :class:`~.symmetry.Symmetry`: atoms of symmetry copies count too.

    Returns
    -------
    dict
        residue index -> feature vector (see :data:`FEATURES`) for residues with both sites.
    """
    from scipy.spatial import cKDTree

    names = [str(n) for n in model.resname]
    if residues is None:
        residues = np.arange(len(names))
    # only a pair's types have features
    residues = np.array([r for r in np.asarray(residues, dtype=np.int64) if names[r] in SITES],
                        dtype=np.int64)  # fmt: skip
    if not len(residues):
        return {}
    roles = model_roles(model)
    # crystal copies near the residues described only: partners lie within SALT_BRIDGE_MAX
    near = model.xyz[np.isin(model.residue, residues)]
    mates, source = symmetry_mates(model.xyz, sym, cutoff=SALT_BRIDGE_MAX + 0.1, near=near)
    source = np.concatenate([np.arange(len(model.xyz)), source])  # the atom each position shows
    owner = np.concatenate([model.residue, np.full(len(mates), -1)])  # mates: nobody's own
    positions = np.concatenate([model.xyz, mates])
    polar = np.flatnonzero(roles[source] != 0)
    out: dict[int, np.ndarray] = {}
    if not len(polar) or not len(residues):
        return out
    tree = cKDTree(positions[polar])
    for r in np.asarray(residues, dtype=np.int64):
        atoms = model.residue_atoms(int(r))
        sites = SITES.get(names[r])
        if sites is None or not all(s in atoms for s in sites):
            continue
        hits = tree.query_ball_point(model.xyz[[atoms[s] for s in sites]], SALT_BRIDGE_MAX)
        partners = []
        for site, found in zip(sites, hits):
            for j in polar[found]:
                if owner[j] == r:
                    continue
                k = source[j]
                d = float(np.linalg.norm(positions[j] - model.xyz[atoms[site]]))
                partners.append((site, names[model.residue[k]], str(model.atom[k]), d))
        if names[r] in ("VAL", "THR"):
            f = [sum(1 for s, _, _, d in partners if s == site and d <= HBOND_MAX)
                 for site in sites]  # fmt: skip
        else:
            f = [0.0] * 6
            for _, rn, an, d in partners:
                if (rn, an) in _POSITIVE:
                    f[2] += 1
                elif d > HBOND_MAX:
                    continue
                elif an in ("O", "OXT"):
                    f[0] += 1
                elif an == "N":
                    f[1] += 1
                elif (rn, an) in _ACID_O:
                    f[3] += 1
                elif (rn, an) in _HYDROXYL:
                    f[4] += 1
                else:
                    f[5] += 1
        out[int(r)] = np.minimum(np.asarray(f, dtype=float), CAP)
    return out


@lru_cache(maxsize=1)
def environment_table() -> dict:
    """The fitted pair models from ``data/environment.json``: per pair, weights, bias, prior."""
    text = resources.files("napari_densitybuild").joinpath("data", "environment.json").read_text()
    return json.loads(text)


def log_likelihood_ratio(pair: tuple[str, str], features: np.ndarray) -> float:
    """log P(env | second) / P(env | first) of a pair, from the fitted model."""
    m = environment_table()["pairs"]["/".join(pair)]
    logit = float(np.dot(m["weights"], features) + m["bias"])
    return logit - float(m["prior_log_odds"])


def model_from_poses(poses: np.ndarray, types: np.ndarray) -> AtomModel:
    """An unlinked :class:`~.refine.AtomModel` of each residue's atoms for its type.

    ``poses`` are (N, 20, 14, 3) world coordinates of every type (the pose head's).
    """
    from .refine import AtomModel

    xyz, atom, residue = [], [], []
    for r, t in enumerate(types):
        names = HEAVY_ATOMS[AMINO_ACIDS[t]]
        xyz.append(poses[r, t, : len(names)])
        atom += names
        residue += [r] * len(names)
    xyz_arr = np.concatenate(xyz) if xyz else np.zeros((0, 3))
    atom_arr = np.array(atom, dtype=object)
    return AtomModel(xyz_arr, atom_arr, np.array([a[0] for a in atom], dtype=object),
                     np.array(residue, dtype=np.int64),
                     np.array([AMINO_ACIDS[t] for t in types], dtype=object),
                     np.zeros(len(types), dtype=bool))  # fmt: skip


def join_models(a: AtomModel, b: AtomModel) -> AtomModel:
    """One :class:`~.refine.AtomModel` of the residues of ``a`` followed by those of ``b``."""
    from .refine import AtomModel

    return AtomModel(np.concatenate([a.xyz, b.xyz]), np.concatenate([a.atom, b.atom]),
                     np.concatenate([a.element, b.element]),
                     np.concatenate([a.residue, b.residue + len(a.resname)]),
                     np.concatenate([a.resname, b.resname]),
                     np.concatenate([a.linked, b.linked]))  # fmt: skip


def rescore(
    probs: np.ndarray,
    poses: np.ndarray,
    sym: Symmetry | None = None,
    context: AtomModel | None = None,
) -> np.ndarray:
    """Classifier probabilities with the environment evidence of each pair added.

    Parameters
    ----------
    probs
        (N, 20) classifier probabilities.
    poses
        (N, 20, 14, 3) world coordinates of every type's atoms (the pose head's).
    sym
        The crystal's :class:`~.symmetry.Symmetry` (neighbours in symmetry copies count).
    context
        An :class:`~.refine.AtomModel` of further atoms that count as neighbours (the rest of
        a model when only some of its residues are classified).

    Returns
    -------
    (N, 20) probabilities: for a residue whose most likely type is in a pair, the log-odds of
    the pair's two types move by the log-likelihood ratio of its surroundings, in a model of
    every residue at its most likely type; the pair's total and all other types are kept.
    """
    probs = np.asarray(probs, dtype=np.float64)
    out = probs.copy()
    if not len(probs):
        return out.astype(np.float32)
    types = probs.argmax(1)
    model = model_from_poses(poses, types)
    if context is not None and len(context.resname):
        model = join_models(model, context)
    for r, f in pair_features(model, np.arange(len(types)), sym).items():
        name = AMINO_ACIDS[types[r]]
        pair = next(p for p in PAIRS if name in p)
        a, b = INDEX[pair[0]], INDEX[pair[1]]
        total = probs[r, a] + probs[r, b]
        if total <= 0:
            continue
        eps = 1e-9
        odds = np.log(probs[r, b] + eps) - np.log(probs[r, a] + eps)
        odds += log_likelihood_ratio(pair, f)
        out[r, b] = total / (1.0 + np.exp(-odds))
        out[r, a] = total - out[r, b]
    return out.astype(np.float32)
