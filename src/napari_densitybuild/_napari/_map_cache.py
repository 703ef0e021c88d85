"""Maps read once for the plugin: the reader (off the GUI thread) and the Model building widget
share the :class:`~..maps.DensityMap` of a file, so a map opened in napari is not read again,
on the GUI thread, the first time the widget needs it.

The last :data:`KEEP` maps are kept, each under its path, modification time and size (a file
written again is read again). Reads may come from worker threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..maps import DensityMap

#: Maps kept (the model's and one more, say a difference map).
KEEP = 2

_maps: OrderedDict[tuple[str, int, int], DensityMap] = OrderedDict()
_lock = threading.Lock()


def _key(path: str | Path) -> tuple[str, int, int]:
    st = Path(path).stat()
    return (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


def cached_map(path: str | Path) -> DensityMap:
    """The map in ``path`` (read with :func:`~..maps.read_map` unless kept)."""
    from ..maps import read_map

    key = _key(path)
    with _lock:
        if key in _maps:
            _maps.move_to_end(key)
            return _maps[key]
    dmap = read_map(path)  # outside the lock: another map may be read meanwhile
    with _lock:
        _maps[key] = dmap
        while len(_maps) > KEEP:
            _maps.popitem(last=False)
    return dmap


def kept_map(path: str | Path | None) -> DensityMap | None:
    """The map in ``path`` if it is kept, else None (nothing is read)."""
    try:
        key = _key(path) if path else None
    except OSError:
        return None
    with _lock:
        return _maps.get(key)
