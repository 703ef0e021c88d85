"""``densitybuild info MAP [MODEL]``: read a map (and model) and print what was found."""

from __future__ import annotations

import argparse

import numpy as np

from ._options import add_columns


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser("info", help="read a map (and optionally a model) and describe it")
    p.add_argument("map", help="map file: .mtz, .ccp4, .map, .mrc (gzipped too)")
    p.add_argument("model", nargs="?", help="optional model (.pdb/.cif): report density at atoms")
    add_columns(p)
    p.add_argument("--difference", action="store_true", help="MTZ: read mFo-DFc coefficients")
    return p


def run(args: argparse.Namespace) -> int:
    """Print a one-line summary of the map, and the density at the model's atoms."""
    from ..maps import read_map
    from ..models import read_model

    dmap = read_map(args.map, columns=args.columns, difference=args.difference)
    print(dmap.summary())
    if args.model:
        atoms = read_model(args.model)
        values = dmap.sample_points(atoms.xyz)
        print(
            f"{len(atoms)} atoms: mean density {values.mean():.2f} sigma, "
            f"{np.mean(values >= 1.0):.0%} at or above 1 sigma"
        )
    return 0
