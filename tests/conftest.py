"""Shared test helpers: the shared data folder, synthetic crystals and maps, and one density check.

The density check samples an Image layer (data, scale, translate: exactly what napari shows) at a
model's atoms. Each atom is placed in the layer's box through a crystal symmetry copy (space-group
operation plus lattice translation) chosen from geometry only, never from the density, so a
wrong frame (swapped axes, a shift) gives low density instead of finding another good copy.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import gemmi
import numpy as np
import pytest

# Without an X server, Qt widgets still work on the offscreen platform (render tests skip).
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from napari_densitybuild._resources import shared_data_dir

HAS_DISPLAY = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def pytest_collection_modifyitems(config, items):
    """Without an X server napari cannot draw (no OpenGL): skip viewer and render tests."""
    if HAS_DISPLAY:
        return
    skip = pytest.mark.skip(reason="no X server (DISPLAY unset): run under `xvfb-run -a`")
    for item in items:
        if "gui" in item.keywords or "render" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _autosave_dir(tmp_path_factory, monkeypatch):
    """Per-user autosaves (maps in read-only or shared folders) go to a scratch folder, never
    to the home folder of whoever runs the tests."""
    monkeypatch.setenv(
        "DENSITYBUILD_AUTOSAVE_DIR", str(tmp_path_factory.mktemp("user") / "autosave")
    )


REAL_DIR = shared_data_dir() / "real"
REAL_MAPS = (
    sorted(p.name for p in REAL_DIR.iterdir() if (p / "map.mtz").is_file())
    if REAL_DIR.is_dir()
    else []
)


def real_model_path(folder: Path) -> Path:
    """The deposited model file (model.cif.gz, model.pdb.gz, ...) in a real-data folder."""
    found = sorted(folder.glob("model.*"))
    if not found:
        raise FileNotFoundError(f"no model.* in {folder}")
    return found[0]


@pytest.fixture
def real_dir() -> Path:
    """``<shared data>/real``; skips the test when the shared data is not there."""
    if not REAL_DIR.is_dir():
        pytest.skip(f"shared data not found at {REAL_DIR} (set DENSITYBUILD_DATA)")
    return REAL_DIR


# -- the density check ---------------------------------------------------------------------------
def atom_indices(
    shape: tuple[int, ...],
    scale,
    translate,
    xyz: np.ndarray,
    cell: tuple[float, ...] | None = None,
    spacegroup: str | None = None,
) -> np.ndarray:
    """Array indices (N, 3; NaN if no copy fits) of each atom in an Image layer's box.

    The atom itself is used when it lies inside; otherwise the first symmetry copy (operations in
    space-group order, lattice shifts -1..1) that lies inside.
    """
    scale = np.asarray(scale, dtype=float)
    translate = np.asarray(translate, dtype=float)
    upper = np.asarray(shape, dtype=float) - 1
    xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
    idx = np.full((len(xyz), 3), np.nan)

    def place(world_xyz: np.ndarray) -> None:
        i = (world_xyz[:, ::-1] - translate) / scale
        ok = np.all((i >= 0) & (i <= upper), axis=1) & np.isnan(idx[:, 0])
        idx[ok] = i[ok]

    place(xyz)
    if cell is None or not np.isnan(idx[:, 0]).any():
        return idx
    uc = gemmi.UnitCell(*cell)
    orth = np.array(uc.orth.mat.tolist())
    frac = xyz @ np.array(uc.frac.mat.tolist()).T
    shifts = sorted(itertools.product((-1, 0, 1), repeat=3), key=lambda s: (np.abs(s).sum(), s))
    for op in gemmi.SpaceGroup(spacegroup or "P 1").operations():
        f = frac @ (np.array(op.rot, dtype=float) / op.DEN).T + np.array(op.tran) / op.DEN
        f -= np.floor(f)
        for s in shifts:
            if not np.isnan(idx[:, 0]).any():
                return idx
            place((f + s) @ orth.T)
    return idx


def density_at_atoms(layer, xyz: np.ndarray, shift=(0.0, 0.0, 0.0), swap: bool = False):
    """Trilinear density of an Image layer tuple at atoms: (values, covered fraction).

    ``shift`` (z, y, x Angstrom) moves the layer and ``swap`` exchanges its x and z array axes:
    the negative controls that must fail.
    """
    from scipy.ndimage import map_coordinates

    data, meta, kind = layer
    assert kind == "image"
    data = np.asarray(data)
    if swap:
        data = np.ascontiguousarray(data.transpose(2, 1, 0))
    md = meta.get("metadata", {})
    cell = md.get("cell") if md.get("kind", "xray") == "xray" else None
    translate = np.asarray(meta["translate"], dtype=float) + np.asarray(shift, dtype=float)
    idx = atom_indices(data.shape, meta["scale"], translate, xyz, cell, md.get("spacegroup"))
    covered = ~np.isnan(idx[:, 0])
    values = map_coordinates(data, idx[covered].T, order=1) if covered.any() else np.zeros(0)
    return values, float(covered.mean())


def assert_atoms_in_density(layer, xyz: np.ndarray, min_mean: float = 2.0) -> float:
    """The layer puts the atoms in density (>= 95 % covered, mean >= ``min_mean`` sigma), and
    the same check fails with x/z swapped or the map shifted by 3 A along x, y or z."""
    values, covered = density_at_atoms(layer, xyz)
    assert covered >= 0.95, f"only {covered:.0%} of the atoms fall inside the map box"
    assert values.mean() >= min_mean, f"mean density at atoms {values.mean():.2f} sigma"
    controls = {"swapped x/z": {"swap": True}}
    for axis, name in enumerate("zyx"):
        shift = np.zeros(3)
        shift[axis] = 3.0
        controls[f"shifted 3 A along {name}"] = {"shift": shift}
    for what, kw in controls.items():
        bad, bad_covered = density_at_atoms(layer, xyz, **kw)
        failed = bad_covered < 0.95 or bad.mean() < min_mean - 1.0
        assert failed, f"{what}: the check did not fail ({bad.mean():.2f} sigma, {bad_covered:.0%})"
    return float(values.mean())


# -- synthetic crystals ---------------------------------------------------------------------------
def random_structure(
    cell: tuple[float, ...], spacegroup: str, n_atoms: int = 40, seed: int = 0
) -> gemmi.Structure:
    """Random C/N/O/S atoms (one residue each) spread over a unit cell; B = 15."""
    rng = np.random.default_rng(seed)
    st = gemmi.Structure()
    st.cell = gemmi.UnitCell(*cell)
    st.spacegroup_hm = gemmi.SpaceGroup(spacegroup).hm
    model = gemmi.Model(1)
    chain = gemmi.Chain("A")
    frac = rng.uniform(0.05, 0.95, size=(n_atoms, 3))
    for i, f in enumerate(frac):
        res = gemmi.Residue()
        res.name = "UNK"
        res.seqid = gemmi.SeqId(i + 1, " ")
        atom = gemmi.Atom()
        el = "CNOS"[i % 4]
        atom.name = el
        atom.element = gemmi.Element(el)
        atom.pos = st.cell.orthogonalize(gemmi.Fractional(*f))
        atom.b_iso = 15.0
        atom.occ = 1.0
        res.add_atom(atom)
        chain.add_residue(res)
    model.add_chain(chain)
    st.add_model(model)
    st.setup_entities()
    return st


def model_density(st: gemmi.Structure, d_min: float = 2.0) -> gemmi.FloatGrid:
    """Density of ``st`` and its symmetry mates on a grid over the unit cell (gemmi, X-ray)."""
    dc = gemmi.DensityCalculatorX()
    dc.d_min = d_min
    dc.rate = 1.5
    dc.set_grid_cell_and_spacegroup(st)
    dc.put_model_density_on_grid(st[0])
    return dc.grid


def write_mtz(grid: gemmi.FloatGrid, path: Path, d_min: float = 2.0) -> Path:
    """Write the map's Fourier coefficients as FWT/PHWT (a 2mFo-DFc-style MTZ)."""
    asu = gemmi.transform_map_to_f_phi(grid).prepare_asu_data(dmin=d_min)
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = grid.spacegroup
    mtz.set_cell_for_all(grid.unit_cell)
    mtz.add_dataset("synthetic")
    mtz.add_column("FWT", "F")
    mtz.add_column("PHWT", "P")
    v = asu.value_array
    rows = np.column_stack([asu.miller_array, np.abs(v), np.angle(v, deg=True)])
    mtz.set_data(rows.astype(np.float32))
    mtz.write_to_file(str(path))
    return path


