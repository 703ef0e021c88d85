"""Weights files: safetensors round trip, self-describing config, clear errors for bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from napari_densitybuild.boxes import BoxSpec
from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.nets import build_net
from napari_densitybuild.residues import AMINO_ACIDS
from napari_densitybuild.weights_io import (
    box_spec,
    load_model,
    read_config,
    save_model,
    shipped_weights_path,
    validate_config,
)

torch.set_num_threads(1)

SMALL = {"name": "compact", "base": 4, "blocks": [1, 1]}


def _trained_ish(config: dict) -> torch.nn.Module:
    """A net with non-trivial batch-norm statistics (as after training)."""
    torch.manual_seed(1)
    net = build_net(config).train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(4, 1, 22, 22, 22) * 2 + 0.5)
    return net.eval()


@pytest.mark.parametrize(
    "config", [SMALL, {"name": "resnet11", "width": 0.0625, "repeats": 2, "stem_pools": 1}]
)
def test_round_trip_identical_outputs(tmp_path, config):
    net = _trained_ish(config)
    path = save_model(
        tmp_path / "w.safetensors", net, {"net": config, "box": BoxSpec()}, {"samples_seen": 10}
    )
    loaded, cfg = load_model(path)
    assert not loaded.training
    assert cfg["classes"] == list(AMINO_ACIDS)
    assert cfg["box"] == {"size": 22, "spacing": 0.5, "frame": "backbone"}
    assert cfg["card"] == {"samples_seen": 10}
    assert box_spec(cfg) == BoxSpec()
    x = torch.randn(3, 1, 22, 22, 22)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x), rtol=1e-5, atol=1e-6)
    for k, v in net.state_dict().items():  # BN buffers included
        assert torch.equal(v, loaded.state_dict()[k]), k


def test_channels_last_net_saves(tmp_path):
    net = _trained_ish(SMALL).to(memory_format=torch.channels_last_3d)
    path = save_model(tmp_path / "w.safetensors", net, {"net": SMALL, "box": BoxSpec()})
    loaded, _ = load_model(path)
    for k, v in net.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])


def test_metadata_is_json(tmp_path):
    from safetensors import safe_open

    path = save_model(tmp_path / "w.safetensors", build_net(SMALL), {"net": SMALL, "box": {
        "size": 44, "spacing": 0.25, "frame": "axis"}})  # fmt: skip
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    config = json.loads(meta["config"])
    assert config["net"]["name"] == "compact" and config["box"]["size"] == 44
    assert json.loads(meta["card"]) == {}
    assert read_config(path)["box"]["frame"] == "axis"


def test_save_refuses_mismatched_config(tmp_path):
    net = build_net(SMALL)
    with pytest.raises(DensityBuildError, match="do not fit"):
        save_model(tmp_path / "w.safetensors", net, {"net": {"name": "compact"}, "box": BoxSpec()})
    assert not (tmp_path / "w.safetensors").exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a readable safetensors"),
        (
            b"\x80\x04\x95 this is what a torch pickle starts like" * 20,
            "not a readable safetensors",
        ),
        (b"{" * 300, "not a readable safetensors"),
    ],
)
def test_corrupt_file(tmp_path, content, match):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(DensityBuildError, match=match):
        load_model(path)


def test_truncated_file(tmp_path):
    path = save_model(
        tmp_path / "w.safetensors", build_net(SMALL), {"net": SMALL, "box": BoxSpec()}
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DensityBuildError, match=str(path.name)):
        load_model(path)


def test_pickle_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(build_net(SMALL).state_dict(), path)
    with pytest.raises(DensityBuildError, match="never loaded"):
        load_model(path)


def test_foreign_safetensors(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    with pytest.raises(DensityBuildError, match="not napari-densitybuild weights"):
        load_model(path)


def test_wrong_shapes_and_bad_config(tmp_path):
    net = build_net(SMALL)
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    meta = {
        "config": json.dumps({"net": {**SMALL, "base": 8}, "box": {"size": 22, "spacing": 0.5}})
    }
    path = tmp_path / "w.safetensors"
    save_file(state, str(path), metadata=meta)
    with pytest.raises(DensityBuildError, match="wrong shapes"):
        load_model(path)
    save_file(state, str(path), metadata={"config": "{not json"})
    with pytest.raises(DensityBuildError, match="not valid JSON"):
        load_model(path)
    save_file(state, str(path), metadata={"config": json.dumps({"net": {"name": "vit"}, "box": {
        "size": 22, "spacing": 0.5}})})  # fmt: skip
    with pytest.raises(DensityBuildError, match="unknown net"):
        load_model(path)
    state["stem.0.weight"] = torch.full_like(state["stem.0.weight"], float("nan"))
    meta["config"] = json.dumps({"net": SMALL, "box": {"size": 22, "spacing": 0.5}})
    save_file(state, str(path), metadata=meta)
    with pytest.raises(DensityBuildError, match="NaN"):
        load_model(path)


def test_validate_config():
    cfg = validate_config({"net": SMALL, "box": BoxSpec.poster()})
    assert cfg["box"] == {"size": 44, "spacing": 0.25, "frame": "axis"}
    assert cfg["net"]["dropout"] == 0.0
    with pytest.raises(DensityBuildError, match="'net' and 'box'"):
        validate_config({"net": SMALL})
    with pytest.raises(DensityBuildError, match="bad box"):
        validate_config({"net": SMALL, "box": {"size": 22, "spacing": 0.5, "frame": "polar"}})
    with pytest.raises(DensityBuildError, match="outputs"):
        validate_config({"net": SMALL, "box": BoxSpec(), "classes": ["ALA", "GLY"]})


def test_missing_file_and_shipped(tmp_path):
    with pytest.raises(DensityBuildError, match="no such weights file"):
        load_model(tmp_path / "nothing.safetensors")
    path = shipped_weights_path()
    assert path is None or (path.is_file() and path.name == "classifier.safetensors")
    if path is not None:
        net, cfg = load_model(path)
        out = net(torch.zeros(1, 1, *(cfg["box"]["size"],) * 3))
        assert np.isfinite(out.detach().numpy()).all()


def _member(tmp_path, name: str, seed: int, steps: int, box=None) -> str:
    torch.manual_seed(seed)
    net = build_net({**SMALL, "pose": True}).train()
    with torch.no_grad():
        for _ in range(2):
            net(torch.randn(4, 1, 22, 22, 22) * 2 + 0.5)
    card = {"steps": steps, "samples_seen": steps * 8, "cpu_seconds": 36.0 * steps}
    cfg = {"net": {**SMALL, "pose": True}, "box": box or BoxSpec()}
    return str(save_model(tmp_path / name, net.eval(), cfg, card))


def test_ensemble_of_weights_files(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.weights_io import combine_weights, member_of

    a, b = _member(tmp_path, "a.safetensors", 1, 10), _member(tmp_path, "b.safetensors", 2, 30)
    out = combine_weights([a, b], tmp_path / "ens.safetensors", {"note": "test"})
    cfg = read_config(out)
    assert cfg["net"]["name"] == "ensemble" and len(cfg["net"]["members"]) == 2
    card = cfg["card"]
    assert card["note"] == "test" and "steps" not in card  # no double-counted totals
    assert [c["steps"] for c in card["members"]] == [10, 30]
    boxes = np.random.default_rng(0).normal(size=(6, 22, 22, 22)).astype(np.float32)
    ens = Classifier.from_path(out, device="cpu", tta=0)
    singles = [Classifier.from_path(p, device="cpu", tta=0) for p in (a, b)]
    probs, coords = ens.predict(boxes, poses=True)
    parts = [c.predict(boxes, poses=True) for c in singles]
    geo = np.exp(np.mean([np.log(p) for p, _ in parts], axis=0))
    np.testing.assert_allclose(probs, geo / geo.sum(1, keepdims=True), atol=1e-5)
    np.testing.assert_allclose(coords, np.mean([c for _, c in parts], axis=0), atol=1e-4)
    net, sub = member_of(out, 1)
    assert sub["card"]["steps"] == 30 and sub["net"]["name"] == "compact"
    ref, _ = load_model(b)
    x = torch.randn(2, 1, 22, 22, 22)
    with torch.no_grad():
        torch.testing.assert_close(net.eval()(x), ref(x))
    with pytest.raises(DensityBuildError, match="members 0-1"):
        member_of(out, 2)
    with pytest.raises(DensityBuildError, match="two or more"):
        combine_weights([a], tmp_path / "one.safetensors")
    with pytest.raises(DensityBuildError, match="ensemble already"):
        combine_weights([a, out], tmp_path / "nested.safetensors")
    other = _member(tmp_path, "c.safetensors", 3, 1, box=BoxSpec(size=20))
    with pytest.raises(DensityBuildError, match="box or classes differ"):
        combine_weights([a, other], tmp_path / "mixed.safetensors")
    script = Path(__file__).parents[1] / "scripts" / "combine_weights.py"
    done = subprocess.run([sys.executable, str(script), a, b, "--out", str(tmp_path / "s.st")],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0 and "2 members" in done.stdout, done.stderr
