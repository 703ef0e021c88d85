"""A review session -> napari layer data (boxes, labels, atoms, bonds, box outline); no Qt.

World coordinates are (z, y, x) Angstrom, as for every layer of this plugin.

* Boxes: a Points layer of box centres, one per residue, labelled ``"LEU 42"``, face colour by
  residue type, border colour by confidence (red 0 -> green 100).
* Atoms: a Points layer coloured by element, with the atom features the writer needs, so the
  layer can be saved as a model (File > Save Selected Layers, or the widget's Export).
* Bonds: a Vectors layer of the bonds (residue bonds from :mod:`~..geometry`, peptide bonds).
* Box outline: a Vectors layer of the 12 edges of the selected residue's 11 A box.
* H-bonds of the selected residue (:mod:`~..contacts`): a Vectors layer from its side-chain
  N/O atoms to polar partners within 3.4 A, and a Points layer of the partners labelled with
  atom, residue and distance; coloured by the partner's role (blue donor, red acceptor, white
  both).
* Unmodelled blobs (:mod:`~..blobs`): a Points layer at each blob's highest point, labelled with
  its volume and peak.
"""

from __future__ import annotations

import colorsys

import numpy as np

from ..blobs import Blob
from ..boxes import BOX_EDGE
from ..contacts import Contact
from ..geometry import bonds
from ..hbonds import ACCEPTOR, DONOR
from ..models import AtomTable
from ..residues import AMINO_ACIDS
from ..session import Session
from ._layers import element_colours

BOXES_KIND, BUILT_ATOMS_KIND, BONDS_KIND, OUTLINE_KIND = "boxes", "built atoms", "bonds", "outline"
#: One colour per residue type (evenly spread hues), grey for unclassified boxes.
TYPE_COLOURS = {
    name: (*colorsys.hsv_to_rgb(i / len(AMINO_ACIDS), 0.65, 0.95), 1.0)
    for i, name in enumerate(AMINO_ACIDS)
}
UNKNOWN_COLOUR = (0.6, 0.6, 0.6, 1.0)
#: H-bond partner colours by role: donors blue, acceptors red, either white.
ROLE_COLOURS = {DONOR: (0.35, 0.55, 1.0, 1.0), ACCEPTOR: (1.0, 0.35, 0.35, 1.0)}
EITHER_COLOUR = (0.95, 0.95, 0.95, 1.0)


def confidence_colours(confidence: np.ndarray) -> np.ndarray:
    """RGBA (N, 4): red at 0, yellow at 50, green at 100."""
    t = np.clip(np.asarray(confidence, dtype=float) / 100.0, 0, 1)
    return np.stack([np.clip(2 - 2 * t, 0, 1), np.clip(2 * t, 0, 1), np.zeros_like(t),
                     np.ones_like(t)], axis=1)  # fmt: skip


def box_layer_data(session: Session) -> tuple[np.ndarray, dict]:
    """(data, attributes) of the boxes layer: centres (z, y, x), features, colours, text."""
    rows = session.residues
    data = np.array([r.centre for r in rows], dtype=float).reshape(-1, 3)[:, ::-1]
    conf = np.array([r.confidence for r in rows], dtype=float)
    features = {
        "chain": np.array([r.chain for r in rows], dtype=object),
        "seqid": np.array([r.seqid for r in rows], dtype=int),
        "type": np.array([r.name for r in rows], dtype=object),
        "confidence": conf,
        "label": np.array([r.label for r in rows], dtype=object),
    }
    face = np.array([TYPE_COLOURS.get(r.name, UNKNOWN_COLOUR) for r in rows]).reshape(-1, 4)
    attrs = {
        "features": features,
        "face_color": face,
        "border_color": confidence_colours(conf),
        "text": {"string": "{label}", "size": 9, "color": "white", "anchor": "upper_left"},
    }
    return data.copy(), attrs


def atom_table(session: Session) -> AtomTable:
    """The session's atoms as an :class:`~napari_densitybuild.models.AtomTable`."""
    rows = [(*xyz, res.chain, res.seqid, res.icode, res.name, name, name[0],
             round(res.confidence, 2), 1.0)
            for res in session.residues for name, *xyz in res.atoms]  # fmt: skip
    cell = tuple(session.meta["cell"]) if session.meta.get("cell") else None
    return AtomTable.from_rows(rows, cell, session.meta.get("spacegroup"))


