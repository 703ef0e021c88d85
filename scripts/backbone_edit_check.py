"""Flip peptide and Refine zone of the review panel, tried on deposited models of real maps.

    DENSITYBUILD_DATA=../shared/data .venv/bin/python scripts/backbone_edit_check.py 1cbs,rnasa

Per map (``../shared/data/real/MAP``: its map and deposited model):

- every trans peptide of the model turned over and refined (:func:`flip_peptide` on the
  model: a peptide built the wrong way round, as a build would leave it): how many of them the
  model checks then flag at one of its two residues (Ramachandran outlier, impossible contact,
  twisted peptide, its O in more map turned over:
  :func:`~napari_densitybuild.model_checks.check_session`), and how many one
  press of Flip peptide puts back (O within 0.5 A of the deposited O);
- every tenth residue's zone (it and :data:`~napari_densitybuild.settings.ZONE_BESIDE`
  neighbours on either side) shaken (0.35 A at random on every atom but the C-alphas) and
  refined (:func:`refine_zone`): the RMSD from the deposited atoms before and after;
- the whole model shaken so and refined at once (:func:`refine_all`), likewise.

Prints a Markdown table, with the seconds per press on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.backbone_edit import flip_peptide, refine_all, refine_zone  # noqa: E402
from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.model_checks import check_session  # noqa: E402
from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.session import Session  # noqa: E402
from napari_densitybuild.settings import ZONE_BESIDE  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402

#: What the checks say about a wrong peptide (the start of their status-bar text).
FLAGS = ("a Ramachandran outlier", "an impossible contact", "a twisted peptide",
         "the map puts the O")  # fmt: skip


def _o(row) -> np.ndarray:
    return next(np.array(a[1:]) for a in row.atoms if a[0] == "O")


def _xyz(rows, residues) -> np.ndarray:
    return np.concatenate([np.array([a[1:] for a in rows[r].atoms]) for r in residues])


def _shaken(residues: list, which: range, rng: np.random.Generator) -> list:
    """``residues`` with the atoms of ``which`` but their C-alphas moved by 0.35 A at random."""
    rows = list(residues)
    for r in which:
        rows[r] = replace(rows[r], atoms=tuple(
            (a[0], *(np.array(a[1:]) + (0.0 if a[0] == "CA" else rng.normal(0, 0.35, 3))))
            for a in rows[r].atoms))  # fmt: skip
    return rows


def check_map(name: str, step: int = 10, seed: int = 0) -> dict:
    """The figures of the module for real map ``name``."""
    dmap = read_map(real_dir() / name / "map.mtz")
    s = Session.from_structure(read_structure(str(model_path(name))), None, dmap)
    model, _ = s.atom_model()
    flagged = by_o = mended = tried = 0
    seconds = []
    for i in range(1, len(s.residues)):
        prev, atoms = model.residue_atoms(i - 1), model.residue_atoms(i)
        if not (model.linked[i] and "O" in prev and "N" in atoms and "CA" in atoms
                and model.is_trans(prev, atoms)):  # fmt: skip
            continue
        wrong = Session(flip_peptide(s, i, dmap).rows, None, s.meta, autosave=False)
        problems = dict(check_session(wrong, dmap).problems())
        said = [w for p in (problems.get(i - 1, ""), problems.get(i, "")) for w in p.split("; ")]
        flagged += any(w.startswith(FLAGS) for w in said)
        by_o += any(w.startswith(FLAGS[3]) for w in said)
        t = time.perf_counter()
        back = flip_peptide(wrong, i, dmap)
        seconds.append(time.perf_counter() - t)
        mended += np.linalg.norm(_o(back.rows[i - 1]) - _o(s.residues[i - 1])) < 0.5
        tried += 1
    rng = np.random.default_rng(seed)
    shaken, refined, zone_seconds = [], [], []
    for i in range(ZONE_BESIDE, len(s.residues) - ZONE_BESIDE, step):
        zone = range(i - ZONE_BESIDE, i + ZONE_BESIDE + 1)
        if not all(model.linked[r] for r in zone[1:]):
            continue
        rows = _shaken(s.residues, zone, rng)
        t = time.perf_counter()
        edit = refine_zone(Session(rows, None, s.meta, autosave=False), i, dmap)
        zone_seconds.append(time.perf_counter() - t)
        ref = _xyz(s.residues, zone)
        shaken.append(np.sqrt(((_xyz(rows, zone) - ref) ** 2).sum(1).mean()))
        refined.append(np.sqrt(((_xyz(edit.rows, zone) - ref) ** 2).sum(1).mean()))
    whole = _shaken(s.residues, range(len(s.residues)), rng)
    t = time.perf_counter()
    edit = refine_all(Session(whole, None, s.meta, autosave=False), dmap)
    all_s = time.perf_counter() - t
    everything = range(len(s.residues))
    ref = _xyz(s.residues, everything)
    all_rmsd = [float(np.sqrt(((_xyz(x, everything) - ref) ** 2).sum(1).mean()))
                for x in (whole, edit.rows)]  # fmt: skip
    return {"map": name, "all": all_rmsd, "all_s": all_s, "peptides": tried,
            "flagged": flagged, "by_o": by_o, "mended": mended,
            "flip_s": float(np.mean(seconds)), "zones": len(shaken),
            "shaken": float(np.mean(shaken)), "refined": float(np.mean(refined)),
            "refined_max": float(np.max(refined)),
            "zone_s": float(np.mean(zone_seconds))}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("maps", help="real-map folders, comma-separated")
    args = p.parse_args(argv)
    print("| map | trans peptides | wrong way round: flagged by the checks (by the O check) | "
          "mended by one Flip peptide | s per flip | zones | RMSD shaken -> refined (A), worst "
          "| s per zone | whole model shaken -> refined (A) | s |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---|---:|---|---:|")
    for name in args.maps.split(","):
        r = check_map(name)
        print(f"| {r['map']} | {r['peptides']} | {r['flagged']} ({r['by_o']}) | {r['mended']} | "
              f"{r['flip_s']:.3f} | {r['zones']} | {r['shaken']:.2f} -> {r['refined']:.2f}, "
              f"{r['refined_max']:.2f} | {r['zone_s']:.3f} | {r['all'][0]:.2f} -> "
              f"{r['all'][1]:.2f} | {r['all_s']:.1f} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
