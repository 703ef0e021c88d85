"""R factors and model-phased maps against measured amplitudes (model_maps, xray_data).

The synthetic crystal: "measured" amplitudes computed from the sample's true model with a bulk
solvent, a scale and 3 % noise; models with atoms removed or moved must then show it in R and
in the difference map, where a crystallographer looks for it.
"""

from __future__ import annotations

from pathlib import Path

import gemmi
import numpy as np
import pytest
from conftest import model_density, real_model_path

from napari_densitybuild.errors import DensityBuildError, MapReadError
from napari_densitybuild.maps import read_map
from napari_densitybuild.model_maps import (
    FLAT_B,
    fit_model,
    map_coefficients,
    model_map,
    model_structure_factors,
    prepared_structure,
    write_coefficients,
)
from napari_densitybuild.models import atom_table
from napari_densitybuild.xray_data import ObservedData, free_set_of, read_observed

SAMPLE = Path(__file__).parent.parent / "sample_data" / "sample_model.cif"
D_MIN = 1.8


def true_model(spacegroup: str = "P 1", cell: tuple | None = None) -> gemmi.Structure:
    st = gemmi.read_structure(str(SAMPLE))
    st.remove_ligands_and_waters()
    if cell is not None:
        st.cell = gemmi.UnitCell(*cell)
    st.spacegroup_hm = gemmi.SpaceGroup(spacegroup).hm
    st.setup_entities()
    return st


def measured_mtz(st: gemmi.Structure, path: Path, flags: str = "ccp4", noise: float = 0.03) -> Path:
    """Amplitudes of ``st`` with bulk solvent (k_sol 0.35, B_sol 46), scale 0.8 and noise,
    written as FP/SIGFP and a free flag column (CCP4: 0-19, 0 free; Phenix: 0/1, 1 free), with
    the true model's map as FWT/PHWT."""
    grid = model_density(st, D_MIN)
    asu = gemmi.transform_map_to_f_phi(grid).prepare_asu_data(dmin=D_MIN)
    hkl = asu.miller_array
    empty = np.zeros(len(hkl))
    stub = ObservedData(hkl.astype(np.int32), empty + 1, empty, empty.astype(bool), st.cell,
                        gemmi.SpaceGroup(st.spacegroup_hm), D_MIN, ("FP", "SIGFP"))  # fmt: skip
    fc, fmask = model_structure_factors(prepared_structure(st, stub, "model")[0], stub)
    stol2 = st.cell.calculate_1_d2_array(hkl.astype(float)) / 4
    rng = np.random.default_rng(0)
    f = 0.8 * np.abs(fc + 0.35 * np.exp(-46 * stol2) * fmask)
    f *= 1 + noise * rng.standard_normal(len(f))
    number = rng.integers(0, 20, len(f))
    flag = number if flags == "ccp4" else (number == 0).astype(int)
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = gemmi.SpaceGroup(st.spacegroup_hm)
    mtz.set_cell_for_all(st.cell)
    mtz.add_dataset("synthetic")
    for label, kind in (("FP", "F"), ("SIGFP", "Q"), ("FREE", "I"), ("FWT", "F"), ("PHWT", "P")):
        mtz.add_column(label, kind)
    # and the true model's map as 2mFo-DFc coefficients, as a refinement program writes both
    v = asu.value_array
    rows = [hkl, f, noise * f + 0.1, flag, np.abs(v), np.angle(v, deg=True)]
    mtz.set_data(np.column_stack(rows).astype(np.float32))
    mtz.write_to_file(str(path))
    return path


def side_chain(st: gemmi.Structure, name: str = "ARG") -> tuple[gemmi.Residue, list[str]]:
    res = next(r for ch in st[0] for r in ch if r.name == name)
    return res, [a.name for a in res if a.name not in ("N", "CA", "C", "O", "CB")]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> ObservedData:
    return read_observed(measured_mtz(true_model(), tmp_path_factory.mktemp("x") / "obs.mtz"))


def test_the_true_model_fits_and_its_bulk_solvent_is_found(data):
    fit = fit_model(true_model(), data)
    assert fit.b_factors == "model" and fit.atoms == 559 - 0
    assert fit.r_work < 0.04 and fit.r_free is not None and fit.r_free < 0.05
    assert abs(fit.k_sol - 0.35) < 0.1
    assert 0.04 < fit.n_free / (fit.n_work + fit.n_free) < 0.06  # CCP4 flag 0 of 0-19
    assert "R-free" in fit.summary() and "FP/SIGFP/FREE" in fit.summary()


