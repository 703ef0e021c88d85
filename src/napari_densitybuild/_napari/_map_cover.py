"""Map layers grown to cover the model on them.

A crystal map opens over its unit cell plus 5 A, but a model built into it runs on across the
cell's faces: its chains are whole, where the asymmetric unit puts them (13-37 % of the
residues of the builds of cdk2, gamma, psp and 1cbs lie partly outside the cell's box).
Without more, those residues would be reviewed with no density around them, in the
iso-surface and in the mesh alike. So whenever the model on screen changes (a build, a
review, an edit), the map layers of its map file (the map, and the MTZ's own mFo-DFc layers)
are resampled, off the GUI thread, over their box and the model's plus
:data:`~._layers.DEFAULT_MARGIN` (the model's alone where it lies cells away), at their
spacing; what the user set on them (contour, colours, rendering) stays. Maps that are not
periodic (cryo-EM boxes) have nothing beyond their box to show and are left as they are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._layers import DEFAULT_MARGIN, DIFFERENCE_KIND, MAP_KIND
from ._map_cache import cached_map
from ._reader import notify_warning

if TYPE_CHECKING:
    import napari
    from napari.layers import Image

    from ..session import Session

#: Slack (A) before a layer counts as not covering a point.
TOLERANCE = 0.5
#: A box taking in the model and what is shown may be this many times their volumes together;
#: beyond it, the map is shown around the model alone (:func:`wanted_box`).
FAR = 1.5


def layer_box(layer: Image) -> tuple[np.ndarray, np.ndarray]:
    """The world box (x, y, z min and max) that an image layer's voxel centres span."""
    lo = np.asarray(layer.translate, dtype=float)[::-1]
    size = (np.asarray(layer.data.shape, dtype=float) - 1) * np.asarray(layer.scale, dtype=float)
    return lo, lo + size[::-1]


def model_points(session: Session) -> np.ndarray:
    """(N, 3) x, y, z of the session's atoms and C-alphas (box centres for residues without
    atoms)."""
    points = [xyz for r in session.residues for _, *xyz in r.atoms]
    points += [r.ca for r in session.residues]
    return np.asarray(points, dtype=float).reshape(-1, 3)


def wanted_box(
    layer: Image, points: np.ndarray, margin: float = DEFAULT_MARGIN
) -> tuple[np.ndarray, np.ndarray] | None:
    """The box ``layer`` should span to show ``points`` plus ``margin`` as well as what it shows
    now, or None when it shows them already. A model far from what is shown (the box taking in
    both would be over :data:`FAR` times their volumes together: a model placed cells away)
    gets the map around it alone, as a model opened with its map does."""
    if not len(points):
        return None
    lo, hi = layer_box(layer)
    need_lo, need_hi = points.min(0) - margin, points.max(0) + margin
    if np.all(need_lo >= lo - TOLERANCE) and np.all(need_hi <= hi + TOLERANCE):
        return None
    both_lo, both_hi = np.minimum(lo, need_lo), np.maximum(hi, need_hi)
    volume = [float(np.prod(b - a)) for a, b in ((lo, hi), (need_lo, need_hi), (both_lo, both_hi))]
    if volume[2] > FAR * (volume[0] + volume[1]):
        return need_lo, need_hi
    return both_lo, both_hi


def map_layers_of(viewer: napari.viewer.Viewer, source: str) -> list[Image]:
    """The viewer's map layers read from the file ``source``: the map and its MTZ's mFo-DFc
    layers (not difference maps computed from a model, which have no file)."""
    from napari.layers import Image

    def same(path: object) -> bool:
        try:
            return bool(path) and Path(str(path)).resolve() == Path(source).resolve()
        except OSError:
            return False

    return [ly for ly in viewer.layers if isinstance(ly, Image)
            and ly.metadata.get("densitybuild") in (MAP_KIND, DIFFERENCE_KIND)
            and same(ly.metadata.get("source"))]  # fmt: skip


def resampled(source: str, lo: np.ndarray, hi: np.ndarray, spacing: float,
              sign: int = 0) -> tuple:  # fmt: skip
    """(data, origin x, y, z, spacing) of the map in ``source`` over [lo, hi] at ``spacing``
    (coarser if the box is very large); ``sign`` +1 or -1: its mFo-DFc map, the -1 layer's
    values negated. Runs on a worker thread: it reads the map (kept, :mod:`._map_cache`) and
    samples it, and touches no layer."""
    dmap = cached_map(source, difference=bool(sign))
    data, origin, spacing = dmap.resample_cartesian(lo, hi, spacing=spacing)
    return (np.negative(data) if sign < 0 else data), origin, spacing


def _sign(layer: Image) -> int:
    """0 for a map layer, its sign (+1, -1) for an mFo-DFc layer."""
    meta = layer.metadata
    return int(meta.get("sign", 1)) if meta.get("densitybuild") == DIFFERENCE_KIND else 0


class MapCover:
    """Grows the map layers of a widget's model's map to cover the model (module docstring).

    Parameters
    ----------
    viewer
        The napari viewer.
    on_changed
        Called on the GUI thread after layers were grown (e.g. to redraw the mesh).
    gone
        Set when the widget's Qt objects are deleted: results are dropped.
    """

    def __init__(self, viewer: napari.viewer.Viewer, on_changed: Callable[[], object] | None = None,
                 gone: threading.Event | None = None) -> None:  # fmt: skip
        self.viewer = viewer
        self.on_changed = on_changed
        self.gone = gone or threading.Event()
        self.worker = None  # the running resampling, if any
        self._again = False  # the model changed while it ran: look again when it ends
        self._session: Session | None = None
        self._boxes: set[str] = set()  # map files found not periodic: nothing to grow

    def check(self, session: Session | None) -> bool:
        """Start growing the layers that do not cover ``session``'s model; True if started."""
        from napari.qt.threading import create_worker

        if session is None or not session.map_path or self.gone.is_set():
            return False
        self._session, source = session, session.map_path
        if source in self._boxes:
            return False
        if self.worker is not None:
            self._again = True
            return False
        points = model_points(session)
        jobs = [(layer, layer_box(layer), box, float(layer.scale[0]), _sign(layer))
                for layer in map_layers_of(self.viewer, source)
                if (box := wanted_box(layer, points)) is not None]  # fmt: skip
        if not jobs:
            return False

        def work() -> list:  # on the worker thread: what it needs of the layers was read here
            if not cached_map(source).periodic:  # a box (cryo-EM): nothing beyond it
                self._boxes.add(source)
                return []
            return [(layer, before, resampled(source, *box, spacing, sign))
                    for layer, before, box, spacing, sign in jobs]  # fmt: skip

        connect = {"returned": self._apply, "errored": self._failed, "finished": self._finished}
        self.worker = create_worker(work, _connect=connect)
        return True

    def _apply(self, results: list) -> None:
        if self.gone.is_set():
            return
        changed = False
        for layer, before, (data, origin, spacing) in results:
            if layer not in self.viewer.layers:
                continue  # deleted meantime
            now = layer_box(layer)
            if not all(np.allclose(a, b) for a, b in zip(now, before)):
                continue  # replaced meantime
            layer.data = data
            layer.scale = (spacing, spacing, spacing)
            layer.translate = tuple(float(v) for v in origin[::-1])
            changed = True
        if changed and self.on_changed is not None:
            self.on_changed()

    def _failed(self, err: Exception) -> None:
        if not self.gone.is_set():
            notify_warning(f"the map was not extended to the whole model: {err}")

    def _finished(self) -> None:
        self.worker = None
        if self._again and not self.gone.is_set():
            self._again = False
            self.check(self._session)
