"""Compare two runs of ``gap_closing.py --before-pro`` (old, new): per kind of deposited peptide
into the proline (cis: |omega| < 30 degrees; trans), the sites built right (as many residues,
C-alpha RMSD < 1 A), the summed backbone RMSD of the new residues over the sites built right in
both runs, and the sites whose built peptide into the proline is cis.

    .venv/bin/python scripts/compare_pro_sites.py runs/cis/old.jsonl runs/cis/new.jsonl
    .venv/bin/python scripts/compare_pro_sites.py OFF.jsonl ALWAYS.jsonl --margins

With ``--margins`` the two runs are one without cis paths and one that takes a cis path
wherever there is one (``--cis-margin -9``); each margin m of 0-0.5 sigma then picks, per site,
the cis run's result where its path was cis and at least m denser than the other run's, and the
table gives the same figures per margin.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _rows(path: Path) -> dict[tuple, dict]:
    rows = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {(r["map"], r["site"], r["missing"]): r for r in rows}


def _right(r: dict) -> bool:
    return r.get("built") == r["missing"] and r.get("ca_rmsd", 9.0) < 1.0


def _cis(omega: float | None) -> bool:
    return omega is not None and abs(omega) < 30.0


def _row(kind: str, ks: list, old: dict, new: dict, label: str | None = None) -> str:
    both = [k for k in ks if _right(old[k]) and _right(new[k])]
    bb = [sum(run[k]["backbone_rmsd"] for k in both) for run in (old, new)]
    right = [sum(_right(run[k]) for k in ks) for run in (old, new)]
    cis = [sum(_cis(run[k].get("omega_built")) for k in ks) for run in (old, new)]
    refused = [sum(run[k].get("built") == 0 for k in ks) for run in (old, new)]
    return (f"| {label or kind} | {len(ks)} | {right[0]} -> {right[1]} | {bb[0]:.2f} -> "
            f"{bb[1]:.2f} ({len(both)} sites) | {cis[0]} -> {cis[1]} | {refused[0]} -> "
            f"{refused[1]} |")  # fmt: skip


def _with_margin(off: dict, always: dict, margin: float) -> dict:
    """Per site, the ``always`` run's row where its path was cis and ``margin`` denser."""
    out = {}
    for k, r in off.items():
        a = always[k]
        cis_path = a.get("last_step", 9.0) < 3.3
        dense = a.get("density", -9.0) >= r.get("density", -9.0) + margin
        out[k] = a if cis_path and dense else r
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--list", action="store_true", help="print the cis sites and changed ones")
    p.add_argument("--margins", action="store_true",
                   help="OLD: no cis paths; NEW: cis paths wherever there are")  # fmt: skip
    args = p.parse_args(argv)
    old, new = _rows(args.old), _rows(args.new)
    keys = sorted(set(old) & set(new))
    print("| deposited peptide | sites | built right old -> new | backbone RMSD sum (A, "
          "right in both) | built cis old -> new | refused old -> new |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    kinds = {kind: [k for k in keys if _cis(old[k]["omega_deposited"]) == (kind == "cis")]
             for kind in ("cis", "trans")}  # fmt: skip
    if args.margins:
        for m in np.round(np.arange(0.0, 0.501, 0.05), 2):
            picked = _with_margin(old, new, float(m))
            for kind, ks in kinds.items():
                print(_row(kind, ks, old, picked, f"{kind}, margin {m:.2f}"))
        return 0
    for kind, ks in kinds.items():
        print(_row(kind, ks, old, new))
    if args.list:
        for k in keys:
            o, n = old[k], new[k]
            if _cis(o["omega_deposited"]) or _right(o) != _right(n) or _cis(
                o.get("omega_built")) != _cis(n.get("omega_built")):  # fmt: skip
                print(k, "deposited", o["omega_deposited"],
                      *(f"| built {r.get('built')} ca {r.get('ca_rmsd')} bb "
                        f"{r.get('backbone_rmsd')} omega {r.get('omega_built')} "
                        f"dens {r.get('density')}" for r in (o, n)))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
