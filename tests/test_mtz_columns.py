"""MTZ column choice: map coefficients under their usual names, density-modified maps, and
experimental phases weighted by their figure of merit."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest
from conftest import model_density, random_structure

from napari_densitybuild.errors import MapReadError
from napari_densitybuild.maps import read_map


@pytest.fixture(scope="module")
def coefficients():
    """Miller indices, amplitudes, phases (degrees) of a small P 21 21 21 crystal at 2 A, and
    a figure of merit per reflection (0.3-1)."""
    st = random_structure((30.0, 34.0, 38.0, 90.0, 90.0, 90.0), "P 21 21 21", n_atoms=30, seed=4)
    asu = gemmi.transform_map_to_f_phi(model_density(st)).prepare_asu_data(dmin=2.0)
    v = asu.value_array
    fom = np.random.default_rng(0).uniform(0.3, 1.0, len(v))
    return st, asu.miller_array, np.abs(v), np.angle(v, deg=True), fom


def write(path, st, hkl, columns: dict[str, tuple[str, np.ndarray]]):
    """An MTZ with the given {label: (type, values)} columns after H, K, L."""
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = gemmi.SpaceGroup(st.spacegroup_hm)
    mtz.set_cell_for_all(st.cell)
    mtz.add_dataset("x")
    for label, (kind, _) in columns.items():
        mtz.add_column(label, kind)
    rows = np.column_stack([hkl] + [v for _, v in columns.values()]).astype(np.float32)
    mtz.set_data(rows)
    mtz.write_to_file(str(path))
    return path


def corr(a, b) -> float:
    x, y = np.array(a.grid, copy=False).ravel(), np.array(b.grid, copy=False).ravel()
    return float(np.corrcoef(x, y)[0, 1])


def test_density_modified_columns_are_found(tmp_path, coefficients):
    st, hkl, f, phi, _ = coefficients
    ref = read_map(write(tmp_path / "ref.mtz", st, hkl, {"FWT": ("F", f), "PHWT": ("P", phi)}))
    dm = read_map(write(tmp_path / "dm.mtz", st, hkl, {"FDM": ("F", f), "PHIDM": ("P", phi)}))
    assert dm.info["columns"] == ("FDM", "PHIDM") and "columns FDM/PHIDM" in dm.summary()
    assert corr(ref, dm) > 0.9999


def test_experimental_phases_are_weighted_by_fom(tmp_path, coefficients):
    """FP, PHIB, FOM: the map is that of FOM x FP, found without being asked, or by --columns."""
    st, hkl, f, phi, fom = coefficients
    cols = {"FP": ("F", f), "SIGFP": ("Q", 0.05 * f), "PHIB": ("P", phi), "FOM": ("W", fom)}
    path = write(tmp_path / "exp.mtz", st, hkl, cols)
    weighted = read_map(write(tmp_path / "w.mtz", st, hkl,
                              {"FWT": ("F", f * fom), "PHWT": ("P", phi)}))  # fmt: skip
    plain = read_map(write(tmp_path / "p.mtz", st, hkl, {"FWT": ("F", f), "PHWT": ("P", phi)}))
    auto = read_map(path)
    assert auto.info["columns"] == ("FP", "PHIB", "FOM")
    assert corr(auto, weighted) > 0.9999 and corr(auto, plain) < 0.999
    assert corr(read_map(path, columns="FP,PHIB,FOM"), weighted) > 0.9999
    assert corr(read_map(path, columns="FP,PHIB"), plain) > 0.9999


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("FP,PHIB,SIGFP", "column 'SIGFP' is type Q, not weight (type W)"),
        ("FP,PHIB,FOM,X", "give two columns, amplitude and phase, or three"),
        ("FP,FOM", "column 'FOM' is type W, not phase (type P)"),
    ],
)
def test_bad_column_choices_are_named(tmp_path, coefficients, columns, message):
    st, hkl, f, phi, fom = coefficients
    cols = {"FP": ("F", f), "SIGFP": ("Q", 0.05 * f), "PHIB": ("P", phi), "FOM": ("W", fom)}
    with pytest.raises(MapReadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_map(write(tmp_path / "exp.mtz", st, hkl, cols), columns=columns)


def test_infinite_figure_of_merit_names_the_columns_given(tmp_path, coefficients):
    """The error names the file's columns, not the weighted column made from them."""
    st, hkl, f, phi, fom = coefficients
    fom = fom.copy()
    fom[0] = np.inf
    cols = {"FP": ("F", f), "PHIB": ("P", phi), "FOM": ("W", fom)}
    with pytest.raises(MapReadError, match="columns FP/PHIB/FOM hold NaN or infinite"):
        read_map(write(tmp_path / "exp.mtz", st, hkl, cols))
