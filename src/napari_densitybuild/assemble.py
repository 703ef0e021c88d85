"""Assembly: placed (and classified, posed) residues into a gemmi Structure and a model file.

Chains follow the fragments of :class:`~napari_densitybuild.trace.Trace` (longest first, chain
names A, B, ..., Z, then AA, AB, ...), residues are numbered 1, 2, ... along each fragment, and
the B-factor column holds a per-residue confidence (0-100) so that viewers can colour by it.
The map's cell and space group go into the model.
"""

from __future__ import annotations

import string

import gemmi
import numpy as np

from .errors import DensityBuildError
from .maps import DensityMap
from .models import write_structure
from .trace import Trace

__all__ = ["ca_structure", "chain_name", "new_structure", "write_structure"]


def chain_name(index: int) -> str:
    """A, B, ..., Z, AA, AB, ... for fragment 0, 1, ..."""
    letters = string.ascii_uppercase
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = letters[rem] + name
    return name


def new_structure(dmap: DensityMap | None, name: str = "densitybuild") -> gemmi.Structure:
    """An empty structure with the map's cell and space group (P 1 for cryo-EM maps)."""
    st = gemmi.Structure()
    st.name = name
    if dmap is not None and dmap.kind == "xray":
        st.cell = dmap.cell
        st.spacegroup_hm = dmap.spacegroup.hm
    st.add_model(gemmi.Model(1))
    return st


def _atom(name: str, element: str, xyz: np.ndarray, b: float) -> gemmi.Atom:
    a = gemmi.Atom()
    a.name, a.element = name, gemmi.Element(element)
    a.pos = gemmi.Position(*map(float, xyz))
    a.b_iso, a.occ = float(b), 1.0
    return a


def ca_structure(placed: Trace, dmap: DensityMap | None = None) -> gemmi.Structure:
    """A C-alpha-only model of a trace: one chain per fragment, residues UNK, B = 100 x score."""
    if len(placed) == 0:
        raise DensityBuildError("no residues were placed: nothing to write")
    st = new_structure(dmap)
    model = st[0]
    for f in range(placed.fragment_count):
        idx = np.flatnonzero(placed.fragment == f)
        chain = gemmi.Chain(chain_name(f))
        for k, i in enumerate(idx):
            res = gemmi.Residue()
            res.name, res.seqid, res.het_flag = "UNK", gemmi.SeqId(k + 1, " "), "A"
            res.entity_type = gemmi.EntityType.Polymer
            res.add_atom(_atom("CA", "C", placed.ca[i], 100.0 * placed.score[i]))
            chain.add_residue(res)
        model.add_chain(chain)
    st.setup_entities()
    return st
