"""Bad input found by a hunt through the readers and the command line: each gives one clear
line and exit code 2, not a traceback, a memory error or a NaN result, and no input is lost."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import gemmi
import mrcfile
import numpy as np
import pytest

from napari_densitybuild.cli import main
from napari_densitybuild.errors import MapReadError, ModelReadError
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_model

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
DATA = np.random.default_rng(0).normal(size=(20, 22, 24)).astype(np.float32)


def mrc(path: Path, data: np.ndarray = DATA, **header) -> Path:
    with mrcfile.new(str(path), overwrite=True) as m:
        m.set_data(np.asarray(data, dtype=np.float32))
        m.voxel_size = 1.0
        for key, value in header.items():
            setattr(m.header, key, value)
    return path


def patch(path: Path, offset: int, fmt: str, *values) -> Path:
    """Overwrite header words (byte ``offset``) of an MRC file."""
    raw = bytearray(path.read_bytes())
    raw[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, *values)
    path.write_bytes(bytes(raw))
    return path


def one_line_error(argv: list[str], capsys) -> str:
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


# -- maps ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ispg", [1, 19], ids=["cryo-EM", "crystal"])
def test_huge_header_cell_sampling_is_refused_not_allocated(tmp_path, ispg, capsys):
    """A small box whose header says its cell is 5000^3 grid points (MX, MY, MZ): the reader
    made a whole-cell array of that size (a 466 GiB MemoryError traceback)."""
    path = mrc(tmp_path / "m.mrc", mx=5000, my=5000, mz=5000, ispg=ispg)
    with pytest.raises(MapReadError, match="MX, MY, MZ"):
        read_map(path)
    assert "5000x5000x5000" in one_line_error(["info", path], capsys)


def test_volume_stack_is_refused(tmp_path, capsys):
    """An MRC volume stack (ISPG 401, 4-D data) raised 'ValueError: axes don't match array'."""
    path = tmp_path / "stack.mrc"
    with mrcfile.new(str(path)) as m:
        m.set_data(np.random.default_rng(1).normal(size=(2, 10, 10, 10)).astype(np.float32))
    with pytest.raises(MapReadError, match="stack of 2 volumes"):
        read_map(path)
    one_line_error(["info", path], capsys)


BAD_CELLS = {
    "angles 170 170 170": (52, "<3f", 170.0, 170.0, 170.0),
    "angles 120 120 120 (flat)": (52, "<3f", 120.0, 120.0, 120.0),
    "NaN length": (40, "<f", float("nan")),
    "infinite length": (40, "<3f", float("inf"), 10.0, 10.0),
}


@pytest.mark.parametrize("case", BAD_CELLS)
def test_mrc_with_impossible_cell_is_refused(tmp_path, case, capsys):
    """No cell has these edges or angles: the map was read and the density at a model's atoms
    came out NaN, or every atom 'outside the map'."""
    path = patch(mrc(tmp_path / "m.mrc"), *BAD_CELLS[case])
    with pytest.raises(MapReadError, match="impossible unit cell"):
        read_map(path)
    one_line_error(["info", path], capsys)


def test_mtz_with_impossible_cell_blames_the_cell(tmp_path):
    """The map of an MTZ with cell angles 170, 170, 170 was said to 'hold NaN values'."""
    m = gemmi.Mtz(with_base=True)
    m.spacegroup = gemmi.SpaceGroup("P 1")
    m.set_cell_for_all(gemmi.UnitCell(30, 40, 50, 170, 170, 170))
    m.add_dataset("x")
    m.add_column("FWT", "F")
    m.add_column("PHWT", "P")
    rows = [[1, 2, 3, 10, 0], [2, 0, 1, 20, 90], [0, 0, 2, 30, 180]]
    m.set_data(np.array(rows, dtype=np.float32))
    m.write_to_file(str(tmp_path / "c.mtz"))
    with pytest.raises(MapReadError, match="impossible unit cell"):
        read_map(tmp_path / "c.mtz")


def gemmi_file(path: Path, edges: tuple[float, ...], data: np.ndarray = DATA) -> Path:
    """A map (CCP4/MRC, by the suffix) or MTZ map coefficients written by gemmi with the cell
    ``edges`` (a, b, c; angles 90)."""
    cell = gemmi.UnitCell(*edges, 90, 90, 90)
    if path.suffix == ".mtz":
        m = gemmi.Mtz(with_base=True)
        m.spacegroup = gemmi.SpaceGroup("P 1")
        m.set_cell_for_all(cell)
        m.add_dataset("x")
        m.add_column("FWT", "F")
        m.add_column("PHWT", "P")
        m.set_data(np.array([[1, 2, 3, 10, 0], [2, 0, 1, 20, 90], [0, 0, 2, 30, 180]], "f4"))
        m.write_to_file(str(path))
        return path
    ccp4 = gemmi.Ccp4Map()
    ccp4.grid = gemmi.FloatGrid(np.ascontiguousarray(data.T), cell, gemmi.SpaceGroup("P 1"))
    ccp4.update_ccp4_header()
    ccp4.write_ccp4_map(str(path))
    return path


