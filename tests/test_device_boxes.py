"""Boxes cut on the device (torch, periodic trilinear) equal gemmi's, and the classifier gives
the same answers whichever way its boxes are cut; the CUDA path runs where there is a GPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import model_density, random_structure

from napari_densitybuild.boxes import BoxSpec, cut_boxes, random_rotations
from napari_densitybuild.device_boxes import DeviceMap
from napari_densitybuild.maps import DensityMap, sigma_scale


@pytest.fixture(scope="module")
def dmap():
    st = random_structure((31.0, 36.0, 28.0, 90.0, 110.0, 90.0), "P 1 21 1", n_atoms=60, seed=4)
    grid = model_density(st, d_min=2.0)
    grid.array[...] = sigma_scale(np.array(grid, copy=False), "test")[0]
    return DensityMap(grid=grid, resolution=2.0)


@pytest.mark.parametrize("spec", [BoxSpec(), BoxSpec(size=12, spacing=1.0)])
def test_device_boxes_equal_gemmi(dmap, spec):
    rng = np.random.default_rng(0)
    centres = rng.uniform(-40, 80, size=(9, 3))  # far outside the cell too: periodic
    rotations = random_rotations(9, 180.0, rng)
    a = cut_boxes(dmap, centres, rotations, spec)
    b = DeviceMap(dmap).cut(centres, rotations, spec).numpy()
    assert b.shape == a.shape and np.abs(a - b).max() < 1e-4


def test_classifier_same_on_either_path(dmap):
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.nets import build_net

    torch.manual_seed(0)
    net = build_net({"name": "compact", "base": 4, "blocks": [1, 1], "pose": True})
    config = {"net": {"name": "compact", "base": 4, "blocks": [1, 1], "pose": True,
                      "input_size": 22}, "box": {"size": 22, "spacing": 0.5,
                                                 "frame": "backbone"},
              "classes": [str(i) for i in range(20)]}  # fmt: skip
    clf = Classifier(net, config, device="cpu", batch_size=4)
    rng = np.random.default_rng(1)
    centres, rotations = rng.uniform(0, 30, size=(10, 3)), random_rotations(10, 180.0, rng)
    p1, c1 = clf.classify_frames(dmap, centres, rotations, poses=True, on_device=False)
    p2, c2 = clf.classify_frames(dmap, centres, rotations, poses=True, on_device=True)
    assert np.abs(p1 - p2).max() < 1e-5 and np.abs(c1 - c2).max() < 1e-4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_boxes(dmap):
    rng = np.random.default_rng(0)
    centres, rotations = rng.uniform(0, 30, size=(5, 3)), random_rotations(5, 180.0, rng)
    a = cut_boxes(dmap, centres, rotations)
    b = DeviceMap(dmap, "cuda").cut(centres, rotations).cpu().numpy()
    assert np.abs(a - b).max() < 1e-3
