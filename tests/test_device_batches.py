"""Device-side batches: the torch augmentations match the numpy ones, pools sample as asked, and
a run with its data on the device (here the CPU) learns, resumes exactly, streams caches in and
keeps to a time budget."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_train import _cfg, make_cache

from napari_densitybuild.boxes import normalise_boxes
from napari_densitybuild.training import augment as A
from napari_densitybuild.training import device_augment as D
from napari_densitybuild.training.batches import DevicePool
from napari_densitybuild.training.train import train

#: Where the device path is tested: the CPU always, a GPU where there is one.
DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return make_cache(tmp_path_factory.mktemp("cache_dev"))


@pytest.mark.parametrize("device", DEVICES)
def test_torch_augmentations_match_numpy(device):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 9, 9, 9)).astype(np.float32)
    t = torch.from_numpy(x).to(device)
    sd = rng.uniform(0, 1.5, size=24)
    sdt = torch.from_numpy(sd).to(device)
    np.testing.assert_allclose(
        D.gaussian_matrices_t(sdt, 9).cpu().numpy(),
        A.gaussian_matrices(sd, 9),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        D.gaussian_filter_t(t, sdt).cpu().numpy(),
        A.gaussian_filter_batch(x, sd),
        atol=1e-5,
    )
    which = np.arange(24)
    np.testing.assert_array_equal(
        D.rotate90_t(t, torch.from_numpy(which).to(device)).cpu().numpy(), A.rotate90(x, which)
    )
    starts = rng.integers(0, 3, size=(24, 3))
    np.testing.assert_array_equal(
        D.crop_t(t, 7, torch.from_numpy(starts).to(device)).cpu().numpy(),
        A.crop_boxes(x, 7, starts),
    )
    np.testing.assert_allclose(D.normalise_boxes_t(t).cpu().numpy(), normalise_boxes(x), atol=1e-5)
    flat = torch.zeros((3, 9, 9, 9), device=device)  # the eps floor: empty boxes stay empty
    assert not D.normalise_boxes_t(flat).any()


def test_torch_augment_draws_like_numpy():
    cfg = A.AugmentConfig(scale=(0.5, 1.5), noise=0.4, blur=0.8, offset=0.3)
    gen = torch.Generator().manual_seed(1)
    ones = torch.ones(2000, 6, 6, 6)
    only_scale = D.augment_batch_t(ones, A.AugmentConfig(scale=(0.5, 1.5)), gen)
    s = only_scale[:, 3, 3, 3]
    assert 0.5 <= s.min() and s.max() <= 1.5 and abs(float(s.mean()) - 1.0) < 0.03
    noise = D.augment_batch_t(torch.zeros(2000, 8, 8, 8), A.AugmentConfig(noise=0.4), gen)
    sd = noise.reshape(2000, -1).std(1, unbiased=False)
    assert float(sd.max()) <= 0.4 + 1e-4 and abs(float(sd.mean()) - 0.2) < 0.02
    # noise is smooth: neighbouring voxels correlate as the numpy path's do
    a = noise[:, :, :, :-1].reshape(-1)
    b = noise[:, :, :, 1:].reshape(-1)
    r = float(torch.corrcoef(torch.stack([a, b]))[0, 1])
    white = np.random.default_rng(0).standard_normal((200, 8, 8, 8), dtype=np.float32)
    ref = A.gaussian_filter_batch(white, np.full(200, 1.5))
    r_np = np.corrcoef(ref[..., :-1].ravel(), ref[..., 1:].ravel())[0, 1]
    assert abs(r - r_np) < 0.03
    out = D.augment_batch_t(torch.ones(5, 8, 8, 8, dtype=torch.float16), cfg, gen)
    assert out.dtype == torch.float32 and out.shape == (5, 8, 8, 8)
    axis = A.AugmentConfig(rotate90=True, crop=6)
    assert D.augment_batch_t(torch.ones(4, 8, 8, 8), axis, gen, "axis").shape == (4, 6, 6, 6)


@pytest.mark.parametrize("device", DEVICES)
def test_device_pool_samples_uniformly_or_by_weight(device):
    parts = [
        (np.full((n, 2, 2, 2), i, np.float16), np.full(n, i, np.int64))
        for i, n in enumerate((100, 300))
    ]
    gen = torch.Generator(device=device).manual_seed(0)
    pool = DevicePool(parts, device=device)
    boxes, labels = pool.sample(8000, gen)
    assert boxes.dtype == torch.float16 and (boxes[:, 0, 0, 0] == labels).all()
    assert abs(float((labels == 1).float().mean()) - 0.75) < 0.02  # uniform over rows
    pool.add((np.full((400, 2, 2, 2), 2, np.float16), np.full(400, 2, np.int64)))
    assert len(pool) == 800
    _, labels = pool.sample(8000, gen)
    assert abs(float((labels == 2).float().mean()) - 0.5) < 0.02
    weighted = DevicePool(parts, [1.0, 1.0], device)
    _, labels = weighted.sample(8000, gen)
    assert abs(float((labels == 0).float().mean()) - 0.5) < 0.02  # each part half
    assert len(torch.unique(weighted.sample(4000, gen)[0].reshape(4000, -1)[:, 0])) == 2
    with pytest.raises(ValueError):
        weighted.add(parts[0])
    with pytest.raises(ValueError):
        DevicePool(parts, [1.0], device)


def test_training_with_data_on_device_learns_and_resumes(cache, tmp_path):
    aug = A.AugmentConfig(noise=0.3, blur=0.5, scale=(0.8, 1.2))
    kw = dict(steps=40, eval_every=20, augment=aug, device_data=True,
              real_mix=["real_1dmm"], real_fraction=0.25)  # fmt: skip
    full = train(_cfg(cache, tmp_path / "full", **kw))
    assert full["last_eval"]["val"]["top1"] > 0.3  # 20 classes: chance is 0.05
    part = _cfg(cache, tmp_path / "part", **kw)
    part.stop_at_step = 20
    train(part)
    part.stop_at_step, part.resume = None, True
    assert train(part)["resumed_from"] == 20

    def losses(run):
        rows = [json.loads(s) for s in (tmp_path / run / "log.jsonl").read_text().splitlines()]
        return np.array([r["loss"] for r in rows if "loss" in r])

    np.testing.assert_allclose(losses("full"), losses("part"), rtol=1e-4, atol=1e-5)


def test_streamed_cache_joins_and_minutes_end_the_schedule(tmp_path, capsys):
    root = make_cache(tmp_path / "c", {"train": 300, "train2": 300, "val": 100})
    info = json.loads((root / "train2" / "info.json").read_text())
    (root / "train2" / "info.json").write_text(json.dumps({**info, "boxes": 300}))  # complete
    (root / "train3").mkdir()  # still being built: no info.json yet
    cfg = _cfg(root, tmp_path / "run", steps=100_000, minutes=0.04, eval_every=5,
               stream_splits=["train2", "train3"], heldout=[], min_lr=0.1)  # fmt: skip
    summary = train(cfg)
    assert "train2 joined the pool" in capsys.readouterr().out
    ck = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    state = json.loads(ck["state"])
    assert state["streamed"] == ["train2"] and state["finished"]
    assert 0.04 * 60 <= state["run_s"] < 0.04 * 60 + 2
    assert summary["steps"] < 100_000 and (tmp_path / "run" / "final.safetensors").exists()
    rows = [json.loads(s) for s in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in rows if "lr" in r]
    assert lrs[-1] == pytest.approx(0.1 * cfg.lr, rel=0.05)  # the cosine ran its course


@pytest.mark.parametrize("device", DEVICES)
def test_pose_loss_is_naming_blind_and_needs_no_target(device):
    from napari_densitybuild.residues import AMINO_ACIDS, SWAPS
    from napari_densitybuild.training.pose_loss import SWAP_PERMUTATIONS, pose_loss

    gen = torch.Generator().manual_seed(0)
    phe = AMINO_ACIDS.index("PHE")
    assert "PHE" in SWAPS
    target = torch.randn(3, 14, 3, generator=gen)
    target[:, 11:] = float("nan")  # PHE has 11 heavy atoms
    labels = torch.full((3,), phe)
    coords = torch.zeros(3, 20, 14, 3)
    coords[:, phe] = torch.nan_to_num(target)
    coords[:, phe, 11:] = 5.0  # predictions for absent atoms do not count
    flipped = coords.clone()
    flipped[:, phe] = coords[:, phe, torch.from_numpy(SWAP_PERMUTATIONS[phe])]
    for c in (coords, flipped):  # the exact pose and its ring flip: no loss either way
        loss = pose_loss(c.to(device), labels.to(device), target.to(device))
        assert float(loss) < 0.01
    shifted = coords.clone().requires_grad_(True)
    loss = pose_loss(shifted.to(device) + 1.0, labels.to(device), target.to(device))
    assert float(loss) == pytest.approx(3**0.5, rel=1e-3)  # every atom 1 A off along x, y, z
    empty = torch.full((3, 14, 3), float("nan"))
    loss = pose_loss(shifted.to(device), labels.to(device), empty.to(device))
    loss.backward()  # no residue with a target: 0, and still a graph to step through
    assert float(loss) == 0.0 and shifted.grad is not None
