"""Does the H-bond evidence help on unseen real maps, and with what weight?

    .venv/bin/python scripts/oof_environment.py OOF_DIR [--out OOF.npz]
        [--test 1cbs,cdk2,rnasa,3sb3,gamma --test-out TEST.npz]

``OOF_DIR`` holds what ``scripts/crossval_gpu.sh`` wrote: ``oof.json``, and the four fold nets
as ``fold1.safetensors`` ... ``fold4.safetensors`` (each fold's ``final.safetensors``). Every
map is classified again by the net that did not see it, as ``classify`` does (TTA), keeping the
net's own probabilities, its poses and the environment features of the pair residues
(:func:`~napari_densitybuild.environment.pair_features`). Printed, map by map and pooled:
residues right with the net alone, and with the net's ASP/ASN and GLU/GLN log-odds times s plus
the H-bond log-likelihood ratio (``classify``: s = 1); then a logistic model per pair (LLR, net
log-odds, bias) fitted on the other maps' real residues (leave one map out). ``--test`` maps are
scored the same way with the shipped net, and with that model fitted on all the out-of-fold
maps. ``--out`` / ``--test-out`` keep the arrays, so a second run only re-scores.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from napari_densitybuild.classify import Classifier
from napari_densitybuild.environment import (
    PAIRS,
    log_likelihood_ratio,
    model_from_poses,
    pair_features,
)
from napari_densitybuild.maps import read_map
from napari_densitybuild.residues import AMINO_ACIDS, INDEX, PARENT
from napari_densitybuild.symmetry import Symmetry
from napari_densitybuild.training import data_dir
from napari_densitybuild.training.realdata import model_path


class _Capture(Classifier):
    """A classifier that keeps the net's probabilities and poses before the H-bond evidence."""

    def weigh_environment(self, dmap, probs, poses):
        self.captured = (probs.copy(), poses.copy(), Symmetry.of_map(dmap))
        return super().weigh_environment(dmap, probs, poses)


def collect(weights: dict[str, Path | None]) -> dict[str, dict[str, np.ndarray]]:
    """Per map (name -> the net's weights; None: the shipped ones): ``logp`` (N, 20) of the net
    alone, ``ref`` (N,), ``feat`` (N, 6; NaN where the residue is not called a pair type or lacks
    its sites)."""
    out = {}
    for name, path in weights.items():
        clf = _Capture.from_path(path, device="cpu", environment=True)
        dmap = read_map(data_dir() / "real" / name / "map.mtz")
        res, _ = clf.classify_model(dmap, model_path(name))
        probs, poses, sym = clf.captured
        types = probs.argmax(1)
        feats = pair_features(model_from_poses(poses, types), np.arange(len(types)), sym)
        feat = np.full((len(types), 6), np.nan)
        for r, f in feats.items():
            feat[r, : len(f)] = f
        ref = np.array([INDEX.get(PARENT.get(r["ref"], r["ref"]), -1) for r in res])
        out[name] = {"logp": np.log(np.clip(probs, 1e-9, 1)), "ref": ref, "feat": feat}
        print(f"{name}: {len(ref)} residues, {len(feats)} with pair features", flush=True)
    return out


def decide(d: dict[str, np.ndarray], odds_of: Callable) -> np.ndarray:
    """Predicted classes, each residue called a pair type settled by
    ``odds_of(pair, features, net log-odds)`` (> 0: the pair's second type)."""
    pred = d["logp"].argmax(1).copy()
    for r in np.flatnonzero(~np.isnan(d["feat"][:, 0])):
        pair = next(p for p in PAIRS if AMINO_ACIDS[pred[r]] in p)
        a, b = INDEX[pair[0]], INDEX[pair[1]]
        f = d["feat"][r, : 2 if pair == ("VAL", "THR") else 6]
        pred[r] = b if odds_of(pair, f, d["logp"][r, b] - d["logp"][r, a]) > 0 else a
    return pred


def fit_pair(rows: list[tuple[float, float, int]], l2: float = 1.0) -> np.ndarray:
    """Logistic weights (environment LLR, net log-odds, bias) for "the pair's second type"."""
    from scipy.optimize import minimize

    x = np.array([[e, o, 1.0] for e, o, _ in rows])
    y = np.array([t for _, _, t in rows], dtype=float)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w
        nll = np.sum(np.logaddexp(0, z) - y * z) + 0.5 * l2 * np.sum(w[:-1] ** 2)
        grad = x.T @ (1 / (1 + np.exp(-z)) - y) + l2 * np.r_[w[:-1], 0.0]
        return nll, grad

    return minimize(loss, np.zeros(3), jac=True, method="L-BFGS-B").x


