"""Simulated crystal maps: density where the atoms are, truncation, sigma units, crystal, noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from napari_densitybuild.boxes import backbone_frames, cut_boxes
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import backbone_residues, read_model
from napari_densitybuild.training import structures_dir
from napari_densitybuild.training.crystal import (
    _Contacts,
    cell_from_basis,
    pack,
    reduce_basis,
)
from napari_densitybuild.training.simulate import SimulationSettings, simulate_file

SMALL = structures_dir() / "2SNI_l_u.pdb.gz"  # chymotrypsin inhibitor 2, 65 residues
ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not SMALL.is_file(), reason="needs ../shared/data")


def _xyz(st) -> np.ndarray:
    return np.array([cra.atom.pos.tolist() for cra in st[0].all()])


def _images(xyz: np.ndarray, cell) -> np.ndarray:
    """The molecule's 26 neighbouring images."""
    orth = np.array(cell.orth.mat.tolist())
    shifts = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)
                       if (i, j, k) != (0, 0, 0)], dtype=float) @ orth.T  # fmt: skip
    return (xyz[None] + shifts[:, None]).reshape(-1, 3)


def _box_correlation(a, b, st) -> np.ndarray:
    bb, _ = backbone_residues(st)
    centres, rotations = backbone_frames(bb.n, bb.ca, bb.c)
    x = cut_boxes(a, centres, rotations).reshape(len(centres), -1)
    y = cut_boxes(b, centres, rotations).reshape(len(centres), -1)
    x = x - x.mean(1, keepdims=True)
    y = y - y.mean(1, keepdims=True)
    return (x * y).sum(1) / np.sqrt((x * x).sum(1) * (y * y).sum(1))


@pytest.fixture(scope="module")
def clean():
    return simulate_file(SMALL, SimulationSettings.clean(1.5), seed=3)


@pytest.fixture(scope="module")
def realistic():
    s = SimulationSettings(correlation=(0.8, 0.8)).with_d_min(1.5)
    return simulate_file(SMALL, s, seed=4, keep_clean=True)


def test_density_high_at_atoms_low_in_solvent(clean, realistic):
    for sim in (clean, realistic):
        xyz = _xyz(sim.structure)
        assert sim.dmap.sample_points(xyz).mean() > 2.0
        # grid points far (> 4 A) from every atom of every image: the solvent
        grid = np.array(sim.dmap.grid, copy=False)
        frac = np.stack(np.meshgrid(*[np.arange(n) / n for n in grid.shape], indexing="ij"), -1)
        pts = frac.reshape(-1, 3)[::7] @ np.array(sim.dmap.cell.orth.mat.tolist()).T
        every = np.vstack([xyz, _images(xyz, sim.dmap.cell), sim.waters])
        far = cKDTree(every).query(pts)[0] > 4.0
        assert far.sum() > 100
        solvent = sim.dmap.sample_points(pts[far]).mean()
        assert solvent < (0.0 if sim is clean else 0.3)  # bulk solvent: a flat level


def test_truncated_at_d_min(realistic):
    grid = realistic.dmap.grid
    f = np.fft.rfftn(np.array(grid, copy=False))
    n = np.array(f.shape[:2])
    h = [np.fft.fftfreq(n[0], 1 / n[0]), np.fft.fftfreq(n[1], 1 / n[1]), np.arange(f.shape[2])]
    frac = np.array(grid.unit_cell.frac.mat.tolist())
    hh, kk, ll = np.meshgrid(*h, indexing="ij")
    s = np.linalg.norm(np.stack([hh, kk, ll], -1) @ frac, axis=-1)
    amp = np.abs(f)
    assert amp[s > 1.01 / 1.5].max() < 1e-4 * amp.max()
    assert amp[(s > 0.9 / 1.5) & (s < 1 / 1.5)].mean() > 1e-3 * amp.max()
    assert abs(f[0, 0, 0]) < 1e-3 * amp.max()  # no F000


def test_sigma_units(clean, realistic):
    a = np.array(clean.dmap.grid, copy=False)
    assert abs(a.mean()) < 1e-4 and abs(a.std() - 1) < 1e-3
    b = np.array(realistic.dmap.grid, copy=False)
    assert abs(b.mean()) < 1e-4 and abs(b.std() - realistic.params["scale"]) < 1e-3
    assert realistic.dmap.kind == "xray" and realistic.dmap.resolution == 1.5
    assert max(realistic.dmap.voxel_size) <= 0.5


@pytest.mark.parametrize("d_min", [1.2, 3.5])
def test_resolution_range(d_min):
    sim = simulate_file(SMALL, SimulationSettings().with_d_min(d_min), seed=0)
    assert sim.params["d_min"] == d_min
    assert max(sim.dmap.voxel_size) <= 0.5
    assert sim.dmap.sample_points(_xyz(sim.structure)).mean() > 1.0


