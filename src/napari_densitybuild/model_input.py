"""What :func:`~.models.read_structure` does to a model file's contents before they are used:
a byte-order mark read past, residue names in capitals, residues without numbers numbered (or
refused), coordinates that no map reaches refused. Each error names the file."""

from __future__ import annotations

from pathlib import Path

import gemmi
import numpy as np

from .errors import ModelReadError
from .map_geometry import FARTHEST


def read_after_bom(path: Path) -> gemmi.Structure | None:
    """The model of an mmCIF file that starts with a UTF-8 byte-order mark (which gemmi's
    CIF parser refuses; some Windows editors write one), else None."""
    import gzip

    try:
        with (gzip.open if path.name.lower().endswith(".gz") else open)(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    if not raw.startswith(b"\xef\xbb\xbf"):
        return None
    text = raw[3:].decode("utf-8", errors="replace")
    try:
        if text.lstrip().lower().startswith("data_"):
            return gemmi.make_structure_from_block(gemmi.cif.read_string(text).sole_block())
        return gemmi.read_pdb_string(text)
    except (RuntimeError, ValueError, IndexError):
        return None


def number_unnumbered(path: Path, model: gemmi.Model) -> None:
    """Give residues read without a number (an mmCIF of ``label_`` fields only: its waters
    and ligands have no ``label_seq_id``) the numbers after their chain's last; refuse amino
    acids without one (the atoms of neighbours with one name cannot be told apart)."""
    for chain in model:
        taken = [r.seqid.num for r in chain if r.seqid.num is not None]
        last = max(taken, default=0)
        for res in chain:
            if res.seqid.num is not None:
                continue
            kind = gemmi.find_tabulated_residue(res.name)
            if kind is not None and kind.is_amino_acid():
                raise ModelReadError(f"{path}: amino acids without residue numbers (neither "
                                     "auth_seq_id nor label_seq_id)")  # fmt: skip
            last += 1
            res.seqid = gemmi.SeqId(last, " ")


def check_coordinates(path: Path, model: gemmi.Model) -> None:
    """Refuse a model with an atom whose coordinates are not numbers (NaN or infinite), or lie
    farther from 0 than any map reaches (:data:`~.map_geometry.FARTHEST`).

    Raises
    ------
    ModelReadError
        Naming the first such atom and how many there are.
    """
    atoms = [(ch.name, res, a) for ch in model for res in ch for a in res]
    xyz = np.array([a.pos.tolist() for _, _, a in atoms], dtype=float).reshape(-1, 3)
    for bad, what in (
        (~np.isfinite(xyz).all(1), "coordinates that are not numbers (NaN or infinite)"),
        (np.abs(xyz).max(1, initial=0.0) > FARTHEST,
         f"coordinates over {FARTHEST:,.0f} A from 0, farther than any map reaches"),
    ):  # fmt: skip
        if bad.any():
            chain, res, atom = atoms[int(np.argmax(bad))]
            raise ModelReadError(
                f"{path}: {int(bad.sum())} atom(s) have {what}, the first {atom.name} of "
                f"{res.name} {chain}{res.seqid.num}; fix or remove them"
            )


def capital_names(model: gemmi.Model) -> None:
    """Residue names in capitals, as the chemical component dictionary writes them (``leu``, as
    some hand-edited files have it, was read as a residue no one knows)."""
    for chain in model:
        for res in chain:
            if res.name != res.name.upper():
                res.name = res.name.upper()
