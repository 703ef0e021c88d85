"""Tracing: link C-alpha detections into ordered N-to-C fragments, whole across cell edges.

Each detection carries the detector's unit vectors CA->N and CA->C. A link i -> j (j follows i)
is a candidate when some crystal image of j lies 2.6-4.6 A from i; it scores well when i's CA->C
vector points at j, j's CA->N vector points back at i, the distance is near 3.8 A (or 2.9 A, a
cis peptide, at a small cost) and the map is high along the segment. Links are accepted
greedily, best first, so that each residue has at most one successor and one predecessor and
no cycle forms. Each fragment is then laid out as one connected copy (every residue takes the
image its link chose) and moved by a lattice vector so that its centre lies in the unit cell,
near the origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from .boxes import backbone_frames
from .geometry import CIS_CA, DUPLICATE_CA, dihedral
from .maps import DensityMap
from .symmetry import Symmetry

if TYPE_CHECKING:
    from .place import Detections

#: Ideal N-CA and CA-C bond lengths (A), for pseudo backbone atoms from predicted directions
#: and the carbonyl C before a cis peptide; and C-N across a cis peptide (``geometry.json``).
N_CA, CA_C, C_N = 1.458, 1.525, 1.343
#: Distance range (A) of consecutive C-alphas considered for links (trans peptides: 3.8 A,
#: cis peptides, mostly before a proline: 2.9 A).
LINK_RANGE = (2.6, 4.6)


@dataclass(eq=False)
class Trace:
    """Placed residues, fragment by fragment, each fragment in N-to-C order.

    Attributes
    ----------
    ca, to_n, to_c
        (N, 3) C-alpha positions and unit vectors CA->N, CA->C (world frame).
    score
        (N,) detector confidence (0-1).
    fragment
        (N,) fragment index (0 = longest); residues of a fragment are contiguous.
    """

    ca: np.ndarray
    to_n: np.ndarray
    to_c: np.ndarray
    score: np.ndarray
    fragment: np.ndarray

    def __len__(self) -> int:
        return len(self.ca)

    @property
    def fragment_count(self) -> int:
        """Number of fragments."""
        return int(self.fragment.max()) + 1 if len(self.fragment) else 0

    def fragment_lengths(self) -> np.ndarray:
        """Residues per fragment."""
        return np.bincount(self.fragment, minlength=self.fragment_count)

    def starts_and_ends(self) -> tuple[np.ndarray, np.ndarray]:
        """Indices of each fragment's first and last residue (fragments contiguous)."""
        if not len(self.fragment):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        new = self.fragment[1:] != self.fragment[:-1]
        return np.flatnonzero(np.r_[True, new]), np.flatnonzero(np.r_[new, True])

    def without_short(self, min_length: int) -> Trace:
        """The fragments of at least ``min_length`` residues, renumbered longest first."""
        lengths = self.fragment_lengths()
        keep = lengths[self.fragment] >= min_length if len(self) else np.zeros(0, dtype=bool)
        return self.subset(keep)

    def subset(self, keep: np.ndarray) -> Trace:
        """The residues where ``keep`` is True; fragments left empty are dropped and the others
        renumbered in their order (so longest first stays longest first)."""
        keep = np.asarray(keep, dtype=bool)
        old = np.unique(self.fragment[keep])
        new = np.searchsorted(old, self.fragment[keep])
        return Trace(self.ca[keep], self.to_n[keep], self.to_c[keep], self.score[keep],
                     new.astype(int))  # fmt: skip

    def weak_fragments(
        self, confidence: np.ndarray, max_length: int, min_confidence: float
    ) -> np.ndarray:
        """Per residue, True where its fragment has at most ``max_length`` residues and their
        mean ``confidence`` is under ``min_confidence`` (short, weak fragments: on real maps
        mostly built into ligands, glycans or side chains rather than protein backbone)."""
        if not len(self):
            return np.zeros(0, dtype=bool)
        lengths = self.fragment_lengths()
        mean = np.bincount(self.fragment, weights=confidence, minlength=len(lengths))
        mean = mean / np.maximum(lengths, 1)
        weak = (lengths <= max_length) & (mean < min_confidence)
        return weak[self.fragment]

    def cis_ends(self) -> np.ndarray:
        """Per residue, True for the first or last residue of a fragment whose link to the rest
        of it is cis (C-alphas under :data:`~.geometry.CIS_CA` apart).

        Cis peptides are rare (a few per thousand, mostly before a proline), and at the ends of
        fragments on real maps such links were almost always a wrong step: a second detection
        on the same residue, or one on the carbonyl of the residue before, which drags the
        next residue's N out of its density (docs/build.md).
        """
        out = np.zeros(len(self), dtype=bool)
        if len(self) < 2:
            return out
        same = self.fragment[1:] == self.fragment[:-1]
        short = same & (np.linalg.norm(self.ca[1:] - self.ca[:-1], axis=1) < CIS_CA)
        out[:-1] |= np.r_[True, ~same[:-1]] & short  # a first residue, cis to the second
        out[1:] |= np.r_[~same[1:], True] & short  # a last residue, cis to the one before
        return out

    def duplicates(self, confidence: np.ndarray) -> np.ndarray:
        """Per residue, True for one of the two residues of each link inside a fragment whose
        C-alphas lie under :data:`~.geometry.DUPLICATE_CA` apart: one residue detected twice.

        Of the two, the one of lower ``confidence`` (N,) goes (on real maps the stray one was
        the weaker detection or the less certain type; choosing by which neighbours then lie
        nearer a trans step chose wrong where the pair sat next to another stray residue,
        docs/build.md). Links at fragment ends are :meth:`cis_ends`'s.
        """
        out = np.zeros(len(self), dtype=bool)
        frag = self.fragment
        same = frag[1:] == frag[:-1]
        short = same & (np.linalg.norm(self.ca[1:] - self.ca[:-1], axis=1) < DUPLICATE_CA)
        for i in np.flatnonzero(short):
            j = i + 1
            inside = i > 0 and same[i - 1] and j < len(self) - 1 and same[j]
            if not inside or out[i - 1 : j].any():
                continue  # an end, or a residue already left out in the pair or before it
            out[i if confidence[i] < confidence[j] else j] = True
        return out

    def backbone(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pseudo N, CA, C positions.

        Inside a fragment, N and C come from the C-alpha trace (residues i-1, i, i+1 and the
        table of :func:`ca_trace_backbone`: about 0.2 A from the true atoms); at fragment ends
        and for single residues, from the detector's directions at ideal bond lengths.
        """
        n = self.ca + N_CA * self.to_n
        c = self.ca + CA_C * self.to_c
        inner = np.zeros(len(self), dtype=bool)
        if len(self) > 2:
            same = self.fragment[1:] == self.fragment[:-1]
            inner[1:-1] = same[:-1] & same[1:]
        for i in np.flatnonzero(inner):
            got = ca_trace_backbone(self.ca[i - 1], self.ca[i], self.ca[i + 1])
            if got is not None:
                n[i], c[i] = got
        return n, self.ca, c

    def frames(self) -> tuple[np.ndarray, np.ndarray]:
        """Box frames (centres, rotations) in the classifier's backbone convention."""
        return backbone_frames(*self.backbone())


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def ca_trace_frame(prev: np.ndarray, ca: np.ndarray, nxt: np.ndarray) -> tuple[np.ndarray, float]:
    """The frame of three consecutive C-alphas (columns e1, e2, e3) and their virtual angle.

    e1 runs from the previous to the next C-alpha, e2 from their midpoint towards the middle one.
    """
    e1 = _unit(nxt - prev)
    m = ca - 0.5 * (prev + nxt)
    e2 = _unit(m - (m @ e1) * e1)
    a, b = prev - ca, nxt - ca
    angle = float(np.degrees(np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)),
                                               -1, 1))))  # fmt: skip
    return np.stack([e1, e2, np.cross(e1, e2)], axis=1), angle


