"""Train the C-alpha detector on tiles of simulated crystal maps, made on the fly.

One loop, one thread by default: a ring buffer of tiles is refilled with the tiles of one newly
simulated TRAIN-split structure every ``refresh`` steps (simulating costs ~0.4 s, training a
step ~0.6 s), batches are drawn from the buffer, the learning rate follows a cosine over the
time budget, weights are written to ``out/detector.safetensors`` every ``checkpoint_minutes``
and at the end, and ``out/log.jsonl`` gets one row per log interval (losses, val losses).

Run::

    python -m napari_densitybuild.training.train_placement --minutes 45 --out runs/placement
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..detector_weights import save_detector
from ..nets.detector import DetectorNet
from .placement_data import TileSpec, tiles_from_simulation
from .simulate import SimulationSettings, simulate_file
from .split import split_files


@dataclass
class PlacementTrainConfig:
    """Settings of one detector training run."""

    out: str = "runs/placement"
    minutes: float = 45.0
    base: int = 16
    tile: int = 32
    batch: int = 4
    lr: float = 2e-3
    weight_decay: float = 1e-4
    pos_weight: float = 3.0
    d_min: tuple[float, float] = (1.3, 2.6)
    buffer: int = 1536
    tiles_per_structure: int = 8
    refresh: int = 4
    warm_structures: int = 48
    val_structures: int = 12
    log_every: int = 50
    checkpoint_minutes: float = 5.0
    threads: int = 1
    seed: int = 0
    split: str | None = None  # split JSON (default: the committed training/split.json)
    init_from: str | None = None  # detector weights to continue from (e.g. the shipped ones)


def detector_loss(out: torch.Tensor, tg: dict[str, torch.Tensor], pos_weight: float) -> dict:
    """Weighted BCE on the C-alpha logit, L1 offsets and cosine directions at labelled voxels."""
    label = tg["label"].float()
    bce = F.binary_cross_entropy_with_logits(
        out[:, 0], label, pos_weight=torch.tensor(pos_weight), reduction="mean"
    )
    pos = label > 0.5
    if pos.any():
        m = pos.unsqueeze(1).expand(-1, 3, -1, -1, -1)
        off = F.smooth_l1_loss(out[:, 1:4][m], tg["offset"][m], beta=0.2)
        pn = F.normalize(out[:, 4:7], dim=1).permute(0, 2, 3, 4, 1)[pos]
        pc = F.normalize(out[:, 7:10], dim=1).permute(0, 2, 3, 4, 1)[pos]
        tn = tg["to_n"].permute(0, 2, 3, 4, 1)[pos]
        tc = tg["to_c"].permute(0, 2, 3, 4, 1)[pos]
        cos = 2 - (pn * tn).sum(1).mean() - (pc * tc).sum(1).mean()
    else:
        off = cos = out.sum() * 0
    total = bce + off + 0.5 * cos
    return {"loss": total, "bce": bce, "offset": off, "direction": cos}


class TileBuffer:
    """A ring buffer of training tiles (map float16, targets) filled structure by structure."""

    def __init__(self, capacity: int, size: int):
        self.cap, self.n, self.pos = capacity, 0, 0
        shp = (capacity,) + (size,) * 3
        self.data = {"map": np.zeros(shp, np.float16), "label": np.zeros(shp, np.uint8),
                     "offset": np.zeros((capacity, 3, *shp[1:]), np.float16),
                     "to_n": np.zeros((capacity, 3, *shp[1:]), np.float16),
                     "to_c": np.zeros((capacity, 3, *shp[1:]), np.float16)}  # fmt: skip

    def add(self, tiles: dict[str, np.ndarray]) -> None:
        """Store tiles, overwriting the oldest once full."""
        for t in range(len(tiles["map"])):
            for k, arr in self.data.items():
                arr[self.pos] = tiles[k][t]
            self.pos = (self.pos + 1) % self.cap
            self.n = min(self.n + 1, self.cap)

    def sample(self, count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``count`` stored tiles drawn at random (with replacement)."""
        idx = rng.integers(0, self.n, size=count)
        return {k: v[idx] for k, v in self.data.items()}


