"""Paths through the density across a chain break: the last step into a proline as a cis
peptide."""

from __future__ import annotations

import itertools

import gemmi
import numpy as np
import pytest

from napari_densitybuild import gap_paths
from napari_densitybuild.gap_paths import CIS_STEP, STEP, _circle, best_path
from napari_densitybuild.maps import DensityMap
from napari_densitybuild.trace import cis_carbonyl


def _tube_map(points: np.ndarray, size: float = 30.0, spacing: float = 0.5) -> DensityMap:
    """A map of Gaussian tubes (sd 0.8 A, peak 3) along the segments joining ``points``."""
    grid = gemmi.FloatGrid()
    grid.set_unit_cell(gemmi.UnitCell(size, size, size, 90, 90, 90))
    grid.spacegroup = gemmi.SpaceGroup("P 1")
    grid.set_size_from_spacing(spacing, gemmi.GridSizeRounding.Up)
    axes = [np.arange(n) * size / n for n in (grid.nu, grid.nv, grid.nw)]
    xyz = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    best = np.full(len(xyz), np.inf)
    for a, b in itertools.pairwise(points):
        t = np.clip((xyz - a) @ (b - a) / ((b - a) @ (b - a)), 0, 1)
        best = np.minimum(best, np.linalg.norm(xyz - (a + t[:, None] * (b - a)), axis=1))
    grid.array[...] = (3.0 * np.exp(-(best**2) / (2 * 0.8**2))).reshape(grid.nu, grid.nv, grid.nw)
    return DensityMap(grid=grid, source="tubes")


def _turn(a: np.ndarray, b: np.ndarray, length: float, angle: float, up) -> np.ndarray:
    """The point ``length`` A from ``b`` whose virtual angle a-b-point is ``angle`` degrees, in
    the plane of a, b and ``up``."""
    u = (a - b) / np.linalg.norm(a - b)
    w = np.asarray(up, dtype=float) - (np.asarray(up) @ u) * u
    w /= np.linalg.norm(w)
    t = np.radians(angle)
    return b + length * (np.cos(t) * u + np.sin(t) * w)


def _five(last: float, angle_e: float) -> tuple[np.ndarray, ...]:
    """C-alphas before, e, x (the missing one), s (``last`` A after x) and after."""
    before = np.array([8.0, 15.0, 15.0])
    e = before + np.array([STEP, 0.0, 0.0])
    x = _turn(before, e, STEP, angle_e, [0, 1, 0])
    s = _turn(e, x, last, 110.0, [0, 0, 1])
    return before, e, x, s, _turn(x, s, STEP, 105.0, [0, -1, 0.3])


@pytest.fixture(scope="module")
def cis_chain():
    """The five C-alphas with s a proline after a cis peptide."""
    return _five(CIS_STEP, 120.0)


def test_circle_of_two_radii():
    a, b = np.array([0.0, 0, 0]), np.array([4.0, 1, 0])
    pts = _circle(a, b, STEP, 36, CIS_STEP)
    assert np.allclose(np.linalg.norm(pts - a, axis=1), STEP)
    assert np.allclose(np.linalg.norm(pts - b, axis=1), CIS_STEP)
    assert np.isnan(
        _circle(a, a + np.array([10.0, 0.0, 0.0]), STEP, 8, CIS_STEP)
    ).all()  # too far apart
    assert np.allclose(_circle(a, b, STEP, 8), _circle(a, b, STEP, 8, STEP))


def test_a_proline_after_a_cis_peptide_is_reached_by_a_short_step(cis_chain):
    before, e, x, s, after = cis_chain
    dmap = _tube_map(np.array(cis_chain))
    cis = best_path(e, s, [1, 2], dmap, before, after, cis_last=True)
    assert cis is not None and cis[0].shape == (1, 3)
    assert np.linalg.norm(cis[0][0] - x) < 0.5
    assert np.linalg.norm(cis[0][0] - s) == pytest.approx(CIS_STEP)
    trans = best_path(e, s, [1, 2], dmap, before, after)  # not a proline: 3.8 A steps only
    assert trans is not None and trans[1] < cis[1]
    assert np.allclose(np.linalg.norm(np.diff(np.vstack([e, *trans[0], s]), axis=0), axis=1), STEP)


