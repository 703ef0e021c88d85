"""Cut a map into a P 1 box around a model, written as a cryo-EM map is (MRC, origin header).

    .venv/bin/python scripts/box_map.py ../shared/data/real/1cbs/map.mtz \\
        ../shared/data/real/1cbs/model.cif.gz --margin 6 --spacing 0.83 --out 1cbs_box.mrc

A way to run the pipeline on a map with no crystal symmetry whose model is known: the box
spans the model's atoms plus ``--margin`` A on every side, sampled on an orthogonal grid of
``--spacing`` A, with the box's corner in the MRC ``origin`` field (so the model keeps its
coordinates: ``densitybuild evaluate --task build --map BOX.mrc --model MODEL --built M.cif``).
Whatever density of crystal neighbours falls inside the box comes with it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gemmi
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.mapfiles import write_em_box  # noqa: E402
from napari_densitybuild.maps import read_map  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("map", help="map file (MTZ, CCP4, MRC)")
    p.add_argument("model", help="model whose atoms set the box")
    p.add_argument("--out", required=True, help="MRC file to write")
    p.add_argument("--margin", type=float, default=6.0, help="A around the atoms (default 6)")
    p.add_argument("--spacing", type=float, default=0.83, help="voxel size in A (default 0.83)")
    args = p.parse_args(argv)
    st = gemmi.read_structure(args.model)
    xyz = np.array([cra.atom.pos.tolist() for cra in st[0].all()])
    if not len(xyz):
        raise SystemExit(f"{args.model}: no atoms")
    lo, hi = xyz.min(0) - args.margin, xyz.max(0) + args.margin
    shape, spacing = write_em_box(args.out, read_map(args.map), lo, hi, args.spacing)
    print(f"{args.out}: {' x '.join(map(str, shape))} voxels of {spacing:.2f} A from {lo.round(2)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
