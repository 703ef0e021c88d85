"""Classification metrics for the residue-type classifier (pure numpy).

The headline number is the poster's mAP: the mean over classes of one-vs-rest average precision.
Classes absent from the labels have no defined AP and are left out of the mean (their AP is NaN
and ``classes_present`` says how many classes were averaged).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..residues import AMINO_ACIDS, N_CLASSES


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """One-vs-rest average precision: mean of the precision at the rank of each positive.

    Parameters
    ----------
    scores
        (N,) scores, higher = more likely positive.
    positive
        (N,) booleans.

    Returns
    -------
    float
        AP in [0, 1], or NaN when there is no positive. Ties are broken by input order.

    Examples
    --------
    >>> average_precision(np.array([0.9, 0.8, 0.1]), np.array([True, False, True]))
    0.8333333333333333
    """
    scores = np.asarray(scores, dtype=float).ravel()
    positive = np.asarray(positive, dtype=bool).ravel()
    n_pos = int(positive.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    hits = positive[order]
    precision_at_hits = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
    return float(precision_at_hits.sum() / n_pos)


def confusion_matrix(
    labels: np.ndarray, predicted: np.ndarray, n_classes: int = N_CLASSES
) -> np.ndarray:
    """Counts (n_classes, n_classes): rows are true labels, columns predictions."""
    labels = np.asarray(labels, dtype=np.int64).ravel()
    predicted = np.asarray(predicted, dtype=np.int64).ravel()
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (labels, predicted), 1)
    return cm


def row_normalise(cm: np.ndarray) -> np.ndarray:
    """Confusion matrix divided by its row sums (rows with no samples stay 0)."""
    cm = np.asarray(cm, dtype=float)
    sums = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, sums, out=np.zeros_like(cm), where=sums > 0)


def topk_accuracy(probs: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of samples whose label is among the ``k`` highest scores."""
    probs = np.asarray(probs)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return float("nan")
    topk = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return float((topk == labels[:, None]).any(axis=1).mean())


def classification_metrics(probs: np.ndarray, labels: np.ndarray) -> dict:
    """All classifier metrics for scores ``probs`` (N, C) and integer ``labels`` (N,).

    Returns
    -------
    dict
        ``n``, ``top1``, ``top3``, ``map`` (mean AP over the ``classes_present`` classes that occur
        in ``labels``), ``ap`` (per class, NaN if absent), ``recall`` (per class, NaN if absent),
        ``confusion`` (counts, list of lists, rows = true labels).
    """
    probs = np.asarray(probs, dtype=float)
    labels = np.asarray(labels, dtype=np.int64).ravel()
    n_classes = probs.shape[1]
    ap = np.array([average_precision(probs[:, c], labels == c) for c in range(n_classes)])
    cm = confusion_matrix(labels, probs.argmax(axis=1), n_classes)
    support = cm.sum(axis=1)
    recall = np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)
    present = ~np.isnan(ap)
    return {
        "n": len(labels),
        "top1": topk_accuracy(probs, labels, 1),
        "top3": topk_accuracy(probs, labels, 3),
        "map": float(ap[present].mean()) if present.any() else float("nan"),
        "classes_present": int(present.sum()),
        "ap": ap.tolist(),
        "recall": recall.tolist(),
        "confusion": cm.tolist(),
    }


def write_confusion_csv(
    cm: np.ndarray, path: str | Path, names: Sequence[str] = AMINO_ACIDS
) -> None:
    """Write the row-normalised confusion matrix (and row counts) as CSV."""
    cm = np.asarray(cm)
    norm = row_normalise(cm)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["true\\predicted", *names, "n"])
        for i, name in enumerate(names):
            w.writerow([name, *(f"{v:.4f}" for v in norm[i]), int(cm[i].sum())])


def plot_confusion(
    cm: np.ndarray,
    path: str | Path,
    names: Sequence[str] = AMINO_ACIDS,
    title: str = "",
    threshold: float = 0.05,
) -> None:
    """The poster's figure: row-normalised confusion matrix, values under ``threshold`` omitted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = row_normalise(cm)
    shown = np.where(norm >= threshold, norm, np.nan)
    fig, ax = plt.subplots(figsize=(8.5, 7.5), dpi=110)
    im = ax.imshow(shown, cmap="Blues", vmin=0.0, vmax=1.0)
    for i, j in zip(*np.nonzero(norm >= threshold)):
        v = norm[i, j]
        ax.text(
            j,
            i,
            f"{v:.2f}"[1:] if v < 1 else "1",
            ha="center",
            va="center",
            fontsize=6,
            color="white" if v > 0.6 else "black",
        )
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, names, rotation=90, fontsize=7)
    ax.set_yticks(ticks, names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_confusion(cm: np.ndarray, stem: str | Path, title: str = "") -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.csv``; returns the two paths."""
    stem = Path(stem)
    png, csv_path = stem.parent / f"{stem.name}.png", stem.parent / f"{stem.name}.csv"
    plot_confusion(cm, png, title=title)
    write_confusion_csv(cm, csv_path)
    return [png, csv_path]
