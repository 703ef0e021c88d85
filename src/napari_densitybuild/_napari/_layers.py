"""Core objects -> napari layer-data tuples, and back; pure functions with no Qt.

The reader, the sample data, the writer and the widgets all go through these functions, so every
layer shares one frame: world coordinates are Cartesian Angstrom in napari's (z, y, x) order.

* A :class:`~napari_densitybuild.maps.DensityMap` becomes an Image layer resampled onto an
  orthogonal Cartesian grid (non-orthogonal cells keep their true geometry) with
  ``scale = (s, s, s)`` and ``translate = origin[::-1]``; values are in sigma units, so the
  iso-surface threshold is a contour level in sigma.
* A difference (mFo-DFc) map becomes two such layers on the same grid, as Coot shows one: a
  green iso-surface at +3 sigma, and a red one at -3 sigma drawn on the negated values (an
  iso-surface is drawn where values exceed its threshold).
* An :class:`~napari_densitybuild.models.AtomTable` becomes a Points layer with
  ``data = xyz[:, ::-1]`` and the atom properties as ``features``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..maps import DensityMap
from ..models import AtomTable

if TYPE_CHECKING:
    import napari
    import pandas as pd

#: Default iso-surface contour level, in sigma (map sd) units.
DEFAULT_ISO_SIGMA = 1.5
#: Default display grid spacing in Angstrom.
DEFAULT_SPACING = 0.5
#: Margin (Angstrom) around the unit cell or the model in the displayed box.
DEFAULT_MARGIN = 5.0
#: Displayed atom diameter in Angstrom.
ATOM_SIZE = 0.8
#: Rendering modes offered to the user: label -> napari Image ``rendering`` value.
RENDERINGS = {
    "iso-surface": "iso",
    "volume (translucent)": "translucent",
    "volume (mip)": "mip",
    "volume (attenuated mip)": "attenuated_mip",
}
#: Marker in ``layer.metadata["densitybuild"]`` of the layers this plugin makes; a difference
#: map's layers are never the map to build into.
MAP_KIND, ATOMS_KIND, DIFFERENCE_KIND = "map", "atoms", "difference map"
#: Default contour level of a difference map, in sigma (drawn at + and - this level).
DEFAULT_DIFFERENCE_SIGMA = 3.0
#: Colormaps (dark, light) of a difference map's positive (green) and negative (red) layers.
DIFFERENCE_COLOURS = {
    +1: ("densitybuild green", [[0.00, 0.70, 0.00, 1.0], [0.40, 1.00, 0.40, 1.0]]),
    -1: ("densitybuild red", [[0.75, 0.00, 0.00, 1.0], [1.00, 0.40, 0.40, 1.0]]),
}

#: CPK-like element colours (RGB); other elements are pink.
CPK_COLOURS = {
    "C": (0.80, 0.80, 0.60),
    "N": (0.20, 0.35, 1.00),
    "O": (1.00, 0.15, 0.15),
    "S": (1.00, 0.85, 0.15),
    "P": (1.00, 0.50, 0.00),
    "H": (0.95, 0.95, 0.95),
    "SE": (1.00, 0.63, 0.00),
    "FE": (0.88, 0.40, 0.20),
    "ZN": (0.49, 0.50, 0.69),
    "MG": (0.54, 1.00, 0.00),
    "CA": (0.24, 1.00, 0.00),
    "CL": (0.12, 0.94, 0.12),
}
OTHER_COLOUR = (1.00, 0.50, 0.80)

LayerDataTuple = tuple[Any, dict[str, Any], str]


def density_colormap():
    """A dark-to-light blue colormap: iso-surfaces come out steel blue, volumes glow blue."""
    from napari.utils.colormaps import Colormap

    return Colormap(
        colors=[[0.20, 0.35, 0.80, 1.0], [0.60, 0.80, 1.00, 1.0]],
        name="densitybuild blue",
        display_name="density blue",
    )


def difference_colormap(sign: int):
    """The green (``sign`` +1) or red (-1) colormap of a difference map's layer."""
    from napari.utils.colormaps import Colormap

    name, colours = DIFFERENCE_COLOURS[1 if sign > 0 else -1]
    return Colormap(colors=colours, name=name, display_name=name.split()[-1])


def map_metadata(dmap: DensityMap, spacing: float) -> dict[str, Any]:
    """The facts about a map that its layer carries in ``metadata``."""
    c = dmap.cell
    return {
        "densitybuild": MAP_KIND,
        "summary": dmap.summary(),
        "source": dmap.source,
        "kind": dmap.kind,
        "cell": (c.a, c.b, c.c, c.alpha, c.beta, c.gamma),
        "spacegroup": dmap.spacegroup.hm,
        "resolution": dmap.resolution,
        "spacing": spacing,
        "units": "sigma",
        "info": dict(dmap.info),
    }


