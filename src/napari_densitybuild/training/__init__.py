"""Training data and training: simulated crystal maps, the data split, box caches, real maps.

Nothing here imports Qt or napari. The data folder (``structures/`` and ``real/``) is
``$DENSITYBUILD_DATA`` if set, else ``<repository root>/../shared/data``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that points at the data folder.
DATA_ENV = "DENSITYBUILD_DATA"
#: The caches that ``densitybuild prepare`` builds by default (all of them: ``cache.CACHES``).
DEFAULT_CACHES = ("train", "val", "test_1.5", "test_2.5")


def data_dir() -> Path:
    """The data folder: ``$DENSITYBUILD_DATA``, else ``<repository root>/../shared/data``."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


def structures_dir() -> Path:
    """The folder of training structures (gzipped PDB files)."""
    return data_dir() / "structures"


def real_dir() -> Path:
    """The folder of real maps (one sub-folder per map: ``map.mtz`` and the model)."""
    return data_dir() / "real"
