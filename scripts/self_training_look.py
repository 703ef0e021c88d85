"""Test-time self-training on one real map: does fine-tuning on its confident residues help?

    DENSITYBUILD_DATA=../shared/data .venv/bin/python scripts/self_training_look.py 3sb3 \\
        --tau 0.9 --steps 40 --lr 1e-4 --part bn [--kl 1]

The shipped classifier (TTA and H-bond evidence, as ``classify``) scores the map's deposited
residues; those it calls with probability at least ``--tau`` become pseudo-labels; a copy of
the net is fine-tuned on 8 jittered boxes of each (batch 32, AdamW, light noise, label
smoothing ``--smoothing``, batch-norm statistics frozen) for ``--steps`` steps, the parameters of
``--part`` only ("all", "bn" for the batch-norm scales and shifts, or a name prefix such as
"classifier"); with ``--kl``, that weight times the divergence from the net's own
predictions on all the map's boxes is added. The map is then classified again. Prints one JSON
line: residues, pseudo-labels and their accuracy, top-1 before and after, and the gain in
residues. Only for maps kept out of training (the real validation maps 3sb3 and gamma); the
model card records the outcome.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.boxes import cut_boxes, jitter_frames, normalise_boxes  # noqa: E402
from napari_densitybuild.classify import Classifier  # noqa: E402
from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.models import protein_residues, read_structure  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402
from napari_densitybuild.weights_io import load_model, shipped_weights_path  # noqa: E402


def trainable(net: torch.nn.Module, part: str) -> list[torch.nn.Parameter]:
    """Switch on the gradients of ``part``'s parameters only; return them."""
    norms = [name for name, m in net.named_modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]  # fmt: skip
    bn = {f"{name}.{k}" for name in norms for k in ("weight", "bias")}
    out = []
    for name, p in net.named_parameters():
        on = part == "all" or (part == "bn" and name in bn) or name.startswith(part)
        p.requires_grad_(on)
        if on:
            out.append(p)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", help="a folder of ../shared/data/real kept out of training")
    p.add_argument("--tau", type=float, default=0.9, help="pseudo-label probability threshold")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--part", default="all", help='"all", "bn" or a parameter-name prefix')
    p.add_argument("--kl", type=float, default=0.0, help="weight of the divergence term")
    p.add_argument("--smoothing", type=float, default=0.1, help="label smoothing")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    dmap = read_map(real_dir() / args.name / "map.mtz")
    st = read_structure(model_path(args.name))
    path = shipped_weights_path()
    base = Classifier.from_path(path, device="cpu")
    rows, _ = base.classify_model(dmap, st)
    ref = [r["ref_class"] for r in rows]
    pred0 = [r["pred"] for r in rows]
    res, _ = protein_residues(st, "the model", "classify")
    centres, rots = base.frames(res.n, res.ca, res.c)
    inside = dmap.depth_inside(centres) >= 0
    centres, rots = centres[inside], rots[inside]
    sel = np.flatnonzero(np.array([r["confidence"] for r in rows]) >= args.tau)
    labels = np.array([base.classes.index(pred0[i]) for i in sel])
    rng = np.random.default_rng(0)
    copies = [jitter_frames(centres[sel], rots[sel], rng, max_angle_deg=10, shift_sd=0.3)
              for _ in range(8)]  # fmt: skip
    boxes = np.concatenate([cut_boxes(dmap, c, r, base.spec) for c, r in copies])
    ys = torch.from_numpy(np.tile(labels, 8))
    net, config = load_model(path)
    net.train()
    for m in net.modules():  # the running statistics stay as trained
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    opt = torch.optim.AdamW(trainable(net, args.part), lr=args.lr, weight_decay=0.05)
    every = torch.from_numpy(normalise_boxes(cut_boxes(dmap, centres, rots, base.spec)))[:, None]
    with torch.no_grad():
        p_orig = torch.softmax(net(every), 1)
    t0 = time.time()
    for _ in range(args.steps):
        idx = rng.choice(len(boxes), 32, replace=False)
        x = torch.from_numpy(normalise_boxes(boxes[idx]))[:, None]
        x = x + 0.1 * torch.randn_like(x)
        loss = torch.nn.functional.cross_entropy(net(x), ys[idx], label_smoothing=args.smoothing)
        if args.kl:
            j = rng.choice(len(every), 32, replace=False)
            log_p = torch.log_softmax(net(every[j]), 1)
            loss = loss + args.kl * torch.nn.functional.kl_div(log_p, p_orig[j],
                                                               reduction="batchmean")  # fmt: skip
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    adapted = Classifier(net, config, device="cpu", path=path, tta=base.tta,
                         environment=base.environment)  # fmt: skip
    pred1 = [r["pred"] for r in adapted.classify_model(dmap, st)[0]]
    scored = [k for k, t in enumerate(ref) if t]
    right0 = sum(pred0[k] == ref[k] for k in scored)
    right1 = sum(pred1[k] == ref[k] for k in scored)
    print(json.dumps({"map": args.name, "tau": args.tau, "steps": args.steps, "lr": args.lr,
                      "part": args.part, "kl": args.kl, "smoothing": args.smoothing,
                      "residues": len(scored), "pseudo_labels": len(sel),
                      "pseudo_label_accuracy": round(float(np.mean([pred0[i] == ref[i]
                                                                    for i in sel])), 3),
                      "top1_before": round(right0 / len(scored), 3),
                      "top1_after": round(right1 / len(scored), 3), "gain": right1 - right0,
                      "seconds": round(time.time() - t0, 1)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
