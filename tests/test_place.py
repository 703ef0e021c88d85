"""The detector's tiling, coordinates and suppression, with a stand-in net that marks density.

A stand-in for the trained detector turns high density into a C-alpha logit and predicts fixed
directions, so the positions :meth:`Placer.detect` returns can be checked exactly against the
atoms of a synthetic monoclinic crystal: small tiles (many tile edges), the (z, y, x) index
order, the halo, the symmetry copies and the write-out.
"""

from __future__ import annotations

import gemmi
import numpy as np
import pytest
import torch
from conftest import model_density, random_structure, world_xyz
from torch import nn

from napari_densitybuild.assemble import ca_structure, write_structure
from napari_densitybuild.maps import DensityMap, sigma_scale
from napari_densitybuild.models import read_structure
from napari_densitybuild.place import Placer, unique_under_symmetry
from napari_densitybuild.symmetry import Symmetry
from napari_densitybuild.training.place_metrics import match_cas, placement_metrics


class PeakNet(nn.Module):
    """Logit 2 (x - 2.5) (x: the normalised map), offsets 0, CA->N along index i, CA->C along k."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(x.shape[0], 10, *x.shape[2:])
        out[:, 0] = 2.0 * (x[:, 0] - 2.5)
        out[:, 4] = 1.0  # index i: world z
        out[:, 9] = 1.0  # index k: world x
        return out


@pytest.fixture(scope="module")
def crystal():
    cell, sg = (31.0, 36.0, 28.0, 90.0, 110.0, 90.0), "P 1 21 1"
    for seed in range(50):
        st = random_structure(cell, sg, n_atoms=10, seed=seed)
        xyz = world_xyz(st)
        sym = Symmetry.from_cell(st.cell, sg)
        imgs = sym.images(xyz)
        d = np.linalg.norm(imgs["xyz"][:, None] - xyz[None], axis=2)
        d[imgs["src"][:, None] == np.arange(len(xyz))[None]] = np.inf
        if d.min() > 6.0:
            break
    grid = model_density(st, d_min=2.0)
    values, _, _ = sigma_scale(np.array(grid, copy=False), "synthetic")
    grid.array[...] = values
    return DensityMap(grid=grid, resolution=2.0, source="synthetic"), xyz, sym


def test_detect_finds_every_atom_once(crystal):
    dmap, xyz, sym = crystal
    placer = Placer(PeakNet(), {"spacing": 1.0}, tile=24, halo=4, min_votes=1)
    det = placer.detect(dmap)
    assert len(det) >= len(xyz)
    assert np.allclose(det.to_n, [0, 0, 1]) and np.allclose(det.to_c, [1, 0, 0])
    unique = unique_under_symmetry(det, sym)
    assert len(unique) == len(xyz)
    m = placement_metrics(unique.ca, xyz, sym)
    assert m["recall_1A"] == 1.0 and m["precision_1A"] == 1.0
    # the stand-in predicts no sub-voxel offsets: errors are the 1 A grid's rounding (rms
    # about 0.5 A) and must not be biased (a half-voxel slip in the index order would be)
    assert m["rmsd_1A"] < 0.6, m
    p, r, _ = match_cas(unique.ca, xyz, sym)
    err = []
    for i, k in zip(p, r):
        imgs = sym.images(xyz[k : k + 1])["xyz"]
        err.append(imgs[np.argmin(np.linalg.norm(imgs - unique.ca[i], axis=1))] - unique.ca[i])
    assert np.all(np.abs(np.mean(err, axis=0)) < 0.25), np.mean(err, axis=0)


def test_tile_edges_do_not_matter(crystal):
    dmap, _xyz, sym = crystal
    big = Placer(PeakNet(), {"spacing": 1.0}, tile=56, halo=4, min_votes=1).detect(dmap)
    small = Placer(PeakNet(), {"spacing": 1.0}, tile=20, halo=6, min_votes=1).detect(dmap)
    a = unique_under_symmetry(big, sym)
    b = unique_under_symmetry(small, sym)
    m = placement_metrics(a.ca, b.ca, sym)
    assert m["recall_1A"] == 1.0 and m["precision_1A"] == 1.0 and m["rmsd_1A"] < 0.05


def test_place_writes_a_ca_model(crystal, tmp_path):
    dmap, xyz, _sym = crystal
    placer = Placer(PeakNet(), {"spacing": 1.0}, tile=32, halo=4, min_votes=1, min_fragment=1)
    placed = placer.place(dmap)  # isolated atoms: singletons, kept with min_fragment=1
    assert len(Placer(PeakNet(), {"spacing": 1.0}, tile=32, halo=4, min_votes=1).place(dmap)) == 0
    assert len(placed) == len(xyz)
    path = write_structure(ca_structure(placed, dmap), tmp_path / "ca.cif")
    st = read_structure(path)
    assert st.spacegroup_hm == "P 1 21 1" and st.cell.beta == pytest.approx(110.0)
    atoms = [a for ch in st[0] for r in ch for a in r]
    assert len(atoms) == len(xyz) and {a.name for a in atoms} == {"CA"}
    assert all(0 <= a.b_iso <= 100 for a in atoms)
    st.setup_entities()
    assert gemmi.read_structure(str(path))[0].count_atom_sites() == len(xyz)


def test_tile_size_must_fit_the_net():
    from napari_densitybuild.errors import DensityBuildError

    with pytest.raises(DensityBuildError, match="multiple of 4"):
        Placer(PeakNet(), {"spacing": 1.0}, tile=30, halo=4)
