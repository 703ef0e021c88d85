"""Write a degraded copy of a map (lower resolution, blur, phase errors, noise) as CCP4.

    .venv/bin/python scripts/degrade_map.py ../shared/data/real/3sb3/map.mtz --extra 0.6 \\
        --blur 10 --phase-error 20 --noise 0.2 --out 3sb3_2.4.ccp4

A way to see how builds hold up at worse resolution on a map whose model is known
(``training/degrade.py``; the values are fixed here, not drawn). The copy is sigma-scaled over
the unit cell; CCP4 files carry no resolution, and ``build`` does not need one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.mapfiles import write_mrc  # noqa: E402
from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.training.degrade import Degradation, degrade_map  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("map", help="map with a resolution (MTZ map coefficients)")
    p.add_argument("--out", required=True, help="CCP4 file to write")
    p.add_argument("--extra", type=float, default=0.5, help="added to d_min (A)")
    p.add_argument("--blur", type=float, default=0.0, help="extra B (A^2)")
    p.add_argument("--phase-error", type=float, default=0.0, help="degrees at the new d_min")
    p.add_argument("--noise", type=float, default=0.0, help="noise / shell rms amplitude")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    how = Degradation(*[(v, v) for v in (args.extra, args.blur, args.phase_error, args.noise)])
    out, params = degrade_map(read_map(args.map), np.random.default_rng(args.seed), how)
    write_mrc(args.out, out)
    print(f"{args.out}: {params}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
