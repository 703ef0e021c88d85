"""npe2 writer: a Points layer of atoms -> an mmCIF (.cif) or PDB (.pdb) model file.

The layer's ``data`` is (z, y, x) Angstrom and its ``features`` hold the atom properties (chain,
residue number and name, atom name, element, B, occupancy), as made by
:func:`._layers.atoms_layer`; points without those features are written as one ``UNK`` residue
with a ``CA`` atom each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..models import write_model
from ._layers import atoms_from_layer


def write_atoms(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """Write one Points layer to ``path`` (.cif/.mmcif or .pdb/.ent, chosen by the name).

    Parameters
    ----------
    path
        Output file.
    data
        Point coordinates (N, 3), napari (z, y, x) order.
    attributes
        The layer's attributes (``features``, ``metadata`` with ``cell``/``spacegroup``).

    Returns
    -------
    list of str
        The written path.

    Raises
    ------
    ModelReadError
        If the layer has no points or the extension is not .cif/.pdb.
    """
    write_model(atoms_from_layer(data, attributes), Path(path))
    return [str(path)]
