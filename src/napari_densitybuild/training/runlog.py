"""Bookkeeping of a training run: the sample pool, the log files and the curves plot."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np

from .evaluate import POOLED

CSV_COLUMNS = (
    "step",
    "samples",
    "loss",
    "lr",
    "cpu_s",
    "wall_s",
    "samples_per_s",
    "prep_ms",
    "val_top1",
    "val_map",
    "heldout_top1",
    "heldout_map",
    "val_pose_rmsd",
    "heldout_pose_rmsd",
    "val_atom_rmsd",
    "heldout_atom_rmsd",
    "realval_top1",
    "realval_map",
)


class Pool:
    """Several splits of equal-length arrays (boxes, labels[, atoms]) sampled as one.

    Each part is a tuple of arrays with the same first dimension; :meth:`sample` returns one
    array per position, drawn with the same random indices, without concatenating the parts.
    Rows are drawn uniformly over all rows, or, with ``weights``, each part with probability
    proportional to its weight and uniformly within it.
    """

    def __init__(self, parts: list[tuple[np.ndarray, ...]], weights: list[float] | None = None):
        self.parts = parts
        self.ends = np.cumsum([len(p[1]) for p in parts])
        self.p = None
        if weights is not None:
            w = np.asarray(weights, dtype=float)
            if w.shape != (len(parts),) or (w < 0).any() or not w.sum() > 0:
                raise ValueError(f"need one non-negative weight per part, got {weights}")
            self.p = w / w.sum()

    def __len__(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def add(self, part: tuple[np.ndarray, ...]) -> None:
        """Add a split (only to an unweighted pool: rows stay uniformly likely)."""
        if self.p is not None:
            raise ValueError("cannot add a part to a weighted pool")
        self.parts.append(part)
        self.ends = np.cumsum([len(p[1]) for p in self.parts])

    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """``count`` random rows of every array (boxes stay float16)."""
        starts = np.concatenate([[0], self.ends[:-1]])
        if self.p is None:
            idx = np.sort(rng.integers(0, len(self), size=count))
        else:
            chosen = rng.choice(len(self.parts), size=count, p=self.p)
            sizes = (self.ends - starts)[chosen]
            idx = np.sort(starts[chosen] + (rng.random(count) * sizes).astype(np.int64))
        part = np.searchsorted(self.ends, idx, side="right")
        width = min(len(p) for p in self.parts)
        cols: list[list[np.ndarray]] = [[] for _ in range(width)]
        for p in np.unique(part):
            local = idx[part == p] - starts[p]
            for k in range(width):
                cols[k].append(self.parts[p][k][local])
        return tuple(np.concatenate(c) for c in cols)


def group_weights(names: list[str], sizes: list[int], mode: str) -> list[float] | None:
    """Sampling weights for real splits grouped by map (``real_<map>`` and its ``_jK``/``_dK``
    copies): "box" None (uniform over boxes), "map" every map an equal share, "sqrt" shares
    proportional to the square root of the map's box count; within a map, by box count."""
    if mode == "box":
        return None
    if mode not in ("map", "sqrt"):
        raise ValueError(f"unknown balance {mode!r} (use box, map or sqrt)")
    groups = [re.sub(r"_[jd]\d+$", "", n) for n in names]
    totals: dict[str, int] = {}
    for g, n in zip(groups, sizes):
        totals[g] = totals.get(g, 0) + n
    share = {g: (1.0 if mode == "map" else float(np.sqrt(t))) for g, t in totals.items()}
    return [share[g] * n / totals[g] for g, n in zip(groups, sizes)]


def plot_curves(rows: list[dict], path: Path) -> None:
    """Loss and validation curves of a run's log rows as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    tr = [r for r in rows if "loss" in r]
    a.plot([r["step"] for r in tr], [r["loss"] for r in tr], lw=0.8)
    a.set(xlabel="step", ylabel="training loss", yscale="log")
    ev = [r for r in rows if "eval" in r]
    for key, style in (("val", "-"), (POOLED, "--"), ("real_val", ":")):
        pts = [(r["step"], r["eval"][key]) for r in ev if key in r["eval"]]
        for metric in ("top1", "map"):
            if pts:
                b.plot(
                    [s for s, _ in pts],
                    [m[metric] for _, m in pts],
                    style,
                    marker=".",
                    label=f"{key} {metric}",
                )
    b.set(xlabel="step", ylabel="validation", ylim=(0, 1))
    if ev:
        b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


class RunLog:
    """Appends rows to log.jsonl and log.csv; on resume drops rows after the checkpoint step."""

    def __init__(self, out: Path, resume_step: int | None):
        self.jsonl, self.csv = out / "log.jsonl", out / "log.csv"
        self.rows: list[dict] = []
        if resume_step is not None and self.jsonl.exists():
            lines = self.jsonl.read_text().splitlines()
            self.rows = [r for r in map(json.loads, lines) if r["step"] <= resume_step]
        self.jsonl.write_text("".join(json.dumps(r) + "\n" for r in self.rows))
        with open(self.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            for r in self.rows:
                w.writerow(self._csv_row(r))

    @staticmethod
    def _csv_row(r: dict) -> list:
        ev = r.get("eval", {})
        get = lambda k, m: ev.get(k, {}).get(m, "")  # noqa: E731
        flat = {
            **r,
            "val_top1": get("val", "top1"),
            "val_map": get("val", "map"),
            "heldout_top1": get(POOLED, "top1"),
            "heldout_map": get(POOLED, "map"),
            "val_pose_rmsd": get("val", "pose_rmsd"),
            "heldout_pose_rmsd": get(POOLED, "pose_rmsd"),
            "val_atom_rmsd": get("val", "atom_rmsd"),
            "heldout_atom_rmsd": get(POOLED, "atom_rmsd"),
            "realval_top1": get("real_val", "top1"),
            "realval_map": get("real_val", "map"),
        }
        return [flat.get(c, "") for c in CSV_COLUMNS]

    def add(self, row: dict) -> None:
        """Keep a row and append it to the JSONL and CSV logs."""
        self.rows.append(row)
        with open(self.jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")
        with open(self.csv, "a", newline="") as f:
            csv.writer(f).writerow(self._csv_row(row))