ABSURD_EDGES = {"1e30 A": (1e30,) * 3, "1e-6 A": (1e-6,) * 3, "a 1e5 A": (1e5, 40, 50),
                "0.5 A": (0.5,) * 3}  # fmt: skip


@pytest.mark.parametrize("suffix", [".mrc", ".ccp4", ".map", ".mtz"])
@pytest.mark.parametrize("case", ABSURD_EDGES)
def test_absurd_but_finite_cell_edges_are_refused(tmp_path, case, suffix, capsys):
    """A header with cell edges of 1e30 A or 1e-6 A was read (CCP4/MRC: 'cell 1000000015047466
    219876688855040.00 ...'; MTZ: the map of a 1e30 A cell was 'flat (every value nan)'),
    leaving later code to allocate or compute nonsense."""
    path = gemmi_file(tmp_path / f"m{suffix}", ABSURD_EDGES[case])
    with pytest.raises(MapReadError, match="impossible unit cell"):
        read_map(path)
    assert "impossible unit cell" in one_line_error(["info", path], capsys)


@pytest.mark.parametrize(
    "edges, shape, fragment",
    [((3000, 3000, 3000), (20, 22, 24), "voxels of 125 x 136 x 150 A"),
     ((5, 30, 30), (30, 30, 2000), "voxels of 0.0025 x 1 x 1 A")],
    ids=["150 A voxels", "0.0025 A voxels"],
)  # fmt: skip
def test_a_voxel_spacing_no_map_has_is_refused(tmp_path, edges, shape, fragment, capsys):
    """Possible cells over a grid whose voxels are 150 A or 0.0025 A apart were read as maps."""
    path = gemmi_file(tmp_path / "m.mrc", edges, np.ones(shape, "f4") + DATA.flat[: shape[2]])
    with pytest.raises(MapReadError, match=fragment):
        read_map(path)
    assert fragment in one_line_error(["info", path], capsys)


@pytest.mark.parametrize("ispg", [1, 19], ids=["cryo-EM", "crystal"])
@pytest.mark.parametrize("origin", [1e30, 1e12])
def test_mrc_origin_far_beyond_any_map_is_refused(tmp_path, ispg, origin, capsys):
    """A crystal map whose header ORIGIN is 1e30 A was read, and every atom of a model then
    sampled the same garbage point (1e30 A - 1e30 A): 'mean density -0.65 sigma'."""
    path = mrc(tmp_path / "m.mrc", ispg=ispg, origin=(origin, origin, origin))
    with pytest.raises(MapReadError, match=r"ORIGIN .* lies over 100,000 A from 0"):
        read_map(path)
    one_line_error(["info", path, SAMPLE / "sample_model.cif"], capsys)


@pytest.mark.parametrize("start", [2_000_000_000, -2_000_000_000])
def test_mrc_start_far_beyond_any_map_is_refused(tmp_path, start, capsys):
    """A cryo-EM box whose NXSTART, NYSTART, NZSTART put its data 2e9 A from 0 was read (every
    model 'outside the map', coordinates there beyond float32's sub-Angstrom detail)."""
    path = mrc(tmp_path / "m.mrc", nxstart=start, nystart=start, nzstart=start)
    with pytest.raises(MapReadError, match="over 100,000 A from 0"):
        read_map(path)
    assert "NXSTART" in one_line_error(["info", path], capsys)


def sample_mtz_with(path: Path, column: str, value: float) -> Path:
    """The sample map's MTZ with every value of ``column`` set to ``value`` (NaN: missing)."""
    m = gemmi.read_mtz_file(str(SAMPLE / "sample_map.mtz"))
    data = np.array(m, copy=True)
    data[:, [c.label for c in m.columns].index(column)] = value
    m.set_data(data.astype(np.float32))
    m.write_to_file(str(path))
    return path


