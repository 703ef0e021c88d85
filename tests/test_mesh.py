"""The chicken-wire contour: marching-cubes edges of a map, cut to a cube (no viewer)."""

from __future__ import annotations

import numpy as np

from napari_densitybuild._napari._mesh import contour_segments

SCALE = np.array([0.5, 0.5, 0.5])
TRANSLATE = np.array([-3.0, 2.0, 7.0])


def two_balls() -> np.ndarray:
    """A map (z, y, x) of two balls of radius 2 A: one at world (2, 8, 13), one at (9, 8, 13)."""
    z, y, x = np.mgrid[:30, :20, :20] * SCALE[:, None, None, None] + TRANSLATE[:, None, None, None]
    d1 = np.sqrt((z - 2) ** 2 + (y - 8) ** 2 + (x - 13) ** 2)
    d2 = np.sqrt((z - 9) ** 2 + (y - 8) ** 2 + (x - 13) ** 2)
    return 2.0 - np.minimum(d1, d2)


def test_edges_lie_on_the_contour_in_world_coordinates():
    seg = contour_segments(two_balls(), 0.0, SCALE, TRANSLATE)
    assert seg.shape[1:] == (2, 3) and len(seg) > 100
    for points in (seg[:, 0], seg[:, 0] + seg[:, 1]):
        d = np.minimum(np.linalg.norm(points - (2, 8, 13), axis=1),
                       np.linalg.norm(points - (9, 8, 13), axis=1))  # fmt: skip
        np.testing.assert_allclose(d, 2.0, atol=0.1)
    lengths = np.linalg.norm(seg[:, 1], axis=1)
    assert lengths.min() > 0 and lengths.max() < 0.5 * np.sqrt(3) + 1e-6  # within a voxel


def test_cube_around_a_centre_keeps_one_ball():
    data = two_balls()
    seg = contour_segments(data, 0.0, SCALE, TRANSLATE, centre=(9, 8, 13), radius=3.0)
    assert len(seg) > 50
    assert np.abs(seg[:, 0] - (9, 8, 13)).max() <= 3.0 + 0.5  # the cube, to a voxel
    assert len(seg) < 0.6 * len(contour_segments(data, 0.0, SCALE, TRANSLATE))


def test_nothing_to_draw():
    data = two_balls()
    assert contour_segments(data, 5.0, SCALE, TRANSLATE).shape == (0, 2, 3)  # above the peak
    far = contour_segments(data, 0.0, SCALE, TRANSLATE, centre=(50, 50, 50), radius=3.0)
    assert far.shape == (0, 2, 3)  # cube outside the map
