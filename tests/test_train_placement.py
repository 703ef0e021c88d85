"""Detector training data and loop: tile targets sit on the C-alphas; a short run trains, saves
loadable weights, and a second run continues from them with its counts carried forward."""

from __future__ import annotations

import numpy as np
import pytest

from napari_densitybuild.detector_weights import load_detector
from napari_densitybuild.models import backbone_residues
from napari_densitybuild.training import structures_dir
from napari_densitybuild.training.placement_data import TileSpec, tiles_from_simulation
from napari_densitybuild.training.simulate import SimulationSettings, simulate_file
from napari_densitybuild.training.train_placement import PlacementTrainConfig, train_placement

FILE = structures_dir() / "2SNI_l_u.pdb.gz"
pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not FILE.is_file(), reason="needs ../shared/data")]  # fmt: skip


def test_tile_targets_mark_the_c_alphas():
    sim = simulate_file(FILE, SimulationSettings.clean(2.0), seed=0)
    rng = np.random.default_rng(0)
    spec = TileSpec(size=24, spacing=1.0)
    tiles = tiles_from_simulation(sim, 3, rng, spec, near_protein=1.0)
    assert tiles["map"].shape == (3, 24, 24, 24) and tiles["offset"].shape == (3, 3, 24, 24, 24)
    lab = tiles["label"] > 0
    assert lab.any()
    # labelled voxels are density peaks' neighbours: the map is high there
    assert tiles["map"][lab].astype(float).mean() > tiles["map"].astype(float).mean() + 1.0
    # offsets are short (within the label radius) and directions are unit vectors
    off = np.linalg.norm(tiles["offset"].transpose(0, 2, 3, 4, 1)[lab].astype(float), axis=1)
    assert off.max() <= spec.radius + 1e-2
    dn = np.linalg.norm(tiles["to_n"].transpose(0, 2, 3, 4, 1)[lab].astype(float), axis=1)
    assert np.allclose(dn, 1.0, atol=1e-2)
    assert len(backbone_residues(sim.structure)[0]) == 65


def test_short_run_saves_and_continues(tmp_path):
    cfg = PlacementTrainConfig(out=str(tmp_path / "a"), minutes=0.15, base=4, tile=16, batch=2,
                               buffer=64, tiles_per_structure=4, warm_structures=2,
                               val_structures=1, log_every=5, threads=1)  # fmt: skip
    summary = train_placement(cfg)
    _, config = load_detector(tmp_path / "a" / "detector.safetensors")
    assert config["base"] == 4 and summary["steps"] > 0
    assert np.isfinite(summary["val_tiles"]["loss"])
    cfg2 = PlacementTrainConfig(
        **{
            **cfg.__dict__,
            "out": str(tmp_path / "b"),
            "init_from": str(tmp_path / "a" / "detector.safetensors"),
        }
    )
    summary2 = train_placement(cfg2)
    assert summary2["total_steps"] == summary["steps"] + summary2["steps"]
    assert summary2["total_cpu_hours"] > summary["cpu_hours"]