def test_neighbours_pack_around_the_molecule(clean):
    xyz = _xyz(clean.structure)
    images = _images(xyz, clean.dmap.cell)
    dist = cKDTree(images).query(xyz)[0]
    assert dist.min() > 2.7  # no clashes with crystal neighbours
    assert (dist < 4.5).sum() >= 10  # but real contacts
    assert clean.params["protein_fraction"] > 0.3
    # the density of a neighbour reaches into the boxes of surface residues
    near = images[cKDTree(xyz).query(images)[0] < 4.0]
    assert clean.dmap.sample_points(near).mean() > 1.5


def test_packing_modes_and_cells():
    rng = np.random.default_rng(0)
    xyz = _xyz(simulate_file(SMALL, SimulationSettings.clean(2.0)).structure)
    volumes = {}
    for mode in ("box", "contact", "lattice"):
        margin = (3.0, 3.0) if mode == "box" else (0.0, 0.0)  # box: bounding box + margin
        basis = pack(xyz, rng, mode, contact=3.0, margin=margin)
        volumes[mode] = abs(np.linalg.det(basis))
        assert not _Contacts(xyz, 2.99).any_clash(basis)
        cell, rot = cell_from_basis(basis)
        assert np.allclose(rot @ rot.T, np.eye(3), atol=1e-6)
        assert np.isclose(cell.volume, volumes[mode], rtol=1e-6)
    assert volumes["lattice"] < volumes["contact"] < volumes["box"]
    b = reduce_basis(np.array([[10.0, 0, 0], [31, 12, 0], [5, 7, 13]]))
    assert np.isclose(abs(np.linalg.det(b)), 10 * 12 * 13)
    assert np.linalg.norm(b, axis=1).max() < 16


def test_waters_add_density_in_the_solvent():
    on = simulate_file(SMALL, SimulationSettings.clean(1.5, waters=True), seed=5)
    off = simulate_file(SMALL, SimulationSettings.clean(1.5, waters=False), seed=5)
    assert len(on.waters) >= 0.3 * 65 and len(off.waters) == 0
    assert on.dmap.sample_points(on.waters).mean() > 1.0
    assert off.dmap.sample_points(on.waters).mean() < 0.3
    d = cKDTree(_xyz(on.structure)).query(on.waters)[0]
    assert d.min() >= 2.6 - 1e-6


def test_noise_lowers_correlation_to_target(realistic):
    cc = _box_correlation(realistic.dmap, realistic.clean, realistic.structure)
    assert 0.75 < cc.mean() < 0.85  # target 0.8
    sim = simulate_file(SMALL, SimulationSettings(correlation=(0.93, 0.93)).with_d_min(1.5),
                        seed=4, keep_clean=True)  # fmt: skip
    assert 0.9 < _box_correlation(sim.dmap, sim.clean, sim.structure).mean() < 0.96


def test_deterministic():
    a = simulate_file(SMALL, SimulationSettings(), seed=11)
    b = simulate_file(SMALL, SimulationSettings(), seed=11)
    assert np.array_equal(np.array(a.dmap.grid), np.array(b.dmap.grid))


def test_sample_data_puts_model_in_density():
    mtz, cif = ROOT / "sample_data" / "sample_map.mtz", ROOT / "sample_data" / "sample_model.cif"
    if not mtz.is_file():
        pytest.skip("sample data not generated (scripts/make_sample_data.py)")
    assert mtz.stat().st_size < 700_000 and cif.stat().st_size < 200_000  # FP, SIGFP, FREE too
    atoms = read_model(cif)
    assert read_map(mtz).sample_points(atoms.xyz).mean() >= 2.5


def _amide_sites(st) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the amide N and O of every ASN and GLN."""
    n, o = [], []
    for ch in st[0]:
        for res in ch:
            for atom in res:
                if (res.name, atom.name) in (("ASN", "ND2"), ("GLN", "NE2")):
                    n.append(atom.pos.tolist())
                elif (res.name, atom.name) in (("ASN", "OD1"), ("GLN", "OE1")):
                    o.append(atom.pos.tolist())
    return np.array(n), np.array(o)


def test_amide_as_acid_draws_the_amide_n_as_an_o():
    kw = dict(b_jitter=False)
    plain = simulate_file(SMALL, SimulationSettings.clean(1.5, **kw), seed=6)
    acid = simulate_file(SMALL, SimulationSettings.clean(1.5, amide_as_acid=True, **kw), seed=6)
    n, o = _amide_sites(acid.structure)
    assert len(n) >= 3
    sites = (("ASN", "ND2"), ("GLN", "NE2"))
    elements = {cra.atom.element.name for cra in acid.structure[0].all()
                if (cra.residue.name, cra.atom.name) in sites}  # fmt: skip
    assert elements == {"N"}  # the model handed back keeps its chemistry
    gain = acid.dmap.sample_points(n) - plain.dmap.sample_points(n)
    assert (gain > 0.1).all()  # one more electron at every amide N
    far = _xyz(acid.structure)
    far = far[cKDTree(np.vstack([n, o])).query(far)[0] > 3.0]
    assert np.allclose(acid.dmap.sample_points(far), plain.dmap.sample_points(far), atol=0.15)
