"""Maps read once for the plugin: the reader (off the GUI thread) and the Model building widget
share the :class:`~..maps.DensityMap` of a file, so a map opened in napari is not read again,
on the GUI thread, the first time the widget needs it.

The last :data:`KEEP` maps are kept, each under its path, modification time and size (a file
written again is read again), and besides them the last :data:`KEEP_DIFFERENCE` difference
(mFo-DFc) maps of MTZ files: those are only shown, never built into, so they never push a map
out. Reads may come from worker threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..maps import DensityMap

#: Maps kept (the model's and one more, say a difference map in a CCP4 file).
KEEP = 2
#: MTZ difference (mFo-DFc) maps kept besides.
KEEP_DIFFERENCE = 1

_maps: OrderedDict[tuple[str, int, int, bool], DensityMap] = OrderedDict()
_lock = threading.Lock()


def _key(path: str | Path, difference: bool = False) -> tuple[str, int, int, bool]:
    st = Path(path).stat()
    return (str(Path(path).resolve()), st.st_mtime_ns, st.st_size, bool(difference))


def cached_map(path: str | Path, difference: bool = False) -> DensityMap:
    """The map in ``path`` (read with :func:`~..maps.read_map` unless kept); with
    ``difference``, the MTZ file's mFo-DFc map (``read_map(path, difference=True)``)."""
    from ..maps import read_map

    key = _key(path, difference)
    with _lock:
        if key in _maps:
            _maps.move_to_end(key)
            return _maps[key]
    # outside the lock: another map may be read meanwhile
    dmap = read_map(path, difference=True) if difference else read_map(path)
    with _lock:
        _maps[key] = dmap
        same = [k for k in _maps if k[3] == key[3]]  # oldest first
        for old in same[: max(0, len(same) - (KEEP_DIFFERENCE if difference else KEEP))]:
            del _maps[old]
    return dmap


def kept_map(path: str | Path | None) -> DensityMap | None:
    """The map in ``path`` if it is kept, else None (nothing is read)."""
    try:
        key = _key(path) if path else None
    except OSError:
        return None
    with _lock:
        return _maps.get(key)
