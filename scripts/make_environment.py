"""Fit the environment models of ``environment.py`` (ASP/ASN, GLU/GLN, VAL/THR) on the
training structures and write ``src/napari_densitybuild/data/environment.json``.

For every ASP, ASN, GLU, GLN, VAL and THR of the TRAIN split (../shared/data/structures),
the features of :func:`napari_densitybuild.environment.pair_features` are computed on the
structure with every atom moved by Gaussian noise (0.4 A sd, about the error of built atoms),
and a logistic regression per pair (Newton's method, L2 1e-2) gives the log-odds of the
pair's second type. The VAL split scores it (area under the ROC curve, accuracy against
always answering the commoner type). Run from the repository root (about 3 minutes)::

    .venv/bin/python scripts/make_environment.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.environment import FEATURES, PAIRS, kind_of, pair_features  # noqa: E402
from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.refine import atom_model  # noqa: E402
from napari_densitybuild.training.split import split_files  # noqa: E402

NOISE = 0.4
L2 = 1e-2
OUT = ROOT / "src" / "napari_densitybuild" / "data" / "environment.json"


def collect(split: str, seed: int) -> dict[str, list]:
    """Per residue name, the feature vectors of one split."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {}
    for path in split_files(split):
        model = atom_model(read_structure(path))
        model.xyz = model.xyz + rng.normal(0.0, NOISE, model.xyz.shape)
        for r, f in pair_features(model).items():
            rows.setdefault(str(model.resname[r]), []).append(f)
    return rows


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic regression (weights, bias) by Newton's method with a small L2 penalty."""
    a = np.c_[x, np.ones(len(x))]
    w = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], L2 * len(x))
    reg[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-a @ w))
        grad = a.T @ (p - y) + reg * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def auc(score: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve (ties count half)."""
    pos, neg = score[y == 1], score[y == 0]
    return float(((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum())
                 / max(len(pos) * len(neg), 1))  # fmt: skip


def main() -> int:
    t0 = time.time()
    train, val = collect("train", 0), collect("val", 1)
    out = {"source": "scripts/make_environment.py", "noise_A": NOISE, "l2": L2, "pairs": {}}
    for pair in PAIRS:

        def xy(rows, pair=pair):
            x = np.array(rows.get(pair[0], []) + rows.get(pair[1], []), dtype=float)
            y = np.r_[np.zeros(len(rows.get(pair[0], []))), np.ones(len(rows.get(pair[1], [])))]
            return x, y

        x, y = xy(train)
        xv, yv = xy(val)
        w, b = fit(x, y)
        score = xv @ w + b
        prior = float(np.log(y.mean() / (1 - y.mean())))
        row = {
            "features": list(FEATURES[kind_of(pair)]),
            "weights": [round(float(v), 4) for v in w],
            "bias": round(b, 4),
            "prior_log_odds": round(prior, 4),
            "train_counts": {pair[0]: int((y == 0).sum()), pair[1]: int((y == 1).sum())},
            "val_counts": {pair[0]: int((yv == 0).sum()), pair[1]: int((yv == 1).sum())},
            "val_auc": round(auc(score, yv), 3),
            "val_accuracy": round(float(((score > 0) == (yv == 1)).mean()), 3),
            "val_accuracy_prior_only": round(float(max(yv.mean(), 1 - yv.mean())), 3),
        }
        out["pairs"]["/".join(pair)] = row
        print("/".join(pair), json.dumps(row), flush=True)
    out["seconds"] = round(time.time() - t0, 1)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT} in {out['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
