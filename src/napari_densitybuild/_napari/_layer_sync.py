"""Keep napari layers in step with a review session, and report the user's edits of boxes.

Layers made on first use and updated in place afterwards: ``residue boxes`` (Points,
labelled), ``built atoms`` (Points, element colours, writer-ready features), ``bonds`` (Vectors),
``selected box`` (Vectors: the 11 A outline of the selected residue's box), a reviewed model's
``waters and ligands (kept as they are)`` (Points, element colours, not edited), and that residue's
``H-bonds`` (Vectors) to its ``H-bond partners`` (Points, labelled), and ``unmodelled blobs``
(Points, labelled) when asked for. Point edits in
the boxes layer (added, removed, moved) go to the widget's ``on_boxes_*`` handlers; edits the
widget itself makes are not reported back, and points pasted in the boxes layer (napari's
paste reports no data event, only its selection) are reported as added. The boxes layer's
selection follows its residues through edits (:func:`follow_rows`): a residue deleted leaves
it, one deleted before it shifts it.

The layers outlive the panel that drew them: when its dock closes they stay, and a panel opened
again on the viewer takes them over with their session (:meth:`LayerSync.hand_to`, see
:mod:`._live_session`). So a LayerSync holds its viewer and its panel only weakly: a closed
viewer is freed as before.
"""

from __future__ import annotations

import weakref
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import QTimer

from ..session import Session
from ._build_layers import (
    BOXES_KIND,
    atoms_layer_data,
    blob_layer_data,
    bond_vectors,
    box_layer_data,
    box_outline,
    contact_layer_data,
)
from ._layers import ATOM_SIZE, camera, near_slice_points

if TYPE_CHECKING:
    import napari
    from napari.utils.events import Event

    from ..residue_state import ResidueState
    from ._build_widget import BuildWidget

NAMES = {"boxes": "residue boxes", "atoms": "built atoms", "bonds": "bonds",
         "outline": "selected box", "hbonds": "H-bonds", "partners": "H-bond partners",
         "blobs": "unmodelled blobs", "kept": "waters and ligands (kept as they are)"}  # fmt: skip


def residue_key(r: ResidueState) -> tuple[str, int, str]:
    """A residue's chain, number and insertion code: what it is known by through edits."""
    return (r.chain, r.seqid, r.icode)


@contextmanager
def active_kept(viewer: napari.viewer.Viewer):
    """Layers added to ``viewer`` inside this block do not become the active layer."""
    active = viewer.layers.selection.active
    try:
        yield
    finally:
        if active is not None and active in viewer.layers:
            viewer.layers.selection.active = active


def follow_rows(indices: list[int], old: list, new: list) -> list[int]:
    """Where residues ``indices`` of the rows ``old`` are in the rows ``new`` (by
    :func:`residue_key`; those no longer there are left out)."""
    where: dict[tuple[str, int, str], int] = {}
    for j, r in enumerate(new):
        where.setdefault(residue_key(r), j)
    out = []
    for i in indices:
        if 0 <= i < len(old):
            same = i < len(new) and residue_key(new[i]) == residue_key(old[i])
            j = i if same else where.get(residue_key(old[i]))
            if j is not None:
                out.append(j)
    return out