def atoms_layer_data(session: Session) -> tuple[np.ndarray, dict]:
    """(data, attributes) of the atoms layer (element colours; writer-ready features)."""
    table = atom_table(session)
    attrs = {
        "features": {k: np.asarray(v) for k, v in table.features().items()},
        "face_color": element_colours(table.element) if len(table) else np.zeros((0, 4)),
        "metadata": {
            "densitybuild": BUILT_ATOMS_KIND,
            "cell": table.cell,
            "spacegroup": table.spacegroup,
        },
    }
    return table.xyz[:, ::-1].copy(), attrs


def bond_vectors(session: Session) -> np.ndarray:
    """(M, 2, 3) napari vectors (start, offset) of every bond, (z, y, x)."""
    out = []
    prev = None
    for res in session.residues:
        pos = {name: np.array(xyz, dtype=float) for name, *xyz in res.atoms}
        for a, b, _, _ in bonds(res.name) if res.type >= 0 else []:
            if a in pos and b in pos:
                out.append((pos[a], pos[b] - pos[a]))
        if prev is not None and prev[0] == res.chain and "C" in prev[1] and "N" in pos:
            d = pos["N"] - prev[1]["C"]
            if np.linalg.norm(d) < 2.0:
                out.append((prev[1]["C"], d))
        prev = (res.chain, pos)
    if not out:
        return np.zeros((0, 2, 3))
    return np.array(out)[:, :, ::-1].copy()


def box_outline(
    centre: tuple[float, float, float] | np.ndarray,
    rotation: tuple[float, ...] | np.ndarray,
    edge: float = BOX_EDGE,
) -> np.ndarray:
    """(12, 2, 3) napari vectors of the edges of a box (centre + rotation columns), (z, y, x)."""
    rot = np.asarray(rotation, dtype=float).reshape(3, 3)
    h = edge / 2.0
    corners = {(i, j, k): np.asarray(centre) + rot @ (h * np.array([i, j, k]))
               for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)}  # fmt: skip
    edges = []
    for (i, j, k), p in corners.items():
        for axis in range(3):
            q = [i, j, k]
            if q[axis] == -1:
                q[axis] = 1
                edges.append((p, corners[tuple(q)] - p))
    return np.array(edges)[:, :, ::-1].copy()


def contact_layer_data(contacts: list[Contact]) -> dict[str, np.ndarray]:
    """Napari data of the selected residue's H-bonds (all (z, y, x)).

    Returns
    -------
    dict
        ``vectors`` (M, 2, 3) start and offset of each contact line, ``points`` (M, 3) the
        partner atoms, ``colours`` (M, 4) by partner role, ``labels`` (M,) e.g.
        ``"O LEU A50 2.8"``.
    """
    if not contacts:
        return {"vectors": np.zeros((0, 2, 3)), "points": np.zeros((0, 3)),
                "colours": np.zeros((0, 4)), "labels": np.zeros(0, dtype=object)}  # fmt: skip
    start = np.array([c.xyz for c in contacts], dtype=float)
    end = np.array([c.partner_xyz for c in contacts], dtype=float)
    return {
        "vectors": np.stack([start, end - start], axis=1)[:, :, ::-1].copy(),
        "points": end[:, ::-1].copy(),
        "colours": np.array([ROLE_COLOURS.get(c.role, EITHER_COLOUR) for c in contacts]),
        "labels": np.array([f"{c.partner} {c.distance:.1f}" for c in contacts], dtype=object),
    }


def blob_layer_data(blobs: list[Blob]) -> tuple[np.ndarray, dict]:
    """(data, features) of the unmodelled-blobs layer: highest points (z, y, x) and labels."""
    data = np.array([b.centre for b in blobs], dtype=float).reshape(-1, 3)[:, ::-1].copy()
    labels = [f"{k + 1}: {b.volume:.0f} A3, {b.peak:.1f} s" for k, b in enumerate(blobs)]
    return data, {"label": np.array(labels, dtype=object)}