@pytest.mark.parametrize(
    "column, value, fragment",
    [("FWT", np.nan, "no reflection has both an amplitude and a phase (0 of 16760 amplitudes"),
     ("PHWT", np.nan, "no reflection has both an amplitude and a phase (16760 of 16760 "
      "amplitudes and 0 phases"),
     ("FWT", 0.0, "every amplitude of the 16760 reflections with a phase is 0")],
    ids=["amplitudes missing", "phases missing", "amplitudes 0"],
)  # fmt: skip
def test_mtz_coefficients_without_a_map_say_so(tmp_path, column, value, fragment, capsys):
    """An MTZ whose amplitudes or phases are all missing (NaN), or whose amplitudes are all 0,
    was reported as 'the map is flat (every value 0)', not as the columns' fault."""
    path = sample_mtz_with(tmp_path / "m.mtz", column, value)
    with pytest.raises(MapReadError, match="columns FWT/PHWT hold no map") as info:
        read_map(path)
    assert fragment in str(info.value)
    assert fragment in one_line_error(["info", path], capsys)


# -- models ----------------------------------------------------------------------------------


def pdb_atoms() -> list[str]:
    st = gemmi.read_structure(str(SAMPLE / "sample_model.cif"))
    st.setup_entities()
    return [line for line in st.make_pdb_string().splitlines() if line.startswith("ATOM")]


def test_model_with_nan_coordinates_is_refused(tmp_path, capsys):
    """An atom with 'nan' coordinates was read: ``classify`` ended in 'ValueError: arange:
    cannot compute length', ``info`` printed 'mean density nan sigma'."""
    atoms = pdb_atoms()
    atoms[5] = atoms[5][:30] + "     nan     nan     nan" + atoms[5][54:]
    path = tmp_path / "nan.pdb"
    path.write_text("\n".join(atoms) + "\nEND\n")
    with pytest.raises(ModelReadError, match="NaN"):
        read_model(path)
    out = tmp_path / "p.json"
    err = one_line_error(
        ["classify", SAMPLE / "sample_map.mtz", "--boxes-from", path, "--out", out], capsys
    )
    assert "nan.pdb" in err and not out.exists()


@pytest.mark.parametrize("far", [1e30, 1e12])
def test_model_with_coordinates_far_beyond_any_map_is_refused(tmp_path, far, capsys):
    """An mmCIF atom at (1e30, 1e30, 1e30) A was read: ``classify`` cut its residue's box at a
    point no map has and 'classified' it, ``info`` counted it in the mean density."""
    st = gemmi.read_structure(str(SAMPLE / "sample_model.cif"))
    st[0][0][0][0].pos = gemmi.Position(far, far, far)
    path = tmp_path / "far.cif"
    st.make_mmcif_document().write_file(str(path))
    with pytest.raises(ModelReadError, match=r"1 atom.* over 100,000 A from 0"):
        read_model(path)
    out = tmp_path / "p.json"
    err = one_line_error(
        ["classify", SAMPLE / "sample_map.mtz", "--boxes-from", path, "--out", out], capsys
    )
    assert "far.cif" in err and not out.exists()


def test_gemmi_message_of_several_lines_is_one_line(tmp_path, capsys):
    """gemmi's error for a cut-off PDB line quotes the line on a line of its own: the CLI
    printed three lines."""
    path = tmp_path / "short.pdb"
    path.write_text("\n".join(a[:40] for a in pdb_atoms()) + "\nEND\n")
    err = one_line_error(["info", SAMPLE / "sample_map.mtz", path], capsys)
    assert "short.pdb: not a readable model file" in err


def waters_only(path: Path) -> Path:
    """A PDB file of five waters and no protein."""
    lines = [f"HETATM{k:5d}  O   HOH W{k:4d}    {10.0 + k:8.3f}{10.0:8.3f}{10.0:8.3f}  1.00 20.00"
             "           O" for k in range(1, 6)]  # fmt: skip
    path.write_text("\n".join(lines) + "\nEND\n")
    return path


@pytest.mark.parametrize(
    "task, role", [("place", "reference"), ("build", "reference"), ("build", "built")]
)
def test_evaluate_refuses_a_model_with_no_residue_to_score(tmp_path, task, role, capsys):
    """``evaluate`` scored a reference model of waters only as 'deposited 0', recall 0.000 (over
    no residues), and a --built one as 'built 0' with Ramachandran outliers and bond RMSZ 'nan'."""
    waters = waters_only(tmp_path / "waters.pdb")
    model = SAMPLE / "sample_model.cif"
    argv = ["evaluate", "--task", task, "--map", SAMPLE / "sample_map.mtz", "--device", "cpu",
            "--model", waters if role == "reference" else model]  # fmt: skip
    if task == "build":
        argv += ["--built", waters if role == "built" else model]
    err = one_line_error(argv, capsys)
    assert f"{waters}: the {role} model has no amino-acid residue with N, CA and C" in err
    assert "(5 not amino acid)" in err