def test_a_missing_side_chain_is_a_positive_peak_and_raises_r(data):
    st = true_model()
    res, gone = side_chain(st)
    xyz = np.array([[a.pos.x, a.pos.y, a.pos.z] for a in res if a.name in gone])
    for name in gone:
        res.remove_atom(name, " ")
    fit = fit_model(st, data)
    assert fit.r_work > fit_model(true_model(), data).r_work + 0.01
    diff = model_map(fit, difference=True)
    at = diff.sample_points(xyz)
    assert at.mean() > 3.0, at
    assert model_map(fit).sample_points(xyz).mean() > 1.0  # 2mFo-DFc shows what is missing
    values = np.array(diff.grid, copy=False)
    peak = np.unravel_index(np.argmax(values), values.shape)
    pos = diff.grid.get_position(*map(int, peak))
    nearest = min(st.cell.find_nearest_image(gemmi.Position(*p), pos).dist() for p in xyz)
    assert nearest < 1.5, f"highest peak {values.max():.1f} sigma is {nearest:.1f} A away"


def test_moved_atoms_are_negative_where_they_are_and_positive_where_they_belong(data):
    st = true_model()
    res, moved = side_chain(st, "LYS")
    true_xyz = np.array([[a.pos.x, a.pos.y, a.pos.z] for a in res if a.name in moved])
    for a in res:
        if a.name in moved:
            a.pos = a.pos + gemmi.Position(1.6, 0.0, 0.0)
    diff = model_map(fit_model(st, data), difference=True)
    assert diff.sample_points(true_xyz + np.array([1.6, 0.0, 0.0])).mean() < -2.5
    assert diff.sample_points(true_xyz).mean() > 2.5


def test_the_2fofc_map_of_a_good_model_is_the_crystal_density(data):
    fit = fit_model(true_model(), data)
    two, truth = model_map(fit), model_density(true_model(), D_MIN)
    st = true_model()
    frac = np.random.default_rng(1).uniform(0, 1, (20000, 3))
    xyz = frac @ np.array(st.cell.orth.mat, dtype=float).T
    at = two.sample_points(xyz), np.asarray(truth.interpolate_position_array(xyz))
    assert np.corrcoef(*at)[0, 1] > 0.85  # the truth here has no bulk solvent
    _, _, sigmaa = map_coefficients(fit)
    assert sigmaa.min() > 0.8  # a right model: sigmaA high at every resolution


def test_confidence_b_columns_are_taken_as_one_b(data):
    st = true_model()
    for ch in st[0]:
        for k, res in enumerate(ch):
            for a in res:
                a.b_iso = 50.0 + k % 40  # one value per residue, as a build writes them
    assert prepared_structure(st, data)[1] == "flat"
    fit = fit_model(st, data)
    assert fit.b_factors == "flat" and f"one B ({FLAT_B:.0f} A^2)" in fit.summary()
    assert fit_model(st, data, b_factors="model").b_factors == "model"
    assert fit_model(true_model(), data, b_factors="flat").r_work < 0.1


def test_free_flag_conventions():
    ccp4 = np.arange(40) % 20
    assert np.flatnonzero(free_set_of(ccp4.astype(float))).tolist() == [0, 20]
    phenix = np.array([0.0] * 18 + [1.0] * 2)
    assert free_set_of(phenix).sum() == 2 and free_set_of(phenix)[-1]
    ccp4_two = 1.0 - phenix  # CCP4 0/1: 0 the free set
    assert free_set_of(ccp4_two).tolist() == phenix.astype(bool).tolist()
    assert not free_set_of(np.zeros(10)).any()
    assert not free_set_of(np.array([np.nan, 0.0, 1.0, 1.0]))[0]


def test_phenix_flags_and_the_round_trip_through_an_mtz(tmp_path):
    data = read_observed(measured_mtz(true_model(), tmp_path / "p.mtz", flags="phenix"))
    assert 0.03 < data.free.mean() < 0.07
    fit = fit_model(true_model(), data)
    out = write_coefficients(fit, tmp_path / "model_maps.mtz")
    two, diff = read_map(out), read_map(out, difference=True)
    assert two.info["columns"] == ("FWT", "PHWT") and diff.info["columns"] == ("DELFWT", "PHDELWT")
    assert abs(two.resolution - D_MIN) < 0.05
    with pytest.raises(DensityBuildError, match="mtz"):
        write_coefficients(fit, tmp_path / "maps.ccp4")


