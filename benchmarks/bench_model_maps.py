"""Time and memory of setting a model against measured amplitudes: R factors, the model's
difference map and its peaks, as ``info MAP MODEL`` and the review panel's "Difference map"
compute them.

For each real map whose MTZ holds measured amplitudes (1cbs, cdk2, rnasa), its deposited model;
the sample with its true model; and, for a large cell, 4iid's deposited model (1,666 residues,
cell 180 x 250 x 450 grid points) against amplitudes computed from that model itself (its MTZ
holds none), a fresh Python process each, so each peak-memory figure (``ru_maxrss`` growth
after the imports) belongs to one case alone.

Usage::

    python benchmarks/bench_model_maps.py            # writes benchmarks/results/model_maps.md
    python benchmarks/bench_model_maps.py --out -    # print only
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from _common import RESULTS, report, run_child


def _synthetic_data(st):
    """Amplitudes of ``st`` itself to 2.3 A (sigma 5 %, every 20th reflection free)."""
    import gemmi
    import numpy as np

    from napari_densitybuild.model_maps import model_structure_factors, prepared_structure
    from napari_densitybuild.xray_data import ObservedData

    d_min = 2.3
    sg = gemmi.SpaceGroup(st.spacegroup_hm)
    hkl = gemmi.make_miller_array(st.cell, sg, d_min).astype(np.int32)
    one = np.ones(len(hkl))
    stub = ObservedData(hkl, one, one, np.zeros(len(hkl), bool), st.cell, sg, d_min, ("F", "SIGF"))
    fc, _ = model_structure_factors(prepared_structure(st, stub, "model")[0], stub)
    f = np.abs(fc) + 1e-3
    return ObservedData(hkl, f, 0.05 * f, np.arange(len(hkl)) % 20 == 0, st.cell, sg, d_min,
                        ("F", "SIGF", "FREE"))  # fmt: skip


def measure(kind: str, map_path: str, model_path: str) -> dict:
    """Run in the child process: one model against its data, each step timed."""
    import numpy as np

    from napari_densitybuild._napari._layers import difference_layers
    from napari_densitybuild.difference_peaks import difference_peaks
    from napari_densitybuild.model_maps import fit_model, model_map
    from napari_densitybuild.models import atom_table, read_structure
    from napari_densitybuild.xray_data import read_observed

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    st = read_structure(model_path)
    t = time.perf_counter()
    data = _synthetic_data(st) if kind == "synthetic" else read_observed(map_path)
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    fit = fit_model(st, data)
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    diff = model_map(fit, difference=True)
    t_map = time.perf_counter() - t
    table = atom_table(st)
    t = time.perf_counter()
    peaks = difference_peaks(diff, table.xyz, polar=np.isin(table.element, ("N", "O")))
    t_peaks = time.perf_counter() - t
    t = time.perf_counter()
    difference_layers(diff, around=table.xyz, name="model")
    t_layers = time.perf_counter() - t
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    return {"reflections": len(data.fobs), "atoms": fit.atoms, "r_free": fit.r_free,
            "read_s": t_read, "fit_s": t_fit, "map_s": t_map, "peaks_s": t_peaks,
            "layers_s": t_layers, "peaks": len(peaks), "peak_mib": peak}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS / "model_maps.md"), help="'-': print only")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(*args.child)))
        return 0

    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild._resources import shared_data_dir

    real = shared_data_dir() / "real"
    cases = []
    for name in ("1cbs", "cdk2", "rnasa"):
        models = sorted((real / name).glob("model.*"))
        if models:
            cases.append((name, "real", str(real / name / "map.mtz"), str(models[0])))
    sample = sample_paths()
    cases.append(("sample", "real", sample[0], sample[1]))
    big = sorted((real / "4iid").glob("model.*"))
    if big:
        cases.append(("4iid model, own amplitudes to 2.3 A", "synthetic", "-", str(big[0])))
    table = ["| case | reflections | atoms | R-free | read (s) | R factors (s) | mFo-DFc map (s) | "
             "peaks (s) | display layers (s) | peaks | peak RSS growth (MiB) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, kind, map_path, model_path in cases:
        r = run_child(__file__, kind, map_path, model_path, timeout=900)
        table.append(f"| {name} | {r['reflections']} | {r['atoms']} | {r['r_free']:.3f} | "
                     f"{r['read_s']:.2f} | {r['fit_s']:.2f} | {r['map_s']:.2f} | "
                     f"{r['peaks_s']:.2f} | {r['layers_s']:.2f} | {r['peaks']} | "
                     f"{r['peak_mib']:.0f} |")  # fmt: skip
        print(table[-1], flush=True)
    intro = [
        "`python benchmarks/bench_model_maps.py`: one fresh process per case; read = the MTZ's",
        "measured amplitudes and free flags (for 4iid: amplitudes computed from its own model);",
        "R factors = `fit_model` (structure factors, bulk-solvent mask, scaling); mFo-DFc map =",
        "sigmaA coefficients and their FFT; peaks = `difference_peaks` near the model; display",
        "layers = `difference_layers` around the model (what the review panel adds). The 4iid",
        "row times a large cell only: its amplitudes are its own model's, so R is 0 and its",
        "peaks are the noise of a map of nothing.",
    ]
    report("A model against measured amplitudes: time and memory", intro, table, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
