"""One residue of a review session, and residue types as a person types them.

:class:`ResidueState` is immutable: an edit makes a new state, which keeps the session's undo
simple (``session.py``). :func:`parse_type` reads a type given as a class index, a
three-letter or a one-letter code, and :func:`find_residue` a residue named by chain and number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .errors import DensityBuildError
from .residues import AMINO_ACIDS, INDEX, ONE_LETTER, THREE_LETTER

if TYPE_CHECKING:
    from .symmetry import Symmetry

#: Type of a placed residue not classified yet.
UNKNOWN = -1


@lru_cache(maxsize=1)
def centre_offset() -> np.ndarray:
    """The box centre's offset from the C-alpha in the box's own frame (x, y, z), as
    :func:`~.boxes.backbone_frames` places it (along the ideal CB direction) on an ideal
    backbone: a box's C-alpha is its centre less the rotation times this."""
    from .boxes import backbone_frames

    a = np.radians(111.0)  # N-CA-C
    n, ca, c = 1.458 * np.array([np.cos(a), np.sin(a), 0.0]), np.zeros(3), np.array([1.525, 0, 0])
    centre, rot = backbone_frames(n, ca, c)
    return rot[0].T @ (centre[0] - ca)


@dataclass(frozen=True)
class ResidueState:
    """One residue of a session (immutable: edits make new states, which keeps undo simple)."""

    chain: str
    seqid: int
    icode: str
    type: int
    probs: tuple[float, ...]
    centre: tuple[float, float, float]
    rotation: tuple[float, ...]  # 9 values, row-major; columns are the frame axes
    score: float
    atoms: tuple[tuple[str, float, float, float], ...]  # (name, x, y, z)
    edited: bool = False

    @property
    def name(self) -> str:
        """Three-letter type (UNK before classification)."""
        return AMINO_ACIDS[self.type] if self.type >= 0 else "UNK"

    @property
    def label(self) -> str:
        """What the napari labels show, e.g. ``"LEU 42"``."""
        return f"{self.name} {self.seqid}{self.icode}"

    @property
    def confidence(self) -> float:
        """0-100: detector score x probability of the type in use (score alone if unknown)."""
        p = float(self.probs[self.type]) if self.type >= 0 and self.probs else 1.0
        return 100.0 * self.score * p

    @property
    def ca(self) -> np.ndarray:
        """C-alpha position (the atom if present, else where the box's frame puts it:
        :func:`centre_offset` from its centre)."""
        for name, *xyz in self.atoms:
            if name == "CA":
                return np.array(xyz)
        rot = np.array(self.rotation).reshape(3, 3)
        return np.array(self.centre) - rot @ centre_offset()

    @property
    def alternative(self) -> tuple[str, float] | None:
        """The most likely type other than the one in use, and its probability (None before
        classification). ASP/ASN, GLU/GLN and VAL/THR pairs close in probability are the
        calls the density decides least (the model card): worth a look at the H-bonds."""
        if not self.probs:
            return None
        name = next(n for n in self.ranked_types() if n != self.name)
        return name, float(self.probs[INDEX[name]])

    def reframed(self) -> ResidueState:
        """This residue boxed in the frame of its own N, CA and C (:func:`~.boxes.backbone_frames`:
        where an edit moved its backbone, the next classification's box follows); as it is
        without one of them, or where they give no frame (coincident or in a line)."""
        from .boxes import backbone_frames

        atoms = {a[0]: a[1:] for a in self.atoms}
        if not all(k in atoms for k in ("N", "CA", "C")):
            return self
        centre, rot = backbone_frames(*(np.array(atoms[k]) for k in ("N", "CA", "C")))
        if not (np.isfinite(centre).all() and np.isfinite(rot).all()):
            return self
        return replace(self, centre=tuple(map(float, centre[0])),
                       rotation=tuple(map(float, rot[0].ravel())))  # fmt: skip

    def on_copy(self, sym: Symmetry, op: int, shift: tuple[float, float, float]) -> ResidueState:
        """This residue on the crystal copy given by symmetry operation ``op`` and lattice
        ``shift`` (atoms, box centre and frame)."""
        xyz = sym.apply(np.array([a[1:] for a in self.atoms], dtype=float), op, shift)
        centre = sym.apply(np.array([self.centre], dtype=float), op, shift)[0]
        rot = sym.cart_rotations()[op] @ np.array(self.rotation).reshape(3, 3)
        atoms = tuple((a[0], *map(float, p)) for a, p in zip(self.atoms, xyz))
        return replace(self, atoms=atoms, centre=tuple(map(float, centre)),
                       rotation=tuple(map(float, rot.ravel())))  # fmt: skip

    def ranked_types(self) -> list[str]:
        """Types by predicted probability, most likely first (alphabetical if unclassified)."""
        if not self.probs:
            return list(AMINO_ACIDS)
        return [AMINO_ACIDS[i] for i in np.argsort(self.probs, kind="stable")[::-1]]


def parse_type(value: str | int) -> int:
    """Class index of a type given as index, three-letter or one-letter code.

    Raises
    ------
    DensityBuildError
        For anything that is not one of the 20 amino acids.
    """
    if isinstance(value, (int, np.integer)) and 0 <= int(value) < len(AMINO_ACIDS):
        return int(value)
    text = str(value).strip().upper()
    if len(text) == 1 and text in THREE_LETTER:
        return INDEX[THREE_LETTER[text]]
    if text in INDEX:
        return INDEX[text]
    known = ", ".join(f"{ONE_LETTER[a]}/{a}" for a in AMINO_ACIDS)
    raise DensityBuildError(f"{value!r} is not an amino acid ({known})")


#: A residue as a person names it: an optional chain (letters), then its number and insertion
#: code: "A 143", "A143", "A/143", "B 52A", "143".
_RESIDUE_REF = re.compile(r"^([A-Za-z]{1,4})?[\s/:]*(-?\d+)([A-Za-z]?)$")


def find_residue(
    residues: Sequence[ResidueState], text: str, prefer_chain: str | None = None
) -> int | None:
    """Index of the residue ``text`` names ("A 143", "A143", "A/143", "B 52A", or "143" alone:
    then in ``prefer_chain`` if it has one, else the first in model order); None if the model
    has no such residue. Chain names match exactly, then ignoring case.

    Raises
    ------
    DensityBuildError
        For text that does not name a residue.

    Examples
    --------
    >>> rows = [ResidueState(c, n, "", 0, (), (0, 0, 0), (1, 0, 0, 0, 1, 0, 0, 0, 1), 1.0, ())
    ...         for c, n in (("A", 1), ("A", 2), ("B", 2))]
    >>> find_residue(rows, "B 2"), find_residue(rows, "2"), find_residue(rows, "2", "B")
    (2, 1, 2)
    >>> find_residue(rows, "a/2"), find_residue(rows, "C 2")
    (1, None)
    """
    m = _RESIDUE_REF.match(text.strip())
    if m is None:
        raise DensityBuildError(f"{text!r} does not name a residue (as in A 143, A143 or 143)")
    chain, seqid, icode = m.group(1), int(m.group(2)), m.group(3).upper()
    numbered = [i for i, r in enumerate(residues)
                if r.seqid == seqid and (not icode or r.icode.upper() == icode)]  # fmt: skip
    if chain is not None:
        for same in (lambda c: c == chain, lambda c: c.upper() == chain.upper()):
            hits = [i for i in numbered if same(residues[i].chain)]
            if hits:
                return hits[0]
        return None
    preferred = [i for i in numbered if residues[i].chain == prefer_chain]
    return (preferred or numbered or [None])[0]
