"""The model as a simulation takes it: one model, no hydrogens, waters or alternative
conformations, and (an option of :class:`~.simulate.SimulationSettings`) amides drawn as
carboxylates."""

from __future__ import annotations

import gemmi


def prepare_structure(st: gemmi.Structure) -> gemmi.Structure:
    """A copy of the first model without hydrogens, waters, alternative conformations or ANISOU."""
    st = st.clone()
    while len(st) > 1:
        del st[1]
    st.remove_hydrogens()
    st.remove_waters()
    st.remove_alternative_conformations()
    st.remove_empty_chains()
    zero = gemmi.SMat33f(0, 0, 0, 0, 0, 0)
    for cra in st[0].all():
        cra.atom.aniso = zero
    return st


#: The amide N of each amide side chain, drawn as an O by ``amide_as_acid``.
AMIDE_N = {"ASN": "ND2", "GLN": "NE2"}


def amides_as_acids(st: gemmi.Structure) -> int:
    """Make the amide N of every ASN and GLN of ``st`` an O, in place; returns how many."""
    n = 0
    for chain in st[0]:
        for res in chain:
            for atom in res:
                if atom.name == AMIDE_N.get(res.name):
                    atom.element = gemmi.Element("O")
                    n += 1
    return n
