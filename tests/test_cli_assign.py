"""``densitybuild assign``: a model typed and numbered by a sequence on the command line, its
waters and B-factors written back; bad input refused with one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import gemmi
import pytest

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.cli import main

FASTA = Path(__file__).parents[1] / "sample_data" / "sample_sequence.fasta"
SEQUENCE = FASTA.read_text().splitlines()[1].strip()
#: Residues (index in the chain) a build without the sequence named wrongly, and how.
WRONG = {5: "LEU", 12: "SER", 33: "ALA"}


def _as_built(path: Path) -> Path:
    """The sample model numbered from 101, three residues named wrongly, a B-factor per residue
    (its index) and one water."""
    st = gemmi.read_structure(sample_paths()[1])
    st.remove_hydrogens()
    chain = st[0][0]
    for k, res in enumerate(chain):
        res.seqid = gemmi.SeqId(101 + k, " ")
        if k in WRONG:
            res.name = WRONG[k]
        for a in res:
            a.b_iso = float(k)
    water = gemmi.Residue()
    water.name, water.seqid = "HOH", gemmi.SeqId(501, " ")
    atom = gemmi.Atom()
    atom.name, atom.element, atom.b_iso = "O", gemmi.Element("O"), 33.0
    atom.pos = chain[0][0].pos + gemmi.Position(0.0, 0.0, 9.0)
    water.add_atom(atom)
    chain.add_residue(water)
    st.setup_entities()
    st.make_mmcif_document().write_file(str(path))
    return path


@pytest.mark.slow
def test_assign_types_numbers_and_keeps_waters_and_b_factors(tmp_path, capsys):
    model = _as_built(tmp_path / "built.cif")
    out = tmp_path / "typed.cif"
    assert main(["assign", sample_paths()[0], str(model), "--sequence", str(FASTA),
                 "--out", str(out)]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert said.startswith("Sequence applied: 2 of 2 pieces of chain aligned (70 of 70 "
                           "residues), 3 types changed; numbered by the sequence")  # fmt: skip
    assert said.rstrip().endswith(f"-> {out}")
    st = gemmi.read_structure(str(out))
    protein = [r for ch in st[0] for r in ch if r.name != "HOH"]
    assert gemmi.one_letter_code([r.name for r in protein]) == SEQUENCE
    assert [r.seqid.num for r in protein] == list(range(1, 71))
    # each reviewed atom keeps its own B under its residue's new number; the water is kept
    for k, r in enumerate(protein):
        if k not in WRONG:
            assert {a.b_iso for a in r} == {float(k)}, r
    waters = [r for ch in st[0] for r in ch if r.name == "HOH"]
    assert len(waters) == 1 and waters[0][0].b_iso == 33.0
    # --keep-numbers: the model's numbers stay
    assert main(["assign", sample_paths()[0], str(model), "--sequence", str(FASTA),
                 "--out", str(out), "--keep-numbers"]) == 0  # fmt: skip
    assert "chains and numbers kept as the model file has them" in capsys.readouterr().out
    st = gemmi.read_structure(str(out))
    protein = [r for ch in st[0] for r in ch if r.name != "HOH"]
    assert [r.seqid.num for r in protein] == list(range(101, 171))
    assert gemmi.one_letter_code([r.name for r in protein]) == SEQUENCE


def test_assign_refuses_bad_input_before_the_work(tmp_path, capsys):
    fasta = tmp_path / "model.fasta"  # a model file chosen by mistake
    fasta.write_text("ATOM      1  N   MET A   1      11.104  13.207   2.100\n")
    args = ["assign", sample_paths()[0], sample_paths()[1], "--sequence"]
    assert main([*args, str(fasta), "--out", str(tmp_path / "o.cif")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("densitybuild assign: error: ") and str(fasta) in err
    assert main([*args, str(FASTA), "--out", str(tmp_path / "o.txt")]) == 2  # not a model file
    assert "o.txt" in capsys.readouterr().err
    assert not (tmp_path / "o.cif").exists()


@pytest.mark.slow
def test_assign_gives_a_chain_of_unknown_residues_every_atom_of_its_types(tmp_path, capsys):
    """A tracing program's chain without a sequence (every residue UNK, backbone and CB): each
    residue the sequence did not retype kept the classifier's type with only N, CA and C (58 of
    the sample's 70, 559 atoms -> 277)."""
    from napari_densitybuild.residues import HEAVY_ATOMS

    st = gemmi.read_structure(sample_paths()[1])
    for res in st[0][0]:
        res.name = "UNK"
        for k in reversed(range(len(res))):
            if res[k].name not in ("N", "CA", "C", "O", "CB"):
                del res[k]
    st.setup_entities()
    model = tmp_path / "unk.pdb"
    st.write_pdb(str(model))
    out = tmp_path / "typed.cif"
    assert main(["assign", sample_paths()[0], str(model), "--sequence", str(FASTA),
                 "--out", str(out)]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert "70 of 70 residues" in said and "70 residues of unknown type (UNK) given the " \
        "classifier's types" in said and "modified" not in said  # fmt: skip
    typed = gemmi.read_structure(str(out))
    protein = [r for ch in typed[0] for r in ch]
    assert gemmi.one_letter_code([r.name for r in protein]) == SEQUENCE
    missing = [f"{r.name}{r.seqid.num}" for r in protein
               if set(HEAVY_ATOMS[r.name]) - {a.name for a in r}]  # fmt: skip
    assert not missing, missing
    before = {r.seqid.num: r for r in st[0][0]}
    shift = max(
        abs(a.pos.dist(before[k + 1 if k < 34 else k + 2].find_atom(a.name, "*").pos))
        for k, r in enumerate(protein)
        for a in r
        if a.name == "CA"
    )
    assert shift < 0.01  # posed on the modelled backbone (Apply sequence holds C-alphas)
