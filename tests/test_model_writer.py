"""Model files out: chain IDs that a PDB file can hold, and nothing lost when they cannot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

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
    # a file of that name (the model read, say) is never overwritten: the next free name
    (tmp_path / "m.cif").write_text("the input model\n")
    with pytest.raises(ModelReadError, match=r"written as mmCIF to .*m\.1\.cif"):
        write_structure(st, tmp_path / "m.pdb")
    assert (tmp_path / "m.cif").read_text() == "the input model\n"
    assert len(gemmi.read_structure(str(tmp_path / "m.1.cif"))[0]) == PDB_CHAIN_IDS + 8


def test_mmcif_carries_entity_sequences_and_label_seq_ids(tmp_path):
    """A model written with its chains' sequences: one entity (id 1) per sequence, its full
    sequence in _entity_poly_seq and _entity_poly, every residue's label_seq_id; a chain with
    no sequence (or residues the sequence has no place for) takes its own residues; the
    waters' entity is numbered too."""
    import numpy as np

    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.models import read_structure
    from napari_densitybuild.sequence import read_fasta
    from napari_densitybuild.session import Session
    from napari_densitybuild.waters import with_waters

    session = Session.from_structure(read_structure(sample_paths()[1]))
    seq = read_fasta(Path(sample_paths()[0]).parent / "sample_sequence.fasta")[0][1]
    assert len(seq) == len(session.residues) == 70  # numbered 1-71 in the file, without 35
    rows = [dataclasses.replace(r, chain="A" if k < 34 else "C", seqid=k + 1)
            for k, r in enumerate(session.residues)]  # fmt: skip
    rows += [dataclasses.replace(r, chain="D", seqid=k + 1)
             for k, r in enumerate(session.residues[:5])]  # fmt: skip
    st = Session(rows, None, {"chain_sequences": {"A": seq, "C": seq}}).structure()
    st = with_waters(st, np.array([[0.0, 0.0, 0.0]]))
    path = write_structure(st, tmp_path / "m.cif")
    block = gemmi.cif.read(str(path)).sole_block()
    ids = list(block.find_values("_entity.id"))
    assert ids == ["1", "2", "3"]  # the sequence, D's own residues, water
    poly = block.find("_entity_poly_seq.", ["entity_id", "mon_id"])
    mons = [row[1] for row in poly if row[0] == "1"]
    assert gemmi.one_letter_code(mons) == seq
    assert len([row for row in poly if row[0] == "2"]) == 5
    back = gemmi.read_structure(str(path))
    labels = {ch.name: [r.label_seq for r in ch] for ch in back[0]}
    assert labels["A"] == list(range(1, 35)) and labels["C"] == list(range(35, 71))
    assert labels["D"] == [1, 2, 3, 4, 5]
    assert {e.name: sorted(e.subchains) for e in back.entities}["1"] == ["Axp", "Cxp"]
