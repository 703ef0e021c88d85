"""Derive the ideal geometry and Ramachandran tables the model builder uses, from the training
structures (TRAIN split of ../shared/data/structures): refined X-ray models, so their medians
are the restraint values refinement programs used (Engh & Huber).

Writes ``src/napari_densitybuild/data/geometry.json`` and ``rama.npz``. Run from the repository
root::

    .venv/bin/python scripts/make_geometry.py

* rigid pairs: atom pairs within a residue (and across the peptide bond, for trans peptides)
  whose distance varies by less than 0.06 A (sd) over the data: bonds, angles (as 1-3
  distances), rings and planar groups. Median distance and sd (floored at 0.02 A).
* the same pairs across cis peptide bonds (C-alphas closer than 3.3 A): their angles open, so
  the C-alphas sit 2.9-3.0 A apart rather than the 2.77 A of trans angles with omega 0.
* before a proline, the pairs of residue i's N, CA, C, O with the proline's CD that are rigid
  across trans (``proline_peptide``) and cis (``cis_proline_peptide``) peptides: the angle
  C(i)-N-CD and the flat peptide, which the proline's own pairs do not hold.
* chiral centres: signed volume (A^3) of CA (N, C, CB), THR CB (CA, OG1, CG2) and ILE CB
  (CA, CG1, CG2): median and sd.
* C-alpha trace -> backbone: N and C of residue i in the frame of C-alphas i-1, i, i+1
  (e1 along CA(i+1) - CA(i-1), e2 towards CA(i) from their midpoint), mean positions per
  5-degree bin of the virtual angle CA(i-1)-CA(i)-CA(i+1) (about 0.2 A error).
* Ramachandran: phi/psi densities (5-degree bins, Gaussian smoothing of one bin, periodic) for
  general, glycine, proline and pre-proline residues, with the density below which 0.05 %
  (general, pre-proline) or 0.1 % (glycine, proline) of the data lie: the outlier contour.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import gemmi
import numpy as np
from scipy.ndimage import gaussian_filter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.geometry import CIS_CA  # noqa: E402
from napari_densitybuild.models import backbone_residues  # noqa: E402
from napari_densitybuild.residues import HEAVY_ATOMS, PARENT  # noqa: E402
from napari_densitybuild.trace import ca_trace_frame  # noqa: E402
from napari_densitybuild.training.split import split_files  # noqa: E402

CHIRAL = {"CA": ("CA", "N", "C", "CB"), "THR": ("CB", "CA", "OG1", "CG2"),
          "ILE": ("CB", "CA", "CG1", "CG2")}  # fmt: skip
NEXT = ("N", "CA")  # atoms of residue i+1 in peptide pairs
RIGID_SD = 0.06
BINS = 72
CA_BIN = 5


def volume(a, b, c, d):
    return float(np.dot(b - a, np.cross(c - a, d - a)))


def main() -> int:
    intra = defaultdict(list)  # (resname, a, b) -> distances
    pep = defaultdict(list)  # (a of i, b of i+1) -> distances
    cis = defaultdict(list)  # the same, across cis peptides
    pro = {True: defaultdict(list), False: defaultdict(list)}  # trans? -> (a of i, CD) -> d
    chiral = defaultdict(list)
    rama = defaultdict(list)
    ca_frames = defaultdict(list)  # virtual-angle bin -> (N, C) in the CA-trace frame
    files = split_files("train")
    for n, path in enumerate(files):
        st = gemmi.read_structure(str(path))
        st.remove_hydrogens()
        st.remove_alternative_conformations()
        for ch in st[0]:
            residues = list(ch)
            for k, res in enumerate(residues):
                name = PARENT.get(res.name, res.name)
                names = HEAVY_ATOMS.get(name)
                if names is None:
                    continue
                pos = {}
                for a in res:
                    nm = "SD" if (res.name == "MSE" and a.name == "SE") else a.name
                    pos[nm] = np.array(a.pos.tolist())
                have = [a for a in names if a in pos]
                for i, a in enumerate(have):
                    for b in have[i + 1 :]:
                        intra[(name, a, b)].append(float(np.linalg.norm(pos[a] - pos[b])))
                for key, (c, *o) in CHIRAL.items():
                    if (key == "CA" and name != "GLY") or key == name:
                        if all(x in pos for x in (c, *o)):
                            chiral[(name, key)].append(volume(pos[c], *(pos[x] for x in o)))
                if k + 1 < len(residues):
                    nxt = residues[k + 1]
                    npos = {a.name: np.array(a.pos.tolist()) for a in nxt}
                    if "C" in pos and "N" in npos and np.linalg.norm(pos["C"] - npos["N"]) < 1.5:
                        both = "CA" in pos and "CA" in npos
                        trans = both and np.linalg.norm(pos["CA"] - npos["CA"]) > CIS_CA
                        for a in ("N", "CA", "C", "O"):
                            for b in NEXT:
                                if a in pos and b in npos and both:
                                    d = float(np.linalg.norm(pos[a] - npos[b]))
                                    (pep if trans else cis)[(a, b)].append(d)
                            if both and nxt.name == "PRO" and a in pos and "CD" in npos:
                                d = float(np.linalg.norm(pos[a] - npos["CD"]))
                                pro[bool(trans)][(a, "CD")].append(d)
                prev = residues[k - 1] if k else None
                nxt = residues[k + 1] if k + 1 < len(residues) else None
                if prev is not None and nxt is not None:
                    phi = gemmi.calculate_phi_psi(prev, res, nxt)
                    if not any(np.isnan(phi)):
                        kind = (
                            "glycine"
                            if name == "GLY"
                            else "proline"
                            if name == "PRO"
                            else (
                                "preproline"
                                if PARENT.get(nxt.name, nxt.name) == "PRO"
                                else "general"
                            )
                        )
                        rama[kind].append(np.degrees(phi))
        bb, _ = backbone_residues(st)
        step = np.linalg.norm(np.diff(bb.ca, axis=0), axis=1)
        ok = (step < 4.2) & (step > 3.5) & (bb.chain[1:] == bb.chain[:-1])
        for i in range(1, len(bb) - 1):
            if ok[i - 1] and ok[i]:
                rot, angle = ca_trace_frame(bb.ca[i - 1], bb.ca[i], bb.ca[i + 1])
                ca_frames[int(angle // CA_BIN)].append(
                    np.concatenate([rot.T @ (bb.n[i] - bb.ca[i]), rot.T @ (bb.c[i] - bb.ca[i])])
                )
        if n % 100 == 0:
            print(f"{n}/{len(files)} structures", flush=True)

    geometry = {"source": "median over TRAIN-split structures (scripts/make_geometry.py)",
                "rigid_sd": RIGID_SD, "residues": {}, "peptide": [], "cis_peptide": [],
                "chiral": {}}  # fmt: skip
    for (name, a, b), d in sorted(intra.items()):
        d = np.array(d)
        if len(d) >= 20 and d.std() < RIGID_SD:
            geometry["residues"].setdefault(name, []).append(
                [a, b, round(float(np.median(d)), 4), round(max(float(d.std()), 0.02), 4)]
            )
    for (a, b), d in sorted(pep.items()):
        d = np.array(d)
        if d.std() < RIGID_SD:
            geometry["peptide"].append([a, b, round(float(np.median(d)), 4),
                                        round(max(float(d.std()), 0.02), 4)])  # fmt: skip
            d = np.array(cis[(a, b)])  # the pairs rigid across trans peptides, in cis ones
            geometry["cis_peptide"].append([a, b, round(float(np.median(d)), 4),
                                            round(max(float(d.std()), 0.02), 4)])  # fmt: skip
    geometry["cis_peptide_count"] = len(cis["CA", "CA"])
    for key, trans in (("proline_peptide", True), ("cis_proline_peptide", False)):
        geometry[key] = [
            [a, b, round(float(np.median(d)), 4), round(max(float(np.std(d)), 0.02), 4)]
            for (a, b), d in sorted(pro[trans].items())
            if np.std(d) < RIGID_SD
        ]
        geometry[f"{key}_count"] = len(pro[trans]["C", "CD"])
    for (name, key), v in sorted(chiral.items()):
        v = np.array(v)
        good = v[np.sign(v) == np.sign(np.median(v))]  # drop the few mislabelled centres
        geometry["chiral"].setdefault(name, []).append(
            [*CHIRAL[key], round(float(np.median(good)), 4), round(max(float(good.std()), 0.1), 4)]
        )
    table = {}
    for k, rows in sorted(ca_frames.items()):
        if len(rows) >= 20:
            m = np.mean(rows, axis=0)
            table[str(k * CA_BIN)] = [round(float(v), 4) for v in m]
    geometry["ca_frames"] = {"bin_degrees": CA_BIN, "n_c": table}
    out = ROOT / "src" / "napari_densitybuild" / "data"
    out.mkdir(exist_ok=True)
    (out / "geometry.json").write_text(json.dumps(geometry, indent=0) + "\n")

    tables = {}
    for kind, pts in rama.items():
        pts = np.array(pts)
        h, _, _ = np.histogram2d(pts[:, 0], pts[:, 1], bins=BINS, range=[[-180, 180]] * 2)
        dens = gaussian_filter(h, 1.0, mode="wrap")
        dens /= dens.sum()
        idx = np.clip(((pts + 180) / (360 / BINS)).astype(int), 0, BINS - 1)
        at = dens[idx[:, 0], idx[:, 1]]
        frac = 0.001 if kind in ("glycine", "proline") else 0.0005
        tables[kind] = dens.astype(np.float32)
        tables[f"{kind}_threshold"] = np.float32(np.quantile(at, frac))
        tables[f"{kind}_count"] = np.int64(len(pts))
    np.savez_compressed(out / "rama.npz", **tables)
    counts = {k: int(v) for k, v in tables.items() if k.endswith("_count")}
    print(
        f"wrote geometry.json ({sum(len(v) for v in geometry['residues'].values())} "
        f"intra-residue pairs, {len(geometry['peptide'])} peptide pairs) and rama.npz {counts}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
