"""Sequence assignment: align traced fragments to a known sequence through the classifier's
per-residue probabilities (profile alignment), to fix misclassified residues and number them.

Each fragment (its residues in N-to-C order, a 20-class probability vector each) is aligned to
each sequence with free end gaps in the sequence (the fragment is a piece of the chain) and
affine-free gap costs inside: a fragment residue may be left unaligned (a false detection) at
``gap_fragment``, a sequence position skipped (a missed residue) at ``gap_sequence``. A match
scores ``log p(residue type) - log prior``. An alignment is trusted when the fragment has at
least ``min_length`` residues and its score beats those of shuffled sequences by ``min_z``
standard deviations; otherwise the fragment keeps the classifier's types.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import DensityBuildError
from .residues import AMINO_ACIDS, ONE_LETTER, PARENT

if TYPE_CHECKING:
    import gemmi

LETTERS = "".join(ONE_LETTER[a] for a in AMINO_ACIDS)
#: Letter -> class index (X and other letters: -1, aligned at no score).
CODE = {c: i for i, c in enumerate(LETTERS)}
#: Letters of nucleic-acid sequences (N: any base).
NUCLEIC = set("ACGTUN")


@dataclass(frozen=True)
class Assignment:
    """Where a fragment sits in a sequence.

    Attributes
    ----------
    sequence
        Index of the sequence in the list aligned to.
    positions
        (L,) 0-based sequence position of each fragment residue, -1 where unaligned.
    score
        Alignment score (nats); ``z`` against shuffled sequences.
    """

    sequence: int
    positions: np.ndarray
    score: float
    z: float


#: A PIR (NBRF) record's header, ``>P1;name`` (P1 protein, F1 fragment, ...): the line after
#: it is the record's title.
PIR_HEADER = re.compile(r">[A-Z][A-Z0-9];")


def read_fasta(path: str | Path) -> list[tuple[str, str]]:
    """(name, sequence) of each record of a FASTA file (one-letter codes, upper case); a PIR
    file's records too (their title lines left out).

    Raises
    ------
    DensityBuildError
        For a missing, unreadable or empty file, or letters that are not amino acids.
    """
    path = Path(path)
    if path.is_dir():
        raise DensityBuildError(f"{path}: a folder, not a sequence file")
    if not path.is_file():
        raise DensityBuildError(f"{path}: no such sequence file")
    try:
        raw = path.read_bytes()
    except OSError as e:  # no permission, a device, a file on a failing disk
        raise DensityBuildError(f"{path}: cannot be read ({e.strerror or e})") from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Notepad's "Unicode"
        text = raw.decode("utf-16", errors="replace")
    elif b"\0" in raw[:4096]:
        raise DensityBuildError(f"{path}: a binary file, not a FASTA sequence")
    else:
        text = raw.decode("utf-8-sig", errors="replace")  # a byte-order mark is not a letter
    records: list[tuple[str, list[str]]] = []
    title = False  # a PIR (NBRF) record's second line: its title, not sequence
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            title = PIR_HEADER.match(line) is not None
            name = line[4 if title else 1 :].strip()
            records.append((name or f"seq{len(records) + 1}", []))
        elif title:
            title = False
        else:
            if not records:
                records.append(("seq1", []))
            records[-1][1].append("".join(line.split()).upper().rstrip("*"))
    out = [(name, "".join(parts)) for name, parts in records if "".join(parts)]
    if not out:
        raise DensityBuildError(f"{path}: no sequence found (expected FASTA)")
    for name, seq in out:
        bad = sorted(set(seq) - set(LETTERS) - set("XBZUO"))
        if bad:
            shown = "".join(bad[:20]) + ("..." if len(bad) > 20 else "")
            raise DensityBuildError(f"{path}: sequence {name!r} has letters {shown!r} that "
                                    "are not amino acids")  # fmt: skip
    return out


def is_nucleic(seq: str, name: str = "") -> bool:
    """True for a DNA or RNA record: a header that says ``mol:na``, or at least 6 letters, all
    of A, C, G, T, U and N, three or more of A, C, G, T/U among them (as no protein chain is).
    A FASTA file of a protein-nucleic acid complex, as the PDB gives it, holds both kinds."""
    if "mol:na" in name.lower():
        return True
    return len(seq) >= 6 and set(seq) <= NUCLEIC and len(set(seq) & set("ACGTU")) >= 3


def protein_sequences(path: str | Path, note: Callable[[str], None] | None = None) -> list[str]:
    """The protein sequences of a FASTA file (:func:`read_fasta`): DNA and RNA records
    (:func:`is_nucleic`), and records with none of the 20 amino acids (all X: nothing to align
    to), are left out, each with a ``note``.

    Raises
    ------
    DensityBuildError
        As :func:`read_fasta` does, and where no record is a protein with a known amino acid.
    """
    records = read_fasta(path)
    nucleic = [is_nucleic(seq, name) for name, seq in records]
    if all(nucleic):
        raise DensityBuildError(f"{path}: every sequence is DNA or RNA; a protein sequence is "
                                "needed (or build without one)")  # fmt: skip
    unknown = [not na and not set(seq) & set(LETTERS) for (_, seq), na in zip(records, nucleic)]
    if all(na or unk for na, unk in zip(nucleic, unknown)):
        letters = "".join(sorted({c for (_, seq), unk in zip(records, unknown) if unk
                                  for c in seq}))  # fmt: skip
        raise DensityBuildError(
            f"{path}: no protein sequence has a known amino acid (only {letters}): nothing to "
            "align the build to; give the sequence, or build without one"
        )
    for (name, seq), na, unk in zip(records, nucleic, unknown):
        if note is not None and na:
            note(f"sequence {name!r} of {path} is DNA or RNA: left out of the alignment")
        elif note is not None and unk:
            note(f"sequence {name!r} of {path} has no known amino acid (only "
                 f"{''.join(sorted(set(seq)))}): left out of the alignment")  # fmt: skip
    return [seq for (_, seq), na, unk in zip(records, nucleic, unknown) if not (na or unk)]


def model_fasta(structure: gemmi.Structure, name: str) -> str:
    """FASTA text of each chain's amino acids in a model (first model, modelled residues in
    file order; modified residues as their parents), e.g. to build with a known sequence.

    Raises
    ------
    DensityBuildError
        If no chain has an amino acid.
    """
    lines = []
    for chain in structure[0]:
        seq = "".join(ONE_LETTER.get(PARENT.get(r.name, r.name), "") for r in chain)
        if seq:
            lines += [f">{name} chain {chain.name}", seq]
    if not lines:
        raise DensityBuildError(f"{name}: the model has no amino-acid chain")
    return "\n".join(lines) + "\n"


def encode(seq: str) -> np.ndarray:
    """Class indices of a one-letter sequence (-1 for X and unusual letters)."""
    return np.array([CODE.get(c, -1) for c in seq], dtype=np.int64)


def align(
    log_odds: np.ndarray, seq: np.ndarray, gap_fragment: float = 6.0, gap_sequence: float = 6.0
) -> tuple[float, np.ndarray]:
    """Best alignment of a fragment profile (L, 20) to a sequence (S,), free sequence ends.

    Returns
    -------
    score, positions
        The score and (L,) sequence positions (-1: fragment residue not aligned).
    """
    n, m = len(log_odds), len(seq)
    match = np.where(seq[None, :] >= 0, log_odds[:, np.maximum(seq, 0)], 0.0)  # (L, S)
    h = np.full((n + 1, m + 1), -np.inf)
    h[0, :] = 0.0  # free start anywhere in the sequence
    ptr = np.zeros((n + 1, m + 1), dtype=np.int8)  # 1 diagonal, 2 up (skip fragment), 3 left
    for i in range(1, n + 1):
        h[i, 0] = h[i - 1, 0] - gap_fragment
        ptr[i, 0] = 2
        diag = h[i - 1, :-1] + match[i - 1]
        up = h[i - 1, 1:] - gap_fragment
        best = np.maximum(diag, up)
        choice = np.where(diag >= up, 1, 2)
        # left moves (skip sequence positions inside the fragment), linear cost: a running max
        idx = np.arange(m) * gap_sequence
        run = np.maximum.accumulate(best + idx) - idx
        left = run > best + 1e-9  # (rounding in run must not fake a left move)
        row = np.where(left, run, best)
        kind = np.where(left, 3, choice).astype(np.int8)
        h[i, 1:], ptr[i, 1:] = row, kind
    j = int(np.argmax(h[n]))  # free end
    score = float(h[n, j])
    positions = np.full(n, -1, dtype=np.int64)
    i = n
    while i > 0:
        move = ptr[i, j]
        if move == 1:
            positions[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif move == 2:
            i -= 1
        else:
            j -= 1
    return score, positions


def profile_log_odds(probs: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
    """log p - log prior for (L, 20) probabilities (prior: uniform)."""
    prior = np.full(probs.shape[1], 1.0 / probs.shape[1]) if prior is None else prior
    return np.log(np.clip(probs, 1e-6, 1.0)) - np.log(prior)[None, :]


def assign_fragment(
    probs: np.ndarray,
    sequences: list[str],
    min_length: int = 4,
    min_z: float = 4.0,
    shuffles: int = 20,
    seed: int = 0,
) -> Assignment | None:
    """The trusted alignment of one fragment to the best of ``sequences``, or None."""
    if len(probs) < min_length or not sequences:
        return None
    lo = profile_log_odds(np.asarray(probs, dtype=float))
    best: Assignment | None = None
    rng = np.random.default_rng(seed)
    for k, seq in enumerate(sequences):
        code = encode(seq)
        if not len(code):
            continue
        score, pos = align(lo, code)
        null = [align(lo, rng.permutation(code))[0] for _ in range(shuffles)]
        z = (score - np.mean(null)) / max(float(np.std(null)), 1e-6)
        if z >= min_z and (best is None or score > best.score):
            best = Assignment(k, pos, score, float(z))
    return best
