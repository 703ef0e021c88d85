"""How often the review panel's H-bond hints are right, at the residues of deposited models.

    .venv/bin/python scripts/contact_hints.py [--maps 1cbs,cdk2,...]   # default: all of real/

For every ASP, ASN, GLU, GLN, VAL and THR of each deposited model (protein residues, first
conformer, crystal copies from the model's cell), :func:`~napari_densitybuild.contacts.
polar_contacts` and :func:`~napari_densitybuild.contacts.contact_hint` as the review panel
shows them, with the residue's deposited type; counted: how often each suggestion (amide, acid,
THR) is made and for which deposited types. Needs ``../shared/data`` (or DENSITYBUILD_DATA).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import gemmi
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from napari_densitybuild.contacts import contact_hint, polar_contacts
from napari_densitybuild.residues import INDEX, PARENT
from napari_densitybuild.session import ResidueState, Session
from napari_densitybuild.training.realdata import model_path, real_names

TYPES = ("ASP", "ASN", "GLU", "GLN", "VAL", "THR")
#: What each hint suggests, found by its closing words.
SUGGESTS = {"(ASN).": "amide", "(GLN).": "amide", "(ASP).": "acid", "(GLU).": "acid",
            "(THR).": "THR"}  # fmt: skip


def deposited_session(path: Path) -> Session:
    """A review session of a model's amino acids (first conformer), with its cell."""
    st = gemmi.read_structure(str(path))
    st.remove_hydrogens()
    rows = []
    for ch in st[0]:
        for r in ch:
            name = PARENT.get(r.name, r.name)
            if name not in INDEX:
                continue
            atoms = tuple((a.name, a.pos.x, a.pos.y, a.pos.z) for a in r if a.altloc in "\0A")
            frame = ((0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
            rows.append(ResidueState(ch.name, r.seqid.num, r.seqid.icode.strip(), INDEX[name],
                                     (), *frame, 1.0, atoms))  # fmt: skip
    meta = {"cell": list(st.cell.parameters), "spacegroup": st.spacegroup_hm or "P 1"}
    return Session(rows, None, meta, autosave=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maps", default="", help="comma-separated real-map folders (default: all)")
    args = ap.parse_args()
    names = [m for m in args.maps.split(",") if m] or real_names()
    total: Counter = Counter()
    for name in names:
        s = deposited_session(model_path(name))
        counts: Counter = Counter()
        for i, r in enumerate(s.residues):
            if r.name in TYPES:
                hint = contact_hint(r.name, polar_contacts(s, i))
                counts[(r.name, SUGGESTS.get(hint.rsplit(" ", 1)[-1], "none"))] += 1
        total.update(counts)
        print(name, dict(sorted(counts.items())))
    print("\n| deposited type | amide suggested | acid suggested | THR suggested | none |")
    print("|---|---:|---:|---:|---:|")
    for t in TYPES:
        print(f"| {t} | " + " | ".join(str(total[(t, k)]) for k in ("amide", "acid", "THR", "none"))
              + " |")  # fmt: skip


if __name__ == "__main__":
    main()
