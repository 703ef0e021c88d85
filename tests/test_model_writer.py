"""Model files out: chain IDs that a PDB file can hold, and nothing lost when they cannot."""

from __future__ import annotations

import gemmi
import pytest

from napari_densitybuild.assemble import chain_name
from napari_densitybuild.errors import ModelReadError
from napari_densitybuild.models import PDB_CHAIN_IDS, write_structure


def chains(n: int) -> gemmi.Structure:
    """A structure of ``n`` one-residue chains named as builds name fragments (A ... Z, AA ...)."""
    st = gemmi.Structure()
    st.add_model(gemmi.Model("1"))
    for f in range(n):
        res = gemmi.Residue()
        res.name, res.seqid = "GLY", gemmi.SeqId(1, " ")
        atom = gemmi.Atom()
        atom.name, atom.element, atom.pos = "CA", gemmi.Element("C"), gemmi.Position(3.8 * f, 0, 0)
        res.add_atom(atom)
        chain = gemmi.Chain(chain_name(f))
        chain.add_residue(res)
        st[0].add_chain(chain)
    return st


def test_pdb_file_of_more_than_26_chains_has_one_character_ids(tmp_path):
    st = chains(40)
    path = write_structure(st, tmp_path / "m.pdb")
    back = gemmi.read_structure(str(path))
    names = [ch.name for ch in back[0]]
    assert len(names) == 40 and len(set(names)) == 40
    assert all(len(n) == 1 for n in names)
    assert names[:26] == [chain_name(f) for f in range(26)]  # A-Z keep their names
    assert [ch.name for ch in st[0]][26] == "AA"  # the structure written is not changed
    cif = write_structure(st, tmp_path / "m.cif")  # mmCIF keeps the long names
    assert [ch.name for ch in gemmi.read_structure(str(cif))[0]][26] == "AA"


def test_too_many_chains_for_pdb_are_written_as_mmcif_and_said(tmp_path):
    st = chains(PDB_CHAIN_IDS + 8)
    with pytest.raises(ModelReadError, match=r"70 chains .* written as mmCIF to .*m\.cif"):
        write_structure(st, tmp_path / "m.pdb")
    assert not (tmp_path / "m.pdb").exists()
    back = gemmi.read_structure(str(tmp_path / "m.cif"))
    assert len(back[0]) == PDB_CHAIN_IDS + 8
