"""Crystal symmetry for points: all images of C-alphas under space-group operations and lattice
translations, as Cartesian positions with the fractional affine that made each one.

Used by placement (drop symmetry copies), tracing (link across cell edges) and the placement
metrics (match a model to detections whatever copy either is). Non-periodic maps (cryo-EM boxes)
use :meth:`Symmetry.none`: the identity only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gemmi
import numpy as np

if TYPE_CHECKING:
    from .maps import DensityMap


@dataclass(frozen=True)
class Symmetry:
    """Fractional operations (``rot`` (K, 3, 3), ``tran`` (K, 3)) of a cell, or none.

    ``orth``/``frac`` are the cell's 3x3 orthogonalisation and fractionalisation matrices;
    ``periodic`` False means no images at all (identity, no lattice).
    """

    rot: np.ndarray
    tran: np.ndarray
    orth: np.ndarray
    frac: np.ndarray
    periodic: bool = True

    @classmethod
    def from_cell(cls, cell: gemmi.UnitCell, spacegroup: gemmi.SpaceGroup | str) -> Symmetry:
        """The operations of ``spacegroup`` (name or object) in ``cell``."""
        sg = gemmi.SpaceGroup(spacegroup) if isinstance(spacegroup, str) else spacegroup
        ops = list(sg.operations())
        rot = np.array([np.array(op.rot, dtype=float) / op.DEN for op in ops])
        tran = np.array([np.array(op.tran, dtype=float) / op.DEN for op in ops])
        return cls(rot, tran, np.array(cell.orth.mat.tolist()), np.array(cell.frac.mat.tolist()))

    @classmethod
    def none(cls) -> Symmetry:
        """No symmetry and no lattice (a map that is not periodic)."""
        return cls(np.eye(3)[None], np.zeros((1, 3)), np.eye(3), np.eye(3), periodic=False)

    @classmethod
    def of_map(cls, dmap: DensityMap) -> Symmetry:
        """The symmetry of a :class:`~napari_densitybuild.maps.DensityMap` (none for EM boxes)."""
        if dmap.periodic:
            return cls.from_cell(dmap.cell, dmap.spacegroup)
        return cls.none()

    def cart_rotations(self) -> np.ndarray:
        """Cartesian rotation (K, 3, 3) of each operation (for direction vectors)."""
        return self.orth[None] @ self.rot @ self.frac[None]

    def to_frac(self, xyz: np.ndarray) -> np.ndarray:
        """Fractional coordinates of Cartesian points (N, 3)."""
        return np.asarray(xyz, dtype=float).reshape(-1, 3) @ self.frac.T

    def to_cart(self, f: np.ndarray) -> np.ndarray:
        """Cartesian coordinates of fractional points (N, 3)."""
        return np.asarray(f, dtype=float).reshape(-1, 3) @ self.orth.T

    def images(
        self,
        xyz: np.ndarray,
        reach: int = 1,
        box: tuple[np.ndarray, np.ndarray] | None = None,
        copies_only: bool = False,
    ) -> dict[str, np.ndarray]:
        """Every image of every point inside the cell and ``reach`` cells around it.

        With ``box`` (Cartesian x, y, z min and max), every image inside the box, however many
        cells from the unit cell it lies (``reach`` is then not used), in the same order
        (candidates are first screened in fractional coordinates, so only those near the box
        are made Cartesian). With ``copies_only``, images that fall on their own point (the
        point itself, or a point on a symmetry axis) are left out: the crystal copies only.

        Returns
        -------
        dict
            ``xyz`` (M, 3) image positions, ``src`` (M,) index of the point, ``op`` (M,) index
            of the operation, ``shift`` (M, 3) the lattice translation (fractional, integer)
            added after the operation: ``frac(image) = rot[op] @ frac(point) + tran[op] + shift``.
        """
        xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
        out = self._images(xyz, reach, box)
        if copies_only:
            moved = np.linalg.norm(out["xyz"] - xyz[out["src"]], axis=1) > 1e-3
            out = {key: v[moved] for key, v in out.items()}
        return out

    def _images(
        self, xyz: np.ndarray, reach: int, box: tuple[np.ndarray, np.ndarray] | None
    ) -> dict[str, np.ndarray]:
        n = len(xyz)
        if not self.periodic:
            return {"xyz": xyz.copy(), "src": np.arange(n), "op": np.zeros(n, int),
                    "shift": np.zeros((n, 3))}  # fmt: skip
        f = self.to_frac(xyz)
        k = len(self.rot)
        g = np.einsum("kab,nb->kna", self.rot, f) + self.tran[:, None]  # (K, N, 3)
        base = -np.floor(g)  # g + base lies in the unit cell, [0, 1)
        if box is None:
            r = np.arange(-reach, reach + 1)
            lat = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
        else:
            lo, hi = (np.asarray(b, dtype=float) for b in box)
            # the fractional bounding box of the Cartesian box's corners holds the whole box,
            # and the cells it touches are the lattice shifts that can land inside it
            corners = self.to_frac(np.array(np.meshgrid(*zip(lo, hi))).reshape(3, -1).T)
            fmin, fmax = corners.min(0) - 1e-6, corners.max(0) + 1e-6
            ranges = [np.arange(np.floor(a), np.floor(b) + 1) for a, b in zip(fmin, fmax)]
            lat = np.stack(np.meshgrid(*ranges, indexing="ij"), -1).reshape(-1, 3)
        shift = base[None] + lat[:, None, None]  # (L, K, N, 3)
        size = len(lat) * k * n
        frac = (g[None] + shift).reshape(size, 3)
        rest = {
            "src": np.broadcast_to(np.arange(n), (len(lat), k, n)).reshape(size),
            "op": np.broadcast_to(np.arange(k)[:, None], (len(lat), k, n)).reshape(size),
            "shift": shift.reshape(size, 3),
        }
        if box is None:
            return {"xyz": self.to_cart(frac), **rest}
        near = np.flatnonzero(np.all((frac >= fmin) & (frac <= fmax), axis=1))
        cart = self.to_cart(frac[near])
        inside = np.all((cart >= lo) & (cart <= hi), axis=1)
        return {"xyz": cart[inside], **{key: v[near[inside]] for key, v in rest.items()}}

    def apply(self, xyz: np.ndarray, op: int, shift: np.ndarray) -> np.ndarray:
        """Apply operation ``op`` then lattice ``shift`` (fractional) to Cartesian points."""
        if not self.periodic:
            return np.asarray(xyz, dtype=float).reshape(-1, 3).copy()
        f = self.to_frac(xyz) @ self.rot[op].T + self.tran[op] + np.asarray(shift)
        return self.to_cart(f)
