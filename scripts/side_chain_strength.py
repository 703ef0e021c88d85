"""How strong side chains are in real maps and in simulated ones: the calibration of CALIBRATED.

    .venv/bin/python scripts/side_chain_strength.py --real 1dmm,1g8a,1t48,2apb,3k0n,4iid,4ms6,\\
        5gge,5orl,gere,psp
    .venv/bin/python scripts/side_chain_strength.py --simulate 24 --d-min 1.7,1.9 \\
        [--b-median 8,28] [--disorder 0.1]

For every residue: the mean map value (sigma) at its side-chain heavy atoms beyond CB. Prints
the share of residues under 0.5 and 1 sigma, between 1 and 1.5, and the median, for each real
map and pooled, or pooled over simulations of every 40th training structure (the first N).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from errors_by_density import BACKBONE, side_chain_density  # noqa: E402

from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.training.realdata import real_dir  # noqa: E402
from napari_densitybuild.training.simulate import SimulationSettings, simulate  # noqa: E402
from napari_densitybuild.training.split import split_files  # noqa: E402


def summary(values: list[float]) -> str:
    """Shares under 0.5 and 1 sigma, between 1 and 1.5, and the median."""
    v = np.asarray(values)
    return (f"n={len(v)}  <0.5: {(v < 0.5).mean():.3f}  <1: {(v < 1).mean():.3f}  "
            f"1-1.5: {((v >= 1) & (v < 1.5)).mean():.3f}  median {np.median(v):.2f}")  # fmt: skip


def simulated(count: int, settings: SimulationSettings) -> list[float]:
    """Side-chain strength over simulations of every 40th training structure (seed = index)."""
    out = []
    for i, path in enumerate(split_files("train")[::40][:count]):
        sim = simulate(read_structure(path), settings, seed=i)
        for res in (r for ch in sim.structure[0] for r in ch):
            xyz = [a.pos.tolist() for a in res if a.name not in BACKBONE]
            if xyz:
                out.append(float(sim.dmap.sample_points(np.array(xyz)).mean()))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real", help="real-map folders, comma-separated")
    p.add_argument("--simulate", type=int, default=0, help="simulate N training structures")
    p.add_argument("--d-min", default="1.7,1.9", help="resolution range of the simulations")
    p.add_argument("--b-median", help="SimulationSettings.b_median, e.g. 8,28")
    p.add_argument("--disorder", type=float, default=0.0, help="share of disordered side chains")
    args = p.parse_args(argv)
    if args.real:
        pooled: list[float] = []
        for name in args.real.split(","):
            values = list(side_chain_density(real_dir() / name).values())
            pooled += values
            print(f"{name:6s} {summary(values)}", flush=True)
        print(f"{'pooled':6s} {summary(pooled)}")
    if args.simulate:
        s = SimulationSettings().with_d_min(tuple(float(x) for x in args.d_min.split(",")))
        if args.b_median:
            s = replace(s, b_median=tuple(float(x) for x in args.b_median.split(",")))
        if args.disorder:
            s = replace(s, disorder=True, disorder_fraction=(args.disorder, args.disorder))
        print(f"simulated {summary(simulated(args.simulate, s))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
