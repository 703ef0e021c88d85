"""Dock widget: open a map (optionally around a model) and set its contour level, rendering
(iso-surface, volume or Coot's mesh) and radius (density drawn only near the centre of view).

:class:`DensityControls` is small on purpose: a later workflow widget (build, classify, review)
embeds it. It talks to napari only through the viewer and its layers, reads files off the GUI
thread and reports errors as napari notifications.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ._docking import ReleasedWithDock
from ._layers import DEFAULT_ISO_SIGMA, DIFFERENCE_KIND, MAP_KIND, RENDERINGS
from ._local_view import LocalView
from ._mesh import DEFAULT_MESH_RADIUS
from ._reader import layers_from_files, notify_error

if TYPE_CHECKING:
    import napari
    from napari.layers import Image
    from napari.utils.events import Event

    from ._layers import LayerDataTuple

#: The rendering label of the chicken-wire mesh (:mod:`._local_view`).
MESH = "mesh (as in Coot)"
MAP_FILTER = "Density maps (*.mtz *.ccp4 *.map *.mrc *.gz);;All files (*)"
MODEL_FILTER = "Models (*.cif *.mmcif *.pdb *.ent *.gz);;All files (*)"


class DensityControls(ReleasedWithDock, QWidget):
    """Choose a map layer, its contour level (sigma), rendering and radius; open map files.

    The radius (``radius``, A; 0: the whole map) draws the density only within a cube of that
    half-edge around the camera's centre, following it as the view moves (3-D display only),
    and with ``clip_model`` ticked the other 3-D layers but maps too (atoms, boxes, bonds): the
    residue under review is no longer hidden behind the rest of the map and model. The
    rendering :data:`MESH` draws the contour as lines in that cube (:mod:`._local_view`).
    Closing the dock gives the maps back whole and shown (:meth:`release`).

    Parameters
    ----------
    napari_viewer
        The viewer whose 3-D image layers are controlled and to which opened files are added.
    """

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None):
        super().__init__(parent)
        self.viewer = napari_viewer
        self._layer: Image | None = None
        self.local = LocalView(napari_viewer, self)  # map radius and mesh
        self.local.mesh_ended = self._sync_from_layer
        self._updating = False
        self._look_chosen = False  # a radius or rendering chosen, or focus() done
        self._request = 0
        self.worker = None
        self._gone = threading.Event()  # set when Qt deletes the controls (napari closed)
        self.destroyed.connect(self._gone.set)

        self.map_combo = QComboBox()
        self.contour = QDoubleSpinBox()
        self.contour.setRange(-10.0, 50.0)
        self.contour.setSingleStep(0.1)
        self.contour.setDecimals(2)
        self.contour.setSuffix(" σ")
        self.contour.setValue(DEFAULT_ISO_SIGMA)
        self.rendering = QComboBox()
        self.rendering.addItems([*RENDERINGS, MESH])
        self.radius = QDoubleSpinBox()
        self.radius.setRange(0.0, 200.0)
        self.radius.setDecimals(0)
        self.radius.setSingleStep(1.0)
        self.radius.setSuffix(" Å")
        self.radius.setSpecialValueText("whole map")
        self.radius.setToolTip("draw the density only within this distance of the centre of view")
        self.clip_model = QCheckBox("model too")
        self.clip_model.setChecked(True)
        self.clip_model.setToolTip("clip the atoms, boxes and bonds to the same radius")
        self.map_path = QLineEdit()
        self.map_path.setPlaceholderText("map: .mtz .ccp4 .map .mrc")
        self.model_path = QLineEdit()
        self.model_path.setPlaceholderText("optional model: .cif .pdb (map shown around it)")
        self.open_button = QPushButton("Open")
        self.status = QLabel("")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Map layer", self.map_combo)
        form.addRow("Contour", self.contour)
        form.addRow("Rendering", self.rendering)
        radius_row = QHBoxLayout()
        radius_row.addWidget(self.radius, 1)
        radius_row.addWidget(self.clip_model)
        form.addRow("Map radius", radius_row)
        form.addRow("Map file", self._with_browse(self.map_path, "Open map", MAP_FILTER))
        form.addRow("Model file", self._with_browse(self.model_path, "Open model", MODEL_FILTER))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.open_button)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.map_combo.currentIndexChanged.connect(self._on_layer_chosen)
        self.contour.valueChanged.connect(self.set_contour)
        self.rendering.currentTextChanged.connect(self.set_rendering)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.radius.valueChanged.connect(self._on_radius)
        self.clip_model.toggled.connect(lambda on: self.local.set(clip_model=bool(on)))
        self._follow_layers(True)
        self._refresh_layers()

    def _follow_layers(self, on: bool) -> None:
        events = self.viewer.layers.events
        for ev in (events.inserted, events.removed, events.reordered):
            (ev.connect if on else ev.disconnect)(self._refresh_layers)

    @property
    def gone(self) -> threading.Event:
        """Set once Qt has deleted these controls (napari closed): late results are dropped."""
        return self._gone

    def _on_radius(self, value: float) -> None:
        self._look_chosen = True
        self.local.set(radius=float(value))

    def focus(self) -> None:
        """Look at the centre of view close up, as stepping through a model asks: in 3-D, the
        first time, a whole map drawn as the default iso-surface (which hides the atoms inside
        it) is drawn as :data:`MESH` within :data:`DEFAULT_MESH_RADIUS`, as Coot draws it,
        unless a radius or rendering was chosen already; then zoom in to the cube."""
        if (not self._look_chosen and self._layer is not None and self.radius.value() == 0
                and self.viewer.dims.ndisplay == 3):  # fmt: skip
            self.rendering.setCurrentText(MESH)
            self.status.setText(f"map drawn as a mesh within {DEFAULT_MESH_RADIUS:.0f} Å of the "
                                "centre of view, as in Coot (Rendering and Map radius change "
                                "it)")  # fmt: skip
        self.local.zoom_in()

    # -- the dock closing and opening ------------------------------------------------------------
    def release(self) -> None:
        """Leave the maps whole and shown, as without these controls, and stop following the
        viewer's layers (called when the dock closes; the contour level and rendering stay)."""
        self._follow_layers(False)
        self.local.release()
        self._bind(None)

    def attach(self) -> None:
        """Control the viewer's maps again (docked once more), with the radius shown."""
        self.local.attach()
        self._follow_layers(True)
        self.local.set(radius=float(self.radius.value()), clip_model=self.clip_model.isChecked())
        self._refresh_layers()

    # -- layer choice ----------------------------------------------------------------------------
    def map_layers(self) -> list[Image]:
        """3-D Image layers, this plugin's maps first; never an MTZ's mFo-DFc layers (they show
        a difference map at +/-3 sigma, no map to build into or to contour)."""
        from napari.layers import Image

        layers = [ly for ly in self.viewer.layers if isinstance(ly, Image) and ly.ndim == 3
                  and ly.metadata.get("densitybuild") != DIFFERENCE_KIND]  # fmt: skip
        return sorted(layers, key=lambda ly: ly.metadata.get("densitybuild") != MAP_KIND)

    @property
    def layer(self) -> Image | None:
        """The map layer the controls act on."""
        return self._layer

    def _refresh_layers(self, event: Event | None = None) -> None:
        layers = self.map_layers()
        current = self._layer if self._layer in layers else (layers[0] if layers else None)
        self._updating = True
        try:
            self.map_combo.clear()
            self.map_combo.addItems([ly.name for ly in layers])
            if current is not None:
                self.map_combo.setCurrentIndex(layers.index(current))
        finally:
            self._updating = False
        self._bind(current)

    def choose(self, source: str | None) -> bool:
        """Choose the map layer read from the file ``source``; False if there is none."""
        sources = [ly.metadata.get("source") for ly in self.map_layers()]
        if source is None or source not in sources:
            return False
        self.map_combo.setCurrentIndex(sources.index(source))
        return True

    def _on_layer_chosen(self, index: int) -> None:
        if self._updating:
            return
        layers = self.map_layers()
        self._bind(layers[index] if 0 <= index < len(layers) else None)

    def _bind(self, layer: Image | None) -> None:
        """Follow ``layer``: show its level and rendering, and track changes made elsewhere."""
        if self._layer is not None and self._layer is not layer:
            self._layer.events.iso_threshold.disconnect(self._sync_from_layer)
            self._layer.events.rendering.disconnect(self._sync_from_layer)
        if layer is not None and layer is not self._layer:
            layer.events.iso_threshold.connect(self._sync_from_layer)
            layer.events.rendering.connect(self._sync_from_layer)
        self._layer = layer
        for w in (self.contour, self.rendering, self.radius, self.clip_model):
            w.setEnabled(layer is not None)
        self._sync_from_layer()
        self.local.set(layer=layer)

    def _sync_from_layer(self, event: Event | None = None) -> None:
        layer = self._layer
        if layer is None:
            return
        self._updating = True
        try:
            self.contour.setValue(float(layer.iso_threshold))
            labels = {v: k for k, v in RENDERINGS.items()}
            label = MESH if self.local.mesh_on else labels.get(str(layer.rendering))
            if label is not None:
                self.rendering.setCurrentText(label)
        finally:
            self._updating = False
        if event is not None and self.local.mesh_on:  # the level changed here or in napari
            self.local.update()

    # -- actions ---------------------------------------------------------------------------------
    def set_contour(self, sigma: float) -> None:
        """Set the contour level (sigma): the iso-surface threshold, and in volume renderings
        also the lower contrast limit, so density below the level is hidden."""
        if self._updating or self._layer is None:
            return
        self._layer.iso_threshold = float(sigma)  # a mesh follows (_sync_from_layer)
        if not self.local.mesh_on and self._layer.rendering != "iso":
            hi = max(float(self._layer.contrast_limits[1]), float(sigma) + 1.0)
            self._layer.contrast_limits = (float(sigma), hi)

    def set_rendering(self, label: str) -> None:
        """Switch rendering by its label in :data:`._layers.RENDERINGS` (e.g. ``"iso-surface"``)
        or to :data:`MESH` (lines at the contour level, in the map radius: 10 A if none)."""
        if self._updating or self._layer is None:
            return
        self._look_chosen = True
        if label == MESH:
            if self.radius.value() == 0:
                self.radius.setValue(DEFAULT_MESH_RADIUS)
            self.local.set(mesh_on=True)
            return
        self.local.set(mesh_on=False)
        self._layer.rendering = RENDERINGS[label]
        if RENDERINGS[label] != "iso":
            self.set_contour(self.contour.value())

    def _with_browse(self, line: QLineEdit, title: str, filt: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        button = QPushButton("...")
        button.setMaximumWidth(32)

        def browse() -> None:
            path, _ = QFileDialog.getOpenFileName(self, title, line.text(), filt)
            if path:
                line.setText(path)

        button.clicked.connect(browse)
        row.addWidget(line)
        row.addWidget(button)
        return box

    def _on_open_clicked(self) -> None:
        if not self.map_path.text().strip():
            notify_error("choose a map file first")
            return
        self.open_files(self.map_path.text().strip(), self.model_path.text().strip() or None)

    def open_files(self, map_path: str, model_path: str | None = None):
        """Read a map (around ``model_path``'s atoms, if given) off the GUI thread and add it
        (not if napari was closed meanwhile).

        Returns the started worker (its ``finished`` signal fires when the layers are added).
        """
        from napari.qt.threading import create_worker

        from ..errors import DensityBuildError

        paths = [map_path] + ([model_path] if model_path else [])
        self._request += 1
        request, gone = self._request, self._gone
        self.status.setText(f"reading {', '.join(paths)} ...")
        self.open_button.setEnabled(False)

        def done(layers: list[LayerDataTuple]) -> None:
            if gone.is_set() or request != self._request:  # closed, or superseded
                return
            for data, meta, kind in layers:
                getattr(self.viewer, f"add_{kind}")(data, **meta)
            self.viewer.dims.ndisplay = 3
            self.status.setText(f"opened {', '.join(paths)}")

        def failed(err: Exception) -> None:
            # napari 0.9's workers do not notify errors themselves (their notifying mixin comes
            # after QRunnable in the MRO, so its __init__ never runs): notify here
            if not gone.is_set() and request == self._request:
                bad = isinstance(err, DensityBuildError)
                message = str(err) if bad else f"{type(err).__name__}: {err}"
                self.status.setText(message)
                notify_error(message)

        def finished() -> None:
            if not gone.is_set() and request == self._request:
                self.open_button.setEnabled(True)

        worker = create_worker(
            layers_from_files,
            paths,
            iso_sigma=self.contour.value(),
            _connect={"returned": done, "errored": failed, "finished": finished},
        )
        self.worker = worker
        return worker
