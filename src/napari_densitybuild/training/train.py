"""Train the residue-type classifier from in-memory box caches.

Batches come from float16 caches (optionally a fixed fraction of each batch from real-map
splits), augmented and normalised with the input rule shared with prediction (:mod:`.batches`:
in RAM with numpy on the CPU, as tensors on the GPU), and fed as channels_last_3d (fp32 on CPU,
bf16 autocast on CUDA). Caches still being simulated can join the pool when they are complete
(``stream_splits``), and a run can be given minutes instead of steps (the cosine schedule then
spans the time). The run folder holds ``config.json``,
``log.jsonl`` + ``log.csv``, ``curves.png``, ``last.pt`` (resumable checkpoint: model, optimiser,
rng, counters; git-ignored, never shipped) and ``best.safetensors`` / ``final.safetensors``
(written through :mod:`napari_densitybuild.weights_io` with a model card).
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import DensityBuildError
from ..residues import AMINO_ACIDS
from . import distributed
from .augment import AugmentConfig
from .batches import BatchMaker
from .evaluate import REAL_HOLDOUT, REAL_VAL, evaluate_arrays, load_atoms, load_split
from .heads import forward_heads, freeze_except, load_without_atom_head, set_training
from .pose_loss import evaluate_poses, mean_poses, pose_loss
from .runlog import RunLog, group_weights, plot_curves
from .trainkit import box_from_cache, cache_complete, lr_at, metric_value, param_groups, summary

#: What a model card keeps of the weights a run started from, under ``previous``.
PREVIOUS_KEYS = ("run", "metrics", "command", "machine", "atom_head", "previous")


@dataclass
class TrainConfig:
    """Everything a training run depends on (saved as ``config.json`` in the run folder)."""

    cache: str
    out: str
    train_splits: list[str] = field(default_factory=lambda: ["train"])
    stream_splits: list[str] = field(default_factory=list)  # join when complete (at evaluations)
    val_split: str | None = "val"
    real_mix: list[str] = field(default_factory=list)  # real_<name> splits mixed into batches
    real_fraction: float = 0.0  # fraction of each batch drawn from ``real_mix``
    real_balance: str = "box"  # real boxes: uniform ("box"), per map ("map") or sqrt of size
    heldout: list[str] = field(
        default_factory=lambda: [f"real_{n}" for n in (*REAL_HOLDOUT, *REAL_VAL)]
    )
    net: dict = field(default_factory=lambda: {"name": "compact", "base": 16, "blocks": [3, 3]})
    box: dict | None = None  # {"size", "spacing", "frame"}; None: from the cache's info.json
    batch_size: int = 64
    steps: int = 1000
    minutes: float | None = None  # train this long (schedule over time); ``steps`` is a cap
    optimizer: str = "adamw"  # or "sgd" (momentum, coupled L2 weight decay)
    lr: float = 2e-3
    momentum: float = 0.9
    weight_decay: float = 0.05
    warmup: int = 100
    min_lr: float = 0.0  # cosine floor, as a fraction of ``lr``
    label_smoothing: float = 0.0
    pose_weight: float = 0.0  # weight of the pose loss (A) for nets with a pose head
    atom_weight: float = 0.0  # weight of the atom head's pose loss (A) for nets with one
    train_only: list[str] = field(default_factory=list)  # parameter prefixes (none: all)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    augment_real: bool = True  # False: real boxes get only the rotations and crops
    eval_every: int = 500
    eval_max: int | None = None  # evaluate on at most this many boxes per split (fixed subset)
    eval_batch: int = 256
    best_metric: str = "auto"  # "realval_top1", "val_map", ...; auto: real validation maps
    log_every: int = 20
    checkpoint_minutes: float = 5.0
    stop_after_minutes: float | None = None  # checkpoint and stop (resume later with ``resume``)
    stop_at_step: int | None = None  # same, at a step (the schedule still spans ``steps``)
    threads: int = 2
    seed: int = 0
    device: str = "cpu"
    device_data: bool | None = None  # pools and augmentation on the device (None: on CUDA)
    resume: bool = False
    init_from: str | None = None  # safetensors file (e.g. the shipped weights)
    init_member: int = 0  # which member, when init_from is an ensemble
    command: str = ""

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Inverse of ``asdict``."""
        d = dict(d)
        aug = d.get("augment") or {}
        d["augment"] = AugmentConfig(**{**aug, "scale": tuple(aug.get("scale", (1.0, 1.0)))})
        return cls(**d)


