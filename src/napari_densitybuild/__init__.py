"""napari-densitybuild: build protein models into electron-density maps with deep learning.

The core (maps, models, boxes, nets, stages) imports no Qt or napari; the napari plugin lives in
``napari_densitybuild._napari`` and only turns core objects into layers.
"""

from .errors import DensityBuildError, MapReadError, ModelReadError

__version__ = "0.1.0"
__all__ = ["DensityBuildError", "MapReadError", "ModelReadError", "__version__"]
