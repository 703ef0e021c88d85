"""The crystal neighbours beside the model under review (Coot's symmetry atoms).

With the review panel's "crystal neighbours" box ticked, the residues of the model's crystal
copies within :data:`~..crystal_neighbours.REACH` of its atoms (:mod:`~..crystal_neighbours`)
are drawn as ``crystal neighbours`` (atoms, dimmed element colours, smaller than the model's)
and ``crystal neighbour bonds``; hovering over an atom names the residue it copies. They are
worked out again whenever the model changes (tens of milliseconds for a few thousand atoms),
cut to the map radius with the model, never edited or exported, and taken away when the box is
cleared or the panel's dock closes. A map without crystal symmetry has none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtWidgets import QCheckBox

from ..crystal_neighbours import REACH
from ..errors import DensityBuildError
from ._reader import notify_error

if TYPE_CHECKING:
    import napari

    from ..session import Session
    from ._build_widget import BuildWidget

NAMES = {"atoms": "crystal neighbours", "bonds": "crystal neighbour bonds"}
KIND = "crystal neighbours"
#: How much of the element colours the neighbours' atoms keep.
DIM = 0.55


def neighbour_layer_data(session: Session) -> tuple[np.ndarray, dict, np.ndarray, int]:
    """(atom positions (z, y, x), the atoms layer's attributes, bond vectors, number of
    residues) of the crystal neighbours of ``session``'s model."""
    from ..crystal_neighbours import neighbour_residues
    from ..session import Session
    from ._build_layers import atoms_layer_data, bond_vectors

    copies = Session(neighbour_residues(session), None, {}, autosave=False)
    data, attrs = atoms_layer_data(copies)  # drawn as the model's atoms are, dimmed
    attrs["face_color"] = np.array(attrs["face_color"], dtype=float)
    attrs["face_color"][:, :3] *= DIM
    attrs["metadata"] = {"densitybuild": KIND}  # not the model's atoms
    return data, attrs, bond_vectors(copies), len(copies.residues)


def neighbours_checkbox() -> QCheckBox:
    """The review panel's box that shows the crystal neighbours."""
    box = QCheckBox("crystal neighbours")
    box.setToolTip(
        "Draw the residues of the model's crystal copies within 5 A of its atoms (dimmed; "
        "hover to name the residue copied): at crystal contacts some of the density in view is "
        "theirs. Worked out again after each edit; not edited or exported"
    )
    return box


class NeighbourView:
    """Mixed into :class:`~._review_panel.ReviewPanel` (which has ``widget``, ``session`` and
    ``neighbours_box``): the neighbours' layers, kept up to date with the model."""

    widget: BuildWidget
    neighbours_box: QCheckBox
    _neighbour_layers: tuple | None = None  # (atoms, bonds)
    _neighbours_of: list | None = None  # the residue list they were worked out for

    def update_neighbours(self) -> None:
        """Draw the neighbours of the model as it is (the box ticked), or take them away."""
        s = self.session
        if s is None or not self.neighbours_box.isChecked():
            self.hide_neighbours()
            return
        layers = self._neighbour_layers
        viewer = self.widget.viewer
        alive = layers is not None and all(ly in viewer.layers for ly in layers)
        if alive and self._neighbours_of is s.residues:
            return
        try:
            data, attrs, vec, count = neighbour_layer_data(s)
        except DensityBuildError as e:
            notify_error(str(e))
            self.neighbours_box.setChecked(False)  # (which takes the layers away)
            return
        self._neighbours_of = s.residues
        if alive:
            atoms, bonds = layers
            atoms.data = data
            atoms.features = attrs["features"]
            if len(data):
                atoms.face_color = attrs["face_color"]
            bonds.data = vec
            return
        self.hide_neighbours()
        self._neighbour_layers = _add_layers(viewer, data, attrs, vec)
        self.widget.status.setText(
            f"Crystal neighbours: {count} residues of the model's crystal copies within "
            f"{REACH:g} A of its atoms"
            if s.symmetry().periodic
            else "Crystal neighbours: none, the map has no crystal symmetry (a cryo-EM box)"
        )

    def hide_neighbours(self) -> None:
        """Take the neighbours' layers out of the viewer."""
        layers, self._neighbour_layers = self._neighbour_layers, None
        self._neighbours_of = None
        viewer = self.widget.viewer
        for layer in layers or ():
            if layer in viewer.layers:
                viewer.layers.remove(layer)


def _add_layers(viewer: napari.viewer.Viewer, data: np.ndarray, attrs: dict, vec: np.ndarray):
    """The neighbours' atoms and bonds layers, added without changing the active layer."""
    from ._layer_sync import active_kept
    from ._layers import ATOM_SIZE

    if not len(data):  # napari cannot take an empty colour array for an empty layer
        attrs = {k: v for k, v in attrs.items() if k != "face_color"}
    with active_kept(viewer):
        bonds = viewer.add_vectors(
            vec,
            name=NAMES["bonds"],
            edge_width=0.2,
            edge_color="gray",
            vector_style="line",
            metadata={"densitybuild": KIND},
        )
        atoms = viewer.add_points(
            data,
            name=NAMES["atoms"],
            size=0.7 * ATOM_SIZE,
            border_width=0.0,
            shading="spherical",
            **attrs,
        )
    return atoms, bonds
