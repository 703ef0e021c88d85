"""Messages about bad input that read as one clear sentence (a hunt's findings): ``classify``
with a model of no protein names the file and says what was left out in words, not as a
Python dict; a cryo-EM map of zeros but for one voxel, or a mask, is called what it is, not
"flat"."""

from __future__ import annotations

import numpy as np
import pytest
from test_input_hunt import SAMPLE, mrc, one_line_error, waters_only

from napari_densitybuild.errors import MapReadError
from napari_densitybuild.maps import read_map


def test_classify_with_a_model_of_no_protein_names_the_file_in_words(tmp_path, capsys):
    """It said "the model has no amino-acid residue with N, CA and C atoms (skipped:
    {'missing N/CA/C': 0, 'not amino acid': 5, 'outside map': 0})" without naming the file."""
    waters = waters_only(tmp_path / "waters.pdb")
    out = tmp_path / "p.json"
    argv = ["classify", SAMPLE / "sample_map.mtz", "--boxes-from", waters, "--out", out,
            "--device", "cpu"]  # fmt: skip
    err = one_line_error(argv, capsys)
    assert err.endswith(f"{waters}: the model has no amino-acid residue with N, CA and C atoms "
                        "to classify (5 not amino acid)\n")  # fmt: skip
    assert "{" not in err and not out.exists()


def test_an_em_map_of_zeros_but_one_voxel_is_not_called_flat(tmp_path, capsys):
    """It was "the map is flat (every value 7)": 10,559 of its voxels are 0."""
    data = np.zeros((20, 22, 24), np.float32)
    data[3, 4, 5] = 7.0
    path = mrc(tmp_path / "one.mrc", data)
    with pytest.raises(MapReadError) as info:
        read_map(path)
    said = f"{path}: every voxel but one is 0 (that one is 7): no density to show"
    assert str(info.value) == said and "flat" not in said
    assert one_line_error(["info", path], capsys).endswith(said + "\n")


def test_an_em_mask_is_called_a_mask_not_a_flat_map(tmp_path):
    """A mask (0 and 1) opened as the map was "the map is flat (every value 1)"."""
    data = np.zeros((20, 22, 24), np.float32)
    data[5:15, 5:15, 5:15] = 1.0
    with pytest.raises(MapReadError, match=r"every voxel is 0 or 1 \(1,000 of 10,560 are 1\): "
                       "a mask, not a density map"):  # fmt: skip
        read_map(mrc(tmp_path / "mask.mrc", data))
    data[5, 5, 5] = 0.5  # a voxel of another value: a map (of little density), read
    assert read_map(mrc(tmp_path / "map.mrc", data)).kind == "em"


def _label_only(tmp_path, dots: bool = False):
    """The sample model as an mmCIF of ``label_`` fields only (valid mmCIF), with a water of
    no number; with ``dots`` its amino acids have no label_seq_id either (not valid)."""
    import gemmi

    from napari_densitybuild.models import read_structure
    from napari_densitybuild.waters import with_waters

    st = with_waters(read_structure(SAMPLE / "sample_model.cif"), np.array([[1.0, 2.0, 3.0]]))
    for res in st[0][0]:
        res.label_seq = res.seqid.num
    doc = st.make_mmcif_document()
    block = doc.sole_block()
    table = block.find("_atom_site.", ["auth_seq_id", "auth_asym_id", "label_seq_id"])
    for row in table:
        row[0], row[1] = "?", "?"
        if dots:
            row[2] = "."
    path = tmp_path / ("dots.cif" if dots else "labels.cif")
    doc.write_file(str(path))
    assert all(r.seqid.num is None for ch in gemmi.read_structure(str(path))[0] for r in ch
               if r.name == "HOH")  # fmt: skip
    return path


def test_label_only_mmcif_and_one_with_a_byte_order_mark_are_read(tmp_path):
    """An mmCIF without auth_ fields gave a TypeError (its water has no number); one that
    starts with a UTF-8 byte-order mark was 'not a readable model file' (gemmi's CIF parser
    refuses the mark; PDB files with one were read)."""
    from napari_densitybuild.errors import ModelReadError
    from napari_densitybuild.models import atom_table, read_structure

    st = read_structure(_label_only(tmp_path))
    nums = [r.seqid.num for ch in st[0] for r in ch]
    assert None not in nums and len(atom_table(st)) > 500
    water = next(r for ch in st[0] for r in ch if r.name == "HOH")
    assert water.seqid.num >= 1
    with pytest.raises(ModelReadError, match="amino acids without residue numbers"):
        read_structure(_label_only(tmp_path, dots=True))
    marked = tmp_path / "bom.cif"
    marked.write_bytes(b"\xef\xbb\xbf" + (SAMPLE / "sample_model.cif").read_bytes())
    assert len(read_structure(marked)[0][0]) == 70
    junk = tmp_path / "junk.cif"
    junk.write_bytes(b"\xef\xbb\xbfnot a model\n")
    with pytest.raises(ModelReadError, match=r"junk\.cif: (not a readable model file|the model "
                       r"has no atoms)"):  # fmt: skip
        read_structure(junk)


def test_waters_for_a_model_off_the_map_say_so(tmp_path, capsys):
    """``waters`` added waters to another crystal's model without a word, where ``info`` and
    ``classify`` ask whether the model sits in the map."""
    import gemmi

    from napari_densitybuild.cli import main
    from napari_densitybuild.models import read_structure

    st = read_structure(SAMPLE / "sample_model.cif")
    st[0].transform_pos_and_adp(gemmi.Transform(gemmi.Mat33(), gemmi.Vec3(7, 5, 3)))  # off it
    moved = tmp_path / "moved.cif"
    st.make_mmcif_document().write_file(str(moved))
    argv = ["waters", str(SAMPLE / "sample_map.mtz"), str(moved), "--out", str(tmp_path / "w.cif")]
    assert main(argv) == 0
    assert "does the model sit in this map?" in capsys.readouterr().err


def test_a_trailing_comma_in_columns_is_not_a_column():
    """``--columns FWT,PHWT,`` said "no column ''"."""
    from napari_densitybuild.xray_data import read_observed

    assert read_map(SAMPLE / "sample_map.mtz", columns="FWT,PHWT,").resolution is not None
    assert len(read_observed(SAMPLE / "sample_map.mtz", "FP,SIGFP,").fobs) > 1000


def test_residue_names_in_lower_case_are_read_as_their_capitals(tmp_path):
    """``leu`` in a hand-edited PDB file was a residue no one knows (classify: no reference)."""
    from napari_densitybuild.models import backbone_residues, read_structure

    st = read_structure(SAMPLE / "sample_model.cif")
    for res in st[0][0]:
        res.name = res.name.lower()
    lower = tmp_path / "lower.pdb"
    st.write_pdb(str(lower))
    assert " leu B   1" in lower.read_text()
    back = read_structure(lower)
    assert [r.name for r in back[0][0]][:3] == ["LEU", "GLN", "ILE"]
    assert len(backbone_residues(back)[0].ca) == 70
