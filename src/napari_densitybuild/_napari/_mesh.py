"""Chicken-wire contour of a map near the centre of view, as Coot draws maps.

:func:`contour_segments` is pure (no Qt, no viewer): the edges of the iso-surface of a
sigma-scaled map at one level, cut to a cube around a point, as a napari Vectors layer's data.
:class:`MeshView` keeps one such layer in a viewer up to date for a map layer. The atoms inside
the density stay in plain sight, where napari's shaded iso-surface hides them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..arrays import unique_pairs

if TYPE_CHECKING:
    import napari
    from numpy.typing import ArrayLike

#: Colour of the mesh lines (RGBA): Coot's blue.
MESH_COLOUR = (0.35, 0.55, 1.0, 1.0)
#: Width of the mesh lines, Angstrom.
MESH_WIDTH = 0.03
#: Radius (A) the mesh takes when the map radius is "whole map".
DEFAULT_MESH_RADIUS = 10.0
#: Marker in ``layer.metadata["densitybuild"]`` of a mesh layer.
MESH_KIND = "mesh"


def contour_segments(
    data: np.ndarray,
    level: float,
    scale: ArrayLike,
    translate: ArrayLike,
    centre: ArrayLike | None = None,
    radius: float | None = None,
) -> np.ndarray:
    """Edges of the ``level`` iso-surface of a map, as napari Vectors data in world (z, y, x).

    Parameters
    ----------
    data
        The map on its grid (z, y, x): the Image layer's data (sigma units).
    level
        Contour level, in the map's units.
    scale, translate
        The Image layer's scale and translate: world = translate + scale * index.
    centre, radius
        World point (z, y, x) and half-edge (A) of the cube to contour; ``radius`` None or 0:
        the whole map.

    Returns
    -------
    numpy.ndarray
        (N, 2, 3): each edge's start and its offset to the end (napari's vector convention);
        (0, 2, 3) where the level is not crossed.

    Examples
    --------
    >>> z, y, x = np.mgrid[:12, :12, :12]
    >>> ball = 3.0 - np.sqrt((z - 6.0) ** 2 + (y - 6.0) ** 2 + (x - 6.0) ** 2)
    >>> seg = contour_segments(ball, 0.0, (0.5, 0.5, 0.5), (0, 0, 0))
    >>> ends = seg[:, 0] + seg[:, 1]
    >>> bool(np.allclose(np.linalg.norm(ends - 3.0, axis=1), 1.5, atol=0.1))
    True
    """
    from skimage.measure import marching_cubes

    data = np.asarray(data)
    scale = np.asarray(scale, dtype=float)[-3:]
    translate = np.asarray(translate, dtype=float)[-3:]
    lo, hi = np.zeros(3, dtype=int), np.array(data.shape[-3:])
    if radius:
        c = (np.asarray(centre, dtype=float)[-3:] - translate) / scale
        half = float(radius) / np.abs(scale)
        lo, hi = (np.clip(np.floor(c - half).astype(int), 0, hi),
                  np.clip(np.ceil(c + half).astype(int) + 1, 0, hi))  # fmt: skip
    block = np.asarray(data[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]], dtype=np.float32)
    if min(block.shape) < 2 or not (block.min() < level < block.max()):
        return np.zeros((0, 2, 3))
    verts, faces, _, _ = marching_cubes(block, level=float(level))
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = unique_pairs(np.sort(edges, axis=1))  # each shared edge once
    start = verts[edges[:, 0]]
    offset = verts[edges[:, 1]] - start
    keep = np.linalg.norm(offset, axis=1) > 1e-6  # degenerate triangles
    return np.stack([translate + scale * (start[keep] + lo), scale * offset[keep]], axis=1)


class MeshView:
    """One Vectors layer drawing a map layer's contour as a mesh around the centre of view.

    Parameters
    ----------
    viewer
        The napari viewer the mesh layer is added to.
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self.viewer = viewer
        self.layer = None

    def update(
        self, image: napari.layers.Image, level: float, centre: ArrayLike, radius: float
    ) -> None:
        """Contour ``image`` (an Image layer) at ``level`` in the cube of half-edge ``radius``
        around ``centre``; the mesh layer is made on first use and renamed with its map."""
        data = contour_segments(image.data, level, image.scale, image.translate, centre, radius)
        name = f"{image.name} mesh"
        if self.layer is None:
            self.layer = self.viewer.add_vectors(data, **self._meta(name))
        else:
            self.layer.data = data
            self.layer.name = name

    def remove(self) -> None:
        """Take the mesh layer out of the viewer (if there)."""
        if self.layer is not None and self.layer in self.viewer.layers:
            self.viewer.layers.remove(self.layer)
        self.layer = None

    @staticmethod
    def _meta(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "edge_color": [MESH_COLOUR],
            "edge_width": MESH_WIDTH,
            "vector_style": "line",
            "length": 1.0,
            "opacity": 0.9,
            "metadata": {"densitybuild": MESH_KIND},
        }
