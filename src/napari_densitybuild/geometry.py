"""Ideal geometry and its checks: restraint tables, bond-length RMSZ, Ramachandran outliers, cis
and twisted peptides.

The tables in ``data/`` are derived from the training structures by ``scripts/make_geometry.py``
(medians of refined X-ray models, which are the Engh & Huber targets refinement used):

* ``geometry.json``: per residue type, the rigid atom pairs (bonds, 1-3 pairs of bond angles,
  rings, planar groups) with ideal distance and sd; the same across trans peptide bonds, and
  across cis ones; and the signed volumes of chiral centres (CA; CB of THR and ILE);
* ``rama.npz``: phi/psi densities for general, glycine, proline and pre-proline residues and
  the contour below which a residue is an outlier (0.05 % of the data; 0.1 % for GLY and PRO).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import gemmi
import numpy as np

from .residues import PARENT

#: Atoms bonded within a residue: rigid pairs shorter than this (A) are bonds.
BOND_MAX = 2.0
#: C-alphas of linked residues closer than this (A) make a cis peptide (trans: 3.8 A apart,
#: cis: 3.0 A): the tables, refinement and the trimming of fragment ends all go by it.
CIS_CA = 3.3
#: C-alphas of linked residues closer than this (A) are one residue detected twice: no peptide
#: is this short (the 712 cis peptides of the training structures: 2.97 +- 0.08 A).
DUPLICATE_CA = 2.5


@lru_cache(maxsize=1)
def tables() -> dict:
    """The geometry table (``residues``, ``peptide``, ``chiral``) from ``data/geometry.json``."""
    text = resources.files("napari_densitybuild").joinpath("data", "geometry.json").read_text()
    return json.loads(text)


@lru_cache(maxsize=1)
def rama_tables() -> dict[str, np.ndarray]:
    """Ramachandran densities and outlier thresholds from ``data/rama.npz``."""
    with resources.files("napari_densitybuild").joinpath("data", "rama.npz").open("rb") as f:
        data = np.load(f)
        return {k: data[k] for k in data.files}


def rigid_pairs(resname: str) -> list[tuple[str, str, float, float]]:
    """(atom a, atom b, ideal distance, sd) of a residue type's rigid pairs."""
    name = PARENT.get(resname, resname)
    return [tuple(r) for r in tables()["residues"].get(name, [])]


def bonds(resname: str) -> list[tuple[str, str, float, float]]:
    """The bonded pairs among :func:`rigid_pairs` (ideal distance under :data:`BOND_MAX`)."""
    return [p for p in rigid_pairs(resname) if p[2] < BOND_MAX]


def peptide_pairs() -> list[tuple[str, str, float, float]]:
    """Rigid pairs across a trans peptide bond: (atom of residue i, atom of i+1, ideal, sd)."""
    return [tuple(r) for r in tables()["peptide"]]


def cis_peptide_pairs() -> list[tuple[str, str, float, float]]:
    """The pairs of :func:`peptide_pairs` across a cis peptide bond (omega near 0).

    Measured on the cis peptides of the training structures: their bond angles open, so the
    C-alphas sit 2.97 A apart (2.77 A with trans angles) and the O 3.63 A from the next C-alpha.
    """
    return [tuple(r) for r in tables()["cis_peptide"]]


def proline_peptide_pairs(cis: bool = False) -> list[tuple[str, str, float, float]]:
    """Rigid pairs of residue i's atoms with CD of a proline after it: (atom of i, "CD",
    ideal, sd), across a trans or a cis (``cis``) peptide.

    They hold the angle C(i)-N-CD (C to CD 2.52 A trans, 2.45 A cis) and the flat peptide
    (O to CD 3.63 A trans, 2.77 A cis), which neither the proline's own pairs nor
    :func:`peptide_pairs` do. Refinement does not use them: restraining them moved builds with
    no gain (docs/build/refinement.md, "A proline's ring held off the carbonyl before it").
    """
    return [tuple(r) for r in tables()["cis_proline_peptide" if cis else "proline_peptide"]]


