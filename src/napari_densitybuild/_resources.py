"""Where the package's files are: the napari manifest, the sample data, the shipped weights.

The same code runs from a source checkout (an editable install: the package is
``<repo>/src/napari_densitybuild`` and the sample data sits in ``<repo>/sample_data``) and from a
built wheel (everything inside the installed package). Each function looks inside the package
first and then in the source checkout.

Examples
--------
>>> from napari_densitybuild._resources import sample_file
>>> sample_file("sample_map.mtz").name  # doctest: +SKIP
'sample_map.mtz'
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DensityBuildError

#: The installed package's folder.
PACKAGE_DIR = Path(__file__).resolve().parent
#: Environment variable that points at the shared data folder (``real/``, ``structures/``).
DATA_ENV = "DENSITYBUILD_DATA"


def repo_root() -> Path | None:
    """The source checkout holding this package (``<repo>/src/napari_densitybuild``), or None.

    None when the package is installed from a wheel.
    """
    root = PACKAGE_DIR.parent.parent
    if PACKAGE_DIR.parent.name == "src" and (root / "pyproject.toml").is_file():
        return root
    return None


def _first_existing(*candidates: Path | None) -> Path | None:
    for c in candidates:
        if c is not None and c.exists():
            return c
    return None


def manifest_path() -> Path:
    """The npe2 manifest ``napari.yaml`` (inside the package; the top-level one links to it)."""
    return PACKAGE_DIR / "napari.yaml"


def sample_data_dir() -> Path:
    """The folder with the sample map and model.

    Inside the package in a wheel (``napari_densitybuild/sample_data``), ``<repo>/sample_data``
    in a source checkout.
    """
    root = repo_root()
    found = _first_existing(PACKAGE_DIR / "sample_data", root / "sample_data" if root else None)
    return found if found is not None else PACKAGE_DIR / "sample_data"


def sample_file(name: str) -> Path:
    """One sample file by name; raises :class:`DensityBuildError` if it is missing.

    Parameters
    ----------
    name
        File name inside the sample-data folder, e.g. ``"sample_map.mtz"``.
    """
    path = sample_data_dir() / name
    if not path.is_file():
        raise DensityBuildError(
            f"sample file {name} not found in {sample_data_dir()} (make it with `make sample`)"
        )
    return path


def weights_dir() -> Path:
    """The folder of shipped network weights (``napari_densitybuild/weights``)."""
    return PACKAGE_DIR / "weights"


def shared_data_dir() -> Path:
    """The shared data folder: ``$DENSITYBUILD_DATA`` if set, else ``<repo>/../shared/data``.

    Outside a source checkout (a wheel) without the variable, ``./shared/data`` is returned;
    callers check that it exists.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    root = repo_root()
    return (root.parent if root else Path.cwd()) / "shared" / "data"
