"""Are the two tip atoms of ASP/ASN/GLU/GLN equally strong, and does the classifier read it?

    .venv/bin/python scripts/tip_asymmetry.py --cache .cache/boxes \\
        --set real_train=real_1dmm,real_1g8a,... --set sim_val=val [--weights W]

For every box of those types in each set of caches: the map value (sigma, trilinear) at the two
tip atoms as deposited (ASP OD1/OD2, ASN OD1/ND2, GLU OE1/OE2, GLN OE1/NE2) in the box's own
frame, their difference (first minus second), and the classifier's share of the pair's
probability, P(ASN) / (P(ASN) + P(ASP)) (GLN and GLU likewise), without test-time
augmentation. Prints the mean difference, and that share by bins of the difference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import map_coordinates

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.classify import Classifier  # noqa: E402
from napari_densitybuild.residues import AMINO_ACIDS, HEAVY_ATOMS  # noqa: E402

TIPS = {"ASP": ("OD1", "OD2"), "ASN": ("OD1", "ND2"), "GLU": ("OE1", "OE2"), "GLN": ("OE1", "NE2")}
PAIR = {"ASP": ("ASN", "ASP"), "ASN": ("ASN", "ASP"), "GLU": ("GLN", "GLU"), "GLN": ("GLN", "GLU")}


def tips_and_share(clf: Classifier, folder: Path, resname: str, limit: int) -> np.ndarray:
    """(N, 2): tip difference (sigma) and the amide's share of the pair, per box of a type."""
    labels = np.load(folder / "labels.npy")
    boxes = np.load(folder / "boxes.npy", mmap_mode="r")
    atoms = np.load(folder / "atoms.npy", mmap_mode="r")
    idx = np.nonzero(labels == AMINO_ACIDS.index(resname))[0][:limit]
    if not len(idx):
        return np.zeros((0, 2))
    size, spacing = boxes.shape[1], float(clf.spec.spacing)
    centre = (size - 1) / 2
    names = HEAVY_ATOMS[resname]
    which = [names.index(a) for a in TIPS[resname]]
    cut = np.asarray(boxes[idx], np.float32)
    probs = clf.predict(cut)
    amide, acid = (AMINO_ACIDS.index(n) for n in PAIR[resname])
    share = probs[:, amide] / (probs[:, amide] + probs[:, acid] + 1e-9)
    out = []
    for j, b in enumerate(idx):
        xyz = np.asarray(atoms[b], np.float32)[which]
        if np.isnan(xyz).any():
            continue
        ijk = xyz[:, ::-1].T / spacing + centre  # box[i, j, k] holds frame (x, y, z) = (k, j, i)
        v = map_coordinates(cut[j], ijk, order=1)
        out.append((v[0] - v[1], share[j]))
    return np.array(out).reshape(-1, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(ROOT / ".cache" / "boxes"))
    ap.add_argument("--set", action="append", required=True, help="NAME=cache1,cache2,...")
    ap.add_argument("--weights", help="classifier .safetensors (default: the shipped weights)")
    ap.add_argument("--limit", type=int, default=800, help="boxes per type and cache")
    args = ap.parse_args()
    clf = Classifier.from_path(args.weights, device="cpu", tta=0, environment=False)
    print("set | type | n | mean tip difference | share by difference < 0 / 0-0.5 / >= 0.5 | corr")
    for item in args.set:
        name, caches = item.split("=", 1)
        for resname in TIPS:
            parts = [Path(args.cache) / c for c in caches.split(",")]
            rows = np.concatenate([tips_and_share(clf, f, resname, args.limit) for f in parts])
            if len(rows) < 3:
                continue
            d, q = rows[:, 0], rows[:, 1]
            bins = [d < 0, (d >= 0) & (d < 0.5), d >= 0.5]
            shares = " / ".join(f"{q[b].mean():.2f} ({b.sum()})" if b.any() else "-" for b in bins)
            corr = np.corrcoef(d, q)[0, 1]
            print(f"{name} | {resname} | {len(rows)} | {d.mean():+.2f} | {shares} | {corr:+.2f}")


if __name__ == "__main__":
    main()