def write_ccp4(grid: gemmi.FloatGrid, path: Path) -> Path:
    """Write the whole unit cell as a CCP4 map with gemmi."""
    ccp4 = gemmi.Ccp4Map()
    ccp4.grid = grid
    ccp4.update_ccp4_header()
    ccp4.write_ccp4_map(str(path))
    return path


def world_xyz(st: gemmi.Structure) -> np.ndarray:
    """Atom positions (N, 3; x, y, z) of the first model."""
    return np.array([a.pos.tolist() for r in st[0][0] for a in r])


def turn_about(points: np.ndarray, start: np.ndarray, end: np.ndarray, degrees: float):
    """``points`` (N, 3) turned by ``degrees`` about the axis from ``start`` through ``end``."""
    u = (end - start) / np.linalg.norm(end - start)
    a = np.radians(degrees)
    cross = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    turn = np.eye(3) + np.sin(a) * cross + (1 - np.cos(a)) * cross @ cross
    return (points - end) @ turn.T + end


def turn_peptide(st: gemmi.Structure, k: int, degrees: float) -> None:
    """Turn residue ``k`` of the first chain, and the rest of the chain after it, about the
    peptide bond before it (omega changes by ``degrees``), in place."""
    chain = st[0][0]
    c = np.array(chain[k - 1]["C"][0].pos.tolist())
    n = np.array(chain[k]["N"][0].pos.tolist())
    for res in list(chain)[k:]:
        for atom in res:
            atom.pos = gemmi.Position(*turn_about(np.array(atom.pos.tolist()), c, n, degrees))