def test_the_cis_step_can_be_switched_off(cis_chain, monkeypatch):
    before, e, _, s, after = cis_chain
    dmap = _tube_map(np.array(cis_chain))
    monkeypatch.setattr(gap_paths, "CIS_BEFORE_PRO", False)
    off = best_path(e, s, [1, 2], dmap, before, after, cis_last=True)
    trans = best_path(e, s, [1, 2], dmap, before, after)
    assert off is not None and np.allclose(off[0], trans[0]) and off[1] == trans[1]
    assert np.linalg.norm(off[0][-1] - s) == pytest.approx(STEP)


def test_a_cis_step_must_be_denser_by_the_margin(cis_chain, monkeypatch):
    before, e, _, s, after = cis_chain
    dmap = _tube_map(np.array(cis_chain))
    cis = best_path(e, s, [1, 2], dmap, before, after, cis_last=True)
    trans = best_path(e, s, [1, 2], dmap, before, after)
    gain = cis[1] - trans[1]
    monkeypatch.setattr(gap_paths, "CIS_MARGIN", gain + 0.01)
    got = best_path(e, s, [1, 2], dmap, before, after, cis_last=True)
    assert np.allclose(got[0], trans[0]) and got[1] == trans[1]
    monkeypatch.setattr(gap_paths, "CIS_MARGIN", gain - 0.01)
    got = best_path(e, s, [1, 2], dmap, before, after, cis_last=True)
    assert np.allclose(got[0], cis[0]) and got[1] == cis[1]


def test_a_trans_proline_keeps_its_trans_step():
    """Density along a trans path into a proline: the cis option is offered, the map says no."""
    before, e, x, s, after = _five(STEP, 115.0)
    dmap = _tube_map(np.array([before, e, x, s, after]))
    got = best_path(e, s, [1, 2], dmap, before, after, cis_last=True)
    assert got is not None and got[0].shape == (1, 3)
    assert np.linalg.norm(got[0][0] - x) < 0.5
    assert np.linalg.norm(got[0][0] - s) == pytest.approx(STEP)


def test_ends_at_the_edge_of_reach_give_no_path_and_no_error(cis_chain):
    """Two new residues, the last step cis, ends 10.55 A apart (reach 10.56 A): no first point
    of the sphere is in reach of the start, so only trans paths are scored."""
    e = cis_chain[1]
    dmap = _tube_map(np.array(cis_chain))
    far = e + np.array([10.55, 0.0, 0.0])
    assert len(gap_paths._paths(e, far, 2, CIS_STEP)) == 0
    got = best_path(e, far, [2], dmap, cis_last=True)
    assert got is not None and np.linalg.norm(got[0][-1] - far) == pytest.approx(STEP)


def _dihedral(*points) -> float:
    return float(np.degrees(gemmi.calculate_dihedral(*(gemmi.Position(*p) for p in points))))


def test_the_carbonyl_before_a_cis_peptide():
    """An ideal cis peptide (CA-C 1.525, C-N 1.343, N-CA 1.458 A; angles 116 and 122
    degrees): the C placed from the two C-alphas and the N is the true one."""
    c = np.zeros(3)
    n = np.array([1.343, 0.0, 0.0])
    t1, t2 = np.radians(116.0), np.radians(122.0)
    ca = 1.525 * np.array([-np.cos(np.pi - t1), np.sin(np.pi - t1), 0.0])
    ca_next = n + 1.458 * np.array([np.cos(np.pi - t2), np.sin(np.pi - t2), 0.0])
    assert abs(_dihedral(ca, c, n, ca_next)) < 1e-6
    got = cis_carbonyl(ca, n, ca_next)
    assert np.linalg.norm(got - c) < 1e-6
    assert cis_carbonyl(ca, ca + np.array([4.0, 0, 0]), ca_next) is None  # no two bonds reach
