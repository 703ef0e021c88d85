"""Evaluate a built model against the deposited one (stage 3 and the whole pipeline).

Residues are matched by C-alpha (one to one, within 1 A, any crystal image of the deposited
residue); for each match the deposited residue is moved onto the built one's copy. Reported:

* ``recall_1A``, ``precision_1A``: matched C-alphas over deposited / built residues;
* ``sequence_recovery``: matched residues whose type is the deposited type;
* ``backbone_rmsd``: N, CA, C, O of matched residues;
* ``all_atom_rmsd``: every heavy atom of matched, correctly typed residues (the better naming
  of symmetric groups, e.g. PHE ring flips; :mod:`.pose_loss`);
* ``rama_outliers``, ``bond_rmsz``: geometry of the built model (:mod:`~..geometry`).
"""

from __future__ import annotations

import gemmi
import numpy as np

from ..geometry import bond_rmsz, rama_outlier_fraction
from ..models import backbone_residues
from ..residues import AMINO_ACIDS, INDEX, PARENT
from ..symmetry import Symmetry
from .place_metrics import match_cas
from .pose_loss import pose_rmsd


def compare_models(built: gemmi.Structure, deposited: gemmi.Structure, sym: Symmetry) -> dict:
    """Metrics of a built model against a deposited model of the same crystal (see module)."""
    b, _ = backbone_residues(built, with_atoms=True)
    d, _ = backbone_residues(deposited, with_atoms=True)
    p, r, _, op, shift = match_cas(b.ca, d.ca, sym, 1.0, with_images=True)
    out = {"built": len(b), "deposited": len(d), "matched_1A": len(p),
           "recall_1A": len(p) / max(len(d), 1),
           "precision_1A": len(p) / max(len(b), 1)}  # fmt: skip
    if len(p):
        ref_atoms = np.stack([sym.apply(d.atoms[k], o, s) for k, o, s in zip(r, op, shift)])
        got = b.atoms[p]
        bb = np.isfinite(ref_atoms[:, :4]).all(-1) & np.isfinite(got[:, :4]).all(-1)
        diff = ((got[:, :4] - ref_atoms[:, :4]) ** 2).sum(-1)
        out["backbone_rmsd"] = float(np.sqrt(diff[bb].mean())) if bb.any() else float("nan")
        bt = np.array([INDEX.get(PARENT.get(n, n), -1) for n in b.resname[p]])
        dt = np.array([INDEX.get(PARENT.get(n, n), -1) for n in d.resname[r]])
        same = (bt == dt) & (dt >= 0)
        out["sequence_recovery"] = float(same.mean())
        if same.any():
            per = pose_rmsd(got[same], ref_atoms[same], dt[same])
            n_atoms = np.isfinite(ref_atoms[same]).all(-1).sum(1)
            ok = np.isfinite(per)
            out["all_atom_rmsd"] = float(np.sqrt((per[ok] ** 2 * n_atoms[ok]).sum()
                                                 / n_atoms[ok].sum()))  # fmt: skip
            out["per_type_all_atom_rmsd"] = {
                AMINO_ACIDS[t]: round(float(np.sqrt(np.nanmean(per[dt[same] == t] ** 2))), 3)
                for t in np.unique(dt[same])
            }
    out["rama_outliers"] = rama_outlier_fraction(built)
    out["bond_rmsz"] = bond_rmsz(built)
    return out