def test_bad_input_says_what_is_wrong(tmp_path, data):
    coefficients = tmp_path / "fwt.mtz"
    st = true_model()
    from conftest import write_mtz

    write_mtz(model_density(st, D_MIN), coefficients, D_MIN)
    with pytest.raises(MapReadError, match=r"no measured amplitudes.*FWT \(F\)"):
        read_observed(coefficients)
    text = tmp_path / "notes.mtz"
    text.write_text("not an mtz\n")
    with pytest.raises(MapReadError, match="not a readable MTZ"):
        read_observed(text)
    with pytest.raises(MapReadError, match="PHWT"):
        read_observed(coefficients, "FWT,PHWT")
    with pytest.raises(MapReadError, match="from an MTZ"):
        read_observed(tmp_path / "map.ccp4")
    empty = gemmi.Structure()
    empty.add_model(gemmi.Model(1))
    with pytest.raises(DensityBuildError, match="no heavy atoms"):
        fit_model(empty, data)
    unoccupied = true_model()  # gemmi's scaling stopped on a singular matrix
    for res in unoccupied[0][0]:
        for atom in res:
            atom.occ = 0.0
    with pytest.raises(DensityBuildError, match="every atom of the model has occupancy 0"):
        fit_model(unoccupied, data)


def test_other_amplitude_labels_are_found(tmp_path):
    path = measured_mtz(true_model(), tmp_path / "o.mtz")
    mtz = gemmi.read_mtz_file(str(path))
    mtz.column_with_label("FP").label = "FGMP18"
    mtz.column_with_label("SIGFP").label = "SIGFGMP18"
    mtz.column_with_label("FREE").label = "FreeR_flag"
    mtz.write_to_file(str(path))
    assert read_observed(path).columns == ("FGMP18", "SIGFGMP18", "FreeR_flag")


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["1cbs", "cdk2", "rnasa"])
def test_deposited_models_maps_match_the_refinement_programs(real_dir, name):
    """The deposited model's maps made here against those its refinement wrote to the MTZ."""
    data = read_observed(real_dir / name / "map.mtz")
    fit = fit_model(gemmi.read_structure(str(real_model_path(real_dir / name))), data)
    assert fit.r_work < 0.30 and fit.r_free < 0.34
    # a refined model is not in its own difference map: the map at its atoms is about 0 (a
    # sigmaA read too low would leave the model there as positive density: +1 sigma on 1cbs)
    atoms = atom_table(gemmi.read_structure(str(real_model_path(real_dir / name))))
    protein = atoms.xyz[atoms.resname != "HOH"]
    assert abs(model_map(fit, difference=True).sample_points(protein).mean()) < 0.3
    for difference, least in ((False, 0.95), (True, 0.9)):
        mine = np.array(model_map(fit, difference=difference).grid, copy=False)
        file_map = read_map(real_dir / name / "map.mtz", difference=difference)
        theirs = np.array(file_map.grid, copy=False)
        assert np.corrcoef(mine.ravel(), theirs.ravel())[0, 1] > least


def test_a_cell_too_large_is_refused_before_any_grid_is_made(data, monkeypatch):
    from napari_densitybuild import map_reader

    monkeypatch.setattr(map_reader, "MAX_VOXELS", 10_000)
    with pytest.raises(DensityBuildError, match=r"grid points .* the limit is 0 M"):
        fit_model(true_model(), data)


def test_a_model_of_another_crystal_form_is_noted(data):
    st = true_model()
    assert fit_model(st, data).notes == []
    st.cell = gemmi.UnitCell(st.cell.a * 1.1, st.cell.b, st.cell.c, 90, 90, 90)
    fit = fit_model(st, data)
    assert fit.notes and "not the data's" in fit.notes[0] and "NOTE:" in fit.summary()
    st = true_model()
    st.spacegroup_hm = "P 21 21 21"
    assert "space group P 21 21 21 is not the data's P 1" in fit_model(st, data).notes[0]