def test_a_sequence_of_unknown_residues_only_is_refused(tmp_path, capsys):
    """A FASTA file whose protein record is all X was built with: nothing aligned, and the note
    asked whether the sequence was this map's protein."""
    from napari_densitybuild.sequence import protein_sequences

    path = tmp_path / "x.fasta"
    path.write_text(">unknown\n" + "X" * 70 + "\n")
    out = tmp_path / "m.cif"
    err = one_line_error(
        ["build", SAMPLE / "sample_map.mtz", "--sequence", path, "--out", out, "--device", "cpu"],
        capsys,
    )
    assert "no protein sequence has a known amino acid (only X)" in err and not out.exists()
    path.write_text(">a\nXXXBZ\n>b\nLQIFVKTLTGK\n")  # with a real one: left out with a note
    notes: list[str] = []
    assert protein_sequences(path, notes.append) == ["LQIFVKTLTGK"]
    assert notes == [f"sequence 'a' of {path} has no known amino acid (only BXZ): left out of "
                     "the alignment"]  # fmt: skip


# -- outputs that are inputs -----------------------------------------------------------------


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    files = {"map": tmp_path / "map.mtz", "model": tmp_path / "model.cif"}
    shutil.copy(SAMPLE / "sample_map.mtz", files["map"])
    shutil.copy(SAMPLE / "sample_model.cif", files["model"])
    files["fasta"] = tmp_path / "seq.fasta"
    shutil.copy(SAMPLE / "sample_sequence.fasta", files["fasta"])
    return files


# argv (tmp_path t, files) -> the input file that must survive, and the message fragment
SAME_FILES = {
    "classify --out the model": (
        "classify {map} --boxes-from {model} --out {model}",
        "model",
        "--boxes-from",
    ),
    "classify --out the map": ("classify {map} --boxes-from {model} --out {map}", "map", "map"),
    "place --report the map": ("place {map} --out {t}/ca.cif --report {map}", "map", "map"),
    "build --report the sequence": (
        "build {t}/missing.mtz --sequence {fasta} --out {t}/o.cif --report {fasta}",
        "fasta",
        "--sequence",
    ),
    "build --report the --out": (
        "build {t}/missing.mtz --out {t}/o.cif --report {t}/./o.cif",
        None,
        "--out",
    ),
}


@pytest.mark.parametrize("case", SAME_FILES)
def test_an_output_that_is_an_input_is_refused_before_any_work(case, tmp_path, inputs, capsys):
    """``classify --out`` given the model's own name wrote the JSON over the model; ``build``
    and ``place`` would write their report over the map, the sequence, or the model just
    built."""
    argv, kept, fragment = SAME_FILES[case]
    before = {k: p.read_bytes() for k, p in inputs.items()}
    args = argv.format(t=tmp_path, **inputs).split()
    err = one_line_error(args, capsys)
    assert "would overwrite" in err and fragment in err
    assert {k: p.read_bytes() for k, p in inputs.items()} == before
    assert not (tmp_path / "ca.cif").exists() and not (tmp_path / "o.cif").exists()
    assert kept is None or inputs[kept].exists()


@pytest.mark.parametrize("out", ["afile", "afile/sub"])
def test_train_out_an_existing_file_is_refused(tmp_path, out, capsys):
    """``train --out`` naming a file (or a folder under one) ended in FileExistsError or
    NotADirectoryError tracebacks from mkdir."""
    (tmp_path / "afile").write_text("keep me\n")
    err = one_line_error(
        ["train", "--out", tmp_path / out, "--cache", tmp_path / "cache", "--steps", "1"], capsys
    )
    assert "not a folder" in err
    assert (tmp_path / "afile").read_text() == "keep me\n"


@pytest.mark.parametrize(
    "argv",
    [["info", "{d}"], ["info", "{map}", "{d}"], ["classify", "{map}", "--boxes-from", "{d}",
                                                   "--out", "{t}/p.json"]],
    ids=["map", "model", "boxes-from"],
)  # fmt: skip
def test_a_folder_given_as_a_map_or_model_is_called_a_folder(tmp_path, argv, capsys):
    """A folder given where a map or model file goes was reported as 'no such file'."""
    folder = tmp_path / "1cbs.mtz"
    folder.mkdir()
    args = [a.format(d=folder, map=SAMPLE / "sample_map.mtz", t=tmp_path) for a in argv]
    err = one_line_error(args, capsys)
    assert f"{folder}: a folder, not a" in err
