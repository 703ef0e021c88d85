"""Where the all-atom error of builds of real maps comes from, against the deposited models.

    .venv/bin/python scripts/error_sources.py runs/fg0 [runs/other ...]

Each folder holds ``MAP.cif`` per map of ``../shared/data/real`` (``build_sweep.py --save``).
Residues matched within 1 A and typed right (as ``evaluate --task build`` matches them) are
split by what is wrong with them: backbone (N, CA, C, O) more than 0.8 A off; backbone right
but the residue more than 1 A off, with the deposited side chain in density (at least 1 sigma
on average) or not; the rest. For each class, its share of the summed squared atom error.
Then two questions about the two largest classes:

- Carbonyls more than 2 A off (N and CA within 0.8 A): the map at the built O and at the
  deposited one, and where the best turn of the peptide unit about its C-alpha axis puts O
  (``pepflip.TURN_ANGLES``), as :func:`~napari_densitybuild.pepflip.flip_peptides` looks.
- Side chains more than 1 A off with the backbone right: how many are built in more map than
  the deposited side chain (by over 0.5 sigma, mean over the atoms beyond CB), and the reverse.
- Side chains by the map at the built atoms beyond CB: their RMSD as built, with the
  library's commonest rotamer on the built backbone instead, and with the library rotamer
  nearest the deposited one (the floor of a rotamer search on that backbone).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.pepflip import TURN_ANGLES, peptide_units, turned_positions  # noqa: E402
from napari_densitybuild.refine import atom_model  # noqa: E402
from napari_densitybuild.residues import AMINO_ACIDS, HEAVY_ATOMS, PARENT  # noqa: E402
from napari_densitybuild.rotamers import candidates, rotamer_library  # noqa: E402
from napari_densitybuild.symmetry import Symmetry  # noqa: E402
from napari_densitybuild.training.evaluate_build import class_indices, matched_residues  # noqa: E402
from napari_densitybuild.training.pose_loss import pose_rmsd  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402

#: Bins of the map value (sigma) at a built side chain.
SIDE_BINS = (-np.inf, 0.5, 1.0, 1.5, np.inf)


def residue_rows(cif: Path) -> tuple[list[dict], list[dict]]:
    """Per matched, right-typed residue of one build: its errors and map values; and per
    carbonyl more than 2 A off, the map at it, at the deposited O and at the best turn."""
    name = cif.stem
    dmap = read_map(real_dir() / name / "map.mtz")
    built, deposited = read_structure(str(cif)), read_structure(model_path(name))
    b, d, p, r, got, ref = matched_residues(built, deposited, Symmetry.of_map(dmap))
    bt, dt = class_indices(b.resname[p]), class_indices(d.resname[r])
    lib = rotamer_library()
    rows, by_label = [], {}
    for k in np.flatnonzero((bt == dt) & (dt >= 0)):
        t = AMINO_ACIDS[dt[k]]
        m = len(HEAVY_ATOMS[t])
        g, f = got[k, :m], ref[k, :m]
        ok = np.isfinite(g).all(1) & np.isfinite(f).all(1)
        if not ok[:4].all():
            continue
        err = float(pose_rmsd(got[k][None], ref[k][None], dt[k : k + 1])[0])
        row = {"map": name, "built": f"{b.chain[p[k]]}{b.seqid[p[k]]}", "type": t,
               "atoms": int(ok.sum()), "err": err,
               "backbone": float(np.sqrt(((g[:4] - f[:4]) ** 2).sum(1).mean())),
               "o_err": float(np.linalg.norm(g[3] - f[3])),
               "n_ca_err": float(np.linalg.norm(g[:2] - f[:2], axis=1).max()),
               "rho_deposited_side": float(np.mean(dmap.sample_points(f[5:][ok[5:]])))
               if ok[5:].any() else float("nan")}  # fmt: skip
        if t in lib and ok.all():
            row["rho_built_side"] = float(np.mean(dmap.sample_points(g[5:])))
            cand = candidates(t, g[0][None], g[1][None], g[2][None])
            swapped = np.repeat(got[k][None], len(cand), 0)
            swapped[:, 4:m] = cand
            per = pose_rmsd(swapped, np.repeat(ref[k][None], len(cand), 0),
                            np.repeat(dt[k : k + 1], len(cand)))  # fmt: skip
            row["err_mode"] = float(per[int(np.argmax(lib[t]["logp"]))])
            row["err_floor"] = float(np.nanmin(per))
        rows.append(row)
        by_label[row["built"]] = (row, f[3])
    model = atom_model(built)
    labels = [f"{ch.name}{res.seqid.num}" for ch in built[0] for res in ch
              if PARENT.get(res.name, res.name) in HEAVY_ATOMS]  # fmt: skip
    units = peptide_units(model)
    carbonyls = []
    if len(units):
        turned = turned_positions(model.xyz, units, TURN_ANGLES)[:, :, 1]
        rho = dmap.sample_points(turned.reshape(-1, 3)).reshape(len(units), -1)
        for u, o_turned, rho_turned in zip(units, turned, rho):
            hit = by_label.get(labels[model.residue[u[2]]])
            if hit is None or hit[0]["o_err"] <= 2.0 or hit[0]["n_ca_err"] > 0.8:
                continue
            best = int(np.argmax(rho_turned))
            o_dep = hit[1]
            carbonyls.append({
                "built_o": float(dmap.sample_points(model.xyz[u[2]][None])[0]),
                "deposited_o": float(dmap.sample_points(o_dep[None])[0]),
                "turned_o": float(rho_turned[best]),
                "turned_err": float(np.linalg.norm(o_turned[best] - o_dep))})  # fmt: skip
    return rows, carbonyls


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", help="folders of built MAP.cif files")
    args = p.parse_args(argv)
    rows, carbonyls = [], []
    for folder in args.folders:
        for cif in sorted(Path(folder).glob("*.cif")):
            more, c = residue_rows(cif)
            rows += more
            carbonyls += c
    n = np.array([x["atoms"] for x in rows])
    sq = np.array([x["err"] ** 2 for x in rows]) * n
    print(f"{len(rows)} residues matched and typed right; all-atom RMSD "
          f"{np.sqrt(sq.sum() / n.sum()):.3f} A\n")  # fmt: skip
    classes = {
        "backbone > 0.8 A off": lambda x: x["backbone"] > 0.8,
        "backbone right, > 1 A off, deposited side chain >= 1 sigma":
            lambda x: x["backbone"] <= 0.8 and x["err"] > 1 and not x["rho_deposited_side"] < 1,
        "backbone right, > 1 A off, deposited side chain < 1 sigma":
            lambda x: x["backbone"] <= 0.8 and x["err"] > 1 and x["rho_deposited_side"] < 1,
        "within 1 A": lambda x: x["backbone"] <= 0.8 and x["err"] <= 1,
    }  # fmt: skip
    print("| residues | count | share of squared error | RMSD (A) |\n|---|---:|---:|---:|")
    for label, test in classes.items():
        sel = np.array([test(x) for x in rows], dtype=bool)
        rms = np.sqrt(sq[sel].sum() / max(n[sel].sum(), 1))
        print(f"| {label} | {sel.sum()} | {sq[sel].sum() / sq.sum():.2f} | {rms:.2f} |")
    c = {k: np.array([x[k] for x in carbonyls]) for k in ("built_o", "deposited_o", "turned_o",
                                                          "turned_err")}  # fmt: skip
    print(
        f"\n{len(carbonyls)} carbonyl O more than 2 A off (N and CA within 0.8 A): deposited O "
        f"denser by > 0.5 sigma at {(c['deposited_o'] > c['built_o'] + 0.5).sum()}; the best "
        f"turn's O denser than the built one by > 0.5 sigma at "
        f"{(c['turned_o'] > c['built_o'] + 0.5).sum()}, of which within 1 A of the deposited "
        f"O {((c['turned_o'] > c['built_o'] + 0.5) & (c['turned_err'] < 1)).sum()}"
    )
    side = [x for x in rows if "rho_built_side" in x]
    off = [x for x in side if x["backbone"] <= 0.8 and x["err"] > 1]
    for label, test in (("built", lambda x: x["rho_built_side"] > x["rho_deposited_side"] + 0.5),
                        ("deposited", lambda x: x["rho_deposited_side"] >
                         x["rho_built_side"] + 0.5)):  # fmt: skip
        sel = [x for x in off if test(x)]
        share = sum(x["err"] ** 2 * x["atoms"] for x in sel) / sq.sum()
        print(f"Side chains > 1 A off, backbone right, the {label} one in more map by > 0.5 "
              f"sigma: {len(sel)} of {len(off)}, {share:.2f} of the squared error")  # fmt: skip
    print(
        "\n| map at built side chain (sigma) | residues | RMSD as built | commonest rotamer | "
        "nearest library rotamer |\n|---|---:|---:|---:|---:|"
    )
    for lo, hi in itertools.pairwise(SIDE_BINS):
        sel = [x for x in side if lo <= x["rho_built_side"] < hi]
        if not sel:
            continue
        w = np.array([x["atoms"] for x in sel])

        def rms(key: str, sel=sel, w=w) -> float:
            return float(np.sqrt((np.array([x[key] for x in sel]) ** 2 * w).sum() / w.sum()))

        print(
            f"| {lo:g} to {hi:g} | {len(sel)} | {rms('err'):.2f} | {rms('err_mode'):.2f} | "
            f"{rms('err_floor'):.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
