"""Residues deleted before prolines in simulated crystal maps of training structures, built
again: the data that chooses ``gap_paths.CIS_MARGIN`` without the real maps.

    .venv/bin/python scripts/cis_sites_simulated.py --structures 40 [--no-cis] \\
        [--cis-margin -9] > sim.jsonl

The first ``--structures`` files of the training split (sorted) that hold a cis peptide before
a proline are each simulated once (``training.simulate`` with its realistic defaults: packing,
waters, bulk solvent, noise and phase errors; d_min drawn from 1.5-1.9 A, no random overall
scale, seed = the file's index) and made a review session; then, as ``gap_closing.py
--before-pro``, 1 and 2 residues are deleted before every proline and built again with
``gaps.close_gap`` (shipped classifier): one JSON line per site. ``compare_pro_sites.py
--margins`` reads two such runs (``--no-cis``, and ``--cis-margin -9``: the cis path whenever
there is one).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import gemmi

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from gap_closing import measure_session  # noqa: E402

from napari_densitybuild import gap_paths  # noqa: E402
from napari_densitybuild.classify import Classifier  # noqa: E402
from napari_densitybuild.device import configure_cpu_threads  # noqa: E402
from napari_densitybuild.geometry import peptide_kind, peptide_omegas  # noqa: E402
from napari_densitybuild.session import Session  # noqa: E402
from napari_densitybuild.training.simulate import SimulationSettings, simulate  # noqa: E402
from napari_densitybuild.training.split import split_files  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--structures", type=int, default=40)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-cis", action="store_true")
    p.add_argument("--cis-margin", type=float, default=gap_paths.CIS_MARGIN)
    args = p.parse_args(argv)
    configure_cpu_threads(args.threads)
    gap_paths.CIS_BEFORE_PRO = not args.no_cis
    gap_paths.CIS_MARGIN = args.cis_margin
    clf = Classifier.from_path()
    settings = SimulationSettings(d_min=(1.5, 1.9), random_scale=False)  # maps in sigma
    done = 0
    for index, path in enumerate(split_files("train")):
        if done >= args.structures:
            break
        st = gemmi.read_structure(str(path))
        st.setup_entities()
        kinds = [peptide_kind(r["omega"], r["resname"]) for r in peptide_omegas(st)]
        if "cis_proline" not in kinds:
            continue
        done += 1
        sim = simulate(st, settings, seed=index)
        full = Session.from_structure(sim.structure, None, sim.dmap)
        for missing in (1, 2):
            for row in measure_session(path.name.split(".")[0], full, sim.dmap, clf, 1,
                                       missing, False, before_pro=True):  # fmt: skip
                row["d_min"] = round(float(sim.params["d_min"]), 2)
                print(json.dumps(row), flush=True)
    print(f"{done} structures", file=sys.stderr)
    return 0 if done else 1


if __name__ == "__main__":
    raise SystemExit(main())
