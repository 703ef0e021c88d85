"""Which side chain do the measured data support where a build and the deposited model differ?

    .venv/bin/python scripts/omit_side_chains.py runs/ho_noseq [runs/other ...]

For builds (``MAP.cif`` per map, ``build_sweep.py --save``) of the real maps whose MTZ holds
measured amplitudes (1cbs, cdk2, rnasa), the residues matched within 1 A and typed right whose
backbone (N, CA, C, O) is within 0.5 A of the deposited one but whose whole residue is more
than 1 A off (pose RMSD, naming symmetry allowed for) are the disputed side chains. Their atoms
beyond CB are left out of the deposited model, which is set against the measured amplitudes
(:func:`~napari_densitybuild.model_maps.fit_model`, its own B-factors): the mFo-DFc map of
that omit model shows where the data put those atoms, phased by neither placement. Printed
per build: the omit map's mean at the built and at the deposited atoms beyond CB, how many
side chains sit in clearly more omit density (by 0.5 sigma) as built or as deposited, and
R-free of the deposited model as it is and with the built side chains in place of the
disputed ones (each built atom taking the B of its deposited namesake, else the residue's
mean).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gemmi
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.model_maps import fit_model, model_map  # noqa: E402
from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.residues import AMINO_ACIDS, HEAVY_ATOMS  # noqa: E402
from napari_densitybuild.symmetry import Symmetry  # noqa: E402
from napari_densitybuild.training.evaluate_build import class_indices, matched_residues  # noqa: E402
from napari_densitybuild.training.pose_loss import pose_rmsd  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402
from napari_densitybuild.xray_data import read_observed  # noqa: E402

#: Margin (sigma) by which one placement's omit density must beat the other's to count.
MARGIN = 0.5


def disputed(cif: Path, data) -> list[tuple]:
    """(deposited chain, seqid, icode, type, built atoms beyond CB, deposited atoms beyond CB,
    built atom names) of the disputed side chains of one build."""
    built, deposited = read_structure(str(cif)), read_structure(str(model_path(cif.stem)))
    sym = Symmetry.from_cell(data.cell, data.spacegroup)
    b, d, p, r, got, ref = matched_residues(built, deposited, sym)
    bt, dt = class_indices(b.resname[p]), class_indices(d.resname[r])
    out = []
    for k in np.flatnonzero((bt == dt) & (dt >= 0)):
        t = AMINO_ACIDS[dt[k]]
        m = len(HEAVY_ATOMS[t])
        g, f = got[k, :m], ref[k, :m]
        if m <= 5 or not (np.isfinite(g).all() and np.isfinite(f).all()):
            continue
        backbone = float(np.sqrt(((g[:4] - f[:4]) ** 2).sum(1).mean()))
        err = float(pose_rmsd(got[k][None], ref[k][None], dt[k : k + 1])[0])
        if backbone <= 0.5 and err > 1.0:
            j = r[k]
            out.append((str(d.chain[j]), int(d.seqid[j]), str(d.icode[j]), t, g[5:], f[5:],
                        HEAVY_ATOMS[t][5:]))  # fmt: skip
    return out


def _residue(st, chain: str, seqid: int, icode: str):
    for ch in st[0]:
        if ch.name == chain:
            for res in ch:
                if res.seqid.num == seqid and res.seqid.icode.strip() == icode.strip():
                    return res
    raise KeyError((chain, seqid, icode))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", help="folders of built MAP.cif files")
    args = p.parse_args(argv)
    print("| build | disputed | omit map at built / deposited atoms (sigma) | clearly more "
          "as built / as deposited | R-free deposited / with built side chains |")  # fmt: skip
    print("|---|---:|---|---|---|")
    for folder in args.folders:
        for cif in sorted(Path(folder).glob("*.cif")):
            mtz = real_dir() / cif.stem / "map.mtz"
            try:
                data = read_observed(mtz)
            except Exception:
                continue
            rows = disputed(cif, data)
            if not rows:
                continue
            deposited = read_structure(str(model_path(cif.stem)))
            omit, hybrid = deposited.clone(), deposited.clone()
            for chain, seqid, icode, _, g, _, names in rows:
                res = _residue(omit, chain, seqid, icode)
                for name in names:
                    while res.find_atom(name, "*") is not None:
                        res.remove_atom(name, res.find_atom(name, "*").altloc)
                # the built side chain, moved into the deposited residue's crystal image
                h = _residue(hybrid, chain, seqid, icode)
                b_of = {a.name: a.b_iso for a in h}
                mean_b = float(np.mean(list(b_of.values())))
                cb = h.find_atom("CB", "*").pos
                for name, xyz in zip(names, g):
                    atom = h.find_atom(name, "*")
                    if atom is None:
                        continue
                    pos = gemmi.Position(*xyz)
                    image = data.cell.find_nearest_image(cb, pos, gemmi.Asu.Any)
                    atom.pos = data.cell.find_nearest_pbc_position(cb, pos, image.sym_idx)
                    atom.b_iso = b_of.get(name, mean_b)
            fit = fit_model(omit, data, "model")
            omit_map = model_map(fit, difference=True)
            at_built = np.array([omit_map.sample_points(g).mean() for *_, g, _, _ in rows])
            at_dep = np.array([omit_map.sample_points(f).mean() for *_, f, _ in rows])
            r_dep = fit_model(deposited, data, "model").r_free
            r_hyb = fit_model(hybrid, data, "model").r_free
            more = (at_built > at_dep + MARGIN).sum(), (at_dep > at_built + MARGIN).sum()
            name = f"{cif.parent.name}/{cif.stem}"
            print(f"| {name} | {len(rows)} | {at_built.mean():.2f} / {at_dep.mean():.2f} | "
                  f"{more[0]} / {more[1]} | {r_dep:.4f} / {r_hyb:.4f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