def test_too_few_reflections_are_refused(data):
    few = ObservedData(data.hkl[:50], data.fobs[:50], data.sigma[:50], data.free[:50],
                       data.cell, data.spacegroup, data.d_min, data.columns)  # fmt: skip
    with pytest.raises(DensityBuildError, match=r"only .* measured reflections"):
        fit_model(true_model(), few)


def test_intensities_alone_are_named_with_what_to_do(tmp_path):
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = gemmi.SpaceGroup("P 1")
    mtz.set_cell_for_all(gemmi.UnitCell(30, 30, 30, 90, 90, 90))
    mtz.add_dataset("x")
    mtz.add_column("IMEAN", "J")
    mtz.add_column("SIGIMEAN", "Q")
    mtz.set_data(np.array([[1, 0, 0, 100.0, 5.0], [0, 1, 0, 80.0, 4.0]], dtype=np.float32))
    mtz.write_to_file(str(tmp_path / "i.mtz"))
    with pytest.raises(MapReadError, match=r"holds intensities: convert them .*French-Wilson"):
        read_observed(tmp_path / "i.mtz")


def _remark3(path) -> tuple[float, float]:
    """R-work and R-free as the refinement program wrote them in a PDB file's REMARK 3."""
    import gzip

    work = free = None
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith("REMARK   3   R VALUE            (WORKING SET) :"):
                work = float(line.split(":")[1])
            elif line.startswith("REMARK   3   FREE R VALUE                     :"):
                free = float(line.split(":")[1])
    return work, free


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["cdk2", "rnasa"])
def test_r_factors_agree_with_the_refinement_programs(real_dir, name):
    """The deposited model's R-work and R-free as computed here, against those its refinement
    program reported for the same data (cdk2 0.282 / 0.319, rnasa 0.251 / 0.285)."""
    path = real_model_path(real_dir / name)
    work, free = _remark3(path)
    fit = fit_model(gemmi.read_structure(str(path)), read_observed(real_dir / name / "map.mtz"))
    assert abs(fit.r_work - work) < 0.02 and abs(fit.r_free - free) < 0.02, (
        fit.summary(),
        work,
        free,
    )


def test_a_label_repeated_in_a_second_dataset_does_not_shift_the_columns(tmp_path):
    path = measured_mtz(true_model(), tmp_path / "two.mtz")
    mtz = gemmi.read_mtz_file(str(path))
    first = read_observed(path)
    mtz.add_dataset("second")
    data = np.array(mtz, copy=True)
    mtz.add_column("FP", "F")  # a second FP, after FREE
    mtz.set_data(np.column_stack([data, data[:, 3] * 2]).astype(np.float32))
    mtz.write_to_file(str(path))
    again = read_observed(path)
    assert again.columns == ("FP", "SIGFP", "FREE")
    assert np.array_equal(again.fobs, first.fobs) and np.array_equal(again.free, first.free)


CRYSTALS = [("P 21 21 21", (30.0, 35.0, 38.0, 90, 90, 90)),
            ("C 1 2 1", (60.0, 35.0, 38.0, 90, 105, 90)),
            ("P 31 2 1", (40.0, 40.0, 50.0, 90, 90, 120))]  # fmt: skip


@pytest.mark.parametrize(("group", "cell"), CRYSTALS)
def test_structure_factors_match_direct_summation_in_any_space_group(group, cell):
    """Fc from the FFT route against gemmi's direct summation over every symmetry copy, for
    reflections as an MTZ holds them (negative indices included)."""
    st = true_model(group, cell)
    st.setup_cell_images()
    sg = gemmi.SpaceGroup(group)
    unique = gemmi.make_miller_array(st.cell, sg, 3.0)[::37]
    hkl = np.concatenate([unique, -unique]).astype(np.int32)  # Friedel mates: l < 0 too
    one = np.ones(len(hkl))
    data = ObservedData(hkl, one, one, np.zeros(len(hkl), bool), st.cell, sg, 3.0, ("F", "SIGF"))
    fc, _ = model_structure_factors(prepared_structure(st, data, "model")[0], data)
    calc = gemmi.StructureFactorCalculatorX(st.cell)
    direct = np.array([calc.calculate_sf_from_model(st[0], list(map(int, h))) for h in hkl])
    scale = np.abs(direct).max()
    assert np.max(np.abs(fc - direct)) < 0.01 * scale
