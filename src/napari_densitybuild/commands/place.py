"""``densitybuild place MAP --out CA.cif``: find every residue in a map and trace the chains.

Writes a C-alpha model (one chain per traced fragment, N to C, residues UNK, B-factor = 100 x
detector confidence, the map's cell and space group) and prints one line: residues,
fragments, mean fragment length, seconds. The napari "Auto-place" button calls the same
:meth:`~napari_densitybuild.place.Placer.place`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..json_out import dumps
from ._options import MAP_HELP, add_columns, add_device, print_note
from ._paths import check_output_file


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser(
        "place",
        help="find the residues (C-alphas) of a map and trace them into chains",
        description="Run the C-alpha detector over MAP, keep one copy of each residue under "
        "crystal symmetry, trace fragments and write a C-alpha model.",
    )
    p.add_argument("map", help=MAP_HELP)
    p.add_argument("--out", required=True, metavar="CA.cif", help="output model (.cif or .pdb)")
    add_columns(p)
    add_device(p)
    p.add_argument("--detector", help="detector .safetensors (default: the shipped weights)")
    p.add_argument("--report", metavar="REPORT.json", help="also write counts and timings")
    p.add_argument("--threads", type=int, help="CPU threads (default: all physical cores)")
    return p


def run(args: argparse.Namespace) -> int:
    """Place, trace and write the C-alpha model."""
    from ..models import WRITE_SUFFIXES

    inputs = {"the map": args.map, "the --detector": args.detector}
    check_output_file(args.out, WRITE_SUFFIXES, inputs)
    if args.report:
        check_output_file(args.report, inputs={**inputs, "the --out model": args.out})
    from ..assemble import ca_structure, write_structure
    from ..device import configure_cpu_threads
    from ..maps import read_map
    from ..place import Placer

    configure_cpu_threads(args.threads)
    t0 = time.perf_counter()
    dmap = read_map(args.map, columns=args.columns, note=print_note)
    t_read = time.perf_counter()
    placer = Placer.from_path(args.detector, device=args.device)
    placed = placer.place(dmap)
    t_place = time.perf_counter()
    write_structure(ca_structure(placed, dmap), args.out)
    lengths = placed.fragment_lengths()
    mean = float(lengths.mean()) if len(lengths) else 0.0
    seconds = time.perf_counter() - t0
    print(f"{Path(args.map).name}: {len(placed)} residues in {placed.fragment_count} fragments "
          f"(mean {mean:.1f}, longest {int(lengths.max(initial=0))}), {seconds:.1f} s -> "
          f"{args.out}")  # fmt: skip
    if args.report:
        report = {"map": str(args.map), "out": str(args.out), "residues": len(placed),
                  "fragments": placed.fragment_count, "mean_fragment_length": mean,
                  "seconds": {"read": t_read - t0, "place": t_place - t_read, "total": seconds},
                  "device": str(placer.device)}  # fmt: skip
        Path(args.report).write_text(dumps(report, indent=1) + "\n")
    return 0
