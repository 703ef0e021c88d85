"""Box caches for training: simulate a map per structure, cut one box per residue, store them.

A cache is a folder ``<root>/<name>/`` with

* ``boxes.npy``: float16 (N, n, n, n), raw map values in sigma units (not normalised; every net
  input goes through :func:`napari_densitybuild.boxes.normalise_boxes`),
* ``labels.npy``: int64 (N,) class indices (:mod:`napari_densitybuild.residues`),
* ``atoms.npy``: float16 (N, 14, 3) heavy atoms in :data:`~napari_densitybuild.residues.
  HEAVY_ATOMS` order, in the coordinates of the box's own frame (x, y, z in Angstrom from the
  box centre along the frame axes; NaN where missing): the pose targets,
* ``residues.csv``: one row per box: file, chain, seqid, resname, d_min,
* ``info.json``: box spec, simulation settings, seeds, counts, seconds.

Structures are simulated in parallel (``multiprocessing``, ``imap``, ordered) and written into a
memory-mapped ``boxes.npy`` as they come, so memory stays bounded; every structure has its own
seed (from the cache's seed and the file name), so a cache is the same whatever the workers.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import sys
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gemmi
import numpy as np

from ..boxes import BoxSpec, backbone_frames, cut_boxes, jitter_frames, poster_frames
from ..models import BackboneResidues, backbone_residues, read_structure
from ..residues import AMINO_ACIDS, MAX_ATOMS, class_index
from .model_prep import prepare_structure
from .simulate import SimulationSettings, simulate
from .split import load_split, split_files

CSV_COLUMNS = ("file", "chain", "seqid", "resname", "d_min")


@dataclass(frozen=True)
class CacheSpec:
    """One cache to build: which structures, how to simulate them, how to place the boxes.

    Attributes
    ----------
    name
        Folder name of the cache ("train", "val", "test_1.5", ...).
    split
        Which list of ``split.json`` the structures come from ("train", "val", "test").
    settings
        Simulation settings.
    jitter
        Perturb the frames like a detector would (rotations up to ``jitter_angle`` degrees
        about random axes, centres moved by ``jitter_shift`` A sd).
    seed
        Base seed; each structure's seed is derived from it and the file name.
    jitter_angle, jitter_shift
        Size of the frame perturbation (backbone frames; axis-aligned boxes only move).
    """

    name: str
    split: str
    settings: SimulationSettings = field(default_factory=SimulationSettings)
    jitter: bool = False
    seed: int = 0
    jitter_angle: float = 10.0
    jitter_shift: float = 0.3


#: Simulation with B-factors and side-chain disorder calibrated on the real training maps.
CALIBRATED = SimulationSettings(b_median=(8.0, 28.0), disorder=True)

#: The caches ``densitybuild prepare`` knows; the first four are built by default.
CACHES: dict[str, CacheSpec] = {
    "train": CacheSpec("train", "train", SimulationSettings().with_d_min((1.3, 2.5)), True, 1),
    # The same structures simulated again (another crystal, noise, waters, resolution).
    "train2": CacheSpec("train2", "train", SimulationSettings().with_d_min((1.3, 2.5)), True, 5),
    # A third simulation, for continuing the shipped weights on maps they have not seen.
    "train3": CacheSpec("train3", "train", SimulationSettings().with_d_min((1.3, 2.5)), True, 7),
    # More simulations of the training structures, for long runs on a GPU (seeds 104-109).
    **{
        f"train{k}": CacheSpec(
            f"train{k}", "train", SimulationSettings().with_d_min((1.3, 2.5)), True, 100 + k
        )
        for k in range(4, 10)
    },
    "val": CacheSpec("val", "val", SimulationSettings(), False, 2),
    "test_1.5": CacheSpec("test_1.5", "test", SimulationSettings().with_d_min(1.5), False, 3),
    "test_2.5": CacheSpec("test_2.5", "test", SimulationSettings().with_d_min(2.5), False, 4),
    # The ablation's plain simulation: the molecule alone in a box, nothing else (training
    # maps at 1.4-1.6 A, test maps at 1.5 A).
    "train_plain": CacheSpec("train_plain", "train", SimulationSettings.plain(), True, 6),
    # More plain simulations of the training structures, for long runs on the poster's task
    # (a net memorises one simulation per structure: docs/ablation.md, row 8; seeds 202-209).
    **{
        f"train_plain{k}": CacheSpec(
            f"train_plain{k}", "train", SimulationSettings.plain(), True, 200 + k
        )
        for k in range(2, 10)
    },
    "test_plain": CacheSpec("test_plain", "test", SimulationSettings.plain(1.5), False, 3),
    # The validation structures simulated plainly (1.4-1.6 A), for choices about plain maps.
    "val_plain": CacheSpec("val_plain", "val", SimulationSettings.plain(), False, 2),
    # Same maps as "val" (same seed), boxes placed with detector-like errors.
    "val_jittered": CacheSpec("val_jittered", "val", SimulationSettings(), True, 2),
    # Frames as a built backbone gives them at its worst (loops, fragment ends: 10-25 degrees
    # off the deposited frames on the real maps), to train robustness to them.
    "train_wide": CacheSpec(
        "train_wide",
        "train",
        SimulationSettings().with_d_min((1.3, 2.5)),
        True,
        8,
        jitter_angle=25.0,
        jitter_shift=0.5,
    ),
    "val_wide": CacheSpec("val_wide", "val", SimulationSettings(), True, 2, 25.0, 0.5),
    # B-factors brought to those of 1.2-2.3 A crystals and side-chain disorder added, so that
    # side chains are as strong as in the real maps (median 2.5 sigma at 1.7-1.9 A, 8 % under
    # 1 sigma; real 2.65 and 5 %, raw training B-factors 1.9 and 19 %: MODEL_CARD.md).
    "train_calib": CacheSpec("train_calib", "train", CALIBRATED.with_d_min((1.3, 2.5)), True, 9),
    "val_calib": CacheSpec("val_calib", "val", CALIBRATED, False, 2),
    # Amides drawn as carboxylates (ASN ND2 and GLN NE2 as O): no electron-count cue between
    # ASN/ASP and GLN/GLU, only shape and surroundings (the model card).
    "train_acid": CacheSpec(
        "train_acid",
        "train",
        SimulationSettings(amide_as_acid=True).with_d_min((1.3, 2.5)),
        True,
        10,
    ),
    "val_acid": CacheSpec("val_acid", "val", SimulationSettings(amide_as_acid=True), False, 2),
}


def structure_seed(seed: int, name: str) -> np.random.SeedSequence:
    """Seed of one structure in a cache: independent of order and of the number of workers."""
    return np.random.SeedSequence([seed, zlib.crc32(Path(name).name.encode())])


def labelled_residues(
    st: gemmi.Structure, with_atoms: bool = True
) -> tuple[BackboneResidues, np.ndarray]:
    """Residues with N, CA, C that are one of the 20 amino acids (MSE as MET), and their labels.

    With ``with_atoms`` the residues carry their heavy atoms (``atoms``, world coordinates).
    """
    bb, _ = backbone_residues(st, with_atoms=with_atoms)
    labels = np.array([class_index(r) if class_index(r) is not None else -1 for r in bb.resname],
                      dtype=np.int64)  # fmt: skip
    keep = labels >= 0
    return bb.subset(keep), labels[keep]


def atoms_in_frames(atoms: np.ndarray, centres: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """World atom positions (B, A, 3) in box-frame coordinates (frame x, y, z; Angstrom)."""
    return np.einsum("bji,baj->bai", rotations, atoms - centres[:, None, :])


def frames_for(
    bb: BackboneResidues,
    box: BoxSpec,
    rng: np.random.Generator | None = None,
    angle: float = 10.0,
    shift: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """Box frames (centres, rotations) for residues, in ``box.frame``; jittered if ``rng``
    (rotations up to ``angle`` degrees, centres moved by ``shift`` A sd)."""
    if box.frame == "axis":
        centres, rotations = poster_frames(bb.ca)
        angle = 0.0  # the poster's boxes stay axis-aligned; only the centre moves
    elif box.frame == "backbone":
        centres, rotations = backbone_frames(bb.n, bb.ca, bb.c)
    else:
        raise ValueError(f"unknown box frame {box.frame!r} (use 'backbone' or 'axis')")
    if rng is not None and len(centres):
        centres, rotations = jitter_frames(centres, rotations, rng, angle, shift)
    return centres, rotations


def count_residues(path: str | Path) -> int:
    """How many boxes a structure file gives (what the worker will produce)."""
    return len(labelled_residues(prepare_structure(read_structure(path)), with_atoms=False)[0])


def _work(job: tuple) -> tuple:
    """Worker: simulate one structure and cut its boxes (float16)."""
    path, spec, box = job
    try:
        ss = structure_seed(spec.seed, path)
        sim_seed, jitter_seed = ss.spawn(2)
        sim = simulate(read_structure(path), spec.settings, np.random.default_rng(sim_seed))
        bb, labels = labelled_residues(sim.structure)
        rng = np.random.default_rng(jitter_seed) if spec.jitter else None
        centres, rotations = frames_for(bb, box, rng, spec.jitter_angle, spec.jitter_shift)
        boxes = cut_boxes(sim.dmap, centres, rotations, box).astype(np.float16)
        atoms = atoms_in_frames(bb.atoms, centres, rotations).astype(np.float16)
        d_min = round(sim.params["d_min"], 3)
        rows = [(Path(path).name, c, int(s), r, d_min) for c, s, r in
                zip(bb.chain, bb.seqid, bb.resname)]  # fmt: skip
        extra = {k: sim.params.get(k) for k in ("protein_fraction", "seconds", "waters")}
        return path, boxes, labels, atoms, rows, extra, None
    except Exception as e:  # one bad structure must not stop a long build
        return path, None, None, None, None, None, f"{type(e).__name__}: {e}"


class CacheWriter:
    """Write a cache folder incrementally: boxes into a memory-mapped .npy, the rest at close."""

    def __init__(self, folder: str | Path, count: int, box: BoxSpec) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        n = box.size
        self.boxes = np.lib.format.open_memmap(
            self.folder / "boxes.npy", mode="w+", dtype=np.float16, shape=(count, n, n, n)
        )
        self.labels = np.zeros(count, dtype=np.int64)
        self.atoms = np.full((count, MAX_ATOMS, 3), np.nan, dtype=np.float16)
        self.rows: list[tuple] = []
        self.cursor = 0

    def add(
        self, boxes: np.ndarray, labels: np.ndarray, rows: list[tuple], atoms: np.ndarray
    ) -> None:
        """Append the boxes of one structure (``atoms``: (B, MAX_ATOMS, 3) in box frames)."""
        end = self.cursor + len(boxes)
        if end > len(self.boxes):
            raise RuntimeError(f"{end} boxes, more than the {len(self.boxes)} counted")
        self.boxes[self.cursor : end] = boxes
        self.labels[self.cursor : end] = labels
        self.atoms[self.cursor : end] = atoms
        self.rows.extend(rows)
        self.cursor = end

    def close(self, info: dict) -> dict:
        """Write labels, residues.csv and info.json (boxes cut to what was written)."""
        self.boxes.flush()
        n = self.cursor
        if n < len(self.boxes):  # some structures failed: keep only what was written
            del self.boxes
            old = np.load(self.folder / "boxes.npy", mmap_mode="r")
            tmp = self.folder / "boxes.tmp.npy"
            new = np.lib.format.open_memmap(tmp, mode="w+", dtype=old.dtype,
                                            shape=(n, *old.shape[1:]))  # fmt: skip
            for i in range(0, n, 4096):
                new[i : i + 4096] = old[i : i + 4096]
            new.flush()
            del new, old
            tmp.replace(self.folder / "boxes.npy")
        else:
            del self.boxes
        np.save(self.folder / "labels.npy", self.labels[:n])
        np.save(self.folder / "atoms.npy", self.atoms[:n])
        with open(self.folder / "residues.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            w.writerows(self.rows)
        counts = np.bincount(self.labels[:n], minlength=len(AMINO_ACIDS))
        info = dict(info, boxes=n, class_counts=dict(zip(AMINO_ACIDS, counts.tolist())))
        (self.folder / "info.json").write_text(json.dumps(info, indent=1, default=str) + "\n")
        return info


def build_cache(
    spec: CacheSpec,
    root: str | Path,
    box: BoxSpec | None = None,
    workers: int = 2,
    limit: int | None = None,
    files: list[Path] | None = None,
    progress: bool = True,
    scheduler: str | None = None,
) -> dict:
    """Build one cache folder ``root/spec.name``; returns its info dict.

    Parameters
    ----------
    spec
        What to build.
    root
        Folder of all caches.
    box
        Box size, spacing and frame (default ``BoxSpec()``: 22^3 at 0.5 A, "backbone").
    workers
        Processes simulating structures (1: in this process).
    limit
        Only the first ``limit`` structures (quick runs).
    files
        Structure files (default: ``split_files(spec.split)``).
    progress
        Show a progress bar on stderr.
    scheduler
        Address of a Dask scheduler: simulate on its workers instead of local processes
        (results are still written in file order, so the cache is the same).
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    box = box or BoxSpec()
    from_split = files is None
    files = split_files(spec.split) if from_split else list(files)
    if limit:
        files = files[:limit]
    counts = [count_residues(p) for p in files]
    writer = CacheWriter(Path(root) / spec.name, sum(counts), box)
    jobs = [(str(p), spec, box) for p in files]
    failed, extras = {}, []
    bar = tqdm(total=len(jobs), desc=spec.name, unit="struct", file=sys.stderr,
               disable=not progress, smoothing=0.05)  # fmt: skip
    if scheduler:
        from distributed import Client

        with Client(scheduler) as client:
            for fut in client.map(_work, jobs, pure=False):
                _collect(writer, fut.result(), failed, extras)
                bar.update()
    elif workers > 1:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(workers) as pool:
            for result in pool.imap(_work, jobs, chunksize=1):
                _collect(writer, result, failed, extras)
                bar.update()
    else:
        for job in jobs:
            _collect(writer, _work(job), failed, extras)
            bar.update()
    bar.close()
    seconds = [e["seconds"] for e in extras]
    info = {
        "name": spec.name, "split": spec.split, "seed": spec.seed, "jitter": spec.jitter,
        "jitter_angle": spec.jitter_angle, "jitter_shift": spec.jitter_shift,
        "box": asdict(box), "settings": spec.settings.to_dict(),
        "structures": len(files) - len(failed), "failed": failed,
        "expected_boxes": int(sum(counts)),
        "mean_protein_fraction": float(np.mean([e["protein_fraction"] for e in extras] or [0])),
        "seconds_per_structure": float(np.mean(seconds or [0])),
        "seconds": round(time.perf_counter() - t0, 1), "workers": workers,
        "split_seed": load_split().get("seed") if from_split else None,
    }  # fmt: skip
    return writer.close(info)


def _collect(writer: CacheWriter, result: tuple, failed: dict, extras: list) -> None:
    path, boxes, labels, atoms, rows, extra, error = result
    if error:
        failed[Path(path).name] = error
        print(f"skipped {Path(path).name}: {error}", file=sys.stderr)
        return
    writer.add(boxes, labels, rows, atoms)
    extras.append(extra)


def load_cache(folder: str | Path, mmap: bool = True) -> tuple[np.ndarray, np.ndarray, list, dict]:
    """Read a cache: boxes (memory-mapped by default), labels, residue rows (dicts), info."""
    folder = Path(folder)
    boxes = np.load(folder / "boxes.npy", mmap_mode="r" if mmap else None)
    labels = np.load(folder / "labels.npy")
    with open(folder / "residues.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    info = json.loads((folder / "info.json").read_text())
    return boxes, labels, rows, info
