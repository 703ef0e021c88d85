"""Evaluate the residue-type classifier on box caches or on a map + model pair.

Evaluation of weights goes through :class:`~napari_densitybuild.classify.Classifier` (the same box
cutting, centre crop to the net's ``input_size`` and
:func:`~napari_densitybuild.boxes.normalise_boxes` as prediction); :func:`predict_probs` applies
the same rule to a bare net during training.
Results are per split, plus ``real_heldout`` (the held-out real maps pooled). Further evaluation
tasks (C-alpha placement, model building) are meant to sit beside :func:`evaluate_classifier`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..boxes import normalise_boxes
from ..errors import DensityBuildError
from ..json_out import dumps
from ..residues import AMINO_ACIDS
from .augment import crop_boxes
from .metrics import classification_metrics, write_confusion

if TYPE_CHECKING:
    from ..classify import Classifier

#: Real maps never trained on (mirrors ``training.realdata.REAL_HOLDOUT``).
REAL_HOLDOUT: tuple[str, ...] = ("1cbs", "cdk2", "rnasa")
#: Real maps not trained on that guide choices (mirrors ``training.realdata.REAL_VAL``).
REAL_VAL: tuple[str, ...] = ("3sb3", "gamma")
DEFAULT_SPLITS = ("test_1.5", "test_2.5", *(f"real_{n}" for n in REAL_HOLDOUT))
POOLED = "real_heldout"
#: Pooled real sets: name -> the real maps pooled into it.
POOLS: dict[str, tuple[str, ...]] = {POOLED: REAL_HOLDOUT, "real_val": REAL_VAL}


def load_split(cache: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Load one cached split into memory: boxes (N, n, n, n) float16 raw, labels (N,) int64."""
    d = Path(cache) / split
    if not (d / "boxes.npy").exists():
        raise DensityBuildError(f"no box cache for split {split!r} in {cache} (no {d}/boxes.npy)")
    boxes = np.load(d / "boxes.npy")
    labels = np.load(d / "labels.npy").astype(np.int64)
    if len(boxes) != len(labels):
        raise DensityBuildError(f"{d}: {len(boxes)} boxes but {len(labels)} labels")
    return boxes, labels


def load_atoms(cache: str | Path, split: str, count: int) -> np.ndarray:
    """Pose targets (N, 14, 3) float16 of a cached split (box-frame coordinates; NaN missing).

    Raises
    ------
    DensityBuildError
        If the cache predates pose targets (no ``atoms.npy``) or does not match its boxes.
    """
    path = Path(cache) / split / "atoms.npy"
    if not path.exists():
        raise DensityBuildError(
            f"{path}: no pose targets; rebuild the cache (densitybuild prepare)"
        )
    atoms = np.load(path)
    if len(atoms) != count:
        raise DensityBuildError(f"{path}: {len(atoms)} residues but {count} boxes")
    return atoms


def prepare_batch(raw: np.ndarray, crop: int | None = None) -> np.ndarray:
    """Raw boxes -> net input (B, m, m, m) float32: centre-cropped to ``crop``, normalised."""
    x = np.asarray(raw, dtype=np.float32)
    if crop:
        x = crop_boxes(x, crop)
    return normalise_boxes(x)


def to_input(x: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """Normalised (B, n, n, n) boxes -> (B, 1, n, n, n) channels_last_3d tensor on ``device``."""
    t = torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(1)
    return t.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last_3d)


@torch.inference_mode()
def predict_probs(
    net: torch.nn.Module,
    boxes: np.ndarray,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    crop: int | None = None,
) -> np.ndarray:
    """Class probabilities (N, C) for raw boxes (N, n, n, n), in batches."""
    was_training = net.training
    net.eval()
    device = torch.device(device)
    out = []
    for i in range(0, len(boxes), batch_size):
        x = to_input(prepare_batch(boxes[i : i + batch_size], crop), device)
        with torch.autocast(device.type, enabled=device.type == "cuda"):
            logits = net(x)
        out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    net.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 20), dtype=np.float32)


def metrics_by_split(preds: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict]:
    """Metrics per named (probs, labels), plus the pooled real sets of :data:`POOLS`."""
    results = {name: classification_metrics(p, y) for name, (p, y) in preds.items()}
    for pool, names in POOLS.items():
        held = [preds[f"real_{n}"] for n in names if f"real_{n}" in preds]
        if len(held) > 1:
            results[pool] = classification_metrics(
                np.concatenate([p for p, _ in held]), np.concatenate([y for _, y in held])
            )
    return results


def evaluate_arrays(
    net: torch.nn.Module,
    data: dict[str, tuple[np.ndarray, np.ndarray]],
    batch_size: int = 256,
    device: torch.device | str = "cpu",
    crop: int | None = None,
) -> dict[str, dict]:
    """Metrics per named (raw boxes, labels) set, plus the pooled held-out real maps."""
    preds = {k: (predict_probs(net, b, batch_size, device, crop), y) for k, (b, y) in data.items()}
    return metrics_by_split(preds)


