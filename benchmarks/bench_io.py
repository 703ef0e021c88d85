"""Time and memory of opening maps the way napari does: read + resample for display.

For each real map in ``<shared data>/real`` (and for the plugin's sample) a fresh Python process
reads the map (``read_map``) and builds its Image layer (``map_layer``: the whole unit cell plus
5 A at 0.5 A spacing), so each peak-memory figure (``ru_maxrss`` growth over the process after
its imports) belongs to one map alone. Writes a markdown table with the machine's details.

Usage::

    python benchmarks/bench_io.py            # writes benchmarks/results/io.md
    python benchmarks/bench_io.py --out -    # print only
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, machine, run_child, write


def measure(kind: str, path: str) -> dict:
    """Run in the child process: read one map (or the sample) and time each step."""
    import numpy as np
    from napari.utils.colormaps import Colormap  # noqa: F401  (imported before measuring)

    from napari_densitybuild._napari._layers import map_layer
    from napari_densitybuild._napari._sample_data import make_sample_data
    from napari_densitybuild.maps import read_map

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if kind == "sample":
        layers = make_sample_data()
        t_read = time.perf_counter() - t0
        data = layers[-1][0]
        grid = "-"
        t_show = 0.0
    else:
        dmap = read_map(path)
        t_read = time.perf_counter() - t0
        t1 = time.perf_counter()
        data = map_layer(dmap)[0]
        t_show = time.perf_counter() - t1
        grid = f"{dmap.grid.nu}x{dmap.grid.nv}x{dmap.grid.nw}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base  # KiB on Linux
    return {
        "read_s": t_read,
        "display_s": t_show,
        "peak_mib": peak / 1024,
        "grid": grid,
        "display": "x".join(map(str, data.shape)),
        "display_mib": float(np.asarray(data).nbytes) / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS / "io.md"), help="'-': print only")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(*args.child)))
        return 0

    from napari_densitybuild._resources import shared_data_dir

    real = shared_data_dir() / "real"
    cases = [(p.parent.name, "map", str(p)) for p in sorted(real.glob("*/map.mtz"))]
    cases.append(("sample (map + model)", "sample", "-"))
    tmp = tempfile.TemporaryDirectory()
    cases += ccp4_copies(real, Path(tmp.name))
    rows = [
        "| map | cell grid | read (s) | display resample (s) | display array | "
        "display MiB | peak RSS growth (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, kind, path in cases:
        r = run_child(__file__, kind, path, timeout=600)
        rows.append(
            f"| {name} | {r['grid']} | {r['read_s']:.2f} | {r['display_s']:.2f} | "
            f"{r['display']} | {r['display_mib']:.0f} | {r['peak_mib']:.0f} |"
        )
        print(rows[-1], flush=True)
    text = "\n".join(
        [
            "# Opening maps: time and memory",
            "",
            "`python benchmarks/bench_io.py` (one fresh process per map; read = `read_map` of",
            "the MTZ, FFT to a 0.5 A-or-finer grid, sigma scaling; display = `map_layer`: the unit",
            "cell plus 5 A resampled to Cartesian 0.5 A; the sample row is `make_sample_data()`:",
            "model, map and display around the model). The rows 'as CCP4' read the same maps",
            "written as CCP4 files of the whole cell: in their space group the reader takes the",
            "resolution from where the map's Fourier terms stop (an FFT of the cell); 4iid in P 1",
            "is also tested for a crystal's periodic cell (`periodic_cell.py`). Peak RSS growth",
            "is over the child's peak after its imports: 0 where the map needed less than they",
            "did.",
            "",
            *machine(),
            "",
            *rows,
            "",
        ]
    )
    write(text, args.out)
    tmp.cleanup()
    return 0


def ccp4_copies(real: Path, folder: Path) -> list[tuple[str, str, str]]:
    """Cases for the real maps written as CCP4 files of their whole cell: in their space group
    (the reader takes the resolution from the map's Fourier terms), and 4iid, the largest, also
    in P 1 (read as a crystal map by its data: :mod:`napari_densitybuild.periodic_cell`)."""
    import gemmi
    import numpy as np

    from napari_densitybuild.maps import read_map

    cases = []
    for p in sorted(real.glob("*/map.mtz")):
        name = p.parent.name
        grid = read_map(p).grid
        groups = [grid.spacegroup.hm] + (["P 1"] if name == "4iid" else [])
        for group in groups:
            ccp = gemmi.Ccp4Map()
            ccp.grid = gemmi.FloatGrid(np.array(grid, copy=True), grid.unit_cell,
                                       gemmi.SpaceGroup(group))  # fmt: skip
            ccp.update_ccp4_header()
            out = folder / f"{name}_{group.replace(' ', '')}.ccp4"
            ccp.write_ccp4_map(str(out))
            cases.append((f"{name} as CCP4 ({group})", "map", str(out)))
    return cases


if __name__ == "__main__":
    sys.exit(main())
