"""``densitybuild waters MAP MODEL --out MODEL_W.cif``: ordered waters added to a model.

Waters go where the map has round peaks beside the model's N and O atoms that its atoms leave
unexplained (:mod:`~..waters`, as Coot's Find Waters); the model's own atoms, waters and ligands
included, are written as they were. Where the map is an MTZ with measured amplitudes, the
waters are kept only if they lower R-work, and R-work and R-free without and with them are
printed.
"""

from __future__ import annotations

import argparse

import numpy as np

from ..settings import WATER_LEVEL as LEVEL
from ._options import MAP_HELP, add_columns, print_note
from ._paths import check_output_file


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser(
        "waters",
        help="add ordered waters to a model at the map's unexplained peaks",
        description="Add ordered waters to MODEL where MAP has round peaks 2.4-3.4 A from its "
        "N and O atoms.",
    )
    p.add_argument("map", help=MAP_HELP)
    p.add_argument("model", help="model (.pdb/.cif)")
    p.add_argument("--out", required=True, metavar="MODEL.cif", help="output model (.cif or .pdb)")
    add_columns(p)
    p.add_argument("--level", type=float, default=LEVEL,
                   help=f"lowest peak height, sigma (default {LEVEL})")  # fmt: skip
    return p


def run(args: argparse.Namespace) -> int:
    """Find the waters, write the model with them, print one line (and R factors)."""
    from ..errors import DensityBuildError
    from ..maps import read_map
    from ..model_checks import off_map_note
    from ..models import WRITE_SUFFIXES, read_structure, write_structure
    from ..waters import model_waters, with_waters

    check_output_file(args.out, WRITE_SUFFIXES, {"the map": args.map, "the model": args.model})
    if not args.level > 0:
        raise DensityBuildError(f"--level must be above 0 sigma, not {args.level}")
    dmap = read_map(args.map, columns=args.columns, note=print_note)
    st = read_structure(args.model)
    if not st[0].count_atom_sites():
        raise DensityBuildError(f"{args.model}: the model has no atoms to place waters beside")
    ca = [a.pos.tolist() for ch in st[0] for r in ch for a in r if a.name == "CA"]
    note = off_map_note(float(np.mean(dmap.sample_points(np.array(ca))))) if ca else None
    if note:  # waters of another crystal's model
        print_note(f"{args.model}: {note}")
    search = model_waters(dmap, st, args.map, level=args.level)
    write_structure(with_waters(st, search.waters), args.out)
    had = sum(r.is_water() for ch in st[0] for r in ch)
    print(f"{len(search.waters)} waters added at {args.level:g} sigma or more "
          f"({had} in the model already) -> {args.out}")  # fmt: skip
    if search.note:
        print_note(search.note)
    return 0
