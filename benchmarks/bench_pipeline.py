"""Seconds and peak memory of each stage (read, place, classify + pose, refine, build), and how
they grow with map volume.

Cases: the plugin's sample (65 residues, simulated 1.5 A), real maps of about 300 residues
(cdk2: 267 residues at 1.9 A; 5orl: 265 at 1.7 A; 1t48: 292 at 2.2 A), and cdk2's unit cell as
a P 1 supercell of 2 x 2 x 2 cells (8 times the volume and the residues). Each case runs in a
fresh process (peak RSS is that case's alone). Also crops per second of the box sampler.

Usage::

    python benchmarks/bench_pipeline.py              # writes benchmarks/results/pipeline.md
    python benchmarks/bench_pipeline.py --threads 2 --device cpu --out -
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from _common import RESULTS, report, run_child

from napari_densitybuild.settings import DEFAULT_PASSES, DEFAULT_TTA

CASES = ("sample", "cdk2", "5orl", "1t48", "cdk2 x8")


def supercell(dmap, n: int = 2):
    """The map's unit cell repeated n x n x n times, as a P 1 map of the big cell."""
    import gemmi
    import numpy as np

    from napari_densitybuild.maps import DensityMap

    arr = np.tile(np.array(dmap.grid, copy=False), (n, n, n))
    c = dmap.cell
    cell = gemmi.UnitCell(n * c.a, n * c.b, n * c.c, c.alpha, c.beta, c.gamma)
    grid = gemmi.FloatGrid(np.ascontiguousarray(arr), cell, gemmi.SpaceGroup("P 1"))
    return DensityMap(grid=grid, resolution=dmap.resolution, source=f"{dmap.source} x{n}^3")


def map_path(case: str):
    """The map file of a case (the supercell's source map for "cdk2 x8")."""
    from napari_densitybuild._resources import sample_file, shared_data_dir

    name = case.split()[0]
    return sample_file("sample_map.mtz") if name == "sample" else (
        shared_data_dir() / "real" / name / "map.mtz")  # fmt: skip


def command_seconds(case: str, device: str, threads: int) -> float | None:
    """Wall seconds of ``densitybuild build MAP`` as a user runs it: a fresh process, imports,
    reading and writing included (None for the supercell, which exists only in memory)."""
    import subprocess
    import tempfile

    if case.endswith("x8"):
        return None
    path = map_path(case)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "napari_densitybuild", "build", str(path), "--out",
               f"{tmp}/model.cif", "--threads", str(threads), "--device", device]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, timeout=1800)
        return time.perf_counter() - t0


def measure(case: str, device: str, threads: int) -> dict:
    """Child process: run the stages on one case, timing each."""
    import numpy as np
    import torch

    from napari_densitybuild.boxes import cut_boxes
    from napari_densitybuild.build import build
    from napari_densitybuild.build_result import atoms_for_types
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.place import Placer
    from napari_densitybuild.pose import frame_to_world
    from napari_densitybuild.refine import refine

    torch.set_num_threads(threads)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = {}
    t0 = time.perf_counter()
    dmap = read_map(map_path(case))
    if case.endswith("x8"):
        dmap = supercell(dmap)
    t["read"] = time.perf_counter() - t0
    placer = Placer.from_path(device=device)
    clf = Classifier.from_path(device=device)
    t1 = time.perf_counter()
    placed = placer.place(dmap)
    t["place"] = time.perf_counter() - t1
    centres, rotations = placed.frames()
    t1 = time.perf_counter()
    boxes = cut_boxes(dmap, centres, rotations, clf.spec)
    t["cut"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    probs, coords = clf.predict(boxes, poses=True)
    t["classify+pose"] = time.perf_counter() - t1
    model = atoms_for_types(frame_to_world(coords, centres, rotations), probs.argmax(1), placed)
    t1 = time.perf_counter()
    refine(model, dmap)
    t["refine"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    result = build(dmap, placer, clf)
    t["build"] = time.perf_counter() - t1
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    vol = dmap.cell.volume
    return {"case": case, "residues": len(result), "volume_nm3": vol / 1000, **t,
            "crops_per_s": len(boxes) / max(t["cut"], 1e-9), "peak_mib": peak,
            "device": str(clf.device), "fragments": result.report["fragments"],
            "grid": f"{dmap.grid.nu}x{dmap.grid.nv}x{dmap.grid.nw}",
            "resolution": dmap.resolution, "voxels": int(np.prod(dmap.grid.shape))}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS / "pipeline.md"), help="'-': print only")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child[0], args.child[1], int(args.child[2]))))
        return 0
    head = (
        "| case | residues | cell volume (nm^3) | read | place | cut boxes | classify + pose "
        "| refine | build (all stages) | `build` command | crops/s | peak RSS (MiB) |"
    )
    rows = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    results = []
    for case in [c.strip() for c in args.cases.split(",") if c.strip()]:
        r = run_child(__file__, case, args.device, str(args.threads))
        command = command_seconds(case, args.device, args.threads)
        results.append(r)
        cells = [f"{case} ({r['resolution']:.2f} A)", r["residues"], f"{r['volume_nm3']:.0f}",
                 *(f"{r[k]:.2f}" for k in ("read", "place", "cut", "classify+pose", "refine",
                                           "build")),
                 "-" if command is None else f"{command:.2f}",
                 f"{r['crops_per_s']:.0f}", f"{r['peak_mib']:.0f}"]  # fmt: skip
        rows.append("| " + " | ".join(map(str, cells)) + " |")
        print(rows[-1], flush=True)
    scale = ""
    one = next((r for r in results if r["case"] == "cdk2"), None)
    eight = next((r for r in results if r["case"] == "cdk2 x8"), None)
    if one and eight:
        scale = (f"Scaling cdk2 -> cdk2 x8 (volume x{eight['volume_nm3'] / one['volume_nm3']:.1f}):"
                 f" place x{eight['place'] / one['place']:.1f}, build "
                 f"x{eight['build'] / one['build']:.1f}, peak memory "
                 f"x{eight['peak_mib'] / max(one['peak_mib'], 1):.1f}.")  # fmt: skip
    intro = [
        f"`python benchmarks/bench_pipeline.py --threads {args.threads} --device "
        f"{args.device}` (seconds; one fresh process per case; build = `densitybuild build` "
        f"without reading: place, then the default {DEFAULT_PASSES} passes of classify + pose "
        "(with H-bond evidence and NCS averaging) and refine (with rotamer fit and flips), "
        "assemble; the stage columns are the stages run once each, one by one, classify + "
        "pose as one pass over the boxes, where build also scores the default "
        f"{DEFAULT_TTA} test-time augmentation copies; weights: the shipped ones; `build` "
        "command: the wall time of `densitybuild build MAP --out M.cif` in a fresh process, "
        "imports, reading and writing included, as a user runs it).",
        f"torch threads: {args.threads}; device: {results[0]['device'] if results else '-'}",
    ]
    report("Pipeline: seconds per stage and peak memory", intro, rows, args.out, scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
