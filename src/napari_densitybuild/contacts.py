"""Polar contacts of one residue: what a reviewer reads before calling ASP or ASN, GLU or GLN.

At 1.5-2.5 A the density of an acid and of its amide (and nearly of VAL and THR) is the same
shape, and the classifier's usual doubts are between them (the model card). A crystallographer
settles them from the neighbours: an atom H-bonded to an acceptor-only partner (a backbone O, a
carboxylate O) must carry a hydrogen, so it is an amide N (ASN, GLN) or a hydroxyl (THR); an
end whose partners are all donors (backbone N, LYS NZ, ARG NH) is an acceptor, an acid's O or
an amide's O. :func:`polar_contacts` lists, for one residue of a review
:class:`~.session.Session`, every polar atom of other residues (crystal copies included when
the session knows its cell) within :data:`~.hbonds.HBOND_MAX` of the N, O or S atoms of its
side chain (beyond CB, whatever the current type calls them; for VAL the two CG atoms too, one
of which THR would make an OG1). :func:`contact_hint` turns them into one line for the review
panel. Nothing here imports Qt or napari.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .hbonds import ACCEPTOR, BOTH, DONOR, HBOND_MAX, atom_role

if TYPE_CHECKING:
    from .residue_state import ResidueState
    from .session import Session

#: Backbone atoms (and CB): not looked at on the residue under review.
_MAIN = {"N", "CA", "C", "O", "OXT", "CB"}
#: Words for partner roles.
ROLE_NAMES = {DONOR: "donor", ACCEPTOR: "acceptor", BOTH: "donor/acceptor"}
#: The ends of acids and amides: the atoms whose partners tell the two apart.
_ENDS = {"ASP": ("OD1", "OD2"), "ASN": ("OD1", "ND2"), "GLU": ("OE1", "OE2"),
         "GLN": ("OE1", "NE2")}  # fmt: skip
#: The pairs whose density is alike, and the amide (or hydroxyl) member of each.
_PAIRS = {"ASP": "ASN", "ASN": "ASN", "GLU": "GLN", "GLN": "GLN", "VAL": "THR", "THR": "THR"}
_ACIDS = {"ASN": "ASP", "GLN": "GLU", "THR": "VAL"}
#: The gamma atoms of VAL and THR.
_GAMMA = ("CG1", "CG2", "OG1")
#: Closest H-bonds (A) that suggest an amide N or a THR hydroxyl (looser contacts are common
#: for carboxylate O and methyl groups too).
NEAR = 3.1


@dataclass(frozen=True)
class Contact:
    """One polar partner of an atom of the residue under review.

    ``xyz`` and ``partner_xyz`` are Cartesian (x, y, z) Angstrom; ``partner`` names the partner
    atom (e.g. ``"O LEU A50"``, with ``" (crystal copy)"`` for a symmetry image); ``role`` is
    its H-bond role (:data:`~.hbonds.DONOR`, :data:`~.hbonds.ACCEPTOR` or both).
    """

    atom: str
    xyz: tuple[float, float, float]
    partner: str
    partner_xyz: tuple[float, float, float]
    distance: float
    role: int


def _probe_atoms(
    name: str, atoms: tuple[tuple[str, float, float, float], ...]
) -> list[tuple[str, np.ndarray]]:
    """The residue's atoms whose partners are listed: side-chain N, O, S (VAL: CG1, CG2)."""
    out = []
    for atom, *xyz in atoms:
        if atom in _MAIN:
            continue
        if atom[0] in "NOS" or (name == "VAL" and atom in ("CG1", "CG2")):
            out.append((atom, np.array(xyz, dtype=float)))
    return out


@dataclass(frozen=True)
class PolarAtoms:
    """Every polar atom of a session (:func:`polar_atoms`): positions, labels (``"OD1 ASN
    A12"``), H-bond roles and the index of the residue each belongs to."""

    xyz: np.ndarray
    labels: list[str]
    roles: np.ndarray
    owner: np.ndarray


def polar_atoms(session: Session) -> PolarAtoms:
    """The polar atoms of every residue of ``session``, worked out once for many
    :func:`polar_contacts` calls on it (or on copies of it that differ in those residues
    only)."""
    xyz, labels, roles, owner = [], [], [], []
    for k, r in enumerate(session.residues):
        for atom, *pos in r.atoms:
            if role := atom_role(r.name, atom):
                xyz.append(pos)
                labels.append(_label(atom, r))
                roles.append(role)
                owner.append(k)
    return PolarAtoms(
        np.asarray(xyz, dtype=float).reshape(-1, 3),
        labels,
        np.asarray(roles, dtype=np.int64),
        np.asarray(owner, dtype=np.int64),
    )


def _label(atom: str, r: ResidueState) -> str:
    return f"{atom} {r.name} {r.chain}{r.seqid}{r.icode}"