def find_map_and_model(folder: str | Path) -> tuple[Path, Path]:
    """The map file and model file inside a real-data folder (e.g. ``data/real/1cbs``)."""
    from ..maps import is_map_path
    from ..models import is_model_path

    files = sorted(Path(folder).iterdir())
    maps = [f for f in files if is_map_path(f)]
    models = [f for f in files if is_model_path(f)]
    if not maps or not models:
        raise DensityBuildError(f"{folder}: expected one map file and one model file")
    return maps[0], models[0]


def classify_pair(
    clf: Classifier, map_path: str | Path, model_path: str | Path
) -> tuple[np.ndarray, np.ndarray]:
    """(probs, labels) at a model's standard residues, through :meth:`Classifier.classify_model`."""
    from ..maps import read_map

    rows, _ = clf.classify_model(read_map(map_path), model_path)
    rows = [r for r in rows if r["ref_class"] is not None]
    if not rows:
        raise DensityBuildError(f"{model_path}: no standard amino-acid residues in the map")
    probs = np.array([[r["probs"][c] for c in clf.classes] for r in rows], dtype=np.float32)
    labels = np.array([clf.classes.index(r["ref_class"]) for r in rows], dtype=np.int64)
    return probs, labels


def markdown_table(results: dict[str, dict]) -> str:
    """Results as a markdown table: split, n, top-1, top-3, mAP (classes averaged)."""
    lines = ["| split | n | top-1 | top-3 | mAP | classes |", "|---|---|---|---|---|---|"]
    for name, m in results.items():
        lines.append(
            f"| {name} | {m['n']} | {m['top1']:.3f} | {m['top3']:.3f} | {m['map']:.3f} "
            f"| {m['classes_present']} |"
        )
    return "\n".join(lines)


def write_results(results: dict[str, dict], out: str | Path, extra: dict | None = None) -> Path:
    """Write ``metrics.json``, ``metrics.md`` and a confusion PNG + CSV per split into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, m in results.items():
        title = f"{name}: top-1 {m['top1']:.3f}, mAP {m['map']:.3f}, n {m['n']}"
        write_confusion(np.array(m["confusion"]), out / f"confusion_{name}", title=title)
    path = out / "metrics.json"
    path.write_text(dumps({**(extra or {}), "results": results}, indent=1))
    (out / "metrics.md").write_text(markdown_table(results) + "\n")
    return path


def evaluate_classifier(
    weights: str | Path,
    cache: str | Path | None = None,
    splits: tuple[str, ...] | list[str] | None = None,
    pairs: list[tuple[str, Path, Path]] | None = None,
    out: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 256,
    tta: int = 0,
    environment: bool = False,
) -> dict[str, dict]:
    """Evaluate a weights file on cached splits and/or (name, map, model) triples.

    Parameters
    ----------
    weights
        A safetensors file written by :func:`napari_densitybuild.weights_io.save_model`.
    cache
        Box-cache folder; ``splits`` (default :data:`DEFAULT_SPLITS`, missing ones skipped unless
        named explicitly) are read from it.
    pairs
        (name, map file, model file): boxes are cut at the model's residues.
    out
        If given, write metrics.json, metrics.md and confusion matrices there.
    tta
        Test-time augmentation copies for the map + model pairs (cached boxes are fixed).
    environment
        Add the H-bond evidence at the map + model pairs (cached boxes have no surroundings).

    Returns
    -------
    dict
        Metrics per split name (see :func:`~.metrics.classification_metrics`).
    """
    from ..classify import Classifier

    clf = Classifier.from_path(weights, device=device, batch_size=batch_size, tta=tta,
                               environment=environment)  # fmt: skip
    if clf.classes != list(AMINO_ACIDS):
        raise DensityBuildError(f"{weights}: classes {clf.classes} are not the 20 amino acids")
    preds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if cache is not None:
        explicit = splits is not None
        for split in splits or DEFAULT_SPLITS:
            if explicit or (Path(cache) / split / "boxes.npy").exists():
                boxes, labels = load_split(cache, split)
                preds[split] = (clf.predict(boxes), labels)
    for name, map_path, model_path in pairs or []:
        preds[name] = classify_pair(clf, map_path, model_path)
    if not preds:
        raise DensityBuildError("nothing to evaluate: give --cache with splits, or --map/--model")
    results = metrics_by_split(preds)
    config = {k: v for k, v in clf.config.items() if k != "card"}
    if out is not None:
        extra = {"weights": str(weights), "config": config, "card": clf.config.get("card", {}),
                 "tta_at_map_model_pairs": tta,
                 "environment_at_map_model_pairs": environment}  # fmt: skip
        write_results(results, out, extra)
    return results