def to_tensors(batch: dict[str, np.ndarray], rng: np.random.Generator | None) -> tuple:
    """Net input (B, 1, D, H, W) with random scale/offset augmentation, and target tensors."""
    x = batch["map"].astype(np.float32)
    if rng is not None:
        b = len(x)
        x = x * rng.uniform(0.8, 1.2, (b, 1, 1, 1)) + rng.normal(0, 0.1, (b, 1, 1, 1))
    xt = torch.from_numpy(x.astype(np.float32)).unsqueeze(1)
    xt = xt.contiguous(memory_format=torch.channels_last_3d)
    tg = {k: torch.from_numpy(batch[k].astype(np.float32)) for k in batch if k != "map"}
    return xt, tg


def _simulate_tiles(
    path: Path,
    settings: SimulationSettings,
    rng: np.random.Generator,
    cfg: PlacementTrainConfig,
    spec: TileSpec,
):
    sim = simulate_file(path, settings, seed=rng)
    return tiles_from_simulation(sim, cfg.tiles_per_structure, rng, spec)


def train_placement(cfg: PlacementTrainConfig) -> dict:
    """Train until the time budget is spent; returns a summary (losses, steps, paths)."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    spec = TileSpec(size=cfg.tile)
    settings = SimulationSettings().with_d_min(cfg.d_min)
    train_files = split_files("train", path=cfg.split)
    val_files = split_files("val", path=cfg.split)
    order = rng.permutation(len(train_files))
    vrng = np.random.default_rng(cfg.seed + 1)
    val_parts = []
    for i, p in enumerate(vrng.permutation(val_files)[: cfg.val_structures]):
        vset = settings.with_d_min(1.5 if i % 2 == 0 else 2.5)
        val_parts.append(_simulate_tiles(Path(p), vset, vrng, cfg, spec))
    val = {k: np.concatenate([v[k] for v in val_parts]) for k in val_parts[0]}
    buf = TileBuffer(cfg.buffer, cfg.tile)
    cursor = 0

    def next_structure() -> None:
        nonlocal cursor
        path = train_files[order[cursor % len(order)]]
        cursor += 1
        try:
            buf.add(_simulate_tiles(path, settings, rng, cfg, spec))
        except Exception as e:  # a malformed structure must not stop a long run
            print(f"skip {path.name}: {e}", flush=True)

    for _ in range(cfg.warm_structures):
        next_structure()
    net = DetectorNet(cfg.base)
    before = {"cpu_hours": 0.0, "steps": 0, "tiles_seen": 0}
    if cfg.init_from:
        from ..detector_weights import load_detector

        loaded, init_config = load_detector(cfg.init_from, "cpu")
        net.load_state_dict(loaded.state_dict())
        old = init_config.get("card", {})
        before = {k: old.get(f"total_{k}", old.get(k, 0)) or 0 for k in before}
    net = net.to(memory_format=torch.channels_last_3d)
    decay = [p for p in net.parameters() if p.ndim > 1]
    other = [p for p in net.parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": other, "weight_decay": 0.0}], lr=cfg.lr)  # fmt: skip
    budget = cfg.minutes * 60
    t0 = last_ckpt = time.perf_counter()
    step, run = 0, {}
    log = open(out / "log.jsonl", "a")
    extra = {"tile": cfg.tile, "trained_d_min": list(cfg.d_min)}

    def card(final: bool) -> dict:
        hours = (time.perf_counter() - t0) / 3600 * cfg.threads
        return {"data": "simulated crystal maps (training.simulate) of TRAIN-split structures",
                "split": cfg.split or "training/split.json", "steps": step,
                "tiles_seen": step * cfg.batch,
                "structures_simulated": cursor, "cpu_hours": round(hours, 3),
                "init_from": cfg.init_from,
                "total_cpu_hours": round(before["cpu_hours"] + hours, 3),
                "total_steps": before["steps"] + step,
                "total_tiles_seen": before["tiles_seen"] + step * cfg.batch,
                "machine": platform.processor() or platform.machine(), "final": final,
                "command": f"python -m napari_densitybuild.training.train_placement "
                           f"--minutes {cfg.minutes} --out {cfg.out} --threads {cfg.threads}"
                           + (f" --init-from {cfg.init_from}" if cfg.init_from else ""),
                "torch": torch.__version__, "config": asdict(cfg)}  # fmt: skip

    while True:
        frac = (time.perf_counter() - t0) / budget
        if frac >= 1:
            break
        lr = cfg.lr * min(1.0, (step + 1) / 100) * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        net.train()
        x, tg = to_tensors(buf.sample(cfg.batch, rng), rng)
        losses = detector_loss(net(x), tg, cfg.pos_weight)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
        for k, v in losses.items():
            run[k] = run.get(k, 0.0) + float(v.detach())
        step += 1
        if step % cfg.refresh == 0:
            next_structure()
        if step % cfg.log_every == 0:
            row = {"step": step, "minutes": round((time.perf_counter() - t0) / 60, 2), "lr": lr}
            row.update({k: round(v / cfg.log_every, 4) for k, v in run.items()})
            run = {}
            if step % (cfg.log_every * 10) == 0:
                row["val"] = evaluate_tiles(net, val)
            log.write(json.dumps(row) + "\n")
            log.flush()
            print(json.dumps(row), flush=True)
        if time.perf_counter() - last_ckpt > cfg.checkpoint_minutes * 60:
            save_detector(out / "detector.safetensors", net, card(False), extra)
            last_ckpt = time.perf_counter()
    final = evaluate_tiles(net, val)
    summary = card(True)
    summary["val_tiles"] = final
    save_detector(out / "detector.safetensors", net, summary, extra)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    log.write(json.dumps({"step": step, "final_val": final}) + "\n")
    log.close()
    return summary


@torch.no_grad()
def evaluate_tiles(net: DetectorNet, val: dict[str, np.ndarray], batch: int = 8) -> dict:
    """Validation losses and voxel precision/recall (p > 0.5) on fixed tiles."""
    net.eval()
    sums: dict[str, float] = {}
    tp = fp = fn = 0
    for s in range(0, len(val["map"]), batch):
        x, tg = to_tensors({k: v[s : s + batch] for k, v in val.items()}, None)
        out = net(x)
        for k, v in detector_loss(out, tg, 3.0).items():
            sums[k] = sums.get(k, 0.0) + float(v) * len(x)
        pred = out[:, 0] > 0
        lab = tg["label"] > 0.5
        tp += int((pred & lab).sum())
        fp += int((pred & ~lab).sum())
        fn += int((~pred & lab).sum())
    n = len(val["map"])
    res = {k: round(v / n, 4) for k, v in sums.items()}
    res.update(
        voxel_precision=round(tp / max(tp + fp, 1), 4), voxel_recall=round(tp / max(tp + fn, 1), 4)
    )
    net.train()
    return res


def _init_path(value: str | None) -> str | None:
    if value != "shipped":
        return value
    from ..detector_weights import shipped_detector_path

    path = shipped_detector_path()
    if path is None:
        raise SystemExit("--init-from shipped: this install ships no detector weights")
    return str(path)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--minutes``, ``--out``, ``--base``, ``--seed``, ``--threads``."""
    p = argparse.ArgumentParser(description="Train the C-alpha detector on simulated maps.")
    p.add_argument("--out", default="runs/placement")
    p.add_argument("--minutes", type=float, default=45.0)
    p.add_argument("--base", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--split", help="split JSON (default: training/split.json)")
    p.add_argument("--warm", type=int, default=48, help="structures simulated before step 1")
    p.add_argument("--init-from", help="continue from detector weights ('shipped' or a path)")
    a = p.parse_args(argv)
    cfg = PlacementTrainConfig(
        out=a.out,
        minutes=a.minutes,
        base=a.base,
        seed=a.seed,
        threads=a.threads,
        split=a.split,
        warm_structures=a.warm,
        init_from=_init_path(a.init_from),
    )
    print(json.dumps(train_placement(cfg), default=str)[:2000])
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
