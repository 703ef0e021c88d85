"""Real-space correlation of each residue with the map (RSCC), as validation reports give it.

The model's own density is computed to the map's resolution (for a map that does not give one,
the resolution at which the model correlates best with it; gemmi's DensityCalculatorX on a
grid over the map's cell, crystal copies included for an X-ray map, then its structure factors
cut at d_min), and for each residue the map and the model density are compared at the points
of a 0.5 A lattice within :data:`RADIUS` of its atoms: their correlation coefficient. A residue
whose map does not look like its atoms scores low, whether the map there is weak, shaped
otherwise, or holds something the model puts elsewhere; wwPDB validation reports flag residues
under 0.8. B-factors: one for every atom where each residue has one B value (a build's
confidence column), the model's own otherwise (:func:`~.model_maps.scoring_copy`).
Nothing here imports Qt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gemmi
import numpy as np

from .arrays import unique_ints
from .model_maps import density_grid, scoring_copy

if TYPE_CHECKING:
    from .maps import DensityMap
    from .session import Session

#: Points within this distance (A) of a residue's atoms are compared.
RADIUS = 1.6
#: Spacing (A) of the lattice of points compared.
STEP = 0.5
#: Residues under this correlation are flagged (as wwPDB validation reports flag them).
LOW_RSCC = 0.8
#: A cryo-EM box's model density is computed in a box this much (A) larger on every side.
PAD = 6.0
#: Atoms whose lattice points are found at once (bounds the memory for large models).
CHUNK = 20_000
#: Resolutions (A) tried for a map that does not say its own (:func:`best_resolution`).
RESOLUTIONS = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0)


def _sphere() -> np.ndarray:
    """Lattice offsets (STEP apart) that can lie within RADIUS of an atom whose nearest lattice
    point is the origin (the atom is up to half a cell diagonal from it)."""
    reach = RADIUS + STEP * np.sqrt(3) / 2
    n = int(np.ceil(reach / STEP))
    ax = np.arange(-n, n + 1)
    grid = np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(-1, 3)
    return grid[np.linalg.norm(grid * STEP, axis=1) <= reach]


def model_density(st: gemmi.Structure, dmap: DensityMap, d_min: float | None = None) -> DensityMap:
    """The density of ``st`` (first model) to ``d_min`` (default: the map's resolution, or
    twice its voxel size without one), as a map in its frame.

    For a crystal map: on the map's grid, crystal copies included. For a cryo-EM box: in a box
    :data:`PAD` A larger on every side, without symmetry, atoms further out than that left out
    (a box's density is computed as periodic: they would wrap round onto the far side)."""
    from .density_map import DensityMap as Map

    st, _ = scoring_copy(st)
    box = dmap.kind == "em"
    c = dmap.cell
    # the fraction of each edge that moves its faces PAD apart (heights across the cell: 1/a*)
    reciprocal = c.reciprocal()
    pad = PAD * np.array([reciprocal.a, reciprocal.b, reciprocal.c]) if box else np.zeros(3)
    origin = np.asarray(dmap.offset, dtype=float) - np.array(
        c.orthogonalize(gemmi.Fractional(*pad)).tolist()
    )
    xyz = np.array([a.pos.tolist() for ch in st[0] for res in ch for a in res]).reshape(-1, 3)
    gone = box & (dmap.depth_inside(xyz) < -(PAD - 2.0))
    n = 0
    for ch in st[0]:
        for res in ch:
            out, n = gone[n : n + len(res)], n + len(res)
            for k in reversed(range(len(res))):
                if out[k]:
                    del res[k]
                    continue
                res[k].pos = res[k].pos - gemmi.Position(*origin)
    grown = 1 + 2 * pad
    st.cell = gemmi.UnitCell(c.a * grown[0], c.b * grown[1], c.c * grown[2], c.alpha, c.beta,
                             c.gamma)  # fmt: skip
    st.spacegroup_hm = "P 1" if box else dmap.spacegroup.hm
    d_min = d_min or _known_resolution(dmap) or 0.0
    d_min = max(d_min, 2.0 * float(dmap.voxel_size.max()))
    density, blur = density_grid(st, d_min)
    asu = gemmi.transform_map_to_f_phi(density).prepare_asu_data(dmin=d_min, unblur=blur)
    if box:
        grid = asu.transform_f_phi_to_map(sample_rate=3.0)
    else:
        grid = asu.transform_f_phi_to_map(exact_size=[dmap.grid.nu, dmap.grid.nv, dmap.grid.nw])
    grid.unit_cell, grid.spacegroup = st.cell, gemmi.SpaceGroup(st.spacegroup_hm)
    return Map(grid=grid, resolution=d_min, kind=dmap.kind, offset=origin)


def _known_resolution(dmap: DensityMap) -> float | None:
    r = dmap.resolution
    return float(r) if r and np.isfinite(r) else None


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if np.std(a) > 0 and np.std(b) > 0 else -1.0


def best_resolution(st: gemmi.Structure, dmap: DensityMap, points: np.ndarray) -> float:
    """For a map that does not say its resolution (a cryo-EM box, say): the d_min among
    :data:`RESOLUTIONS` (from twice the voxel size) at which the model's density correlates best
    with the map at ``points`` (model density at too fine a resolution would make every residue
    look poor)."""
    a = dmap.sample_points(points)
    finest = 2.0 * float(dmap.voxel_size.max())
    tried = [d for d in RESOLUTIONS if d >= finest] or [finest]
    cc = [_correlation(a, model_density(st, dmap, d).sample_points(points)) for d in tried]
    return tried[int(np.argmax(cc))]


def residue_rscc(
    session: Session, dmap: DensityMap, st: gemmi.Structure | None = None
) -> np.ndarray:
    """(N,) correlation of each residue's map with its model density (NaN for residues without
    atoms, and for those reaching outside a map that ends at its box's faces); ``st``: the
    session's :meth:`~.Session.structure`, if already made."""
    n_res = len(session.residues)
    out = np.full(n_res, np.nan)
    owner = np.repeat(np.arange(n_res), [len(r.atoms) for r in session.residues])
    if not len(owner):
        return out
    xyz = np.array([a[1:] for r in session.residues for a in r.atoms], dtype=float)
    outside = np.zeros(n_res, bool)
    outside[owner[dmap.depth_inside(xyz) < 0]] = True  # values there wrap round from the far side
    xyz, owner = xyz[~outside[owner]], owner[~outside[owner]]
    if not len(xyz):
        return out
    # lattice points within RADIUS of each atom, once per residue (one lattice for all)
    base = np.round(xyz / STEP).astype(np.int64)
    sphere = _sphere()
    lo = base.min(0) + sphere.min(0)
    span = base.max(0) + sphere.max(0) - lo + 1
    keys = []
    for start in range(0, len(xyz), CHUNK):  # a large model in parts: memory stays bounded
        part = slice(start, start + CHUNK)
        cand = base[part, None, :] + sphere[None]
        near = np.linalg.norm(cand * STEP - xyz[part, None, :], axis=2) <= RADIUS
        key = np.broadcast_to(owner[part, None], near.shape)[near].astype(np.int64)
        for axis in range(3):
            key = key * span[axis] + (cand[near][:, axis] - lo[axis])
        keys.append(unique_ints(key))
    key = keys[0] if len(keys) == 1 else unique_ints(np.concatenate(keys))
    cand = np.empty((len(key), 3), np.int64)
    for axis in (2, 1, 0):
        key, cand[:, axis] = np.divmod(key, span[axis])
    points, owner = (cand + lo) * STEP, key
    if not dmap.periodic:
        inside = dmap.depth_inside(points) >= 0  # beyond a box's faces values wrap round
        points, owner = points[inside], owner[inside]
    st = session.structure() if st is None else st
    d_min = _known_resolution(dmap) or best_resolution(
        st, dmap, points[:: max(1, len(points) // 50_000)]
    )
    a = dmap.sample_points(points).astype(np.float64)
    b = model_density(st, dmap, d_min).sample_points(points).astype(np.float64)
    sums = [np.bincount(owner, w, n_res) for w in (None, a, b, a * a, b * b, a * b)]
    n, sa, sb, saa, sbb, sab = sums
    var_a, var_b = n * saa - sa**2, n * sbb - sb**2
    ok = (n > 3) & (var_a > 1e-12 * n**2) & (var_b > 1e-12 * n**2)
    out[ok] = (n * sab - sa * sb)[ok] / np.sqrt(var_a[ok] * var_b[ok])
    return out
