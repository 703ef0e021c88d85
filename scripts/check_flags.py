"""How often the model checks point at residues that are wrong, on builds of real maps.

    DENSITYBUILD_DATA=../shared/data .venv/bin/python scripts/check_flags.py runs/sg21

Each folder holds ``MAP.cif`` per map of ``../shared/data/real`` (``build_sweep.py --save``).
Each build is checked as ``densitybuild info MAP MODEL`` checks it
(:func:`~napari_densitybuild.model_checks.check_model`), and its residues are compared with the
deposited model as ``scripts/error_sources.py`` compares them (matched within 1 A and typed
right, or not). Prints, per check and for the flagged and the other residues, how many are
not matched with the right type and how many of the matched ones are more than 1 A off (all
atoms), with their share of the squared all-atom error.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

import error_sources  # noqa: E402

from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.model_checks import CHECKS, check_model  # noqa: E402
from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.training.realdata import real_dir  # noqa: E402


def built_models(argv: list[str] | None, doc: str) -> list[Path]:
    """The ``MAP.cif`` files of the folders given on the command line (a script's usage)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("folders", nargs="+", help="folders of built MAP.cif files")
    return [
        cif for folder in p.parse_args(argv).folders for cif in sorted(Path(folder).glob("*.cif"))
    ]


def main(argv: list[str] | None = None) -> int:
    count: collections.Counter = collections.Counter()
    for cif in built_models(argv, __doc__):
        rows = {r["built"]: r for r in error_sources.residue_rows(cif)[0]}
        dmap = read_map(real_dir() / cif.stem / "map.mtz")
        checks = check_model(read_structure(str(cif)), dmap)
        flagged: set[str] = set()
        for name, _, _ in CHECKS:
            for k in getattr(checks, name):
                label = checks.labels[k].split()[1]  # "GLN A40" -> "A40"
                flagged.add(label)
                _tally(count, name, rows.get(label))
        count["built", "all"] += checks.residues
        for label in (label.split()[1] for label in checks.labels):
            _tally(count, "flagged" if label in flagged else "others", rows.get(label))
    total_sq = count["flagged", "sq"] + count["others", "sq"]
    print(f"{count['built', 'all']} residues built")
    print("| residues | count | not matched with the right type | matched, > 1 A off | "
          "share of squared error |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for name in [n for n, _, _ in CHECKS] + ["flagged", "others"]:
        n = count[name, "residues"]
        share = f"{count[name, 'sq'] / total_sq:.2f}" if name in ("flagged", "others") else ""
        print(f"| {name} | {n} | {count[name, 'unmatched']} | {count[name, 'far']} | {share} |")
    return 0


def _tally(count: collections.Counter, key: str, row: dict | None) -> None:
    count[key, "residues"] += 1
    if row is None:
        count[key, "unmatched"] += 1
        return
    count[key, "matched"] += 1
    count[key, "far"] += row["err"] > 1
    count[key, "sq"] += row["err"] ** 2 * row["atoms"]


if __name__ == "__main__":
    raise SystemExit(main())
