"""Do the unmodelled blobs of a deposited protein find its ligands? (checks ``blobs.py``)

    .venv/bin/python scripts/blob_check.py [--maps 1cbs,1t48,...]   # default: all of real/

For each real map: the deposited model's amino acids alone are given to
:func:`~napari_densitybuild.blobs.unmodelled_blobs`; every other group of five or more atoms
(ligands, glycans; not waters) should then be density it leaves unexplained. Printed per map:
the blobs found; how many of the ten largest have their highest point within 2.5 A of an atom
(any crystal image) of such a group, of a deposited water only, or of neither; and for each
group the rank of the first blob whose highest point is that close to it, or "-" (a glycan
tree makes one blob with one highest point, so most of its sugars show "-"). Needs
``../shared/data`` (or DENSITYBUILD_DATA).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gemmi
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from napari_densitybuild.blobs import unmodelled_blobs
from napari_densitybuild.maps import read_map
from napari_densitybuild.symmetry import Symmetry
from napari_densitybuild.training.realdata import model_path, real_names

NEAR = 2.5


def groups(st: gemmi.Structure) -> tuple[np.ndarray, list[tuple[str, np.ndarray]], np.ndarray]:
    """Amino-acid atoms, the other groups of five or more heavy atoms, and water oxygens."""
    protein, others, water = [], [], []
    for ch in st[0]:
        for r in ch:
            xyz = [a.pos.tolist() for a in r if a.element.name != "H"]
            kind = gemmi.find_tabulated_residue(r.name)
            if kind is not None and kind.is_amino_acid():
                protein += xyz
            elif r.name in ("HOH", "WAT", "DOD"):
                water += xyz
            elif len(xyz) >= 5:
                others.append((f"{r.name} {ch.name}{r.seqid.num}", np.array(xyz)))
    return np.array(protein), others, np.array(water).reshape(-1, 3)


def near(sym: Symmetry, xyz: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """(P,) whether each peak is within NEAR of an image of one of the points."""
    out = np.zeros(len(peaks), dtype=bool)
    if len(xyz) and len(peaks):
        images = sym.images(xyz, box=(peaks.min(0) - NEAR, peaks.max(0) + NEAR))["xyz"]
        if len(images):
            d = np.linalg.norm(images[None] - peaks[:, None], axis=2)
            out = d.min(1) < NEAR
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maps", default="", help="comma-separated real-map folders (default: all)")
    args = ap.parse_args()
    found = total = 0
    tally = np.zeros(3, dtype=int)
    for name in [m for m in args.maps.split(",") if m] or real_names():
        root = Path(model_path(name)).parent
        dmap = read_map(root / "map.mtz")
        protein, others, water = groups(gemmi.read_structure(str(model_path(name))))
        blobs = unmodelled_blobs(dmap, protein)
        peaks = np.array([b.centre for b in blobs]).reshape(-1, 3)
        sym = Symmetry.of_map(dmap)
        by_group = np.zeros(len(peaks), dtype=bool)
        ranks = []
        for label, xyz in others:
            hit = near(sym, xyz, peaks)
            by_group |= hit
            ranks.append(f"{label}: {np.flatnonzero(hit)[0] + 1 if hit.any() else '-'}")
            found += bool(hit.any())
        total += len(others)
        top = slice(0, 10)
        by_water = near(sym, water, peaks) & ~by_group
        counts = np.array([by_group[top].sum(), by_water[top].sum(), 0])
        counts[2] = len(peaks[top]) - counts[:2].sum()
        tally += counts
        shown = "; ".join(ranks[:8]) + (f"; ... ({len(ranks) - 8} more)" if len(ranks) > 8 else "")
        print(f"{name}: {len(blobs)} blobs; top ten: {counts[0]} at a ligand or glycan, "
              f"{counts[1]} at waters, {counts[2]} neither; groups: {shown or 'none'}")  # fmt: skip
    print(
        f"groups of 5+ atoms with a blob: {found} of {total}; largest ten blobs per map: "
        f"{tally[0]} at a ligand or glycan, {tally[1]} at waters, {tally[2]} neither"
    )


if __name__ == "__main__":
    main()