def chiral_centres(resname: str) -> list[tuple[str, str, str, str, float, float]]:
    """(centre, a, b, c, signed volume, sd) of a type's chiral centres.

    The volume is ``(a - centre) . ((b - centre) x (c - centre))``.
    """
    name = PARENT.get(resname, resname)
    return [tuple(r) for r in tables()["chiral"].get(name, [])]


def _residue_pos(res: gemmi.Residue) -> dict[str, np.ndarray]:
    return {("SD" if res.name == "MSE" and a.name == "SE" else a.name): np.array(a.pos.tolist())
            for a in res}  # fmt: skip


def bond_z_scores(st: gemmi.Structure) -> np.ndarray:
    """(d - ideal) / sd of every bond of the first model (peptide C-N bonds included)."""
    pep = [p for p in peptide_pairs() if p[2] < BOND_MAX]
    z = []
    for ch in st[0]:
        prev = None
        for res in ch:
            pos = _residue_pos(res)
            for a, b, d0, sd in bonds(res.name):
                if a in pos and b in pos:
                    z.append((np.linalg.norm(pos[a] - pos[b]) - d0) / sd)
            if prev is not None:
                for a, b, d0, sd in pep:
                    if a in prev and b in pos:
                        d = np.linalg.norm(prev[a] - pos[b])
                        if d < 2.0:  # linked residues only
                            z.append((d - d0) / sd)
            prev = pos
    return np.array(z)


def bond_rmsz(st: gemmi.Structure) -> float:
    """Root-mean-square Z-score of bond lengths (1 is as refined models; NaN if no bonds)."""
    z = bond_z_scores(st)
    return float(np.sqrt(np.mean(z**2))) if len(z) else float("nan")


def _linked(a: gemmi.Residue, b: gemmi.Residue) -> bool:
    c, n = a.find_atom("C", "*"), b.find_atom("N", "*")
    return c is not None and n is not None and c.pos.dist(n.pos) < 2.0


#: Peptides with omega within this (degrees) of 0 are cis; those between it and 180 minus it,
#: twisted (MolProbity's 30 degrees).
OMEGA_CIS = 30.0


def peptide_omegas(st: gemmi.Structure) -> list[dict]:
    """Omega (CA-C-N-CA, degrees) of every peptide bond of the first model: ``chain``,
    ``seqid``, ``icode`` and ``resname`` (parent type) of the residue after the bond, and
    ``omega``."""
    out = []
    for ch in st[0]:
        for prev, res in zip(ch, list(ch)[1:]):
            atoms = [prev.find_atom("CA", "*"), prev.find_atom("C", "*"),
                     res.find_atom("N", "*"), res.find_atom("CA", "*")]  # fmt: skip
            if all(a is not None for a in atoms) and _linked(prev, res):
                omega = float(np.degrees(gemmi.calculate_dihedral(*(a.pos for a in atoms))))
                out.append({"chain": ch.name, "seqid": res.seqid.num,
                            "icode": res.seqid.icode.strip(), "omega": omega,
                            "resname": PARENT.get(res.name, res.name)})  # fmt: skip
    return out


def peptide_kind(omega: float, resname: str) -> str:
    """The kind of a peptide bond with this omega before a residue of this type:
    ``cis_proline``, ``cis_nonproline``, ``twisted_peptides`` or ``trans`` (:data:`OMEGA_CIS`)."""
    if abs(omega) < OMEGA_CIS:
        return "cis_proline" if resname == "PRO" else "cis_nonproline"
    return "twisted_peptides" if abs(omega) < 180.0 - OMEGA_CIS else "trans"


def peptide_counts(st: gemmi.Structure) -> dict[str, int]:
    """Cis peptides before a proline and before other residues (rare in proteins: a few per
    thousand peptides, nearly all before a proline), and twisted ones (never right), as
    MolProbity counts them (:data:`OMEGA_CIS`)."""
    counts = {"cis_proline": 0, "cis_nonproline": 0, "twisted_peptides": 0}
    for row in peptide_omegas(st):
        kind = peptide_kind(row["omega"], row["resname"])
        if kind in counts:
            counts[kind] += 1
    return counts


