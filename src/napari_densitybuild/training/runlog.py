"""Bookkeeping of a training run: the sample pool, the log files and the curves plot."""

from __future__ import annotations

import csv
import json
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
    "realval_top1",
    "realval_map",
)


class Pool:
    """Several splits of equal-length arrays (boxes, labels[, atoms]) sampled as one.

    Each part is a tuple of arrays with the same first dimension; :meth:`sample` returns one
    array per position, drawn with the same random indices, without concatenating the parts.
    """

    def __init__(self, parts: list[tuple[np.ndarray, ...]]):
        self.parts = parts
        self.ends = np.cumsum([len(p[1]) for p in parts])

    def __len__(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """``count`` random rows of every array (boxes stay float16)."""
        idx = np.sort(rng.integers(0, len(self), size=count))
        part = np.searchsorted(self.ends, idx, side="right")
        starts = np.concatenate([[0], self.ends[:-1]])
        width = min(len(p) for p in self.parts)
        cols: list[list[np.ndarray]] = [[] for _ in range(width)]
        for p in np.unique(part):
            local = idx[part == p] - starts[p]
            for k in range(width):
                cols[k].append(self.parts[p][k][local])
        return tuple(np.concatenate(c) for c in cols)


def plot_curves(rows: list[dict], path: Path) -> None:
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
            "realval_top1": get("real_val", "top1"),
            "realval_map": get("real_val", "map"),
        }
        return [flat.get(c, "") for c in CSV_COLUMNS]

    def add(self, row: dict) -> None:
        self.rows.append(row)
        with open(self.jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")
        with open(self.csv, "a", newline="") as f:
            csv.writer(f).writerow(self._csv_row(row))
