"""The table a build rule is judged by: pairs of build sweeps, their figures side by side.

    .venv/bin/python scripts/rule_table.py "with the sequence, draw 0=runs/cm0:runs/em0" \\
        "with the sequence, draw 1=runs/cm1:runs/em1" [--pool "pooled"]

Each pair is ``LABEL=BEFORE:AFTER``, two sweeps of ``scripts/build_sweep.py`` over the same
maps, each run with ``--save DIR`` and its JSON lines written to ``DIR.jsonl`` or
``DIR.*.jsonl`` (one file per share of the maps, as when the maps are split over two
processes). Per pair, summed over the maps: residues matched within 1 A, typed right, more than
1 A off, clashing, Ramachandran outlier residues (outlier fraction times residues built), and
the paired sums of ``scripts/compare_builds.py``: backbone RMSD over the residues both builds
match and all-atom RMSD over those both type right, per map, summed. ``--pool LABEL`` adds a
row with every pair's figures added up (pairs of one mode, several draws). Draws of the
test-time copies alone move these figures by as much as many changes do (docs/build.md, "How
far a draw of the test-time copies moves the build figures").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from compare_builds import compare_map  # noqa: E402

COUNTS = ("matched", "typed", "far", "clashing", "rama")


def sweep_rows(folder: Path) -> dict[str, dict]:
    """The JSON rows of a sweep saved in ``folder``, by map name."""
    files = sorted(folder.parent.glob(f"{folder.name}.*jsonl"))
    if not files:
        raise SystemExit(f"no {folder}.jsonl or {folder}.*.jsonl")
    rows = [json.loads(line) for f in files for line in f.read_text().splitlines() if line]
    return {r["map"]: r for r in rows}


def pair_figures(before: Path, after: Path) -> dict[str, tuple[float, float]]:
    """(before, after) of every column for the maps both sweeps built."""
    a, b = sweep_rows(before), sweep_rows(after)
    names = sorted(set(a) & set(b))
    out = {}
    for key in COUNTS:
        src = "rama_outliers" if key == "rama" else key
        scale = (lambda r: r["built"]) if key == "rama" else (lambda r: 1)
        out[key] = tuple(sum(rows[n][src] * scale(rows[n]) for n in names) for rows in (a, b))
    paired = [compare_map(n, before, after) for n in names]
    for key in ("backbone", "all_atom"):
        out[key] = tuple(sum(r.get(f"{key}_{when}") or 0.0 for r in paired)
                         for when in ("before", "after"))  # fmt: skip
    return out


def _row(label: str, fig: dict[str, tuple[float, float]]) -> str:
    cells = []
    for key, fmt in (("matched", ",.0f"), ("typed", ",.0f"), ("far", ".0f"), ("clashing", ".0f"),
                     ("rama", ".1f"), ("backbone", ".3f"), ("all_atom", ".3f")):  # fmt: skip
        x, y = fig[key]
        cells.append(f"{x:{fmt}} -> {y:{fmt}}")
    return f"| {label} | " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pairs", nargs="+", help="LABEL=BEFORE:AFTER (sweep folders)")
    p.add_argument("--pool", metavar="LABEL", help="add a row of every pair added up")
    args = p.parse_args(argv)
    print("| comparison | matched | typed right | > 1 A off | clashing | Rama outlier residues "
          "| backbone sum, both match (A) | all-atom sum, both typed (A) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    pooled: dict[str, tuple[float, float]] = {}
    for spec in args.pairs:
        label, _, folders = spec.rpartition("=")
        before, _, after = folders.partition(":")
        if not (label and before and after):
            raise SystemExit(f"expected LABEL=BEFORE:AFTER, got {spec!r}")
        fig = pair_figures(Path(before), Path(after))
        print(_row(label, fig), flush=True)
        for key, (x, y) in fig.items():
            px, py = pooled.get(key, (0.0, 0.0))
            pooled[key] = (px + x, py + y)
    if args.pool:
        print(_row(args.pool, pooled))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
