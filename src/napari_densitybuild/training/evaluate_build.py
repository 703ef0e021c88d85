"""Evaluate a built model against the deposited one (stage 3 and the whole pipeline).

Residues are matched by C-alpha (one to one, within 1 A, any crystal image of the deposited
residue); for each match the deposited residue is moved onto the built one's copy. Reported:

* ``recall_1A``, ``precision_1A``: matched C-alphas over deposited / built residues;
* ``sequence_recovery``: matched residues whose type is the deposited type;
* ``backbone_rmsd``: N, CA, C, O of matched residues (at a deposited C-terminus the built O
  against the nearer of O and OXT, the carboxylate's two equivalent oxygens);
* ``all_atom_rmsd``: every heavy atom of matched, correctly typed residues (the better naming
  of symmetric groups, e.g. PHE ring flips; :mod:`.pose_loss`);
* ``rama_outliers``, ``bond_rmsz``, ``cis_proline``, ``cis_nonproline``,
  ``twisted_peptides``: geometry of the built model (:mod:`~..geometry`);
  ``clashing_residues``: its residues in an impossible contact (:func:`clashing_residues`: a
  heavy atom within :data:`CLASH` of one of another residue, crystal copies included, or,
  across a peptide bond, too near one of the residue beside: :func:`neighbour_clashes`).

More figures tell building errors from disagreement where the map is silent (the RMSD of a
surface side chain is often set by atoms that the deposited model put where there is no
density); all but the flip-blind one need the map:

* ``all_atom_rmsd_in_density``: as ``all_atom_rmsd``, over the correctly typed residues whose
  deposited heavy atoms are all at or above :data:`IN_DENSITY` sigma (``in_density_fraction``
  of them);
* ``all_atom_rmsd_flip_blind``: as ``all_atom_rmsd`` (no map needed), an ASN or GLN amide or a
  HIS ring turned 180 degrees counting as right: its two orientations put atoms in the same
  places and differ only in which are N and which are C or O, which the map cannot show at
  these resolutions (H-bonds decide them, :mod:`~..sideflip`);
* ``far_residues``: correctly typed residues more than 1 A (RMSD) from the deposited one,
  ``far_built_in_higher_density``: those of them whose built atoms sit in higher mean density
  than the deposited atoms, and ``far_list``: each of them (built and deposited chain and
  number, type, RMSD, mean map value at its built and its deposited atoms), worst first.

And one about the deposited model itself (no map needed): ``deposited_clashing`` lists its
residues with a heavy atom closer than :data:`CLASH` to a heavy atom of a residue that is not
its chain neighbour (crystal copies included; single-conformer atoms at full occupancy;
disulfide SG pairs and non-amino-acids left out). Such a pair cannot both be where the model
puts them, so the distance from a built atom to them measures nothing;
``all_atom_rmsd_clash_free`` is ``all_atom_rmsd`` without them (the headline figure keeps them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gemmi
import numpy as np

from ..geometry import bond_rmsz, peptide_counts, rama_outlier_fraction
from ..models import backbone_residues
from ..residues import AMINO_ACIDS, HEAVY_ATOMS, INDEX, PARENT
from ..sideflip import FLIP_PAIRS
from ..symmetry import Symmetry
from .place_metrics import match_cas
from .pose_loss import pose_rmsd, swap_permutations

if TYPE_CHECKING:
    from ..maps import DensityMap

#: Map level (sigma) at which an atom counts as in density: the usual contour of a 2mFo-DFc map.
IN_DENSITY = 1.0
#: Closest approach (A) of heavy atoms of two residues that are not chain neighbours: below
#: it a deposited pair is impossible (van der Waals contacts are about 3 A; H-bonds 2.5 A).
CLASH = 2.2
#: Closest approach (A) of heavy atoms of two linked residues up to three bonds apart, the C-N
#: bond aside: the closest such pairs are O(i)-N(i+1) at 2.25 A and CA(i)-N(i+1), C(i)-CA(i+1)
#: at 2.43 A (``data/geometry.json``), so nearer is a broken residue (a proline's ring on the
#: C=O before it, say); pairs further apart in bonds are held to :data:`CLASH`.
NEIGHBOUR_CLASH = 2.0
#: Bonds from residue i's atoms to its C, and from residue i+1's atoms to its N (the atoms
#: within two; the rest are further).
_TO_C = {"C": 0, "CA": 1, "O": 1, "N": 2, "CB": 2}
_TO_N = {"N": 0, "CA": 1, "CD": 1, "C": 2, "CB": 2, "CG": 2}
#: (20, 14) atom permutation of an ASN/GLN amide or HIS ring flip (those of :mod:`~..sideflip`).
FLIP_PERMUTATIONS = swap_permutations({
    name: tuple((HEAVY_ATOMS[name].index(a), HEAVY_ATOMS[name].index(b)) for a, b in pairs)
    for name, pairs in FLIP_PAIRS.items()
})  # fmt: skip


def compare_models(
    built: gemmi.Structure,
    deposited: gemmi.Structure,
    sym: Symmetry,
    dmap: DensityMap | None = None,
) -> dict:
    """Metrics of a built model against a deposited model of the same crystal (see module).

    ``dmap`` (a :class:`~..maps.DensityMap`, optional) adds the density-based figures.
    """
    b, d, p, r, got, ref_atoms = matched_residues(built, deposited, sym)
    out = {"built": len(b), "deposited": len(d), "matched_1A": len(p),
           "recall_1A": len(p) / max(len(d), 1),
           "precision_1A": len(p) / max(len(b), 1)}  # fmt: skip
    if len(p):
        bb = np.isfinite(ref_atoms[:, :4]).all(-1) & np.isfinite(got[:, :4]).all(-1)
        diff = ((got[:, :4] - ref_atoms[:, :4]) ** 2).sum(-1)
        out["backbone_rmsd"] = float(np.sqrt(diff[bb].mean())) if bb.any() else float("nan")
        bt, dt = class_indices(b.resname[p]), class_indices(d.resname[r])
        same = (bt == dt) & (dt >= 0)
        out["sequence_recovery"] = float(same.mean())
        if same.any():
            per = pose_rmsd(got[same], ref_atoms[same], dt[same])
            n_atoms = np.isfinite(ref_atoms[same]).all(-1).sum(1)
            ok = np.isfinite(per)
            out["all_atom_rmsd"] = _pooled(per[ok], n_atoms[ok])
            # types in SWAPS have no flip: their better naming is already in ``per``
            flip = pose_rmsd(got[same], ref_atoms[same], dt[same], FLIP_PERMUTATIONS)
            out["all_atom_rmsd_flip_blind"] = _pooled(np.fmin(per, flip)[ok], n_atoms[ok])
            bad = clashing_residues(deposited)
            clean = ok & np.array([(d.chain[k], d.seqid[k], d.icode[k]) not in bad
                                   for k in r[same]], dtype=bool)  # fmt: skip
            out["all_atom_rmsd_clash_free"] = _pooled(per[clean], n_atoms[clean])
            out["deposited_clashing"] = [f"{c}{n}{i}" for c, n, i in sorted(bad)]
            if dmap is not None:
                keep = np.flatnonzero(same)[ok]
                ids = [(f"{b.chain[p[k]]}{b.seqid[p[k]]}", f"{d.chain[r[k]]}{d.seqid[r[k]]}",
                        AMINO_ACIDS[dt[k]]) for k in keep]  # fmt: skip
                out.update(_density_figures(dmap, got[keep], ref_atoms[keep], per[ok],
                                            n_atoms[ok], ids))  # fmt: skip
            out["per_type_all_atom_rmsd"] = {
                AMINO_ACIDS[t]: round(float(np.sqrt(np.nanmean(per[dt[same] == t] ** 2))), 3)
                for t in np.unique(dt[same])
            }
    out["clashing_residues"] = len(clashing_residues(built))
    out["rama_outliers"] = rama_outlier_fraction(built)
    out["bond_rmsz"] = bond_rmsz(built)
    out.update(peptide_counts(built))
    return out


def matched_residues(built: gemmi.Structure, deposited: gemmi.Structure, sym: Symmetry,
                     max_distance: float = 1.0) -> tuple:  # fmt: skip
    """Built residues matched one to one to deposited ones (C-alphas within ``max_distance``,
    any crystal image).

    Returns
    -------
    tuple
        ``(b, d, p, r, got, ref)``: the two models' :class:`~..models.BackboneResidues`
        (with atoms), matched indices into each, and the (K, 14, 3) atoms of the matched built
        residues and of their deposited partners moved onto the matching image.
    """
    b, _ = backbone_residues(built, with_atoms=True)
    d, _ = backbone_residues(deposited, with_atoms=True)
    p, r, _, op, shift = match_cas(b.ca, d.ca, sym, max_distance, with_images=True)
    ref = [sym.apply(d.atoms[k], o, s) for k, o, s in zip(r, op, shift)]
    ref = np.stack(ref) if ref else np.zeros((0, *d.atoms.shape[1:]))
    # a C-terminal carboxylate's O and OXT are one pair of equivalent atoms (as ASP's OD1 and
    # OD2 are): the built O is compared with the nearer of the two
    oxt = terminal_oxygens(deposited)
    for k, (j, o, s) in enumerate(zip(r, op, shift)):
        key = (str(d.chain[j]), int(d.seqid[j]), str(d.icode[j]))
        if key in oxt:
            other = sym.apply(oxt[key], o, s)[0]
            if np.linalg.norm(b.atoms[p[k], 3] - other) < np.linalg.norm(
                b.atoms[p[k], 3] - ref[k, 3]
            ):
                ref[k, 3] = other
    return b, d, p, r, b.atoms[p], ref


def terminal_oxygens(st: gemmi.Structure) -> dict[tuple[str, int, str], np.ndarray]:
    """The OXT atom of each amino acid of the first model that has one (a chain's C-terminal
    carboxylate), by (chain, number, insertion code)."""
    out = {}
    for ch in st[0]:
        for res in ch:
            a = res.find_atom("OXT", "*")
            if a is not None:
                out[(ch.name, res.seqid.num, res.seqid.icode.strip())] = np.array(a.pos.tolist())
    return out


def class_indices(names: np.ndarray) -> np.ndarray:
    """Class index of each residue name (modified residues by their parent; -1: none)."""
    return np.array([INDEX.get(PARENT.get(n, n), -1) for n in names], dtype=np.int64)


def clashing_residues(st: gemmi.Structure, cutoff: float = CLASH) -> set[tuple[str, int, str]]:
    """(chain, number, insertion code) of the amino acids of ``st`` in an impossible contact.

    A heavy atom within ``cutoff`` of a heavy atom of another residue that is not its chain
    neighbour, crystal copies included; atoms with an altloc or below full occupancy and
    disulfide SG pairs do not count (see the module).
    """
    st = st.clone()
    st.setup_entities()
    st.remove_hydrogens()
    ns = gemmi.NeighborSearch(st[0], st.cell, max(5.0, cutoff + 1)).populate()
    search = gemmi.ContactSearch(cutoff)
    search.ignore = gemmi.ContactSearch.Ignore.AdjacentResidues
    bad: set[tuple[str, int, str]] = set()
    for hit in search.find_contacts(ns):
        pair = (hit.partner1, hit.partner2)
        if any(c.atom.altloc != "\0" or c.atom.occ < 0.99 for c in pair):
            continue
        if all(c.atom.name == "SG" for c in pair):
            continue
        kinds = [gemmi.find_tabulated_residue(c.residue.name) for c in pair]
        if not all(k is not None and k.is_amino_acid() for k in kinds):
            continue
        for c in pair:
            bad.add((c.chain.name, c.residue.seqid.num, c.residue.seqid.icode.strip()))
    return bad | neighbour_clashes(st)


def neighbour_clashes(st: gemmi.Structure) -> set[tuple[str, int, str]]:
    """(chain, number, insertion code) of both residues of each peptide-linked pair (C-N under
    2 A) with heavy atoms nearer than :data:`NEIGHBOUR_CLASH` (up to three bonds apart, the
    C-N bond aside) or :data:`CLASH` (further apart); single-conformer atoms at full occupancy.
    """
    bad: set[tuple[str, int, str]] = set()
    for chain in st[0]:
        for r, s in zip(chain, list(chain)[1:]):
            c, n = r.find_atom("C", "*"), s.find_atom("N", "*")
            if not (c and n and c.pos.dist(n.pos) < 2.0):
                continue
            a = [x for x in r if x.element.name != "H" and x.altloc == "\0" and x.occ >= 0.99]
            b = [x for x in s if x.element.name != "H" and x.altloc == "\0" and x.occ >= 0.99]
            if not a or not b:
                continue
            d = np.linalg.norm(np.array([x.pos.tolist() for x in a])[:, None]
                               - np.array([x.pos.tolist() for x in b])[None], axis=2)  # fmt: skip
            bonds = (np.array([_TO_C.get(x.name, 9) for x in a])[:, None] + 1
                     + np.array([_TO_N.get(x.name if s.name == "PRO" or x.name not in ("CD", "CG")
                                           else "", 9) for x in b])[None])  # fmt: skip
            limit = np.where(bonds <= 3, NEIGHBOUR_CLASH, CLASH)
            limit[bonds == 1] = 0.0  # the peptide bond
            if (d < limit).any():
                bad |= {(chain.name, x.seqid.num, x.seqid.icode.strip()) for x in (r, s)}
    return bad


def _pooled(per: np.ndarray, n_atoms: np.ndarray) -> float:
    """RMSD over all atoms from per-residue RMSDs and atom counts (NaN for none)."""
    total = n_atoms.sum()
    return float(np.sqrt((per**2 * n_atoms).sum() / total)) if total else float("nan")


def _density_figures(dmap: DensityMap, got: np.ndarray, ref: np.ndarray, per: np.ndarray,
                     n_atoms: np.ndarray, ids: list[tuple[str, str, str]]) -> dict:  # fmt: skip
    """The map-based figures of :func:`compare_models` for matched, correctly typed residues.

    ``ids``: (built chain+number, deposited chain+number, type) of each residue, for
    ``far_list`` (the far-off residues, worst first, with the mean map value at their atoms).
    """
    present = np.isfinite(ref).all(-1) & np.isfinite(got).all(-1)

    def level(xyz: np.ndarray) -> np.ndarray:  # map values at present atoms, NaN elsewhere
        rho = np.full(present.shape, np.nan)
        rho[present] = dmap.sample_points(xyz[present])
        return rho

    rho_ref, rho_got = level(ref), level(got)
    supported = np.where(present, rho_ref >= IN_DENSITY, True).all(1)
    far = per > 1.0
    higher = np.nanmean(rho_got, 1) > np.nanmean(rho_ref, 1)
    return {
        "all_atom_rmsd_in_density": _pooled(per[supported], n_atoms[supported]),
        "in_density_fraction": float(supported.mean()),
        "far_residues": int(far.sum()),
        "far_built_in_higher_density": int((far & higher).sum()),
        "far_list": [
            {"built": ids[k][0], "deposited": ids[k][1], "type": ids[k][2],
             "rmsd": round(float(per[k]), 2),
             "built_sigma": round(float(np.nanmean(rho_got[k])), 2),
             "deposited_sigma": round(float(np.nanmean(rho_ref[k])), 2)}
            for k in np.flatnonzero(far)[np.argsort(-per[far])]
        ],
    }  # fmt: skip
