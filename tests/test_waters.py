"""Ordered waters found at the map's peaks beside a model (waters.py, `densitybuild waters`)."""

from __future__ import annotations

from pathlib import Path

import gemmi
import numpy as np
import pytest
from conftest import model_density, write_mtz
from scipy.spatial import cKDTree

from napari_densitybuild.cli import main
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import atom_table
from napari_densitybuild.symmetry import Symmetry
from napari_densitybuild.waters import (
    CARBON_DISTANCE,
    MIN_SEPARATION,
    WATER_B,
    checked_by_data,
    find_waters,
    with_waters,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_MODEL = ROOT / "sample_data" / "sample_model.cif"


def true_waters(st: gemmi.Structure, n: int = 25, seed: int = 0) -> np.ndarray:
    """Waters 2.8 A out from surface N and O atoms (away from the molecule's centre), clear of
    every atom and of each other, in the sample's cell."""
    atoms = atom_table(st)
    xyz, element = atoms.xyz, atoms.element
    tree, centre = cKDTree(xyz), xyz.mean(0)
    rng = np.random.default_rng(seed)
    polar = np.flatnonzero(np.isin(element, ["N", "O"]))
    out: list[np.ndarray] = []
    for i in rng.permutation(polar):
        u = xyz[i] - centre
        w = xyz[i] + 2.8 * u / np.linalg.norm(u)
        d, j = tree.query(w, k=2)
        if d[0] < 2.7 or any(element[k] == "C" and dk < 3.3 for dk, k in zip(d, j)):
            continue
        if out and np.linalg.norm(np.array(out) - w, axis=1).min() < 3.5:
            continue
        out.append(w)
        if len(out) == n:
            break
    return np.array(out)


@pytest.fixture(scope="module")
def crystal(tmp_path_factory):
    """The sample model, waters put beside it, and the 1.5 A map of both (an MTZ of FWT/PHWT)."""
    st = gemmi.read_structure(str(SAMPLE_MODEL))
    st.remove_hydrogens()
    waters = true_waters(st)
    grid = model_density(with_waters(st, waters, b=15.0), d_min=1.2)
    path = write_mtz(grid, tmp_path_factory.mktemp("waters") / "map.mtz", d_min=1.5)
    return st, waters, path


def test_waters_found_where_they_are(crystal):
    st, waters, path = crystal
    dmap = read_map(path)
    atoms = atom_table(st)
    xyz, element = atoms.xyz, atoms.element
    found = find_waters(dmap, xyz, element)
    sym = Symmetry.of_map(dmap)
    copies = sym.images(waters, box=(found.min(0) - 2, found.max(0) + 2))["xyz"]
    hits = cKDTree(copies).query(found)[0] <= 0.5
    assert hits.sum() >= 0.8 * len(waters)  # most waters found (23 of 25 here) ...
    assert hits.mean() >= 0.9  # ... and few elsewhere
    # none nearer than an H-bond to any atom, or in contact with a carbon, or with each other
    images = sym.images(xyz, box=(found.min(0) - 4, found.max(0) + 4))
    assert cKDTree(images["xyz"]).query(found)[0].min() >= 2.4
    carbon = images["xyz"][element[images["src"]] == "C"]
    assert cKDTree(carbon).query(found)[0].min() >= CARBON_DISTANCE
    pairs = sym.images(found, box=(found.min(0) - 3, found.max(0) + 3))
    nearest = cKDTree(pairs["xyz"]).query(found, k=2)[0][:, 1]
    assert nearest.min() >= MIN_SEPARATION - 1e-6


def test_no_waters_where_the_map_has_none(crystal):
    st, _, _ = crystal
    grid = model_density(st, d_min=1.2)  # the protein alone
    dmap = read_map(write_mtz(grid, Path(crystal[2]).parent / "dry.mtz", d_min=1.5))
    atoms = atom_table(st)
    assert len(find_waters(dmap, atoms.xyz, atoms.element)) <= 2
    assert len(find_waters(dmap, np.zeros((0, 3)), np.array([], dtype=object))) == 0


def test_with_waters_writes_hoh_in_a_chain_of_their_own(tmp_path):
    st = gemmi.read_structure(str(SAMPLE_MODEL))
    out = with_waters(st, np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    chain = out[0][len(out[0]) - 1]
    assert chain.name == "W" and [r.name for r in chain] == ["HOH", "HOH"]
    assert [r.seqid.num for r in chain] == [1, 2]
    assert chain[0][0].b_iso == pytest.approx(WATER_B) and chain[0][0].occ == 1.0
    assert len(st[0]) == len(out[0]) - 1  # the input is not changed
    again = with_waters(out, np.array([[7.0, 8.0, 9.0]]))
    assert again[0][len(again[0]) - 1].name == "X"  # W is taken
    assert len(with_waters(st, np.zeros((0, 3)))[0]) == len(st[0])
    path = tmp_path / "w.cif"
    out.setup_entities()
    out.make_mmcif_document().write_file(str(path))
    assert sum(r.is_water() for ch in gemmi.read_structure(str(path))[0] for r in ch) == 2


def test_cli_waters(crystal, tmp_path, capsys):
    st, waters, path = crystal
    model = tmp_path / "model.cif"
    st.setup_entities()
    st.make_mmcif_document().write_file(str(model))
    out = tmp_path / "with_waters.pdb"
    assert main(["waters", str(path), str(model), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    written = gemmi.read_structure(str(out))
    n = sum(r.is_water() for ch in written[0] for r in ch)
    assert n >= 0.8 * len(waters) and f"{n} waters added" in text
    # bad input: a level of 0, an empty model
    assert main(["waters", str(path), str(model), "--out", str(out), "--level", "0"]) == 2
    assert "--level" in capsys.readouterr().err
    empty = tmp_path / "empty.pdb"
    empty.write_text("CRYST1   10.000   10.000   10.000  90.00  90.00  90.00 P 1\nEND\n")
    assert main(["waters", str(path), str(empty), "--out", str(out)]) == 2
    assert "error" in capsys.readouterr().err


def with_amplitudes(grid: gemmi.FloatGrid, path: Path, d_min: float = 1.5) -> Path:
    """An MTZ of the map's coefficients (FWT/PHWT) and amplitudes as if measured (FP, SIGFP,
    CCP4 free flags FREE, 5 % free)."""
    asu = gemmi.transform_map_to_f_phi(grid).prepare_asu_data(dmin=d_min)
    v = asu.value_array
    free = np.random.default_rng(0).integers(0, 20, len(v))
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup, mtz.cell = grid.spacegroup, grid.unit_cell
    mtz.add_dataset("synthetic")
    for label, kind in (("FWT", "F"), ("PHWT", "P"), ("FP", "F"), ("SIGFP", "Q"), ("FREE", "I")):
        mtz.add_column(label, kind)
    amp = np.abs(v)
    rows = np.column_stack([asu.miller_array, amp, np.angle(v, deg=True), amp, 0.02 * amp, free])
    mtz.set_data(rows.astype(np.float32))
    mtz.write_to_file(str(path))
    return path


def test_waters_kept_only_where_they_lower_r_work(crystal, tmp_path):
    st, waters, _ = crystal
    path = with_amplitudes(model_density(with_waters(st, waters, b=15.0), d_min=1.2),
                           tmp_path / "data.mtz")  # fmt: skip
    kept, note, _ = checked_by_data(path, st, waters)  # the true waters: kept
    assert len(kept) == len(waters) and "with them" in note and "not added" not in note
    rng = np.random.default_rng(1)  # waters where the crystal has none: turned down
    wrong = waters + rng.normal(0.0, 1.0, waters.shape) * 2.0
    kept, note, _ = checked_by_data(path, st, wrong)
    assert len(kept) == 0 and note.startswith("waters not added")
    # a map file without amplitudes: kept, nothing said
    kept, note, _ = checked_by_data(crystal[2], st, wrong)
    assert len(kept) == len(wrong) and note is None


def test_session_waters_replace_the_last_ones_and_keep_the_model_s_own():
    from napari_densitybuild.kept_parts import KEPT
    from napari_densitybuild.waters import FOUND_CHAIN, session_waters

    own = [[0.0, 0.0, 0.0, "W", 1, "", "HOH", "O", "O", 22.0, 1.0],  # the model's own water
           [1.0, 1.0, 1.0, "B", 5, "", "SO4", "S", "S", 30.0, 1.0]]  # fmt: skip
    meta = {KEPT: own}
    meta.update(session_waters(meta, {"A"}, np.array([[5.0, 5.0, 5.0], [9.0, 9.0, 9.0]])))
    assert meta[FOUND_CHAIN] == "X"  # W is the model's own waters' chain
    assert len(meta[KEPT]) == 4 and meta[KEPT][:2] == own
    assert [r[3:7] for r in meta[KEPT][2:]] == [["X", 1, "", "HOH"], ["X", 2, "", "HOH"]]
    meta.update(session_waters(meta, {"A"}, np.array([[7.0, 7.0, 7.0]])))  # found again
    assert len(meta[KEPT]) == 3 and meta[KEPT][2][:3] == [7.0, 7.0, 7.0]
    meta.update(session_waters(meta, {"A"}, np.zeros((0, 3))))  # taken out
    assert meta[KEPT] == own and meta[FOUND_CHAIN] is None


def test_info_counts_the_waters_a_model_lacks(crystal, tmp_path, capsys):
    st, waters, path = crystal
    for model, name in ((st, "dry.cif"), (with_waters(st, waters), "wet.cif")):
        model.setup_entities()
        model.make_mmcif_document().write_file(str(tmp_path / name))
    assert main(["info", str(path), str(tmp_path / "dry.cif"), "--blobs", "0"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "look like waters" in x)
    assert int(line.split()[0]) >= 0.8 * len(waters) and "(0 waters in the model;" in line
    assert main(["info", str(path), str(tmp_path / "wet.cif"), "--blobs", "0"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "look like waters" in x)
    assert int(line.split()[0]) <= 2 and f"({len(waters)} waters in the model;" in line
