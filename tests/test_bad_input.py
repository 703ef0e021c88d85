"""Bad input gives one clear message in the core, in napari (a notification) and on the CLI."""

from __future__ import annotations

import gzip
import struct
import time
import tracemalloc

import gemmi
import mrcfile
import numpy as np
import pytest

from napari_densitybuild import cli
from napari_densitybuild._napari._reader import NO_LAYERS, get_reader
from napari_densitybuild.errors import MapReadError, ModelReadError
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import is_model_path, read_model

RNG = np.random.default_rng(0)
DATA = RNG.normal(size=(20, 22, 24)).astype(np.float32)


def mrc(path, data=DATA):
    with mrcfile.new(str(path), overwrite=True) as m:
        m.set_data(np.asarray(data, dtype=np.float32))
        m.voxel_size = 1.0
    return path


def mtz(path, columns=(("FWT", "F"), ("PHWT", "P")), values=None, cell=(30, 40, 50, 90, 90, 90),
        hkl=((1, 2, 3), (2, 0, 1), (0, 0, 2))):  # fmt: skip
    m = gemmi.Mtz(with_base=True)
    m.spacegroup = gemmi.SpaceGroup("P 21 21 21")
    m.set_cell_for_all(gemmi.UnitCell(*cell))
    m.add_dataset("x")
    for label, kind in columns:
        m.add_column(label, kind)
    hkl = np.array(hkl, dtype=float)
    values = np.array([[10.0, 0.0], [20.0, 90.0], [30.0, 180.0]]) if values is None else values
    m.set_data(np.column_stack([hkl, values]).astype(np.float32))
    m.write_to_file(str(path))
    return path


def truncated(path):
    raw = mrc(path).read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path


def huge_header(path):
    """A small file whose header claims a 4000^3 grid."""
    raw = bytearray(mrc(path).read_bytes())
    raw[0:12] = struct.pack("<3i", 4000, 4000, 4000)  # NX, NY, NZ
    raw[28:40] = struct.pack("<3i", 4000, 4000, 4000)  # MX, MY, MZ
    path.write_bytes(bytes(raw))
    return path


def with_value(value):
    def make(path):
        data = DATA.copy()
        data[3, 4, 5] = value
        return mrc(path, data)

    return make


# name -> (file name, maker, error class, fragment the message must contain)
CASES = {
    "truncated mrc": ("t.mrc", truncated, MapReadError, "not a readable MRC/CCP4 map"),
    "random bytes": ("r.mrc", lambda p: p.write_bytes(RNG.bytes(5000)) and p, MapReadError,
                     "not a readable MRC/CCP4 map"),
    "text named .map": ("t.map", lambda p: p.write_text("not a map\n" * 50) and p, MapReadError,
                        "not a readable MRC/CCP4 map"),
    "empty file": ("e.ccp4", lambda p: p.write_bytes(b"") or p, MapReadError, "the file is empty"),
    "nan": ("n.mrc", with_value(np.nan), MapReadError, "NaN or infinite"),
    "inf": ("i.mrc", with_value(np.inf), MapReadError, "NaN or infinite"),
    "flat": ("f.mrc", lambda p: mrc(p, np.full_like(DATA, 0.3)), MapReadError, "flat"),
    "huge mrc": ("h.mrc", huge_header, MapReadError, "4000x4000x4000"),
    "mtz without map columns": ("x.mtz",
                                lambda p: mtz(p, (("FP", "F"), ("SIGFP", "Q")), [[10, 1]] * 3),
                                MapReadError, "The file has: H (H), K (H), L (H), FP (F), SIGFP"),
    "mtz with inf": ("i.mtz", lambda p: mtz(p, values=[[10, 0], [np.inf, 90], [30, 180]]),
                     MapReadError, "NaN or infinite"),
    "huge mtz": ("h.mtz", lambda p: mtz(p, cell=(4000,) * 3 + (90,) * 3,
                                        hkl=((1, 2, 3), (2, 0, 1), (0, 0, 4000))),
                 MapReadError, "GiB"),
    "text named .mtz": ("t.mtz", lambda p: p.write_text("hello\n" * 50) and p, MapReadError,
                        "not a readable MTZ file"),
    "empty model pdb": ("e.pdb", lambda p: p.write_text("HEADER    none\nEND\n") and p,
                        ModelReadError, "no atoms"),
    "empty model cif": ("e.cif", lambda p: p.write_text("data_x\n_cell.length_a 10\n") and p,
                        ModelReadError, "no atoms"),
    "garbage cif": ("g.cif", lambda p: p.write_text("(((( garbage\n") and p, ModelReadError,
                    "not a readable model file"),
    # gemmi raised a bare C++ "IndexError: vector::_M_range_check" for a CIF without data blocks
    "empty cif": ("e.cif", lambda p: p.write_bytes(b"") or p, ModelReadError, "no atoms"),
    "empty cif.gz": ("e.cif.gz", lambda p: p.write_bytes(gzip.compress(b"")) or p,
                     ModelReadError, "no atoms"),
    "comment-only mmcif": ("c.mmcif", lambda p: p.write_text("# nothing here\n\n") and p,
                           ModelReadError, "no atoms"),
}  # fmt: skip


