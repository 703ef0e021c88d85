"""DensityMap: a density map in Cartesian Angstrom, in sigma units, whatever file it came from.

Crystallographic maps (MTZ map coefficients, CCP4/MRC maps) and cryo-EM maps are held as one
periodic unit cell (a ``gemmi.FloatGrid`` with its cell and space group) plus a Cartesian
``offset`` (non-zero only for MRC files with an ORIGIN record). Everything downstream samples the
map through :meth:`DensityMap.sample_transform` or :meth:`DensityMap.sample_points`, so
non-orthogonal cells, symmetry (periodicity) and origins are handled in one place.

World coordinates are Cartesian Angstrom; arrays handed to napari are indexed (z, y, x).

This module is the public entry point; the work is done in :mod:`.density_map` (the class),
:mod:`.map_reader` (files to maps, sigma scaling) and :mod:`.map_geometry` (cells and lattices).
"""

from __future__ import annotations

from .density_map import MAX_DISPLAY_VOXELS, DensityMap
from .map_geometry import BLOCK, blocks_near, cell_bounding_box, check_cell
from .map_reader import MAP_SUFFIXES, MAX_VOXELS, is_map_path, read_map, sigma_scale

__all__ = [
    "BLOCK",
    "MAP_SUFFIXES",
    "MAX_DISPLAY_VOXELS",
    "MAX_VOXELS",
    "DensityMap",
    "blocks_near",
    "cell_bounding_box",
    "check_cell",
    "is_map_path",
    "read_map",
    "sigma_scale",
]