def map_layer(
    dmap: DensityMap,
    around: np.ndarray | None = None,
    *,
    name: str | None = None,
    margin: float = DEFAULT_MARGIN,
    spacing: float = DEFAULT_SPACING,
    iso_sigma: float = DEFAULT_ISO_SIGMA,
) -> LayerDataTuple:
    """An Image layer-data tuple of a density map in Cartesian Angstrom (z, y, x).

    Parameters
    ----------
    dmap
        The map (sigma units).
    around
        Atom positions (N, 3; x, y, z): show the map around them (plus ``margin``) instead of over
        the whole unit cell.
    name
        Layer name (default: the file name).
    margin
        Angstrom added around the unit cell or the atoms.
    spacing
        Display grid spacing in Angstrom (coarsened automatically for very large boxes).
    iso_sigma
        Initial iso-surface contour level in sigma.

    Returns
    -------
    tuple
        ``(data, meta, "image")`` with ``data[k, j, i]`` the density at world
        ``(z, y, x) = translate + scale * (k, j, i)``.

    Examples
    --------
    >>> from napari_densitybuild.maps import read_map
    >>> data, meta, kind = map_layer(read_map("map.mtz"))  # doctest: +SKIP
    >>> meta["rendering"], meta["iso_threshold"]  # doctest: +SKIP
    ('iso', 1.5)
    """
    data, placed = _placed(dmap, around, margin, spacing)
    meta = {
        "name": name or Path(dmap.source).name or "density",
        **placed,
        **_iso_look(data, iso_sigma),
        "colormap": density_colormap(),
    }
    return data, meta, "image"