@pytest.fixture(params=list(CASES))
def bad(request, tmp_path):
    name, make, error, fragment = CASES[request.param]
    path = tmp_path / name
    make(path)
    return path, error, fragment


def read_any(path):
    return read_model(path) if error_is_model(path) else read_map(path)


def error_is_model(path) -> bool:
    return is_model_path(path)


def test_core_raises_clear_error(bad):
    path, error, fragment = bad
    with pytest.raises(error) as info:
        read_any(path)
    assert fragment in str(info.value)
    assert path.name in str(info.value)


def test_reader_notifies_and_adds_nothing(bad):
    from napari.utils.notifications import notification_manager

    path, _, fragment = bad
    reader = get_reader(str(path))
    assert reader is not None
    before = len(notification_manager.records)
    assert reader(str(path)) == NO_LAYERS
    messages = [str(n.message) for n in notification_manager.records[before:]]
    assert any(fragment in m and path.name in m for m in messages), messages


def test_cli_prints_one_line_and_exits_2(bad, tmp_path, capsys):
    path, _, fragment = bad
    args = ["info", str(mrc(tmp_path / "good.mrc")), str(path)] if error_is_model(path) else [
        "info", str(path)]  # fmt: skip
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("densitybuild info: error: "), err
    assert fragment in err[0]


def test_cli_subprocess(tmp_path):
    """The installed console entry point behaves the same (exit code 2, one line)."""
    import subprocess
    import sys

    bad = tmp_path / "bad.mrc"
    bad.write_text("nope")
    code = "import sys; from napari_densitybuild.cli import main; sys.exit(main())"
    run = subprocess.run([sys.executable, "-c", code, "info", str(bad)], capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip().startswith("densitybuild info: error: ")
    assert len(run.stderr.strip().splitlines()) == 1


def test_huge_map_refused_without_allocating(tmp_path):
    path = huge_header(tmp_path / "huge.mrc")
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(MapReadError, match=r"238\.4 GiB"):
        read_map(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50e6 and time.perf_counter() - t0 < 5


@pytest.mark.parametrize(
    "arg",
    ["dir", "list-mixed", None, 42, b"x.mrc", "x.txt", "x.tif", [], "nonexistent-folder/"],
)
def test_get_reader_never_raises(tmp_path, arg):
    if arg == "dir":
        (tmp_path / "maps.map").mkdir()
        arg = str(tmp_path / "maps.map")
    elif arg == "list-mixed":
        arg = [str(tmp_path / "a.mrc"), str(tmp_path / "b.tif")]
    assert get_reader(arg) is None


def test_get_reader_claims_map_and_model_names(tmp_path):
    for name in ["a.mtz", "a.ccp4", "a.MAP", "a.mrc", "a.mrc.gz", "a.pdb", "a.cif", "a.ent.gz"]:
        assert get_reader(str(tmp_path / name)) is not None, name
    assert get_reader([str(tmp_path / "a.mtz"), str(tmp_path / "a.pdb")]) is not None


def test_a_map_in_tiny_or_huge_units_is_read_not_called_flat(tmp_path):
    """Only the spread relative to the values says flat: a map stored in units of 1e-30 (or
    1e6) is the same map in sigma units."""
    want = read_map(mrc(tmp_path / "one.mrc")).sample_points(np.array([[3.0, 4.0, 5.0]]))
    for scale in (1e-30, 1e6):
        got = read_map(mrc(tmp_path / f"{scale:g}.mrc", DATA * np.float32(scale)))
        np.testing.assert_allclose(got.sample_points(np.array([[3.0, 4.0, 5.0]])), want,
                                   rtol=1e-4)  # fmt: skip


def test_a_folder_given_as_sequence_is_called_a_folder(tmp_path):
    from napari_densitybuild.errors import DensityBuildError
    from napari_densitybuild.sequence import read_fasta

    with pytest.raises(DensityBuildError, match="a folder, not a sequence file"):
        read_fasta(tmp_path)


@pytest.mark.parametrize("density", [False, True])
def test_nan_in_a_zero_padded_em_map_is_counted_over_the_whole_map(tmp_path, density):
    """NaN in a zero-padded cryo-EM box was counted over its non-zero voxels only ('1 of 1
    values are NaN'); the message counts the whole map, and the map is still refused."""
    data = np.zeros_like(DATA)
    if density:
        data[5:15, 5:15, 5:15] = DATA[5:15, 5:15, 5:15]
    data[0, 0, :3] = np.nan
    with pytest.raises(MapReadError, match=f"3 of {DATA.size:,} voxels are NaN or infinite"):
        read_map(mrc(tmp_path / "n.mrc", data))
