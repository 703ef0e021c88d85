"""``densitybuild assign MAP MODEL --sequence SEQ.fasta --out MODEL_SEQ.cif``: a sequence given
after the build.

The review panel's "Apply sequence..." on the command line: MODEL's residues are classified in
MAP for their probabilities (as "Review model" does), each piece of chain is aligned to the
sequence, the residues it names otherwise take its type (side chains posed and refined, then
with their chain neighbours around held C-alphas, doubted ones framed again) and, unless
``--keep-numbers``, the chains are numbered by it and the pieces of one molecule gathered into
one chain (:func:`~..assign_sequence.assign_sequence`). MODEL's
waters, ligands and B-factors are written back as they were (an atom a new type adds takes its
residue's mean B).
"""

from __future__ import annotations

import argparse

from ._options import MAP_HELP, add_columns, add_device, add_weights, print_note
from ._paths import check_output_file


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser(
        "assign",
        help="type and number a model's residues by a sequence",
        description="Align every piece of chain of MODEL to the sequence through the classifier's "
        "probabilities in MAP; give the residues it names otherwise its type, and number and "
        "gather the chains by it.",
    )
    p.add_argument("map", help=MAP_HELP)
    p.add_argument("model", help="model (.pdb/.cif), e.g. a build made without the sequence")
    p.add_argument("--sequence", required=True, metavar="SEQ.fasta", help="protein sequence(s)")
    p.add_argument("--out", required=True, metavar="MODEL.cif", help="output model (.cif or .pdb)")
    p.add_argument("--keep-numbers", action="store_true",
                   help="keep MODEL's chains and residue numbers (change types only)")  # fmt: skip
    add_columns(p)
    add_device(p)
    add_weights(p, detector=False)
    return p


def run(args: argparse.Namespace) -> int:
    """Apply the sequence and write the model; print what was done."""
    from ..assign_sequence import assign_sequence
    from ..classify import Classifier
    from ..kept_parts import ATOM_B, export_table, kept_summary, renamed_atom_b
    from ..maps import read_map
    from ..models import WRITE_SUFFIXES, read_structure, write_model
    from ..review import model_session
    from ..sequence import protein_sequences
    from ..session import Session

    inputs = {"the map": args.map, "the model": args.model, "the --sequence": args.sequence}
    check_output_file(args.out, WRITE_SUFFIXES, inputs)
    sequences = protein_sequences(args.sequence, print_note)
    dmap = read_map(args.map, columns=args.columns, note=print_note)
    clf = Classifier.from_path(args.weights, device=args.device)
    session = model_session(read_structure(args.model), dmap, clf)
    edit = assign_sequence(session, sequences, dmap, clf, renumber=not args.keep_numbers)
    meta = {**session.meta, "chain_sequences": edit.chain_sequences}
    if ATOM_B in meta:  # each atom's B and occupancy under its residue's new name
        meta[ATOM_B] = renamed_atom_b(meta[ATOM_B], session.residues, edit.rows, edit.order)
    write_model(export_table(Session(edit.rows, None, meta, autosave=False)), args.out)
    kept = kept_summary(session.meta)
    print(f"{edit.text}{'; ' + kept if kept else ''} -> {args.out}")
    return 0
