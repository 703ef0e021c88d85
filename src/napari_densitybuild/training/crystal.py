"""The crystal around a simulated molecule: orientation, a packed P1 cell, waters, B-factors.

These are the geometric parts of :mod:`napari_densitybuild.training.simulate`: they work on plain
coordinate arrays (Cartesian Angstrom, one row per atom) and a random generator, so they are easy
to test on their own.
"""

from __future__ import annotations

import itertools

import gemmi
import numpy as np
from scipy.spatial import cKDTree

#: The 26 neighbouring lattice translations (in cell units) of an orthorhombic P1 cell.
NEIGHBOURS = np.array([n for n in itertools.product((-1, 0, 1), repeat=3) if any(n)], dtype=float)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation matrix drawn uniformly from SO(3) (from a random unit quaternion)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def pack(
    xyz: np.ndarray,
    rng: np.random.Generator,
    mode: str = "lattice",
    contact: float = 3.2,
    margin: tuple[float, float] = (0.0, 2.0),
) -> np.ndarray:
    """Lattice vectors (rows a, b, c) of a P1 crystal of one molecule at ``xyz``.

    Parameters
    ----------
    xyz
        Atom positions (N, 3), in the orientation they will have in the crystal.
    rng
        Random generator (directions, order of axes, margins).
    mode
        ``"lattice"``: a dense triclinic lattice (:func:`pack_lattice`; protein fraction about
        0.4-0.6 of the cell in the solvent mask, like real crystals). ``"contact"``: an
        orthorhombic cell shrunk axis by axis (random order, bisection to 0.1 A) until the
        closest atoms of neighbouring images are ``contact`` A apart (about 0.3-0.45).
        ``"box"``: orthorhombic, the bounding box (about 0.2-0.35).
    contact
        Closest allowed distance (A) between atoms of neighbouring images.
    margin
        Range (A) of a random length added to each lattice vector.

    Returns
    -------
    numpy.ndarray
        (3, 3) lattice vectors as rows (diagonal for the orthorhombic modes).
    """
    xyz = np.asarray(xyz, dtype=float)
    if mode == "lattice":
        return pack_lattice(xyz, rng, contact, margin)
    if mode not in ("contact", "box"):
        raise ValueError(f"unknown packing mode {mode!r} (use 'lattice', 'contact' or 'box')")
    extent = np.ptp(xyz, axis=0)
    extra = rng.uniform(*margin, size=3)
    if mode == "box":
        return np.diag(extent + extra)
    con = _Contacts(xyz, contact)
    lengths = extent + contact + 0.01

    def clash(trial: np.ndarray) -> bool:
        return any(con.clash(n * trial) for n in NEIGHBOURS)

    for axis in rng.permutation(3):
        # Below extent/2 + contact, images two cells away could touch; never go there.
        good, bad = lengths[axis], extent[axis] / 2 + contact
        trial = lengths.copy()
        trial[axis] = bad
        if not clash(trial):
            good = bad
        while good - bad > 0.1:
            trial[axis] = 0.5 * (good + bad)
            if clash(trial):
                bad = trial[axis]
            else:
                good = trial[axis]
        lengths[axis] = good
    return np.diag(lengths + extra)