def polar_contacts(
    session: Session, index: int, cutoff: float = HBOND_MAX, polar: PolarAtoms | None = None
) -> list[Contact]:
    """Polar atoms of other residues within ``cutoff`` of residue ``index``'s side-chain ends.

    Parameters
    ----------
    session
        The review session (its ``meta`` cell and space group, when present, add crystal
        neighbours).
    index
        The residue (index into ``session.residues``).
    cutoff
        Largest distance (A) listed.
    polar
        :func:`polar_atoms` of ``session``, or of a session that differs from it in residue
        ``index`` only (its atoms are taken from ``session``); made here if None.

    Returns
    -------
    list of Contact
        Nearest first.
    """
    from scipy.spatial import cKDTree

    res = session.residues[index]
    probes = _probe_atoms(res.name, res.atoms)
    if not probes:
        return []
    polar = polar_atoms(session) if polar is None else polar
    others = np.flatnonzero(polar.owner != index)
    own = [(atom, pos, role) for atom, *pos in res.atoms if (role := atom_role(res.name, atom))]
    # the residue's own atoms last: only its crystal copies can touch it
    own_start = len(others)
    xyz = np.concatenate([polar.xyz[others], np.asarray([p for _, p, _ in own], dtype=float)
                          .reshape(-1, 3)])  # fmt: skip
    if not len(xyz):
        return []
    labels = [polar.labels[j] for j in others] + [_label(atom, res) for atom, _, _ in own]
    roles = np.concatenate([polar.roles[others], np.asarray([r for *_, r in own], dtype=np.int64)])
    centre = np.array([p for _, p in probes])
    pos, src, copy = with_crystal_copies(session, xyz, centre, cutoff)
    keep = copy | (src < own_start)  # the residue itself only as a crystal copy
    pos, src, copy = pos[keep], src[keep], copy[keep]
    if not len(pos):
        return []
    tree = cKDTree(pos)
    found = []
    for atom, p in probes:
        for j in tree.query_ball_point(p, cutoff):
            d = float(np.linalg.norm(pos[j] - p))
            label = labels[src[j]] + (" (crystal copy)" if copy[j] else "")
            found.append(Contact(atom, tuple(map(float, p)), label, tuple(map(float, pos[j])),
                                 round(d, 2), int(roles[src[j]])))  # fmt: skip
    return sorted(found, key=lambda c: c.distance)


def with_crystal_copies(
    session: Session, xyz: np.ndarray, centre: np.ndarray, cutoff: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions near ``centre`` ((3,) or (M, 3)) within ``cutoff``: the points ``xyz`` and their
    crystal images (from the session's cell and space group, if it has them), the source index
    of each and whether it is a copy."""
    lo, hi = centre.min(0) - cutoff - 0.5, centre.max(0) + cutoff + 0.5
    sym = session.symmetry()
    if not sym.periodic:
        near = np.flatnonzero(((xyz >= lo) & (xyz <= hi)).all(1))
        return xyz[near], near, np.zeros(len(near), dtype=bool)
    images = sym.images(xyz, box=(lo, hi))
    pos, src = images["xyz"], images["src"]
    return pos, src, np.linalg.norm(pos - xyz[src], axis=1) > 1e-3


def contact_hint(name: str, contacts: list[Contact]) -> str:
    """One line for the review panel: the residue's polar partners and what they suggest.

    For ASP/ASN and GLU/GLN: an acceptor-only partner within :data:`NEAR` of an end (it must
    carry an H, an amide N) suggests the amide; donor-only partners at both ends (within
    :data:`~.hbonds.HBOND_MAX`) the acid. For VAL/THR: a polar partner within :data:`NEAR`
    of a CG suggests THR's hydroxyl. At the deposited ASP, ASN, GLU, GLN, VAL and THR of the
    16 real models of ``../shared/data/real`` (crystal copies included; a short script over
    :func:`polar_contacts`), the amide suggestion was made for 238 residues and right for 204
    (0.86), the acid one for 151 and right for 149, the THR one for 206 and right for 193
    (0.94); many get none (244 of 450 amides, 447 of 630 acids).

    Examples
    --------
    >>> contact_hint("LEU", [])
    ''
    >>> c = Contact("OD2", (0, 0, 0), "O LEU A50", (2.8, 0, 0), 2.8, 2)
    >>> contact_hint("ASP", [c])
    'H-bonds: OD2-O LEU A50 2.8 (acceptor). An acceptor-only partner at OD2: an N there (ASN).'
    """
    if not contacts:
        return "H-bonds: none within 3.4 A of the side chain." if name in _PAIRS else ""
    shown = contacts[:6]
    text = "H-bonds: " + "; ".join(
        f"{c.atom}-{c.partner} {c.distance:.1f} ({ROLE_NAMES[c.role]})" for c in shown
    ) + ("; ..." if len(contacts) > len(shown) else "") + "."  # fmt: skip
    pair = _PAIRS.get(name)
    if pair == "THR":
        close = sorted({c.atom for c in contacts if c.atom in _GAMMA and c.distance <= NEAR})
        if close:
            text += f" A polar partner at {'/'.join(close)}: a hydroxyl there (THR)."
    elif pair is not None:
        ends = _ENDS[name]
        to_acceptor = sorted(
            {
                c.atom
                for c in contacts
                if c.atom in ends and c.role == ACCEPTOR and c.distance <= NEAR
            }
        )
        donors = {c.atom for c in contacts if c.atom in ends and c.role == DONOR}
        if to_acceptor:
            text += f" An acceptor-only partner at {'/'.join(to_acceptor)}: an N there ({pair})."
        elif donors == set(ends):
            text += f" Donor-only partners at both ends: both accept, an acid ({_ACIDS[pair]})."
    return text