def water_only_structure() -> gemmi.Structure:
    """A model of one water molecule and nothing else (no amino acid)."""
    st = gemmi.Structure()
    model = gemmi.Model("1")
    chain = gemmi.Chain("A")
    water = gemmi.Residue()
    water.name = "HOH"
    atom = gemmi.Atom()
    atom.name, atom.element = "O", gemmi.Element("O")
    water.add_atom(atom)
    chain.add_residue(water)
    model.add_chain(chain)
    st.add_model(model)
    return st


def backbone_state(chain: str, seqid: int, ca):
    """A LEU review-session residue with N, CA and C near ``ca`` and an axis-aligned frame."""
    from napari_densitybuild.session import ResidueState

    ca, v = np.asarray(ca, dtype=float), np.array
    atoms = (("N", *(ca - v([1.0, 1.0, 0.0]))), ("CA", *ca), ("C", *(ca + v([1.5, 0.0, 0.0]))))
    return ResidueState(chain, seqid, "", 10, (), tuple(ca + v([0, 0, 2.4])),
                        tuple(np.eye(3).ravel()), 0.9, atoms)  # fmt: skip


def assert_build_step_on_everywhere(dest: str) -> None:
    """``build(dest=...)`` is on by default, and ``build``, ``batch`` and ``evaluate --task
    build`` take it on by default and off with ``--no-<dest>``."""
    import inspect

    from napari_densitybuild import build as build_module
    from napari_densitybuild.cli import build_parser

    assert inspect.signature(build_module.build).parameters[dest].default is True
    p = build_parser()
    flag = "--no-" + dest.replace("_", "-")
    for argv in (["build", "m.mtz", "--out", "o.cif"], ["batch", "m.mtz", "--out", "d"],
                 ["evaluate", "--task", "build"]):  # fmt: skip
        assert getattr(p.parse_args(argv), dest) is True
        assert getattr(p.parse_args([*argv, flag]), dest) is False


# -- the Model building widget (tests/test_build_widget*.py) --------------------------------
JOB_TIMEOUT = 300_000  # ms: a generous bound on a loaded 2-core machine, not a timing check


def button(widget, text: str):
    """The one push button of ``widget`` with this text (found as a user would find it)."""
    from qtpy.QtWidgets import QPushButton

    found = [b for b in widget.findChildren(QPushButton) if b.text() == text]
    assert len(found) == 1, f"no single button {text!r}"
    return found[0]


@pytest.fixture(scope="module")
def sample_session():
    """The sample map and its model as a review session (shared by a test module: tests make
    new sessions from its rows rather than change it)."""
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.models import read_structure
    from napari_densitybuild.session import Session

    map_path, model_path = sample_paths()[:2]
    dmap = read_map(map_path)
    return dmap, Session.from_structure(read_structure(model_path), None, dmap)


@pytest.fixture
def sample_map(tmp_path):
    """The sample map copied to a scratch folder (the autosave file goes next to it)."""
    from napari_densitybuild._napari._sample_data import sample_paths

    src = Path(sample_paths()[0])
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    return dst


def open_widget(viewer, qtbot, map_path):
    """The Model building dock on ``viewer`` with ``map_path`` opened in it."""
    from napari_densitybuild._napari._build_widget import BuildWidget

    _, widget = viewer.window.add_plugin_dock_widget("napari-densitybuild", "Model building")
    assert isinstance(widget, BuildWidget)
    widget.controls.open_files(str(map_path))
    qtbot.waitUntil(lambda: widget.controls.layer is not None, timeout=JOB_TIMEOUT)
    return widget


def shown_model(widget, map_path):
    """The sample model as ``widget``'s session on ``map_path`` (already opened in it)."""
    from napari_densitybuild._napari._map_cache import cached_map
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.models import read_structure
    from napari_densitybuild.session import Session

    st = read_structure(sample_paths()[1])
    dmap = cached_map(widget.map_file(chosen=True))
    widget.set_session(Session.from_structure(st, str(map_path), dmap))
    return widget.session


@pytest.fixture
def shown(make_napari_viewer, qtbot, sample_map) -> tuple:
    """The Model building widget on the sample map showing the sample model (70 residues),
    and that session."""
    widget = open_widget(make_napari_viewer(), qtbot, sample_map)
    return widget, shown_model(widget, sample_map)