class _Contacts:
    """Clash test between a molecule and its translated copies (closest atoms < ``contact``)."""

    def __init__(self, xyz: np.ndarray, contact: float) -> None:
        self.xyz = xyz
        self.tree = cKDTree(xyz)
        self.contact = contact
        self.lo, self.hi = xyz.min(0), xyz.max(0)
        self.reach = float(np.linalg.norm(self.hi - self.lo)) + contact

    def clash(self, shift: np.ndarray) -> bool:
        """True if the copy moved by ``shift`` comes within ``contact`` of the molecule."""
        c = self.contact
        lo, hi = np.maximum(self.lo, self.lo + shift) - c, np.minimum(self.hi, self.hi + shift) + c
        if np.any(lo >= hi):
            return False
        moved = self.xyz + shift
        near = moved[np.all((moved > lo) & (moved < hi), axis=1)]
        return bool(len(near)) and bool(
            np.isfinite(self.tree.query(near, distance_upper_bound=c)[0]).any()
        )

    def lattice_clash(self, basis: np.ndarray, new: np.ndarray) -> bool:
        """Clash of any lattice translation that uses ``new`` (with the vectors in ``basis``)."""
        ranges = [range(-3, 4)] * len(basis)
        for m in (1, 2, 3):
            for ns in itertools.product(*ranges):
                shift = m * new + (np.asarray(ns) @ basis if len(basis) else 0.0)
                if np.linalg.norm(shift) < self.reach and self.clash(shift):
                    return True
        return False

    def any_clash(self, basis: np.ndarray) -> bool:
        """Clash of any translation of the lattice (rows of ``basis``, a reduced basis)."""
        n = np.array(list(itertools.product(range(-4, 5), repeat=3)), dtype=float)
        shifts = n @ basis
        length = np.linalg.norm(shifts, axis=1)
        return any(self.clash(t) for t in shifts[(length > 0) & (length < self.reach)])

    def shortest(self, basis: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """The shortest lattice vector along ``direction`` (bisection to 0.2 A) without clashes."""
        good, bad = float(np.ptp(self.xyz @ direction)) + self.contact + 0.01, 0.0
        while self.lattice_clash(basis, good * direction):  # combinations with basis vectors
            bad, good = good, good * 1.25
        while good - bad > 0.2:
            mid = 0.5 * (good + bad)
            if self.lattice_clash(basis, mid * direction):
                bad = mid
            else:
                good = mid
        return good * direction


def reduce_basis(basis: np.ndarray) -> np.ndarray:
    """Shorten lattice vectors (rows) by integer combinations; right-handed, same lattice."""
    b = np.array(basis, dtype=float)
    changed = True
    while changed:
        changed = False
        b = b[np.argsort(np.einsum("ij,ij->i", b, b))]
        for i in range(3):
            for j in range(3):
                k = round(float(b[i] @ b[j]) / float(b[j] @ b[j])) if i != j else 0
                if k:
                    b[i] -= k * b[j]
                    changed = True
    if np.linalg.det(b) < 0:
        b[2] = -b[2]
    return b


def pack_lattice(
    xyz: np.ndarray,
    rng: np.random.Generator,
    contact: float = 3.2,
    margin: tuple[float, float] = (0.0, 2.0),
    directions: int = 16,
) -> np.ndarray:
    """A dense P1 (triclinic) lattice for one molecule: rows are the lattice vectors a, b, c.

    Greedy: ``a`` is the shortest clash-free translation among random directions, ``b`` the
    one (60-120 degrees from ``a``) that makes the smallest clash-free 2D lattice with it, ``c``
    the one that makes the smallest cell; then each vector is lengthened by a random
    ``margin`` and the basis reduced. Protein fractions come out near those of real crystals
    (about 0.4-0.65 of the cell inside the solvent mask).
    """
    xyz = np.asarray(xyz, dtype=float)
    con = _Contacts(xyz, contact)
    basis = np.zeros((0, 3))
    for stage in range(3):
        best, best_size = None, np.inf
        for d in _unit_vectors(rng, directions):
            if stage == 1 and abs(d @ basis[0]) > 0.5 * np.linalg.norm(basis[0]):
                continue
            if stage == 2:
                normal = np.cross(basis[0], basis[1])
                if abs(d @ normal) < 0.5 * np.linalg.norm(normal):
                    continue
            v = con.shortest(basis, d)
            size = (
                abs(np.linalg.det(np.vstack([basis, v])))
                if stage == 2
                else (np.linalg.norm(np.cross(basis[0], v)) if stage == 1 else np.linalg.norm(v))
            )
            if size < best_size:
                best, best_size = v, size
        if best is None:  # no direction passed the angle test: fall back to a perpendicular
            best = con.shortest(basis, _perpendicular(basis))
        basis = np.vstack([basis, best])
    lengths = np.linalg.norm(basis, axis=1, keepdims=True)
    basis = reduce_basis(basis * (lengths + rng.uniform(*margin, size=(3, 1))) / lengths)
    while con.any_clash(basis):  # greedy steps checked only some translations: make sure
        basis *= 1.02
    return basis


def _unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    v = rng.normal(size=(count, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _perpendicular(basis: np.ndarray) -> np.ndarray:
    v = np.cross(basis[0], basis[1]) if len(basis) == 2 else np.cross(basis[0], [0.3, 0.5, 0.8])
    return v / np.linalg.norm(v)


def cell_from_basis(basis: np.ndarray) -> tuple[gemmi.UnitCell, np.ndarray]:
    """The unit cell of lattice vectors ``basis`` (rows a, b, c) and the rotation into its frame.

    Returns
    -------
    cell, rotation
        ``rotation @ x`` takes a position from the frame of ``basis`` to the cell's standard
        Cartesian frame (a along x, b in the xy plane), where gemmi places the cell.
    """
    basis = np.asarray(basis, dtype=float)
    length = np.linalg.norm(basis, axis=1)
    cos = [basis[1] @ basis[2] / (length[1] * length[2]), basis[0] @ basis[2] /
           (length[0] * length[2]), basis[0] @ basis[1] / (length[0] * length[1])]  # fmt: skip
    cell = gemmi.UnitCell(*length, *np.degrees(np.arccos(np.clip(cos, -1, 1))))
    orth = np.array(cell.orth.mat.tolist())  # columns: a, b, c in the cell's frame
    return cell, orth @ np.linalg.inv(basis.T)


def _images_tree(xyz: np.ndarray, cell: gemmi.UnitCell, pad: float) -> cKDTree:
    """Tree of the atoms and their periodic images that lie within ``pad`` A of the cell."""
    frac_m = np.array(cell.frac.mat.tolist())
    orth_m = np.array(cell.orth.mat.tolist())
    frac = np.mod(xyz @ frac_m.T, 1.0)
    margin = pad * np.linalg.norm(frac_m, axis=1)  # pad in fractional units along each axis
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=3)), dtype=float)
    parts = [frac + t for t in shifts]
    parts = [p[np.all((p > -margin) & (p < 1 + margin), axis=1)] for p in parts]
    return cKDTree(np.concatenate(parts) @ orth_m.T)


