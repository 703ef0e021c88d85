"""Crystal images of points: inside a box, however many cells from the unit cell it is."""

from __future__ import annotations

import gemmi
import numpy as np

from napari_densitybuild.symmetry import Symmetry


def test_images_in_a_box_two_cells_away():
    sym = Symmetry.from_cell(gemmi.UnitCell(10, 12, 14, 90, 90, 90), "P 1")
    point = np.array([[1.0, 2.0, 3.0]])
    box = (np.array([-19.5, 1.5, 2.5]), np.array([-18.5, 2.5, 3.5]))  # around x = 1 - 20
    got = sym.images(point, reach=1, box=box)
    assert np.allclose(got["xyz"], [[-19.0, 2.0, 3.0]])
    assert np.allclose(got["shift"], [[-2, 0, 0]]) and list(got["src"]) == [0]
    assert np.allclose(sym.apply(point, int(got["op"][0]), got["shift"][0]), got["xyz"])


def test_images_in_a_box_match_the_unboxed_images_inside_it():
    sym = Symmetry.from_cell(gemmi.UnitCell(20, 25, 30, 90, 100, 90), "C 1 2 1")
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 20, size=(30, 3))
    lo, hi = np.array([-5.0, -3.0, 2.0]), np.array([12.0, 20.0, 25.0])
    boxed = sym.images(pts, box=(lo, hi))["xyz"]
    every = sym.images(pts, reach=2)["xyz"]
    inside = every[np.all((every >= lo) & (every <= hi), axis=1)]
    key = lambda a: np.unique(np.round(a, 6), axis=0)  # noqa: E731
    assert len(inside) and np.array_equal(key(boxed), key(inside))
