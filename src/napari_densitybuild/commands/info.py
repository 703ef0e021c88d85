"""``densitybuild info MAP [MODEL]``: read a map (and model) and print what was found."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DensityBuildError
from ._options import MAP_HELP, add_columns, at_least_zero
from ._paths import check_output_file

if TYPE_CHECKING:
    import gemmi

    from ..maps import DensityMap


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser("info", help="read a map (and optionally a model) and describe it")
    p.add_argument("map", help=MAP_HELP)
    p.add_argument("model", nargs="?", help="optional model (.pdb/.cif): report density at its "
                   "atoms, unmodelled blobs and model checks")  # fmt: skip
    add_columns(p)
    p.add_argument("--difference", action="store_true", help="MTZ: read mFo-DFc coefficients")
    p.add_argument("--blobs", type=at_least_zero, default=10, metavar="N",
                   help="with a model: its N largest unmodelled blobs (default 10)")  # fmt: skip
    p.add_argument("--b-factors", choices=("auto", "model", "flat"), default="auto",
                   help="with a model and an MTZ of measured amplitudes: the B-factors R is "
                   "computed with (auto: one B for all atoms when each residue has one B "
                   "value, as a build's confidence column has)")  # fmt: skip
    p.add_argument("--model-maps", metavar="OUT.mtz",
                   help="with a model and an MTZ of measured amplitudes: write the model's "
                   "sigmaA-weighted 2mFo-DFc and mFo-DFc coefficients (FWT/PHWT, "
                   "DELFWT/PHDELWT) for Coot or napari")  # fmt: skip
    return p


def run(args: argparse.Namespace) -> int:
    """Print a one-line summary of the map; with a model, the density at its atoms, the
    largest blobs of density it leaves unexplained (:func:`~..blobs.unmodelled_blobs`), the
    peaks that look like waters it lacks (:func:`~..waters.find_waters`) and the checks to look
    at before deposition (:func:`~..model_checks.check_model`)."""
    from ..maps import read_map
    from ..models import atom_table, read_structure

    if args.model_maps and not args.model:
        raise DensityBuildError("--model-maps needs a model")
    if args.model_maps:
        check_output_file(
            args.model_maps, (".mtz",), {"the map": args.map, "the model": args.model}
        )
    dmap = read_map(args.map, columns=args.columns, difference=args.difference)
    print(dmap.summary())
    if args.model:
        st = read_structure(args.model)  # read once: its atoms here, its residues in the checks
        _print_r_factors(args, st)
        atoms = atom_table(st)
        inside = dmap.depth_inside(atoms.xyz) >= 0
        outside = (
            "" if inside.all() else f" ({np.count_nonzero(~inside)} outside the map, left out)"
        )
        if not inside.any():
            print(f"{len(atoms)} atoms, all outside the map: no density at them, no blobs (is it "
                  "the map the model belongs to?)")  # fmt: skip
            _print_checks(st, dmap, density=False)  # geometry and contacts need no map
            return 0
        values = dmap.sample_points(atoms.xyz[inside])
        print(
            f"{len(atoms)} atoms{outside}: mean density {values.mean():.2f} sigma, "
            f"{np.mean(values >= 1.0):.0%} at or above 1 sigma"
        )
        if args.blobs > 0:
            _print_blobs(dmap, atoms.xyz, args.blobs)
        if not args.difference:
            _print_waters(dmap, st, args.map)
        _print_checks(st, dmap, density=not args.difference)
    return 0


def _print_checks(st: gemmi.Structure, dmap: DensityMap, density: bool = True) -> None:
    from ..model_checks import check_model

    # a difference map (mFo-DFc) is near 0 at a right model, and a map away from the model says
    # nothing of it: no density checks then
    checks = check_model(st, dmap, density=density)
    if checks.residues:
        print("\n".join(checks.lines()))
    else:
        print("Model checks: no amino acid with N, CA and C atoms to check")


def _print_blobs(dmap: DensityMap, xyz: np.ndarray, n: int) -> None:
    from ..blobs import CLEARANCE, LEVEL, MIN_VOLUME, unmodelled_blobs

    blobs = unmodelled_blobs(dmap, xyz)
    print(f"{len(blobs)} unmodelled blobs (at or above {LEVEL} sigma, over {CLEARANCE} A from "
          f"the model and its crystal copies, at least {MIN_VOLUME:.0f} A^3)")  # fmt: skip
    for k, b in enumerate(blobs[:n]):
        x, y, z = b.centre
        print(f"  {k + 1:2d}. {b.volume:6.0f} A^3, peak {b.peak:4.1f} sigma at "
              f"({x:.1f}, {y:.1f}, {z:.1f})")  # fmt: skip


def _print_waters(dmap: DensityMap, st: gemmi.Structure, path: str) -> None:
    """How many peaks beside the model look like ordered waters it lacks (:mod:`~..waters`);
    where the MTZ holds measured amplitudes, whether they would lower R-work."""
    from ..waters import LEVEL, model_waters

    had = sum(r.is_water() for ch in st[0] for r in ch)
    search = model_waters(dmap, st, path)
    print(f"{search.found} round peaks at or above {LEVEL} sigma beside N and O look like waters "
          f"the model lacks ({had} waters in the model; densitybuild waters MAP MODEL --out "
          "M.cif adds them)")  # fmt: skip
    if search.note:  # R without and with them, and whether the data take them
        print(f"  {search.note}")


def _print_r_factors(args: argparse.Namespace, st: gemmi.Structure) -> None:
    """R-work and R-free where the map is an MTZ of measured amplitudes; write the model's
    maps when asked."""
    from ..model_maps import fit_model, write_coefficients
    from ..xray_data import read_observed

    if not args.model_maps and not str(args.map).lower().endswith(".mtz"):
        return  # a map file: no measured data, and nothing asked of them
    try:
        fit = fit_model(st, read_observed(args.map), args.b_factors)
    except DensityBuildError as e:
        if args.model_maps:
            raise
        why = str(e).removeprefix(f"{args.map}: ").split("; the file has:")[0]
        print(f"no R factors: {why}")  # the rest of the report goes on
        return
    print(fit.summary())
    if args.model_maps:
        write_coefficients(fit, args.model_maps)
        print(f"wrote the model's 2mFo-DFc and mFo-DFc coefficients to {args.model_maps}")
