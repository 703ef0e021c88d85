"""Derive the side-chain rotamer library of ``rotamers.py`` from the training structures.

For every residue of the TRAIN split (../shared/data/structures) with all its heavy atoms:
its chi angles (``rotamers.CHI_ATOMS``) and its side chain (CB onwards) in the backbone frame
of ``boxes.backbone_frames``. Carboxylates and aromatic rings (ASP chi2, GLU chi3, PHE and TYR
chi2), whose two namings are the same group, are first named so that the last chi lies in
[-90, 90). Chi angles go into bins centred on multiples of their width (30 degrees for types
with one or two chi angles, 60 for GLN, GLU, MET, LYS and ARG, whose combinations are many and
floppy); a bin holding at least 0.3 % of the type's residues (and 10 of them) is a rotamer,
at most 80 per type, with
the mean coordinates and mean chi angles of its members and its frequency.

Writes ``src/napari_densitybuild/data/rotamers.npz``. Run from the repository root (about a
minute)::

    .venv/bin/python scripts/make_rotamers.py
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import gemmi
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.boxes import backbone_frames  # noqa: E402
from napari_densitybuild.geometry import dihedral  # noqa: E402
from napari_densitybuild.models import backbone_residues  # noqa: E402
from napari_densitybuild.pose import world_to_frame  # noqa: E402
from napari_densitybuild.residues import HEAVY_ATOMS, SWAPS  # noqa: E402
from napari_densitybuild.rotamers import CHI_ATOMS  # noqa: E402
from napari_densitybuild.training.split import split_files  # noqa: E402

OUT = ROOT / "src" / "napari_densitybuild" / "data" / "rotamers.npz"
#: Types whose last chi has two namings of one group.
SYMMETRIC = ("ASP", "GLU", "PHE", "TYR")
MIN_FRACTION, MIN_COUNT, MAX_ROTAMERS, BIN, WIDE_BIN = 0.003, 10, 80, 30.0, 60.0


def chis(name: str, atoms: np.ndarray) -> np.ndarray:
    idx = {a: i for i, a in enumerate(HEAVY_ATOMS[name])}
    return np.array([dihedral(*(atoms[idx[a]] for a in quad)) for quad in CHI_ATOMS[name]])


def main() -> int:
    rows: dict[str, list] = defaultdict(list)
    files = split_files("train")
    for k, path in enumerate(files):
        st = gemmi.read_structure(str(path))
        st.remove_hydrogens()
        res, _ = backbone_residues(st, with_atoms=True)
        centre, rot = backbone_frames(res.n, res.ca, res.c)
        for i, name in enumerate(res.resname):
            name = str(name)
            if name not in CHI_ATOMS:
                continue
            m = len(HEAVY_ATOMS[name])
            atoms = res.atoms[i, :m].copy()
            if not np.isfinite(atoms).all():
                continue
            chi = chis(name, atoms)
            if name in SYMMETRIC and not -90.0 <= chi[-1] < 90.0:
                for a, b in SWAPS[name]:
                    atoms[[a, b]] = atoms[[b, a]]
                chi = chis(name, atoms)
            local = world_to_frame(atoms[4:][None], centre[i : i + 1], rot[i : i + 1])[0]
            rows[name].append((chi, local))
        if k % 100 == 0:
            print(f"{k}/{len(files)} structures", flush=True)
    out = {}
    for name, data in sorted(rows.items()):
        chi = np.array([c for c, _ in data])
        local = np.array([x for _, x in data])
        width = np.full(chi.shape[1], BIN if chi.shape[1] <= 2 else WIDE_BIN)
        bins = np.floor(((chi + width / 2) % 360.0) / width).astype(int)
        _, inverse, counts = np.unique(bins, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        keep = np.flatnonzero(counts >= max(MIN_FRACTION * len(chi), MIN_COUNT))
        keep = keep[np.argsort(-counts[keep])][:MAX_ROTAMERS]
        xyz = np.array([local[inverse == j].mean(0) for j in keep], dtype=np.float32)
        unit = np.exp(1j * np.radians(chi))  # circular means of the chi angles
        mean_chi = np.array([np.degrees(np.angle(unit[inverse == j].mean(0))) for j in keep],
                            dtype=np.float32)  # fmt: skip
        out[f"{name}_xyz"] = xyz
        out[f"{name}_logp"] = np.log(counts[keep] / len(chi)).astype(np.float32)
        out[f"{name}_chi"] = mean_chi
        covered = counts[keep].sum() / len(chi)
        print(f"{name}: {len(chi)} residues, {len(keep)} rotamers covering {covered:.3f}")
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