def ca_trace_backbone(
    prev: np.ndarray, ca: np.ndarray, nxt: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """N and C of the middle residue of three consecutive C-alphas (None off the table).

    The table (``geometry.json``, ``ca_frames``) holds the mean N and C positions in the
    :func:`ca_trace_frame` per 5-degree bin of the virtual angle, from the training structures.
    """
    from .geometry import tables

    frames = tables().get("ca_frames")
    if not frames:
        return None
    rot, angle = ca_trace_frame(np.asarray(prev), np.asarray(ca), np.asarray(nxt))
    step = frames["bin_degrees"]
    row = frames["n_c"].get(str(int(angle // step) * step))
    if row is None:
        return None
    row = np.asarray(row)
    return ca + rot @ row[:3], ca + rot @ row[3:]


def new_residue_backbone(
    prev: np.ndarray, ca: np.ndarray, nxt: np.ndarray, n_next: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """N and C of a new residue at ``ca`` between C-alphas ``prev`` and ``nxt``
    (:func:`ca_trace_backbone`), its C placed for a cis peptide (:func:`cis_carbonyl`) where
    ``nxt`` lies a cis step away (under :data:`~.geometry.CIS_CA`) and its N ``n_next`` is
    given; None off the table."""
    got = ca_trace_backbone(prev, ca, nxt)
    if got is None or n_next is None or np.linalg.norm(np.subtract(nxt, ca)) >= CIS_CA:
        return got
    cis = cis_carbonyl(ca, n_next, nxt)
    return got if cis is None else (got[0], cis)


def cis_carbonyl(ca: np.ndarray, n_next: np.ndarray, ca_next: np.ndarray) -> np.ndarray | None:
    """The C of a residue at ``ca`` whose peptide to the next residue (N ``n_next``, C-alpha
    ``ca_next``) is cis: bonded to both, in the plane of the three, of the two such places the
    one whose omega is nearer 0 (0 where the three lie as a cis peptide has them); None where
    ``ca`` and ``n_next`` are too far apart or too close for the two bonds."""
    ca, n_next, ca_next = (np.asarray(v, dtype=float) for v in (ca, n_next, ca_next))
    axis = n_next - ca
    d = float(np.linalg.norm(axis))
    if not abs(CA_C - C_N) < d < CA_C + C_N:
        return None
    u = axis / d
    w = (ca_next - ca) - ((ca_next - ca) @ u) * u
    if np.linalg.norm(w) < 1e-6:
        return None
    w /= np.linalg.norm(w)
    x = (d * d + CA_C**2 - C_N**2) / (2 * d)
    h = np.sqrt(max(CA_C**2 - x * x, 0.0))
    # of the two places in the plane, the one with the C-alphas on one side of the C-N bond
    sides = [ca + x * u + sign * h * w for sign in (1.0, -1.0)]
    return min(sides, key=lambda c: abs(float(dihedral(ca, c, n_next, ca_next))))


def candidate_links(det: Detections, dmap: DensityMap, sym: Symmetry) -> list[tuple]:
    """Scored undirected links (score, i, j, op, shift, forward) between detections.

    The image of j under (op, shift) lies next to i. ``score`` does not depend on the
    direction; ``forward`` is the direction evidence for i -> j (positive) over j -> i.
    """
    if len(det) == 0 or (len(det) < 2 and not sym.periodic):
        return []
    imgs = sym.images(det.ca)
    tree = cKDTree(imgs["xyz"])
    cart_rot = sym.cart_rotations()
    lo, hi = LINK_RANGE
    best: dict[tuple[int, int], tuple] = {}
    for i, hits in enumerate(tree.query_ball_point(det.ca, hi)):
        hits = np.asarray(hits, dtype=int)
        hits = hits[imgs["src"][hits] != i]
        if not len(hits):
            continue
        pos = imgs["xyz"][hits]
        d = np.linalg.norm(pos - det.ca[i], axis=1)
        ok = d >= lo
        hits, pos, d = hits[ok], pos[ok], d[ok]
        if not len(hits):
            continue
        v = (pos - det.ca[i]) / d[:, None]
        j = imgs["src"][hits]
        rot = cart_rot[imgs["op"][hits]]
        to_n_j = np.einsum("kab,kb->ka", rot, det.to_n[j])
        to_c_j = np.einsum("kab,kb->ka", rot, det.to_c[j])
        fwd = v @ det.to_c[i] - (to_n_j * v).sum(1)  # i -> j: i's C and j's N face each other
        bwd = v @ det.to_n[i] - (to_c_j * v).sum(1)  # j -> i
        path = det.ca[i] + v[:, None, :] * d[:, None, None] * np.array([0.25, 0.5, 0.75])[:, None]
        dens = dmap.sample_points(path.reshape(-1, 3)).reshape(-1, 3).mean(1)
        # trans (3.8 A), or cis (2.95 A) at a small cost; detections are ~0.4 A off, so the
        # distance between two of them is only trusted to about +-0.3 A
        gap = np.minimum(np.abs(d - 3.8), np.abs(d - 2.95) + 0.15)
        score = (0.5 * np.maximum(fwd, bwd) + 0.5 * np.clip(dens, -1.0, 2.0)
                 - 1.5 * np.maximum(gap - 0.3, 0.0))  # fmt: skip
        good = score > 0.2
        for s, jj, h, f, b in zip(score[good], j[good], hits[good], fwd[good], bwd[good]):
            key = (min(i, int(jj)), max(i, int(jj)))
            if key not in best or s > best[key][0]:
                best[key] = (float(s), i, int(jj), int(imgs["op"][h]), imgs["shift"][h],
                             float(f - b))  # fmt: skip
    return sorted(best.values(), key=lambda t: -t[0])


def _inverse(sym: Symmetry, op: int, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fractional (rotation, translation) of the inverse of operation ``op`` + ``shift``."""
    r_inv = np.linalg.inv(sym.rot[op])
    return r_inv, -r_inv @ (sym.tran[op] + shift)


def trace(det: Detections, dmap: DensityMap, sym: Symmetry | None = None) -> Trace:
    """Link unique detections into fragments and lay each out as one connected copy.

    Links are accepted best first so that each residue has at most two neighbours and no
    cycle forms; each fragment's N-to-C direction is then the one its residues' predicted
    CA->N and CA->C vectors agree with, summed over the fragment.

    Parameters
    ----------
    det
        Detections, one per residue (symmetry copies already removed).
    dmap
        The map (density along candidate links).
    sym
        Crystal symmetry (default: the map's).

    Returns
    -------
    Trace
        Fragments sorted longest first; singletons are fragments of one residue.
    """
    sym = sym or Symmetry.of_map(dmap)
    n = len(det)
    neighbours: list[list[tuple[int, np.ndarray, np.ndarray]]] = [[] for _ in range(n)]
    parent = np.arange(n)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for _, i, j, op, shift, _ in candidate_links(det, dmap, sym):
        if len(neighbours[i]) >= 2 or len(neighbours[j]) >= 2 or root(i) == root(j):
            continue
        parent[root(j)] = root(i)
        neighbours[i].append((j, sym.rot[op], sym.tran[op] + shift))
        neighbours[j].append((i, *_inverse(sym, op, shift)))

    fragments = []
    seen = np.zeros(n, dtype=bool)
    for start in range(n):
        if seen[start] or len(neighbours[start]) > 1:
            continue
        chain = [(start, np.eye(3), np.zeros(3))]
        seen[start] = True
        while True:
            k, rot, tran = chain[-1]
            nxt = [e for e in neighbours[k] if not seen[e[0]]]
            if not nxt:
                break
            j, r, t = nxt[0]
            seen[j] = True
            chain.append((j, rot @ r, rot @ t + tran))
        fragments.append(chain)
    fragments.sort(key=lambda c: (-len(c), c[0][0]))
    return _layout(det, sym, fragments)


def _layout(det: Detections, sym: Symmetry, fragments: list[list[tuple]]) -> Trace:
    """Positions of each fragment as one connected copy, N to C, centred in the unit cell."""
    rows = []
    for f, chain in enumerate(fragments):
        frac = np.array([rot @ sym.to_frac(det.ca[r])[0] + tran for r, rot, tran in chain])
        if sym.periodic:
            frac -= np.floor(frac.mean(0))
        xyz = sym.to_cart(frac)
        carts = [sym.orth @ rot @ sym.frac if sym.periodic else np.eye(3) for _, rot, _ in chain]
        to_n = np.array([c @ det.to_n[r] for c, (r, _, _) in zip(carts, chain)])
        to_c = np.array([c @ det.to_c[r] for c, (r, _, _) in zip(carts, chain)])
        if len(chain) > 1:  # which way is N to C? the summed direction evidence decides
            v = _unit(np.diff(xyz, axis=0))
            fwd = (to_c[:-1] * v).sum() - (to_n[1:] * v).sum()
            bwd = (to_n[:-1] * v).sum() - (to_c[1:] * v).sum()
            if bwd > fwd:
                xyz, to_n, to_c = xyz[::-1], to_n[::-1], to_c[::-1]
                chain = chain[::-1]
        for k, (r, _, _) in enumerate(chain):
            rows.append((xyz[k], to_n[k], to_c[k], det.score[r], f))
    if not rows:
        empty = np.zeros((0, 3))
        return Trace(empty, empty, empty, np.zeros(0), np.zeros(0, int))
    ca, tn, tc, score, frag = zip(*rows)
    return Trace(np.array(ca), _unit(np.array(tn)), _unit(np.array(tc)), np.array(score),
                 np.array(frag, dtype=int))  # fmt: skip