def place_waters(
    xyz: np.ndarray,
    polar: np.ndarray,
    cell: gemmi.UnitCell,
    count: int,
    rng: np.random.Generator,
    distance: tuple[float, float] = (2.6, 3.4),
    min_protein: float = 2.6,
    min_water: float = 2.6,
) -> np.ndarray:
    """Ordered-water positions in the solvent of a P1 crystal (any cell).

    Candidates sit ``distance`` A from a random polar (N/O) atom in a random direction; a
    candidate is kept if no protein atom of any periodic image is closer than ``min_protein``
    and no kept water is closer than ``min_water``, until ``count`` waters are kept (fewer if
    the surface is full).

    Parameters
    ----------
    xyz
        All protein atoms (N, 3), Cartesian, in the cell's frame.
    polar
        Boolean mask (N,) of the polar atoms waters bind to.
    cell
        The P1 unit cell.
    count
        Number of waters wanted.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        (M, 3) water oxygen positions, M <= ``count``, next to the atoms they bind to.
    """
    xyz = np.asarray(xyz, dtype=float)
    anchors = xyz[np.asarray(polar, dtype=bool)]
    if count <= 0 or len(anchors) == 0:
        return np.zeros((0, 3))
    n_cand = max(4 * count, 3 * len(anchors))
    base = anchors[rng.integers(len(anchors), size=n_cand)]
    direction = rng.normal(size=(n_cand, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    cand = base + direction * rng.uniform(*distance, size=(n_cand, 1))
    frac_m = np.array(cell.frac.mat.tolist())
    orth_m = np.array(cell.orth.mat.tolist())
    wrapped = np.mod(cand @ frac_m.T, 1.0) @ orth_m.T
    dist, _ = _images_tree(xyz, cell, min_protein + 0.5).query(wrapped)
    cand = cand[dist >= min_protein]
    frac = cand @ frac_m.T
    kept = np.zeros((count, 3))
    n = 0
    for i in range(len(cand)):
        if n >= count:
            break
        if n:
            delta = kept[:n] - frac[i]
            delta = (delta - np.round(delta)) @ orth_m.T  # nearest image (reduced cells)
            if np.einsum("ij,ij->i", delta, delta).min() < min_water**2:
                continue
        kept[n] = frac[i]
        n += 1
    return kept[:n] @ orth_m.T


def water_chain(xyz: np.ndarray, b_iso: np.ndarray, name: str = "W") -> gemmi.Chain:
    """A chain of HOH residues (one O atom each) at ``xyz`` with B-factors ``b_iso``."""
    chain = gemmi.Chain(name)
    for i, (p, b) in enumerate(zip(xyz, b_iso)):
        res = gemmi.Residue()
        res.name, res.seqid, res.het_flag = "HOH", gemmi.SeqId(i + 1, " "), "H"
        atom = gemmi.Atom()
        atom.name, atom.element, atom.pos = "O", gemmi.Element("O"), gemmi.Position(*p)
        atom.b_iso, atom.occ = float(b), 1.0
        res.add_atom(atom)
        chain.add_residue(res)
    return chain


def fill_flat_b(
    xyz: np.ndarray, b_iso: np.ndarray, low: float = 12.0, high: float = 50.0
) -> np.ndarray:
    """B-factors for models without them (all zero or flat): low in the core, high at the surface.

    Uses the number of atoms within 8 A as a burial measure, a common proxy of atomic mobility.
    Models with real B-factors are returned unchanged.
    """
    b_iso = np.asarray(b_iso, dtype=float)
    if len(b_iso) and np.median(b_iso) >= 2.0 and b_iso.std() >= 0.5:
        return b_iso
    counts = np.array([len(n) for n in cKDTree(xyz).query_ball_point(xyz, 8.0)], dtype=float)
    span = max(np.ptp(counts), 1.0)
    return high - (high - low) * (counts - counts.min()) / span