class LayerSync:
    """The layers of one widget's session (the widget may change: :meth:`hand_to`)."""

    def __init__(self, viewer: napari.viewer.Viewer, widget: BuildWidget) -> None:
        self._viewer = weakref.ref(viewer)
        self._widget = weakref.ref(widget)
        self.boxes = self.atoms = self.bonds = self.outline = None
        self.hbonds = self.partners = self.blobs = self.kept = None
        self._kept_rows: list | None = None  # the kept rows the kept layer shows
        #: Polar contacts of the selected residue (:func:`~..contacts.polar_contacts`).
        self.contacts: list = []
        self._quiet = False
        self.session: Session | None = None
        self._shown_rows: list = []  # the residues the boxes layer was last set to

    @property
    def viewer(self) -> napari.viewer.Viewer | None:
        """The viewer drawn in (None once it is freed)."""
        return self._viewer()

    @property
    def widget(self) -> BuildWidget | None:
        """The panel the user's edits go to (None once it is freed)."""
        return self._widget()

    def hand_to(self, widget: BuildWidget) -> None:
        """Report edits to ``widget`` from now on (a panel taking the layers over)."""
        self._widget = weakref.ref(widget)

    def on_screen(self) -> bool:
        """Whether the session's boxes or atoms are still layers of the viewer."""
        return self.session is not None and (self._alive(self.boxes) or self._alive(self.atoms))

    def _alive(self, layer: napari.layers.Layer | None) -> bool:
        viewer = self.viewer
        return layer is not None and viewer is not None and layer in viewer.layers

    def show(self, session: Session) -> None:
        """Draw ``session``."""
        self.session = session
        self._quiet = True
        try:
            self._show_atoms(session)
            self._show_kept(session)
            self._show_boxes(session)
        finally:
            self._quiet = False
        self.update_outline()

    def _show_boxes(self, session: Session) -> None:
        data, attrs = box_layer_data(session)
        shown, self._shown_rows = self._shown_rows, list(session.residues)
        if not self._alive(self.boxes):
            self.boxes = self.viewer.add_points(
                data, name=NAMES["boxes"], size=1.6, border_width=0.25,
                border_width_is_relative=True, **near_slice_points(),
                metadata={"densitybuild": BOXES_KIND}, **attrs,
            )  # fmt: skip
            self._follow_boxes(True)
            return
        layer = self.boxes
        selected = sorted(int(i) for i in layer.selected_data)
        if len(layer.data) == len(shown):  # the residues it showed: the selection follows them
            selected = follow_rows(selected, shown, session.residues)
        selected = [i for i in selected if i < len(data)]  # (napari shifted it already)
        layer.data = data
        layer.features = attrs["features"]
        if len(data):
            layer.face_color = attrs["face_color"]
            layer.border_color = attrs["border_color"]
        layer.text = attrs["text"]
        layer.refresh()
        if set(selected) != set(layer.selected_data):
            layer.selected_data = set(selected)

    def _follow_boxes(self, on: bool) -> None:
        """Report (or stop reporting) the user's edits and selection in the boxes layer."""
        if self.boxes is None:
            return
        data, selection = self.boxes.events.data, self.boxes.selected_data.events.items_changed
        for event, handler in ((data, self._on_data), (selection, self._on_selection)):
            (event.connect if on else event.disconnect)(handler)

    def release(self) -> None:
        """Leave the layers as they are, no longer tied to the widget (its dock closed)."""
        self._follow_boxes(False)

    def attach(self) -> None:
        """Tie the boxes layer to the widget again."""
        if self._alive(self.boxes):
            self._follow_boxes(True)

    def _show_atoms(self, session: Session) -> None:
        data, attrs = atoms_layer_data(session)
        vec = bond_vectors(session)
        if not self._alive(self.atoms):
            if not len(data):  # napari cannot take an empty colour array for an empty layer
                attrs.pop("face_color")
            self.atoms = self.viewer.add_points(
                data, name=NAMES["atoms"], size=ATOM_SIZE, border_width=0.0,
                shading="spherical", **attrs,
            )  # fmt: skip
        else:
            self.atoms.data = data
            self.atoms.features = attrs["features"]
            if len(data):
                self.atoms.face_color = attrs["face_color"]
            self.atoms.metadata = attrs["metadata"]
        self.bonds = self._vectors(self.bonds, vec, "bonds", 0.25, "lightgray")

    def _show_kept(self, session: Session) -> None:
        """A reviewed model's waters, ligands and other atoms outside the review
        (:data:`~..kept_parts.KEPT`), drawn but not edited; no layer for a session without."""
        from ..kept_parts import KEPT
        from ..models import AtomTable
        from ._layers import element_colours

        rows = session.meta.get(KEPT) or []
        if self._alive(self.kept) and rows is self._kept_rows:
            return  # what a review keeps aside does not change with its edits: drawn already
        self._kept_rows = rows
        table = AtomTable.from_rows([tuple(r) for r in rows])
        if not len(table) and not self._alive(self.kept):
            return
        data = table.xyz[:, ::-1].copy()
        features = {k: np.asarray(v) for k, v in table.features().items()}
        if self._alive(self.kept):
            self.kept.data = data
            self.kept.features = features
            if len(data):
                self.kept.face_color = element_colours(table.element)
            return
        with active_kept(self.viewer):
            self.kept = self.viewer.add_points(
                data, name=NAMES["kept"], size=0.6 * ATOM_SIZE, border_width=0.0,
                shading="spherical", features=features, face_color=element_colours(table.element),
            )  # fmt: skip

    def update_outline(self) -> None:
        """Draw the selected residue's box outline and H-bonds (the first selected)."""
        from ..contacts import polar_contacts

        sel = self.selected()
        if self.session is None or not sel or sel[0] >= len(self.session.residues):
            vec, self.contacts = np.zeros((0, 2, 3)), []
        else:
            r = self.session.residues[sel[0]]
            vec = box_outline(r.centre, r.rotation)
            self.contacts = polar_contacts(self.session, sel[0])
        self.outline = self._vectors(self.outline, vec, "outline", 0.15, "yellow")
        self._show_contacts()

    def _show_contacts(self) -> None:
        """The selected residue's H-bond lines and labelled partners (none: empty layers)."""
        d = contact_layer_data(self.contacts)
        if not self.contacts and not self._alive(self.hbonds):
            return  # no layers until there is something to show
        with active_kept(self.viewer):
            self.hbonds = self._vectors(self.hbonds, d["vectors"], "hbonds", 0.12, "white")
        if len(d["colours"]):
            self.hbonds.edge_color = d["colours"]
        self.partners = self._labelled_points(
            self.partners, "partners", d["points"], {"label": d["labels"]}, "white", 8,
            face=d["colours"], size=0.5, border_width=0.0,
        )  # fmt: skip

    def _labelled_points(self, layer: napari.layers.Points | None, key: str, data: np.ndarray,
                         features: dict, colour: str, text_size: int,
                         face: np.ndarray | None = None, **style):  # fmt: skip
        """Update a Points layer labelled by its ``label`` feature, or add it (the active
        layer kept); ``face``: per-point face colours, ``style``: the layer's other options."""
        text = {"string": "{label}", "size": text_size, "color": colour, "anchor": "upper_left"}
        if self._alive(layer):
            layer.data = data
            layer.features = features
            if face is not None and len(data):
                layer.face_color = face
            layer.text = text
            layer.refresh()
            return layer
        if face is not None:
            style["face_color"] = face
        with active_kept(self.viewer):
            return self.viewer.add_points(data, name=NAMES[key], features=features, text=text,
                                          **style)  # fmt: skip

    def _vectors(
        self,
        layer: napari.layers.Vectors | None,
        vec: np.ndarray,
        key: str,
        width: float,
        colour: str,
    ):
        """Update a Vectors layer of line segments, or add it if it is not in the viewer (the
        active layer kept)."""
        if self._alive(layer):
            layer.data = vec
            return layer
        with active_kept(self.viewer):  # drawn again (deleted by the user): the user's layer stays
            return self.viewer.add_vectors(vec, name=NAMES[key], edge_width=width,
                                           edge_color=colour, vector_style="line")  # fmt: skip

    def selected(self) -> list[int]:
        """Selected residues (indices into the session)."""
        if not self._alive(self.boxes):
            return []
        return sorted(int(i) for i in self.boxes.selected_data)

    def select(self, indices: list[int]) -> None:
        """Select residues in the boxes layer (and draw the first one's box)."""
        if self._alive(self.boxes):
            self.boxes.selected_data = set(int(i) for i in indices)
        self.update_outline()

    def centre_on(self, index: int) -> None:
        """Move the camera (and the slice) to a residue and select it."""
        if self.session is None:
            return
        self.centre_at(self.session.residues[index].ca)
        self.select([index])

    def centre_at(self, xyz: np.ndarray | tuple[float, float, float]) -> None:
        """Move the camera (and the slice) to a point (x, y, z)."""
        zyx = tuple(float(v) for v in np.asarray(xyz, dtype=float)[::-1])
        camera(self.viewer).center = zyx
        if self.viewer.dims.ndisplay == 2:
            self.viewer.dims.set_point(range(3), zyx)

    def show_blobs(self, blobs: list) -> None:
        """Draw unmodelled blobs (:func:`~..blobs.unmodelled_blobs`), keeping the active layer."""
        data, features = blob_layer_data(blobs)
        self.blobs = self._labelled_points(
            self.blobs, "blobs", data, features, "orange", 9, size=1.2, face_color="transparent",
            border_color="orange", border_width=0.15, border_width_is_relative=True,
        )  # fmt: skip

    def export(self, path: str) -> str:
        """Write the session's atoms as the plugin's writer writes an atoms layer, with what a
        reviewed model held besides (:func:`~..kept_parts.export_table`: its waters, ligands
        and B-factors)."""
        from pathlib import Path

        from ..kept_parts import export_table
        from ..models import write_model

        write_model(export_table(self.session), Path(path))
        return str(path)

    # -- user edits ------------------------------------------------------------------------------
    def _on_selection(self, event: Event | None = None) -> None:
        n = len(self._shown_rows)
        if self._alive(self.boxes) and len(self.boxes.data) != n:
            # napari changing the points itself: a removal (its data event follows, then the
            # layer is shown again) or a paste (no data event: added once the paste is done)
            if len(self.boxes.data) > n and not self._quiet:
                QTimer.singleShot(0, self._on_pasted)
            return
        self.update_outline()
        if self.widget is not None:
            self.widget.review.follow_selection(self.selected())

    def _on_pasted(self) -> None:
        """Points napari pasted into the boxes layer (after the residues shown): added."""
        data = np.asarray(self.boxes.data) if self._alive(self.boxes) else np.zeros((0, 3))
        if len(data) > len(self._shown_rows) and self.widget is not None:
            self.widget.on_boxes_added(data[len(self._shown_rows) :])

    def _on_data(self, event: Event) -> None:
        if self._quiet or self.widget is None:
            return
        action = str(getattr(event, "action", "")).lower()  # napari ActionType: "added", ...
        indices = [int(i) for i in getattr(event, "data_indices", ()) if int(i) >= 0]
        if action.endswith("added"):
            new = np.asarray(self.boxes.data)[indices] if indices else np.asarray(
                self.boxes.data)[-1:]  # fmt: skip
            self.widget.on_boxes_added(new)
        elif action.endswith("removed"):
            self.widget.on_boxes_removed(indices)
        elif action.endswith("changed"):
            self.widget.on_boxes_moved(indices)
