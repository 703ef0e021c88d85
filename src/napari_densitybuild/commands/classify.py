"""``densitybuild classify MAP --boxes-from MODEL --out PRED.json``: residue types in a map.

Writes one JSON file::

    {"map": ..., "model": ..., "weights": ..., "device": ..., "box": {...}, "seconds": ...,
     "notes": [...], "skipped": {"missing N/CA/C": 0, "not amino acid": 57, "N/CA/C in a line": 0,
                                 "outside map": 0},
     "residues": [{"chain": "A", "seqid": 12, "icode": "", "ref": "LEU", "ref_class": "LEU",
                   "pred": "LEU", "confidence": 0.91, "ca_density": 2.3,
                   "probs": {"ALA": 0.01, ...all 20}}, ...]}

and prints a one-line summary (residues, agreement with the model's residue names, seconds).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ._options import (
    MAP_HELP,
    add_columns,
    add_device,
    add_environment,
    add_tta,
    add_weights,
    print_note,
)
from ._paths import check_output_file

#: Decimals kept for probabilities in the JSON file.
DECIMALS = 5


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser(
        "classify",
        help="predict the amino acid of every residue box in a map",
        description="Cut a box at every residue of MODEL (in the frame the classifier was trained "
        "with, from N, CA, C) and predict its amino-acid type from the density in MAP.",
    )
    p.add_argument("map", help=MAP_HELP)
    p.add_argument(
        "--boxes-from", required=True, metavar="MODEL", help="model (.pdb/.cif) giving the boxes"
    )
    p.add_argument("--out", required=True, metavar="PRED.json", help="output JSON file")
    add_columns(p)
    add_device(p)
    add_tta(p)
    add_environment(p)
    add_weights(p, detector=False)
    p.add_argument("--batch-size", type=int, default=64, help="boxes per forward pass (64)")
    p.add_argument("--threads", type=int, help="CPU threads (default: all physical cores)")
    return p


def summarise(residues: list[dict[str, Any]]) -> tuple[int, int]:
    """(residues with a standard reference type, of which predicted correctly)."""
    known = [r for r in residues if r["ref_class"] is not None]
    return len(known), sum(r["pred"] == r["ref_class"] for r in known)


def run(args: argparse.Namespace) -> int:
    """Classify the model's residues and write the JSON file."""
    inputs = {"the map": args.map, "the --boxes-from model": args.boxes_from,
              "the --weights": args.weights}  # fmt: skip
    out = check_output_file(args.out, inputs=inputs)
    from ..classify import Classifier
    from ..device import configure_cpu_threads
    from ..maps import read_map
    from ..model_checks import off_map_note

    t0 = time.perf_counter()
    configure_cpu_threads(args.threads)
    clf = Classifier.from_path(
        args.weights,
        device=args.device,
        batch_size=args.batch_size,
        tta=args.tta,
        environment=args.environment,
    )
    dmap = read_map(args.map, columns=args.columns, note=print_note)
    residues, skipped = clf.classify_model(dmap, args.boxes_from)  # messages name the file
    seconds = time.perf_counter() - t0

    notes = []
    if dmap.resolution is None:
        notes.append("map resolution unknown (not needed to classify)")
    ca = [r["ca_density"] for r in residues]
    mean_ca = sum(ca) / len(ca)
    if note := off_map_note(mean_ca):
        notes.append(note)
    nonstandard = sum(r["ref_class"] is None for r in residues)
    if nonstandard:
        notes.append(f"{nonstandard} non-standard residue(s) classified without a reference")
    for r in residues:
        r["confidence"] = round(r["confidence"], DECIMALS)
        r["ca_density"] = round(r["ca_density"], 3)
        r["probs"] = {k: round(v, DECIMALS) for k, v in r["probs"].items()}
    doc = {
        "map": str(args.map),
        "model": str(args.boxes_from),
        "weights": str(clf.path),
        "device": str(clf.device),
        "box": clf.config["box"],
        "net": clf.config["net"],
        "seconds": round(seconds, 2),
        "notes": notes,
        "skipped": skipped,
        "residues": residues,
    }
    out.write_text(json.dumps(doc, indent=1) + "\n")

    known, right = summarise(residues)
    acc = f"{right / known:.2f} agreement with the model on {known}" if known else "no reference"
    left = ", ".join(f"{v} {k}" for k, v in skipped.items() if v) or "none"
    print(
        f"{len(residues)} residues classified ({acc}; skipped: {left}) in {seconds:.1f} s "
        f"on {clf.device} -> {out}"
    )
    for note in notes:
        print_note(note)
    return 0