def pair_rows(d: dict[str, np.ndarray], pair: tuple[str, str]) -> list[tuple[float, float, int]]:
    """(environment LLR, net log-odds, is-second) of residues called and deposited as the pair."""
    a, b = INDEX[pair[0]], INDEX[pair[1]]
    pred, rows = d["logp"].argmax(1), []
    for r in np.flatnonzero(~np.isnan(d["feat"][:, 0])):
        if pred[r] in (a, b) and d["ref"][r] in (a, b):
            f = d["feat"][r, : 2 if pair == ("VAL", "THR") else 6]
            llr = log_likelihood_ratio(pair, f)
            rows.append((llr, d["logp"][r, b] - d["logp"][r, a], int(d["ref"][r] == b)))
    return rows


def fitted(maps: list[dict[str, np.ndarray]]) -> tuple[Callable, dict]:
    """``odds_of`` of logistic models fitted per pair on the residues of ``maps``, and their
    weights per pair."""
    fits = {p: fit_pair([r for d in maps for r in pair_rows(d, p)]) for p in PAIRS}
    return lambda p, f, o: float(np.dot(fits[p], [log_likelihood_ratio(p, f), o, 1.0])), fits


def scaled(s: float) -> Callable:
    """``odds_of``: the net's ASP/ASN and GLU/GLN log-odds times ``s`` plus the H-bond LLR."""
    return lambda p, f, o: (o if p == ("VAL", "THR") else s * o) + log_likelihood_ratio(p, f)


def load_or_collect(path: Path | None, weights: dict[str, Path | None]) -> dict:
    """The per-map arrays of :func:`collect`, saved to (or read from) ``path``."""
    if path and path.exists():
        z = np.load(path)
        return {m: {k: z[f"{m}/{k}"] for k in ("logp", "ref", "feat")}
                for m in dict.fromkeys(k.split("/")[0] for k in z.files)}  # fmt: skip
    data = collect(weights)
    if path:
        np.savez_compressed(path, **{f"{m}/{k}": v for m, d in data.items() for k, v in d.items()})
    return data


def table(data: dict, columns: dict) -> None:
    """Print residues right per map and pooled for each ``odds_of`` in ``columns``."""
    names = list(data)
    right = {c: [int((decide(data[m], f) == data[m]["ref"]).sum()) for m in names]
             for c, f in columns.items()}  # fmt: skip
    print("| map | residues | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    for i, m in enumerate(names):
        cells = " | ".join(str(right[c][i]) for c in columns)
        print(f"| {m} | {len(data[m]['ref'])} | {cells} |")
    n = sum(len(d["ref"]) for d in data.values())
    print(f"| all | {n} | " + " | ".join(str(sum(right[c])) for c in columns) + " |")


SCALES = (1.0, 0.5, 0.3, 0.2, 0.1, 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("oof_dir", type=Path)
    ap.add_argument("--out", type=Path, help="save (or, if it exists, load) the arrays here")
    ap.add_argument("--test", default="", help="maps to score with the shipped net, e.g. 1cbs,cdk2")
    ap.add_argument("--test-out", type=Path, help="save (or load) the test maps' arrays here")
    args = ap.parse_args()
    maps = json.loads((args.oof_dir / "oof.json").read_text())["maps"]
    oof = load_or_collect(args.out, {m: args.oof_dir / f"fold{e['fold']}.safetensors"
                                     for m, e in maps.items()})  # fmt: skip
    names = list(oof)
    net_alone = lambda p, f, o: o  # noqa: E731
    cols = {"net alone": net_alone, **{f"net x{s:g} + H-bonds": scaled(s) for s in SCALES}}
    print("Out of fold (each map by a net that did not see it):")
    table(oof, cols)
    print("\nFitted per pair on the other maps (leave one map out):")
    right = sum(int((decide(oof[m], fitted([oof[o] for o in names if o != m])[0])
                     == oof[m]["ref"]).sum()) for m in names)  # fmt: skip
    print(f"{right} of {sum(len(d['ref']) for d in oof.values())} right")
    odds_all, fits = fitted(list(oof.values()))
    for p, w in fits.items():
        print(f"{'/'.join(p)}: LLR x{w[0]:.3f}, net log-odds x{w[1]:.3f}, bias {w[2]:+.3f}")
    if args.test:
        test = load_or_collect(args.test_out, dict.fromkeys(args.test.split(",")))
        print("\nThe shipped net on --test maps (nothing above saw them):")
        table(test, {**cols, "fitted on all out-of-fold maps": odds_all})


if __name__ == "__main__":
    main()