def _placed(
    dmap: DensityMap, around: np.ndarray | None, margin: float, spacing: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """The map resampled for display, and the layer attributes that place it (``scale``,
    ``translate``) and describe it (``metadata``)."""
    lo, hi = dmap.display_region(margin=margin, around=around)
    data, origin, s = dmap.resample_cartesian(lo, hi, spacing=spacing)
    placed = {
        "scale": (s, s, s),
        "translate": tuple(float(v) for v in origin[::-1]),
        "metadata": map_metadata(dmap, s),
    }
    return data, placed


def _iso_look(data: np.ndarray, level: float) -> dict[str, Any]:
    """Iso-surface rendering at ``level`` (sigma) with contrast limits from 0 to the top of the
    values (99.9th percentile, at least ``level`` + 1), translucent."""
    subsample = data.ravel()[:: max(1, data.size // 1_000_000)]
    hi_limit = float(max(np.percentile(subsample, 99.9), level + 1.0))
    return {
        "rendering": "iso",
        "iso_threshold": float(level),
        "contrast_limits": (0.0, hi_limit),
        "opacity": 0.5,
        "blending": "translucent",
    }


def difference_layers(
    dmap: DensityMap,
    around: np.ndarray | None = None,
    *,
    name: str | None = None,
    level: float = DEFAULT_DIFFERENCE_SIGMA,
    margin: float = DEFAULT_MARGIN,
    spacing: float = DEFAULT_SPACING,
) -> list[LayerDataTuple]:
    """Two Image layer-data tuples of a difference (mFo-DFc) map: +``level`` green, -``level``
    red, placed as :func:`map_layer` places the map.

    Parameters
    ----------
    dmap
        The difference map (sigma units), e.g. ``read_map(path, difference=True)``.
    around, margin, spacing
        As for :func:`map_layer`.
    name
        Start of the layer names (default: the file name); they end in ``mFo-DFc +3.0 σ`` and
        ``mFo-DFc -3.0 σ``.
    level
        Contour level in sigma (positive): the iso-surfaces are at +level and -level.

    Returns
    -------
    list of tuple
        ``[(data, meta, "image"), (-data, meta, "image")]``: the positive layer holds the map's
        values, the negative one the negated values (its iso-surface at ``level`` is the map's
        contour at -``level``). ``meta["metadata"]["densitybuild"]`` is
        :data:`DIFFERENCE_KIND` and ``meta["metadata"]["sign"]`` is +1 or -1.

    Examples
    --------
    >>> from napari_densitybuild.maps import read_map
    >>> plus, minus = difference_layers(read_map("map.mtz", difference=True))  # doctest: +SKIP
    >>> plus[1]["name"], minus[1]["iso_threshold"]  # doctest: +SKIP
    ('map.mtz mFo-DFc +3.0 σ', 3.0)
    """
    level = abs(float(level))
    data, placed = _placed(dmap, around, margin, spacing)
    base = name or Path(dmap.source).name or "density"
    layers = []
    for sign in (+1, -1):
        values = data if sign > 0 else np.negative(data)
        metadata = {**placed["metadata"], "densitybuild": DIFFERENCE_KIND, "sign": sign}
        meta = {
            "name": f"{base} mFo-DFc {sign * level:+.1f} σ",
            **placed,
            **_iso_look(values, level),
            "colormap": difference_colormap(sign),
            "metadata": metadata,
        }
        layers.append((values, meta, "image"))
    return layers


def near_slice_points() -> dict[str, Any]:
    """The Points-layer keyword that draws, in a 2-D slice, the points near it too, smaller with
    distance: ``projection_mode="rescale_linear"`` from napari 0.9, where
    ``out_of_slice_display=True`` (the keyword before it) is deprecated and means that."""
    from importlib.metadata import version

    major, minor = (int(v) for v in version("napari").split(".")[:2])
    if (major, minor) >= (0, 9):
        return {"projection_mode": "rescale_linear"}
    return {"out_of_slice_display": True}


def camera(viewer: napari.viewer.Viewer):
    """The viewer's camera: ``viewer.scene.camera`` from napari 0.9 (``viewer.camera`` before)."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None else viewer.camera


def view_size(viewer: napari.viewer.Viewer) -> np.ndarray:
    """The canvas's drawing area in pixels (height, width)."""
    canvas = getattr(viewer, "canvas", None)
    if canvas is not None and hasattr(canvas, "viewbox_size"):
        return np.asarray(canvas.viewbox_size(viewer.layers), dtype=float)
    return np.asarray(getattr(viewer, "_canvas_size", (600, 600)), dtype=float)


def box_clipping_planes(centre: np.ndarray, radius: float) -> list[dict[str, Any]]:
    """Six clipping planes that keep a cube of half-edge ``radius`` (A) around a world point.

    Coot's "map radius" for napari: set as an Image layer's ``experimental_clipping_planes``,
    only the density within ``radius`` of ``centre`` along each axis is drawn. The planes are in
    world coordinates: napari 0.9 hands them to vispy's volume, which applies them in its scene
    (napari's world, x y z) although napari's documentation says data coordinates
    (``tests/test_render.py`` checks where the kept density is drawn).

    Parameters
    ----------
    centre
        World point (z, y, x), Angstrom: usually the camera's centre.
    radius
        Half the cube's edge, Angstrom.

    Returns
    -------
    list of dict
        ``{"position", "normal", "enabled"}`` per plane; the normals point into the cube (a
        plane keeps what lies on its normal's side).

    Examples
    --------
    >>> planes = box_clipping_planes((10, 10, 10), 4.0)
    >>> planes[0]["position"], planes[0]["normal"]
    ((6.0, 10.0, 10.0), (1.0, 0.0, 0.0))
    """
    centre = np.asarray(centre, dtype=float)[-3:]
    planes = []
    for axis in range(3):
        normal = np.zeros(3)
        normal[axis] = 1.0
        for side in (-1.0, 1.0):
            position = centre + side * float(radius) * normal
            inward = -side * normal + 0.0  # + 0.0: no negative zeros
            planes.append({"position": tuple(float(v) for v in position),
                           "normal": tuple(float(v) for v in inward), "enabled": True})  # fmt: skip
    return planes


def element_colours(elements: np.ndarray) -> np.ndarray:
    """RGBA colours (N, 4) for element symbols, CPK-like (C pale yellow-grey, N blue, O red...)."""
    rows = [CPK_COLOURS.get(str(e).strip().upper(), OTHER_COLOUR) for e in elements]
    rgb = np.array(rows, dtype=float).reshape(-1, 3)
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1)


def atoms_layer(
    atoms: AtomTable, *, name: str = "atoms", source: str = "", size: float = ATOM_SIZE
) -> LayerDataTuple:
    """A Points layer-data tuple of atoms: ``data = xyz[:, ::-1]`` (z, y, x) plus ``features``.

    Parameters
    ----------
    atoms
        The atom table.
    name
        Layer name.
    source
        The file the atoms came from (kept in ``metadata``).
    size
        Point diameter in Angstrom.
    """
    meta = {
        "name": name,
        "features": {k: np.asarray(v) for k, v in atoms.features().items()},
        "face_color": element_colours(atoms.element),
        "border_width": 0.0,
        "size": size,
        "shading": "spherical",
        "metadata": {
            "densitybuild": ATOMS_KIND,
            "source": source,
            "cell": atoms.cell,
            "spacegroup": atoms.spacegroup,
        },
    }
    return np.asarray(atoms.xyz, dtype=float)[:, ::-1].copy(), meta, "points"


def _rows(features: dict[str, Any] | pd.DataFrame) -> int:
    """Rows of a features table: a DataFrame's length, or a dict's column length."""
    if isinstance(features, dict):
        return len(next(iter(features.values()))) if features else 0
    return len(features)


def atoms_from_layer(data: np.ndarray, meta: dict[str, Any]) -> AtomTable:
    """The inverse of :func:`atoms_layer`: a Points layer's data and attributes -> AtomTable.

    Points without atom features (e.g. drawn by hand) become one ``UNK`` residue with a ``CA``
    atom each, numbered from 1.
    """
    data = np.asarray(data, dtype=float).reshape(-1, 3)
    features = meta.get("features")
    if features is None or _rows(features) != len(data):
        features = {}
    features = {k: np.asarray(features[k]) for k in features}
    if "seqid" not in features:
        features["seqid"] = np.arange(1, len(data) + 1)
    metadata = meta.get("metadata") or {}
    return AtomTable.from_features(
        data[:, ::-1], features, cell=metadata.get("cell"), spacegroup=metadata.get("spacegroup")
    )
