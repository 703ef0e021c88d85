"""Placement (stage 1) on every real map, and on one map with 8 times the volume.

For each real map in ``<shared data>/real`` a fresh process reads the map and runs
``Placer.place`` (detector over the unit cell's bounding box in tiles, suppression, symmetry,
tracing); ``cdk2 x8`` is cdk2's cell as a P 1 supercell of 2 x 2 x 2 cells. Reported: seconds,
peak RSS growth, residues placed, and seconds per 1000 nm^3 of cell (cost should be linear in
the volume searched).

Usage::

    python benchmarks/bench_place.py --threads 2     # writes benchmarks/results/place.md
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from _common import RESULTS, report, run_child


def measure(case: str, device: str, threads: int) -> dict:
    """Child process: read the map, place, report."""
    import torch

    from napari_densitybuild._resources import shared_data_dir
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.place import Placer, search_region

    torch.set_num_threads(threads)
    name = case.split()[0]
    dmap = read_map(shared_data_dir() / "real" / name / "map.mtz")
    if case.endswith("x8"):
        from bench_pipeline import supercell

        dmap = supercell(dmap)
    placer = Placer.from_path(device=device)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    placed = placer.place(dmap)
    seconds = time.perf_counter() - t0
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    lo, hi = search_region(dmap)
    return {"case": case, "seconds": seconds, "peak_mib": peak, "residues": len(placed),
            "fragments": placed.fragment_count, "cell_nm3": dmap.cell.volume / 1000,
            "searched_nm3": float((hi - lo).prod()) / 1000, "resolution": dmap.resolution,
            "spacegroup": dmap.spacegroup.hm}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS / "place.md"), help="'-': print only")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child[0], args.child[1], int(args.child[2]))))
        return 0
    from napari_densitybuild._resources import shared_data_dir

    cases = [p.parent.name for p in sorted((shared_data_dir() / "real").glob("*/map.mtz"))]
    cases.append("cdk2 x8")
    rows = [
        "| map | space group | resolution | searched (nm^3) | residues | fragments | seconds "
        "| s per 1000 nm^3 | peak RSS (MiB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        r = run_child(__file__, case, args.device, str(args.threads))
        rows.append(f"| {case} | {r['spacegroup']} | {r['resolution']:.2f} | "
                    f"{r['searched_nm3']:.0f} | {r['residues']} | {r['fragments']} | "
                    f"{r['seconds']:.1f} | {1000 * r['seconds'] / r['searched_nm3']:.1f} | "
                    f"{r['peak_mib']:.0f} |")  # fmt: skip
        print(rows[-1], flush=True)
    intro = [
        f"`python benchmarks/bench_place.py --threads {args.threads} --device {args.device}`"
        " (one fresh process per map; searched = the bounding box of the unit cell, where "
        "the detector runs; weights: the shipped detector)."
    ]
    report("Placement: seconds and peak memory per map", intro, rows, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