def rama_class(resname: str, next_resname: str | None) -> str:
    """general, glycine, proline or preproline."""
    name = PARENT.get(resname, resname)
    if name == "GLY":
        return "glycine"
    if name == "PRO":
        return "proline"
    nxt = PARENT.get(next_resname or "", next_resname or "")
    return "preproline" if nxt == "PRO" else "general"


def ramachandran(st: gemmi.Structure) -> list[dict]:
    """phi, psi (degrees), class and outlier flag of every residue with both angles."""
    t = rama_tables()
    bins = t["general"].shape[0]
    out = []
    for ch in st[0]:
        residues = list(ch)
        for k in range(1, len(residues) - 1):
            prev, res, nxt = residues[k - 1], residues[k], residues[k + 1]
            if res.find_atom("CA", "*") is None or not (_linked(prev, res) and _linked(res, nxt)):
                continue
            phi, psi = np.degrees(gemmi.calculate_phi_psi(prev, res, nxt))
            if np.isnan(phi) or np.isnan(psi):
                continue
            kind = rama_class(res.name, nxt.name)
            i, j = (np.clip(((np.array([phi, psi]) + 180) / (360 / bins)).astype(int), 0,
                            bins - 1))  # fmt: skip
            outlier = bool(t[kind][i, j] < t[f"{kind}_threshold"])
            out.append({"chain": ch.name, "seqid": res.seqid.num,
                        "icode": res.seqid.icode.strip(), "phi": float(phi), "psi": float(psi),
                        "class": kind, "outlier": outlier})  # fmt: skip
    return out


def rama_outlier_fraction(st: gemmi.Structure) -> float:
    """Fraction of residues (with phi and psi) in the outlier region (NaN if none)."""
    rows = ramachandran(st)
    return float(np.mean([r["outlier"] for r in rows])) if rows else float("nan")


def dihedral(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Dihedral angles (degrees, -180..180) of points (..., 3)."""
    b0, b1, b2 = a - b, c - b, d - c
    b1 = b1 / np.linalg.norm(b1, axis=-1, keepdims=True)
    v = b0 - (b0 * b1).sum(-1, keepdims=True) * b1
    w = b2 - (b2 * b1).sum(-1, keepdims=True) * b1
    x = (v * w).sum(-1)
    y = (np.cross(b1, v) * w).sum(-1)
    return np.degrees(np.arctan2(y, x))


def rotate_about(
    points: np.ndarray, origin: np.ndarray, axis: np.ndarray, degrees: float | np.ndarray
) -> np.ndarray:
    """``points`` (..., M, 3) turned about the line through ``origin`` along ``axis``.

    ``origin`` and ``axis`` are (3,) or (..., 3), one line per leading index of ``points``
    (a peptide unit about its own C-alpha axis, say). ``degrees`` may be an array (K,): the
    result is then (K, ..., M, 3). Turns by multiples of 90 degrees are exact (cosine and sine
    of exactly 0 and +-1: a full flip is ``origin + par - perp`` to the bit).
    """
    origin = np.asarray(origin, dtype=float)[..., None, :]
    axis = np.asarray(axis, dtype=float)
    u = (axis / np.linalg.norm(axis, axis=-1, keepdims=True))[..., None, :]
    t = np.radians(np.atleast_1d(np.asarray(degrees, dtype=float)))
    t = t.reshape((-1,) + (1,) * np.ndim(points))
    cos, sin = np.cos(t), np.sin(t)
    for value in (cos, sin):  # exact where the angle is a multiple of 90 degrees
        near = np.abs(value - np.round(value)) < 1e-12
        value[near] = np.round(value[near])
    v = points - origin
    par = (v * u).sum(-1, keepdims=True) * u
    perp = v - par
    out = origin + par + cos * perp + sin * np.cross(u, perp)
    return out if np.ndim(degrees) else out[0]
