"""Two builds of the same real maps, compared residue by residue on what both got right.

    .venv/bin/python scripts/compare_builds.py runs/before runs/after \\
        [--maps 1cbs,cdk2,rnasa] [--list]

Each folder holds ``MAP.cif`` per map of ``../shared/data/real`` (``build_sweep.py --save``
writes them; ``densitybuild build --out`` too). ``evaluate --task build`` scores each build on
its own matched residues (C-alpha within 1 A of a deposited one), so a build that places one
more residue just inside 1 A, with its carbonyl still wrong, scores a worse backbone RMSD
than one that leaves the same residue just outside. Here both builds are scored on the same
deposited residues: those both match within 1 A (backbone RMSD), and of those, the ones both
type correctly (all-atom RMSD, the better naming of symmetric groups as ``evaluate`` does).
It also counts residues matched or correctly typed by one build only, and ``--list`` names
them. ``--added`` also lists the residues the second build holds and the first does not (by
chain, number and insertion code: builds with a sequence number residues by it), each with
the deposited residue its C-alpha matches within 1 A, if any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.models import backbone_residues, read_structure  # noqa: E402
from napari_densitybuild.symmetry import Symmetry  # noqa: E402
from napari_densitybuild.training.evaluate_build import class_indices, matched_residues  # noqa: E402
from napari_densitybuild.training.pose_loss import pose_rmsd  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402


def added_residues(before: Path, after: Path, deposited, sym: Symmetry) -> list[str]:
    """Residues of ``after`` not in ``before`` (chain, number, insertion code), each as
    "A12LEU -> B33LEU" with the deposited residue it matches, or "-> none"."""
    have = set()
    for ch in read_structure(before)[0]:
        have |= {(ch.name, r.seqid.num, r.seqid.icode.strip()) for r in ch}
    b, d, p, r, _, _ = matched_residues(read_structure(after), deposited, sym)
    partner = dict(zip(p.tolist(), r.tolist()))
    out = []
    for i in range(len(b)):
        if (b.chain[i], int(b.seqid[i]), str(b.icode[i]).strip()) in have:
            continue
        j = partner.get(i)
        to = "none" if j is None else f"{d.chain[j]}{d.seqid[j]}{d.resname[j]}"
        out.append(f"{b.chain[i]}{b.seqid[i]}{b.resname[i]} -> {to}")
    return out


def per_deposited(built_path: Path, deposited, sym: Symmetry) -> dict[int, tuple]:
    """Deposited residue index -> (built atoms, deposited atoms on the built image, built
    class index), as ``evaluate`` matches them."""
    b, _, p, r, got, ref = matched_residues(read_structure(built_path), deposited, sym)
    types = class_indices(b.resname[p])
    return {int(j): (got[k], ref[k], int(types[k])) for k, j in enumerate(r)}


def compare_map(name: str, before: Path, after: Path) -> dict:
    """Paired figures for one map (see the module)."""
    dmap = read_map(real_dir() / name / "map.mtz")
    sym = Symmetry.of_map(dmap)
    deposited = read_structure(model_path(name))
    d, _ = backbone_residues(deposited)
    dt = class_indices(d.resname)
    a = per_deposited(before / f"{name}.cif", deposited, sym)
    b = per_deposited(after / f"{name}.cif", deposited, sym)
    common = sorted(set(a) & set(b))
    row = {"map": name, "matched_both": len(common), "matched_before_only": len(set(a) - set(b)),
           "matched_after_only": len(set(b) - set(a))}  # fmt: skip
    sq = {"before": [], "after": []}
    typed = {"before": set(), "after": set()}
    for j in common:
        for key, got in (("before", a[j]), ("after", b[j])):
            atoms, ref, t = got
            bb = np.isfinite(ref[:4]).all(-1) & np.isfinite(atoms[:4]).all(-1)
            sq[key].extend(((atoms[:4][bb] - ref[:4][bb]) ** 2).sum(-1))
            if t == dt[j] and t >= 0:
                typed[key].add(j)
    for key in sq:
        row[f"backbone_{key}"] = round(float(np.sqrt(np.mean(sq[key]))), 3) if common else None
    both = sorted(typed["before"] & typed["after"])
    row.update(typed_both=len(both), typed_before_only=sorted(typed["before"] - typed["after"]),
               typed_after_only=sorted(typed["after"] - typed["before"]))  # fmt: skip
    for key, got in (("before", a), ("after", b)):
        if both:
            atoms = np.stack([got[j][0] for j in both])
            ref = np.stack([got[j][1] for j in both])
            per = pose_rmsd(atoms, ref, dt[both])
            n_atoms = np.isfinite(ref).all(-1).sum(1)
            ok = np.isfinite(per)
            row[f"all_atom_{key}"] = round(float(np.sqrt((per[ok] ** 2 * n_atoms[ok]).sum()
                                                         / n_atoms[ok].sum())), 3)  # fmt: skip
    row["names"] = {j: f"{d.chain[j]}{d.seqid[j]}{d.resname[j]}" for j in set(a) | set(b)}
    row["added"] = added_residues(before / f"{name}.cif", after / f"{name}.cif", deposited, sym)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    p.add_argument("--maps", help="comma-separated (default: every MAP.cif in both folders)")
    p.add_argument("--list", action="store_true", help="name residues typed by one build only")
    p.add_argument("--added", action="store_true", help="list residues only the second holds")
    args = p.parse_args(argv)
    names = (args.maps.split(",") if args.maps else
             sorted({f.stem for f in args.before.glob("*.cif")}
                    & {f.stem for f in args.after.glob("*.cif")}))  # fmt: skip
    print(
        "| map | matched by both (before only / after only) | typed by both | typed before "
        "only | typed after only | backbone before | after | all-atom before | after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    keys = ("typed_before_only", "typed_after_only")
    rmsds = ("backbone_before", "backbone_after", "all_atom_before", "all_atom_after")
    total = dict.fromkeys((*keys, *rmsds), 0)
    for name in names:
        r = compare_map(name, args.before, args.after)
        for key in total:
            total[key] += len(r[key]) if key in keys else (r.get(key) or 0.0)
        print(f"| {name} | {r['matched_both']} ({r['matched_before_only']} / "
              f"{r['matched_after_only']}) | {r['typed_both']} | {len(r['typed_before_only'])} | "
              f"{len(r['typed_after_only'])} | {r['backbone_before']} | {r['backbone_after']} | "
              f"{r.get('all_atom_before')} | {r.get('all_atom_after')} |", flush=True)  # fmt: skip
        if args.list:
            for key in keys:
                print(f"    {key}: {' '.join(r['names'][j] for j in r[key])}")
        if args.added and r["added"]:
            print(f"    added: {', '.join(r['added'])}")
    print(f"| sum | | | {total['typed_before_only']} | {total['typed_after_only']} | "
          f"{total['backbone_before']:.3f} | {total['backbone_after']:.3f} | "
          f"{total['all_atom_before']:.3f} | {total['all_atom_after']:.3f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
