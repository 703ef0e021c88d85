"""How strong side chains are in real maps and in simulated ones: the calibration of CALIBRATED.

    .venv/bin/python scripts/side_chain_strength.py --real 1dmm,1g8a,1t48,2apb,3k0n,4iid,4ms6,\\
        5gge,5orl,gere,psp [--by-type]
    .venv/bin/python scripts/side_chain_strength.py --simulate 24 --d-min 1.7,1.9 \\
        [--b-median 8,28] [--disorder 0.08] [--by-type]
    .venv/bin/python scripts/side_chain_strength.py --simulate 12 --plain --split test --amides

For every residue: the mean map value (sigma) at its side-chain heavy atoms beyond CB. Prints
the share of residues under 0.5 and 1 sigma, between 1 and 1.5, and the median, pooled over
the real maps (and per map), or over simulations of every 40th training structure (the first
N, seeded by their index). ``--by-type`` adds, for ten types, the median map value at the
side-chain tips (:data:`TIPS`) and its median ratio to the value at the residue's C-alpha.
``--amides`` adds how often the amide O of ASN and GLN sits in higher density than the N (the
density term of ``sideflip``), and how well the difference between the two end atoms of a side
chain (relative to their mean) tells amides from acids (ROC AUC, ASN against ASP and GLN against
GLU): what a classifier can read from the tip alone. ``--plain`` simulates as the poster's maps
(the molecule alone, no noise; ``SimulationSettings.plain``) at the first ``--d-min``;
``--split`` picks the structures (every 40th of ``train`` by default).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402
from napari_densitybuild.training.simulate import SimulationSettings, simulate  # noqa: E402
from napari_densitybuild.training.split import split_files  # noqa: E402

BACKBONE = {"N", "CA", "C", "O", "CB", "OXT"}
#: The atoms at the end of each side chain.
TIPS = {"ARG": ("NH1", "NH2"), "ASN": ("OD1", "ND2"), "ASP": ("OD1", "OD2"), "GLN": ("OE1", "NE2"),
        "GLU": ("OE1", "OE2"), "LEU": ("CD1", "CD2"), "LYS": ("NZ",), "PHE": ("CZ",),
        "SER": ("OG",), "THR": ("OG1",)}  # fmt: skip


class Tally:
    """Side-chain strength per residue, and tip strength per type."""

    def __init__(self) -> None:
        self.side: list[float] = []
        self.tips: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.amides: list[float] = []  # map at the amide O minus map at the N
        self.asymmetry: dict[str, list[float]] = defaultdict(list)  # |end 1 - end 2| / mean

    def add(self, dmap, st) -> None:
        """Every residue of ``st`` in ``dmap``."""
        for res in (r for chain in st[0] for r in chain):
            atoms = {a.name: a.pos.tolist() for a in res if a.element.name != "H"}
            side = [xyz for name, xyz in atoms.items() if name not in BACKBONE]
            if side:
                self.side.append(float(dmap.sample_points(np.array(side)).mean()))
            if res.name in ("ASN", "GLN"):
                o, n = TIPS[res.name]
                occ = {a.name: a.occ for a in res}
                if o in atoms and n in atoms and occ[o] == occ[n] == 1.0:
                    rho = dmap.sample_points(np.array([atoms[o], atoms[n]]))
                    self.amides.append(float(rho[0] - rho[1]))
            if res.name in ("ASN", "ASP", "GLN", "GLU"):
                a, b = TIPS[res.name]
                if a in atoms and b in atoms:
                    rho = dmap.sample_points(np.array([atoms[a], atoms[b]]))
                    self.asymmetry[res.name].append(
                        float(abs(rho[0] - rho[1]) / max(abs(rho.mean()), 1e-6))
                    )
            tips = TIPS.get(res.name, ())
            if tips and all(t in atoms for t in tips) and "CA" in atoms:
                tip = float(dmap.sample_points(np.array([atoms[t] for t in tips])).mean())
                ca = float(dmap.sample_points(np.array([atoms["CA"]]))[0])
                self.tips[res.name].append((tip, ca))

    def summary(self) -> str:
        """Shares under 0.5 and 1 sigma, between 1 and 1.5, and the median."""
        v = np.asarray(self.side)
        mid = ((v >= 1) & (v < 1.5)).mean()
        return (f"n={len(v)}  <0.5: {(v < 0.5).mean():.3f}  <1: {(v < 1).mean():.3f}  "
                f"1-1.5: {mid:.3f}  median {np.median(v):.2f}")  # fmt: skip

    def amide_summary(self) -> str:
        """How often the amide O is in higher density than the N (all; where they differ)."""
        d = np.asarray(self.amides)
        clear = np.abs(d) > 0.5
        aucs = "  ".join(
            f"AUC {amide}/{acid} {_auc(self.asymmetry[amide], self.asymmetry[acid]):.3f}"
            for amide, acid in (("ASN", "ASP"), ("GLN", "GLU"))
        )
        return (f"amides n={len(d)}  O higher: {(d > 0).mean():.3f}  where they differ by over "
                f"0.5 sigma: {(d[clear] > 0).mean():.3f} (n={clear.sum()})  tip asymmetry "
                f"{aucs}")  # fmt: skip

    def by_type(self) -> str:
        """Per type: median tip value (sigma) / median tip-to-C-alpha ratio."""
        return "  ".join(
            f"{k} {np.median([t for t, _ in v]):.2f}/{np.median([t / c for t, c in v]):.2f}"
            for k, v in sorted(self.tips.items())
        )


def _auc(pos: list[float], neg: list[float]) -> float:
    """Probability that a ``pos`` value exceeds a ``neg`` value (ties half): ROC AUC."""
    if not pos or not neg:
        return float("nan")
    a, b = np.asarray(pos)[:, None], np.asarray(neg)[None]
    return float((a > b).mean() + 0.5 * (a == b).mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real", help="real-map folders, comma-separated")
    p.add_argument("--simulate", type=int, default=0, help="simulate N training structures")
    p.add_argument("--d-min", default="1.7,1.9", help="resolution range of the simulations")
    p.add_argument("--b-median", help="SimulationSettings.b_median, e.g. 8,28")
    p.add_argument("--disorder", type=float, default=0.0, help="disorder base probability")
    p.add_argument("--by-type", action="store_true", help="also tip strength per type")
    p.add_argument("--amides", action="store_true", help="also amide O against N, tip asymmetry")
    p.add_argument("--plain", action="store_true", help="simulate as the poster's maps")
    p.add_argument("--split", default="train", help="structures to simulate (default train)")
    args = p.parse_args(argv)
    if args.real:
        pooled = Tally()
        for name in args.real.split(","):
            one = Tally()
            one.add(read_map(real_dir() / name / "map.mtz"), read_structure(model_path(name)))
            pooled.side += one.side
            pooled.amides += one.amides
            for k, v in one.tips.items():
                pooled.tips[k] += v
            for k, v in one.asymmetry.items():
                pooled.asymmetry[k] += v
            print(f"{name:6s} {one.summary()}", flush=True)
            if args.amides:
                print(f"{name:6s} {one.amide_summary()}", flush=True)
        print(f"real   {pooled.summary()}")
        if args.by_type:
            print(f"real   {pooled.by_type()}")
        if args.amides:
            print(f"real   {pooled.amide_summary()}")
    if args.simulate:
        d_min = tuple(float(x) for x in args.d_min.split(","))
        s = SimulationSettings.plain(d_min[0]) if args.plain else SimulationSettings().with_d_min(
            d_min)  # fmt: skip
        if args.b_median:
            s = replace(s, b_median=tuple(float(x) for x in args.b_median.split(",")))
        if args.disorder:
            s = replace(s, disorder=True, disorder_fraction=(args.disorder, args.disorder))
        sims = Tally()
        step = 40 if args.split == "train" else 4
        for i, path in enumerate(split_files(args.split)[::step][: args.simulate]):
            sim = simulate(read_structure(path), s, seed=i)
            sims.add(sim.dmap, sim.structure)
        print(f"simulated {sims.summary()}")
        if args.by_type:
            print(f"simulated {sims.by_type()}")
        if args.amides:
            print(f"simulated {sims.amide_summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
