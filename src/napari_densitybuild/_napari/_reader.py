"""npe2 reader: density maps (.mtz, .ccp4, .map, .mrc) and models (.pdb, .cif, .ent), gzipped too.

``get_reader`` only looks at file names and never raises. The function it returns reads the
files into layer-data tuples through :mod:`._layers`. Bad input (a corrupt map, an MTZ file
without map coefficients, a model without atoms...) reaches the user as a napari error
notification carrying the :class:`~napari_densitybuild.errors.DensityBuildError` message, and the
reader returns napari's "nothing to add" sentinel ``[(None,)]``: napari then adds no layer and
shows no second, generic error. (Raising instead makes napari 0.9 replace our message with
"Tried to read ... with plugin napari-densitybuild ... but it gave an error"; returning ``[]``
does the same with "... returned no data".)

Several files opened together (napari's ``stack=True`` or a list) are read as one scene: the
models first, then each map resampled around the models' atoms. An MTZ file with difference
coefficients (:data:`~..mapfiles.DIFFERENCE_COLUMNS`) also gives its mFo-DFc map, at +3 sigma
in green and -3 sigma in red (:func:`._layers.difference_layers`), after its 2mFo-DFc map; if
they cannot be read, the 2mFo-DFc map opens alone with a warning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import DensityBuildError
from ..maps import MAP_SUFFIXES, is_map_path
from ..models import MODEL_SUFFIXES, is_model_path, read_model
from ._layers import LayerDataTuple, atoms_layer, difference_layers, map_layer
from ._map_cache import cached_map

logger = logging.getLogger(__name__)

#: What a reader returns when it handled the file but has no layer to add.
NO_LAYERS: list = [(None,)]

PathOrPaths = str | os.PathLike | Sequence[str | os.PathLike]


def _handles(path: object) -> bool:
    if not isinstance(path, (str, os.PathLike)):
        return False
    p = os.fspath(path)
    if isinstance(p, bytes) or os.path.isdir(p):
        return False
    return is_map_path(p) or is_model_path(p)


def get_reader(path: PathOrPaths) -> Callable[[PathOrPaths], list] | None:
    """Return :func:`read_files` if every path is a map or model file name, else None.

    Never raises: anything unexpected (a directory, a list with other files, an odd object)
    gives None so that napari asks other plugins.
    """
    try:
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        if paths and all(_handles(p) for p in paths):
            return read_files
    except Exception:  # a reader lookup must never break napari
        logger.debug("densitybuild reader: not handling %r", path, exc_info=True)
    return None


def not_handled(path: str | os.PathLike) -> str | None:
    """Why this plugin cannot read ``path`` (a folder, another kind of file), or None if it can.

    Only the name is looked at (and whether it is a folder): a missing or corrupt map or model
    file is reported when it is read.
    """
    if os.path.isdir(path):
        return f"{path}: a folder, not a map or model file"
    if is_map_path(path) or is_model_path(path):
        return None
    return (
        f"{path}: not a map or model file this plugin reads "
        f"(maps: {', '.join(MAP_SUFFIXES)}; models: {', '.join(MODEL_SUFFIXES)})"
    )


def layers_from_files(
    paths: Sequence[str | os.PathLike], iso_sigma: float | None = None
) -> list[LayerDataTuple]:
    """Read maps and models into layer-data tuples (maps around the models' atoms, if any).

    Atom layers come first: napari draws them before the translucent map surfaces, so atoms
    inside the density stay visible in 3-D.

    Raises
    ------
    DensityBuildError
        For bad input, with a message for the user; also, before anything is read, for a path
        that is not a map or model file name (:func:`not_handled`).
    """
    for p in paths:
        if (why := not_handled(p)) is not None:
            raise DensityBuildError(why)
    paths = [Path(p) for p in paths]
    models = [p for p in paths if is_model_path(p)]
    maps = [p for p in paths if is_map_path(p)]
    tables = [read_model(p) for p in models]
    layers = [atoms_layer(t, name=p.name, source=str(p)) for p, t in zip(models, tables)]
    around = np.concatenate([t.xyz for t in tables]) if tables else None
    kwargs = {} if iso_sigma is None else {"iso_sigma": iso_sigma}
    for p in maps:
        layers.append(map_layer(cached_map(p), around=around, name=p.name, **kwargs))
        layers.extend(mtz_difference_layers(p, around))
    return layers


def has_difference_columns(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an MTZ file with mFo-DFc difference coefficients (by its column
    labels and types; only the header is read)."""
    import gemmi

    from ..mapfiles import find_map_columns

    if not os.fspath(path).lower().endswith(".mtz"):
        return False
    try:
        find_map_columns(gemmi.read_mtz_file(os.fspath(path), with_data=False), difference=True)
    except (DensityBuildError, RuntimeError, ValueError, OSError):
        return False
    return True


def mtz_difference_layers(
    path: str | os.PathLike, around: np.ndarray | None = None
) -> list[LayerDataTuple]:
    """The mFo-DFc layers (+3 and -3 sigma) of an MTZ file with difference coefficients, else
    ``[]``; a difference map that cannot be read is left out with a warning notification."""
    path = Path(path)
    if not has_difference_columns(path):
        return []
    try:
        dmap = cached_map(path, difference=True)
        return difference_layers(dmap, around=around, name=path.name)
    except DensityBuildError as e:
        notify_warning(f"mFo-DFc map not shown: {' '.join(str(e).split())}")
    except MemoryError:
        notify_warning(f"mFo-DFc map not shown: {path}: not enough memory to read it")
    return []


def notify_error(message: str) -> None:
    """Show ``message`` as a napari error notification (and log it)."""
    logger.debug(message)
    from napari.utils.notifications import show_error

    show_error(message)


def notify_warning(message: str) -> None:
    """Show ``message`` as a napari warning notification (and log it)."""
    logger.debug(message)
    from napari.utils.notifications import show_warning

    show_warning(message)


def read_files(path: PathOrPaths, **_: object) -> list:
    """npe2 reader function: layer-data tuples, or ``[(None,)]`` after notifying an error."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    try:
        return layers_from_files(paths)
    except DensityBuildError as e:
        notify_error(str(e))
    except MemoryError:
        notify_error(f"{', '.join(map(str, paths))}: not enough memory to read this map")
    return NO_LAYERS
