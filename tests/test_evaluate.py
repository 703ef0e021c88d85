"""``densitybuild evaluate``: metrics, confusion matrices and JSON from caches and map + model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_train import TINY_NET, make_cache

from napari_densitybuild.cli import main
from napari_densitybuild.nets import build_net
from napari_densitybuild.weights_io import save_model


@pytest.fixture
def weights(tmp_path) -> Path:
    torch.manual_seed(0)
    net = build_net(TINY_NET)
    box = {"size": 8, "spacing": 1.375, "frame": "backbone"}
    return save_model(tmp_path / "w.safetensors", net, {"net": TINY_NET, "box": box})


def test_evaluate_cache_writes_outputs(tmp_path, weights, capsys):
    torch.set_num_threads(1)
    cache = make_cache(tmp_path / "cache", {"test_1.5": 50, "real_1cbs": 30, "real_cdk2": 20})
    out = tmp_path / "eval"
    rc = main(["evaluate", "--weights", str(weights), "--cache", str(cache), "--out", str(out),
               "--device", "cpu"])  # fmt: skip
    assert rc == 0
    table = capsys.readouterr().out
    assert "| test_1.5 | 50 |" in table and "| real_heldout | 50 |" in table
    metrics = json.loads((out / "metrics.json").read_text())
    res = metrics["results"]
    assert set(res) == {"test_1.5", "real_1cbs", "real_cdk2", "real_heldout"}
    assert res["real_heldout"]["n"] == 50
    assert np.array(res["test_1.5"]["confusion"]).sum() == 50
    for name in res:
        assert (out / f"confusion_{name}.png").stat().st_size > 1000
        assert (out / f"confusion_{name}.csv").exists()
    assert (out / "metrics.md").read_text().startswith("| split |")


def test_evaluate_missing_split_is_an_error(tmp_path, weights, capsys):
    cache = make_cache(tmp_path / "cache", {"test_1.5": 10})
    rc = main(["evaluate", "--weights", str(weights), "--cache", str(cache), "--splits", "nope"])
    assert rc == 2
    assert "no box cache for split 'nope'" in capsys.readouterr().err


@pytest.mark.realdata
def test_evaluate_map_folder(tmp_path, weights, real_dir):
    torch.set_num_threads(1)
    folder = real_dir / "1cbs"
    out = tmp_path / "eval"
    rc = main(["evaluate", "--weights", str(weights), "--map", str(folder), "--out", str(out),
               "--device", "cpu"])  # fmt: skip
    assert rc == 0
    res = json.loads((out / "metrics.json").read_text())["results"]
    assert res["real_1cbs"]["n"] > 100
    assert (out / "confusion_real_1cbs.png").exists()