def train(cfg: TrainConfig) -> dict:
    """Run (or resume) training; returns a summary (best metric, last eval, speeds, paths).

    Parameters
    ----------
    cfg
        The run's configuration; ``cfg.out`` receives logs, checkpoints and exported weights.
    """
    from ..nets import build_net
    from ..nets.grow import load_grown
    from ..weights_io import member_of, save_model

    world = distributed.world_from_env()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed + world.rank)
    rng = np.random.default_rng(cfg.seed + world.rank)  # every process its own batches
    device = distributed.setup(world, torch.device(cfg.device))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: pick the fastest kernels
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if world.main:
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))

    use_pose = cfg.pose_weight > 0 and bool(cfg.net.get("pose"))
    use_atoms = cfg.atom_weight > 0 and bool(cfg.net.get("atom_head"))
    if cfg.pose_weight > 0 and not use_pose:
        raise DensityBuildError("pose_weight > 0 needs a net with a pose head (net option pose)")
    if cfg.atom_weight > 0 and not use_atoms:
        raise DensityBuildError("atom_weight > 0 needs a net with an atom head (atom_head)")
    need_atoms = use_pose or use_atoms

    def load(split: str) -> tuple[np.ndarray, ...]:
        parts = load_split(cfg.cache, split)
        return (*parts, load_atoms(cfg.cache, split, len(parts[1]))) if need_atoms else parts

    train_parts = [load(s) for s in cfg.train_splits]
    real_parts = [load(s) for s in cfg.real_mix]
    real_weights = group_weights(cfg.real_mix, [len(p[1]) for p in real_parts], cfg.real_balance)
    n_real = round(cfg.batch_size * cfg.real_fraction) if real_parts else 0
    box = box_from_cache(cfg, train_parts[0][0])
    crop = cfg.augment.crop if cfg.augment.crop and cfg.augment.crop < box["size"] else None
    net_cfg = {**cfg.net, "input_size": crop or box["size"]}  # the net sees the (centre) crop
    evals: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    pose_evals: dict[str, tuple[np.ndarray, ...]] = {}
    for split in ([cfg.val_split] if cfg.val_split else []) + list(cfg.heldout):
        if (Path(cfg.cache) / split / "boxes.npy").exists():
            parts = load(split)
            if cfg.eval_max and len(parts[1]) > cfg.eval_max:
                keep = np.sort(np.random.default_rng(0).permutation(len(parts[1]))[: cfg.eval_max])
                parts = tuple(p[keep] for p in parts)
            name = "val" if split == cfg.val_split else split
            evals[name] = parts[:2]
            if need_atoms:
                pose_evals[name] = parts
    best_metric = cfg.best_metric
    if best_metric == "auto":  # choose by real validation maps, never by the held-out ones
        held = sum(f"real_{n}" in evals for n in REAL_VAL) > 1
        if use_atoms and cfg.train_only == ["atom_head"]:  # the classifier cannot change
            best_metric = "realval_atom_rmsd" if held else "val_atom_rmsd"
        else:
            best_metric = "realval_top1" if held else "val_map"

    carried = {"samples_seen": 0, "steps": 0, "cpu_seconds": 0.0, "wall_seconds": 0.0}
    net = build_net(net_cfg)
    grown: list[str] = []
    history: dict = {}
    if use_pose and not cfg.init_from and hasattr(net.pose_head, "set_mean_pose"):
        net.pose_head.set_mean_pose(torch.from_numpy(mean_poses(*train_parts[0][1:3][::-1])))
    if cfg.init_from:
        loaded, init_config = member_of(cfg.init_from, cfg.init_member)
        # the same net, or one with extra identity blocks; atom heads matched (see .heads)
        grown, note = load_without_atom_head(net, loaded, load_grown)
        if note:
            print(f"{cfg.init_from}: {note}")
        if grown:
            print(f"grown from {cfg.init_from}: new residual blocks {', '.join(grown)}")
        card = init_config.get("card", {})
        for k in carried:
            carried[k] = type(carried[k])(card.get(k, 0) or 0)
        # the runs before this one, each card holding its own predecessor's
        history = {k: card[k] for k in PREVIOUS_KEYS if k in card}
    net = net.to(device, memory_format=torch.channels_last_3d)
    try:
        freeze_except(net, cfg.train_only)
    except ValueError as exc:
        raise DensityBuildError(f"train_only: {exc}") from None
    groups = param_groups(net, cfg.weight_decay)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    elif cfg.optimizer == "adamw":  # one fused kernel per step on CUDA
        opt = torch.optim.AdamW(groups, lr=cfg.lr, fused=device.type == "cuda" or None)
    else:
        raise DensityBuildError(f"unknown optimizer {cfg.optimizer!r} (adamw or sgd)")

    on_device = cfg.device_data if cfg.device_data is not None else device.type == "cuda"
    geometric = AugmentConfig(rotate90=cfg.augment.rotate90, crop=cfg.augment.crop)
    batches = BatchMaker(train_parts, real_parts, real_weights, cfg.batch_size, n_real,
                         cfg.augment, cfg.augment if cfg.augment_real else geometric,
                         box["frame"], device, on_device, rng, cfg.seed + world.rank)  # fmt: skip
    del train_parts, real_parts  # the pools hold them (on the device: host copies freed)
    streaming = list(cfg.stream_splits)
    state = {
        "step": 0,
        "samples": 0,
        "cpu_s": 0.0,
        "wall_s": 0.0,
        "run_s": 0.0,
        "best": -math.inf,
        "best_step": -1,
        "last_eval": {},
        "carried": carried,
    }
    ckpt_path = out / "last.pt"
    resumed_from = None
    if cfg.resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state = json.loads(ck["state"])
        resumed_from = state["step"]
        if world.main:
            batches.load_state(ck)
            torch.set_rng_state(ck["torch_rng"])
        else:  # other ranks: a fresh stream of their own for the rest of the run
            batches.rng = np.random.default_rng([cfg.seed, world.rank, resumed_from])
    model = distributed.wrap(net, world, device)
    log = RunLog(out, resumed_from) if world.main else None
    config = {"net": net_cfg, "box": box, "classes": list(AMINO_ACIDS)}
    # CUDA: bf16 autocast where supported (no loss scaling needed); the CPU path stays fp32.
    use_amp = device.type == "cuda" and torch.cuda.is_bf16_supported()

    def checkpoint() -> None:
        ck = {
            "model": net.state_dict(),
            "optimizer": opt.state_dict(),
            **batches.state(),
            "torch_rng": torch.get_rng_state(),
            "state": json.dumps(state),
        }
        torch.save(ck, out / "last.tmp")
        (out / "last.tmp").replace(ckpt_path)

    def card(summary: dict) -> dict:
        c = state["carried"]
        cpu = c["cpu_seconds"] + state["cpu_s"]
        return {
            "samples_seen": c["samples_seen"] + state["samples"],
            "steps": c["steps"] + state["step"],
            "cpu_seconds": cpu,
            "cpu_hours": cpu / 3600,
            "wall_seconds": c["wall_seconds"] + state["wall_s"],
            "run": {
                "steps": state["step"],
                "samples": state["samples"],
                "train_splits": cfg.train_splits,
                "real_mix": cfg.real_mix,
                "real_fraction": cfg.real_fraction,
                "init_from": cfg.init_from,
                "init_member": cfg.init_member,
                "grown_blocks": grown,
                "train_only": cfg.train_only,
                "pose_weight": cfg.pose_weight,
                "atom_weight": cfg.atom_weight,
            },
            "metrics": summary,
            "best_metric": best_metric,
            "command": cfg.command,
            "machine": f"{platform.machine()} {platform.processor()} "
            f"{cfg.threads} threads, torch {torch.__version__}, {device.type}"
            + (f", {world.size} processes (DDP)" if world.enabled else ""),
            **({"previous": history} if history else {}),
        }

    def evaluate_now() -> dict:
        results = evaluate_arrays(net, evals, cfg.eval_batch, device, net_cfg["input_size"])
        heads = (("pose_rmsd", "pose", use_pose), ("atom_rmsd", "atoms", use_atoms))
        for key, head in ((k, h) for k, h, used in heads if used):
            for name, rmsd in evaluate_poses(net, pose_evals, cfg.eval_batch, device, head).items():
                results.setdefault(name, {})[key] = rmsd
        value = metric_value(results, best_metric)  # higher is better (RMSDs negated)
        if value is not None and value > state["best"]:
            state["best"], state["best_step"] = float(value), state["step"]
            save_model(out / "best.safetensors", net, config, card(summary(results)))
        return results

    def join_streamed() -> None:  # caches that are complete now join the simulated pool
        for split in streaming:
            if split not in state["streamed"] and cache_complete(cfg.cache, split):
                batches.add_train(load(split))
                state["streamed"].append(split)
                print(f"step {state['step']}: {split} joined the pool", flush=True)

    state.setdefault("streamed", [])
    for split in list(state["streamed"]):  # resumed: the splits that had joined, again
        batches.add_train(load(split))
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    set_training(net, cfg.train_only)
    last_ckpt = time.monotonic()
    window = {"t": time.perf_counter(), "n": 0, "prep": 0.0, "loss": 0.0, "k": 0}
    t_start = time.monotonic()
    stop = min(cfg.steps, cfg.stop_at_step or cfg.steps)
    while state["step"] < stop:
        late = bool(cfg.stop_after_minutes) and time.monotonic() - t_start > 60 * (
            cfg.stop_after_minutes or 0)  # fmt: skip
        if distributed.agree(late, world, device):
            break
        t0, c0, w0 = time.perf_counter(), time.process_time(), time.monotonic()
        progress = state.get("run_s", 0.0) / (60 * cfg.minutes) if cfg.minutes else None
        lr = lr_at(state["step"], cfg, progress)
        for g in opt.param_groups:
            g["lr"] = lr
        x, yt, target = batches()
        window["prep"] += time.perf_counter() - t0
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            logits, coords, atoms = forward_heads(model, x, use_pose, use_atoms)
        loss = loss_fn(logits.float(), yt)
        for key, pred, weight in (("pose_loss", coords, cfg.pose_weight),
                                 ("atom_loss", atoms, cfg.atom_weight)):  # fmt: skip
            if pred is not None:
                p_loss = pose_loss(pred.float(), yt, target)
                loss = loss + weight * p_loss
                window[key] = window.get(key, 0.0) + p_loss.detach()
        if not loss.requires_grad:
            raise DensityBuildError(f"train_only {cfg.train_only}: nothing trained is in the loss")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        state["step"] += 1
        state["samples"] += len(yt)
        state["cpu_s"] += time.process_time() - c0
        state["wall_s"] += time.monotonic() - w0
        window["n"] += len(yt)
        window["loss"] += loss.detach()  # a tensor: no device sync per step
        window["k"] += 1
        step = state["step"]
        done = step >= cfg.steps
        if cfg.minutes:
            out_of_time = state.get("run_s", 0.0) + time.monotonic() - w0 >= 60 * cfg.minutes
            done = done or distributed.agree(out_of_time, world, device)
        if world.main and (step % cfg.log_every == 0 or done):
            dt = time.perf_counter() - window["t"]
            row = {
                "step": step,
                "samples": state["samples"],
                "loss": float(window["loss"]) / window["k"],
                "lr": lr,
                "cpu_s": round(state["cpu_s"], 2),
                "wall_s": round(state["wall_s"], 2),
                "samples_per_s": round(window["n"] / dt, 2),
                "prep_ms": round(1000 * window["prep"] / window["k"], 2),
            }
            for key in ("pose_loss", "atom_loss"):
                if key in window:
                    row[key] = round(float(window[key]) / window["k"], 4)
            log.add(row)
            window = {"t": time.perf_counter(), "n": 0, "prep": 0.0, "loss": 0.0, "k": 0}
        at_eval = step % cfg.eval_every == 0 or done
        if at_eval and streaming:
            join_streamed()
        if world.main and at_eval and evals:
            state["last_eval"] = summary(evaluate_now())
            log.add({"step": step, "samples": state["samples"], "eval": state["last_eval"]})
            plot_curves(log.rows, out / "curves.png")
            set_training(net, cfg.train_only)  # evaluation left every layer in training mode
        state["run_s"] = state.get("run_s", 0.0) + time.monotonic() - w0
        state["finished"] = done
        if world.main and (at_eval or time.monotonic() - last_ckpt > 60 * cfg.checkpoint_minutes):
            checkpoint()
            last_ckpt = time.monotonic()
        if done:
            break
    distributed.barrier(world)
    if not world.main:
        distributed.cleanup(world)
        return {"steps": state["step"], "rank": world.rank, "out": str(out)}
    if state["step"] >= cfg.steps or state.get("finished"):
        if not evals:
            save_model(out / "best.safetensors", net, config, card({}))
        save_model(out / "final.safetensors", net, config, card(state["last_eval"]))
    checkpoint()
    plot_curves(log.rows, out / "curves.png")
    distributed.cleanup(world)
    rows = [r for r in log.rows if "samples_per_s" in r]
    return {
        "steps": state["step"],
        "best_metric": best_metric,
        "best": state["best"],
        "best_step": state["best_step"],
        "last_eval": state["last_eval"],
        "samples_per_s": rows[-1]["samples_per_s"] if rows else None,
        "prep_ms": rows[-1]["prep_ms"] if rows else None,
        "out": str(out),
        "resumed_from": resumed_from,
    }
