"""The view around the centre, as Coot shows a map: a map radius, and a chicken-wire mesh.

:class:`LocalView` belongs to one :class:`~._widgets.DensityControls`. With a radius (A) the
map layer (and any difference map's layers) is drawn only in a cube of that half-edge around the
camera's centre, and the cube
follows the view once it rests (each move of a volume's clipping planes recompiles its
shader); optionally the other 3-D layers but maps (atoms, boxes, bonds) are cut to the same
cube. In mesh mode the map layer is hidden and its contour at the layer's iso level is drawn as
lines in that cube (:mod:`._mesh`), so the atoms in the density stay in sight. Only in 3-D
display: a 2-D slice shows the whole plane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import QObject, QTimer

from ._layers import DIFFERENCE_KIND, box_clipping_planes, camera, view_size
from ._mesh import DEFAULT_MESH_RADIUS, MESH_KIND, MeshView

if TYPE_CHECKING:
    import napari
    from napari.utils.events import Event

#: Milliseconds the view must rest before the cube follows it.
FOLLOW_MS = 120
#: Most voxels contoured as a mesh, on the GUI thread: larger maps take DEFAULT_MESH_RADIUS,
#: larger radii less (0.34 s for the sample's 490,000 voxels, 0.12 s for a 10 A cube, on a
#: 2-core Intel Xeon, lines drawn; of that, the contouring took 0.18 and 0.06 s, now 0.04 and
#: 0.01 s with :func:`~..arrays.unique_pairs`).
MESH_WHOLE_MAX = 600_000


class LocalView(QObject):
    """Map radius and mesh for one map layer of a viewer.

    Parameters
    ----------
    viewer
        The napari viewer.
    parent
        The Qt object that owns it (the controls widget).
    """

    def __init__(self, viewer: napari.viewer.Viewer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.layer = None  # the map layer
        self.radius = 0.0
        self.clip_model = True
        self.mesh_on = False
        self.mesh = MeshView(viewer)
        self._clipped: list = []  # layers whose clipping planes are ours
        self._hidden = None  # the map layer hidden behind the mesh
        self._mesh_radius = 0.0  # the mesh's cube (0: the whole map)
        self.mesh_ended = None  # called when the mesh layer is deleted (mesh mode ends)
        self._busy = False
        self._follow = QTimer(self)
        self._follow.setSingleShot(True)
        self._follow.setInterval(FOLLOW_MS)
        self._follow.timeout.connect(self.update)
        self._follow_view(True)

    def _follow_view(self, on: bool) -> None:
        centre, ndisplay = camera(self.viewer).events.center, self.viewer.dims.events.ndisplay
        if on:
            centre.connect(self._on_centre)
            ndisplay.connect(self.update)
        else:
            centre.disconnect(self._on_centre)
            ndisplay.disconnect(self.update)

    def release(self) -> None:
        """Every layer whole and the map shown (no radius, no mesh); stop following the view.

        For the controls' dock closing: the map is left as the user would find it without them.
        """
        self._follow.stop()
        self._follow_view(False)
        self.mesh_on = False
        self.set(layer=None)

    def attach(self) -> None:
        """Follow the view again after :meth:`release` (the owner sets the layer)."""
        self._follow_view(True)

    def set(self, **changes) -> None:
        """Change ``layer``, ``radius``, ``clip_model`` or ``mesh_on``, then redraw."""
        for key, value in changes.items():
            if key not in ("layer", "radius", "clip_model", "mesh_on"):
                raise TypeError(f"unknown setting {key!r}")
            setattr(self, key, value)
        self.update()

    def update(self, event: Event | None = None) -> None:
        """Clip the layers and contour the mesh for the current centre of view."""
        if self._busy:  # adding the mesh layer comes back here through the layer list
            return
        self._follow.stop()  # a pending follow of the view would redo this
        self._busy = True
        try:
            self._clip()
            self._draw_mesh()
        finally:
            self._busy = False

    def zoom_in(self) -> None:
        """Zoom in (never out) until the cube fills most of the view (3-D, radius set)."""
        if not self._local():
            return
        self.update()  # at once, not when the view rests
        cam = camera(self.viewer)
        fit = 0.9 * float(view_size(self.viewer).min()) / (2 * np.sqrt(2) * self.radius)
        if cam.zoom < fit:
            cam.zoom = fit

    # -- clipping --------------------------------------------------------------------------------
    def _local(self) -> bool:
        return self.radius > 0 and self.viewer.dims.ndisplay == 3 and self.layer is not None

    def _targets(self) -> list:
        from napari.layers import Image

        if not self._local():
            return []
        # difference maps are maps: cut to the cube as the map is (Coot's radius is every map's)
        maps = [self.layer] + [ly for ly in self.viewer.layers if isinstance(ly, Image)
                               and ly.metadata.get("densitybuild") == DIFFERENCE_KIND]  # fmt: skip
        if not self.clip_model:
            return maps
        others = [ly for ly in self.viewer.layers if ly.ndim == 3 and not isinstance(ly, Image)
                  and ly.metadata.get("densitybuild") != MESH_KIND]  # fmt: skip
        return [*maps, *others]

    def _clip(self) -> None:
        targets = self._targets()
        for layer in self._clipped:
            if not any(layer is t for t in targets):
                layer.experimental_clipping_planes = []  # whole again
        planes = box_clipping_planes(camera(self.viewer).center, self.radius) if targets else []
        for layer in targets:
            current = layer.experimental_clipping_planes
            if any(layer is c for c in self._clipped) and len(current) == len(planes):
                for plane, new in zip(current, planes, strict=True):  # moved, not made anew
                    plane.position = new["position"]
            else:
                layer.experimental_clipping_planes = planes
        self._clipped = targets

    def _on_centre(self, event: Event | None = None) -> None:
        if self._clipped or (self.mesh.layer is not None and self._mesh_radius):
            self._follow.start()

    # -- mesh ------------------------------------------------------------------------------------
    def _draw_mesh(self) -> None:
        if self.mesh.layer is not None and self.mesh.layer not in self.viewer.layers:
            self.mesh.layer = None  # deleted by the user, or the viewer closing: mesh off
            self.mesh_on = False
            if self.mesh_ended is not None:
                self.mesh_ended()
        image = self.layer if self.mesh_on and self.viewer.dims.ndisplay == 3 else None
        if self._hidden is not None and self._hidden is not image:
            self._hidden.visible = True
            self._hidden = None
        if image is None:
            self.mesh.remove()
            return
        radius = self.radius
        if not radius and np.prod(image.data.shape[-3:]) > MESH_WHOLE_MAX:
            radius = DEFAULT_MESH_RADIUS  # the whole map would be millions of lines
        cap = 0.5 * float(np.abs(image.scale[-3:]).max()) * MESH_WHOLE_MAX ** (1 / 3)
        radius = min(radius, cap) if radius else radius  # contoured on the GUI thread
        image.visible = False
        self._hidden, self._mesh_radius = image, radius
        active = self.viewer.layers.selection.active
        self.mesh.update(image, float(image.iso_threshold), camera(self.viewer).center, radius)
        if active is not None and active in self.viewer.layers:
            self.viewer.layers.selection.active = active
