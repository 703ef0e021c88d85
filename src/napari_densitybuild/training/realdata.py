"""Boxes from real X-ray maps at the deposited residues (for fine-tuning and for honest scores).

Each folder of ``<data>/real/`` holds ``map.mtz`` (2mFo-DFc coefficients FWT/PHWT) and the
deposited model. :data:`REAL_HOLDOUT` maps are never used for training nor for choices (they
give the reported real accuracy); :data:`REAL_VAL` maps are not trained on either, but guide
choices (checkpoints, settings); :data:`REAL_TRAIN` are the others. Note the data README:
3k0n, 2apb and 5orl overlap some training complexes (listed in ``split.json`` under
``overlaps_real``); the split keeps those complexes in train.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..boxes import BoxSpec, cut_boxes
from ..maps import read_map
from ..models import is_model_path, read_structure
from . import real_dir
from .cache import CacheWriter, atoms_in_frames, frames_for, labelled_residues
from .degrade import degrade_map

#: Real maps kept out of all training (no overlap with the training structures).
REAL_HOLDOUT = ("1cbs", "cdk2", "rnasa")
#: The other real maps: usable for fine-tuning on real density.
REAL_TRAIN = ("1dmm", "1g8a", "1t48", "2apb", "3k0n", "4iid", "4ms6", "5gge", "5orl", "gere",
              "psp")  # fmt: skip
#: Real maps kept out of training to choose checkpoints and settings by (never reported as the
#: held-out accuracy, never trained on).
REAL_VAL = ("3sb3", "gamma")


@dataclass(eq=False)
class RealBoxes:
    """Boxes cut from a real map at the deposited residues.

    Attributes
    ----------
    boxes
        float32 (N, n, n, n), map sigma units (not normalised).
    labels
        int64 (N,) class indices.
    rows
        One (file, chain, seqid, resname, d_min) tuple per box, as in ``residues.csv``.
    resolution
        The map's resolution (A).
    """

    boxes: np.ndarray
    labels: np.ndarray
    rows: list[tuple]
    resolution: float
    atoms: np.ndarray | None = None  # (N, 14, 3) heavy atoms in box-frame coordinates


def real_names(folder: str | Path | None = None) -> list[str]:
    """Names of the real-map folders (those with a ``map.mtz``), sorted."""
    root = Path(folder) if folder else real_dir()
    return sorted(p.parent.name for p in root.glob("*/map.mtz"))


def model_path(name: str, folder: str | Path | None = None) -> Path:
    """The deposited model file of a real-map folder."""
    d = (Path(folder) if folder else real_dir()) / name
    models = sorted(p for p in d.iterdir() if is_model_path(p))
    if not models:
        raise FileNotFoundError(f"{d}: no model file")
    return models[0]


def real_boxes(
    name: str,
    box: BoxSpec | None = None,
    jitter: bool = False,
    seed: int = 0,
    folder: str | Path | None = None,
    degrade: bool = False,
) -> RealBoxes:
    """Cut one box per deposited amino-acid residue (with N, CA, C) of a real map.

    Parameters
    ----------
    name
        Folder name under ``real/`` ("1cbs", ...).
    box
        Box size, spacing and frame (default ``BoxSpec()``: 22^3 at 0.5 A, backbone frame).
    jitter
        Perturb the frames (about 10 degrees, 0.3 A) as a detector would place them.
    seed
        Seed of the jitter.
    folder
        The ``real/`` folder (default: the data folder's).
    degrade
        Cut the boxes from a degraded copy of the map (:func:`.degrade.degrade_map`, drawn
        with ``seed``; frames jittered too): the box's resolution is the copy's.

    Returns
    -------
    RealBoxes
    """
    box = box or BoxSpec()
    root = Path(folder) if folder else real_dir()
    dmap = read_map(root / name / "map.mtz")
    rng = np.random.default_rng([seed, 3] if degrade else seed) if (jitter or degrade) else None
    if degrade:
        dmap, _ = degrade_map(dmap, np.random.default_rng([seed, 7]))
    path = model_path(name, root)
    bb, labels = labelled_residues(read_structure(path))
    centres, rotations = frames_for(bb, box, rng)
    boxes = cut_boxes(dmap, centres, rotations, box)
    atoms = atoms_in_frames(bb.atoms, centres, rotations)
    d_min = round(float(dmap.resolution or 0.0), 3)
    label = f"{name}/{path.name}"
    rows = [(label, c, int(s), r, d_min) for c, s, r in zip(bb.chain, bb.seqid, bb.resname)]
    return RealBoxes(boxes=boxes, labels=labels, rows=rows, resolution=d_min, atoms=atoms)


def build_real_cache(
    name: str,
    root: str | Path,
    box: BoxSpec | None = None,
    jitter: bool = False,
    seed: int = 0,
    folder: str | Path | None = None,
    degrade: bool = False,
) -> dict:
    """Write the cache ``root/real_<name>`` (same files as the simulated caches).

    Jittered copies (frames perturbed as a detector would place them, for training) go to
    ``root/real_<name>_j<seed>``, boxes of degraded copies of the map (jittered too) to
    ``root/real_<name>_d<seed>``.
    """
    t0 = time.perf_counter()
    box = box or BoxSpec()
    rb = real_boxes(name, box, jitter, seed, folder, degrade)
    folder_name = (f"real_{name}_d{seed}" if degrade else f"real_{name}_j{seed}" if jitter
                   else f"real_{name}")  # fmt: skip
    writer = CacheWriter(Path(root) / folder_name, len(rb.boxes), box)
    writer.add(rb.boxes.astype(np.float16), rb.labels, rb.rows, rb.atoms.astype(np.float16))
    info = {
        "name": folder_name, "split": "real", "map": name, "jitter": jitter or degrade,
        "degraded": degrade, "seed": seed,
        "box": asdict(box), "resolution": rb.resolution, "holdout": name in REAL_HOLDOUT,
        "real_val": name in REAL_VAL,
        "seconds": round(time.perf_counter() - t0, 1),
    }  # fmt: skip
    return writer.close(info)
