"""Waters found by :func:`napari_densitybuild.waters.find_waters` against the deposited ones.

    .venv/bin/python scripts/water_check.py 3sb3,1g8a,2apb [--built runs/ho_noseq]

For each real map (``../shared/data/real/MAP``): the deposited model without its waters (or,
with ``--built DIR``, the build ``DIR/MAP.cif``) is given its waters from the map; counted are
the waters placed, those within 1 A of a deposited water (any crystal copy) and the deposited
waters found so. Where the MTZ holds measured amplitudes, R-work / R-free of the model without
and with the waters found (one B for every atom, as builds are scored: ``model_maps``). Prints
a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.model_maps import fit_to_map_file  # noqa: E402
from napari_densitybuild.models import atom_table, read_structure  # noqa: E402
from napari_densitybuild.symmetry import Symmetry  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402
from napari_densitybuild.waters import find_waters, with_waters  # noqa: E402


def within(points: np.ndarray, targets: np.ndarray, sym: Symmetry, distance: float = 1.0) -> int:
    """How many ``points`` lie within ``distance`` of a crystal copy of a ``targets`` point."""
    if not len(points) or not len(targets):
        return 0
    box = (points.min(0) - distance - 1, points.max(0) + distance + 1)
    copies = sym.images(targets, box=box)["xyz"]
    return int((cKDTree(copies).query(points)[0] <= distance).sum()) if len(copies) else 0


def r_pair(mtz: Path, st, waters: np.ndarray) -> str:
    before = fit_to_map_file(mtz, st, "flat")
    if before is None:
        return "-"
    after = fit_to_map_file(mtz, with_waters(st, waters), "flat")
    return (f"{before.r_work:.3f} / {before.r_free:.3f} -> "
            f"{after.r_work:.3f} / {after.r_free:.3f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("maps", help="real-map folders, comma-separated")
    p.add_argument("--built", help="folder of builds MAP.cif to give waters instead")
    args = p.parse_args(argv)
    print(
        "| map | model | waters placed | within 1 A of a deposited water | deposited found "
        "| R-work / R-free without -> with them | seconds |"
    )
    print("|---|---|---:|---:|---:|---|---:|")
    for name in args.maps.split(","):
        mtz = real_dir() / name / "map.mtz"
        dmap = read_map(mtz)
        sym = Symmetry.of_map(dmap)
        deposited = read_structure(model_path(name))
        deposited.remove_alternative_conformations()
        wat = np.array([a.pos.tolist() for ch in deposited[0] for r in ch if r.is_water()
                        for a in r]).reshape(-1, 3)  # fmt: skip
        if args.built:
            st, label = read_structure(str(Path(args.built) / f"{name}.cif")), "build"
        else:
            st, label = deposited.clone(), "deposited, waters removed"
            st.remove_waters()
        t = time.perf_counter()
        atoms = atom_table(st)
        found = find_waters(dmap, atoms.xyz, atoms.element)
        seconds = time.perf_counter() - t
        print(f"| {name} | {label} | {len(found)} | {within(found, wat, sym)} | "
              f"{within(wat, found, sym)} of {len(wat)} | {r_pair(mtz, st, found)} | "
              f"{seconds:.1f} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
