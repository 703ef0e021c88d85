"""Measure "Close gap" on real maps: residues deleted from the deposited model, built again.

    .venv/bin/python scripts/gap_closing.py --maps 3sb3,gamma,1g8a --every 9 [--missing 1,2] \\
        [--free] [--threads 1] > gaps.jsonl
    .venv/bin/python scripts/gap_closing.py --maps 3sb3,gamma --builds runs/t4s0 > breaks.jsonl
    .venv/bin/python scripts/gap_closing.py --maps 3sb3,gamma --before-pro [--no-cis] > pro.jsonl
    .venv/bin/python scripts/gap_closing.py --maps 3sb3,gamma --pro-deleted [--no-cis] > pro.jsonl

For each map of ``../shared/data/real`` the deposited model becomes a review session
(``Session.from_structure``); at every ``--every``-th position of each chain where the model
runs on unbroken for two residues either side, 1 (or 2, ...) residues are deleted and the break
so made is closed with ``gaps.close_gap`` (shipped classifier, refinement on). With ``--free``
the rest of the chain is made a chain of its own first, so that the density alone decides how
many residues to build. With ``--before-pro`` the sites are instead the residues right before
every proline, and each line also holds the peptide's omega into the proline, deposited and
built (``--no-cis``: paths into a proline not tried as cis peptides,
``gap_paths.CIS_BEFORE_PRO`` off); with ``--pro-deleted`` the prolines themselves are deleted
(with the residue before for 2 missing), and the session holds each chain's sequence, so the new
proline is known. One JSON line per site: whether the break named the right piece (``target``),
how many residues were built, C-alpha and backbone (N, CA, C, O) RMSD of the new residues from
the deleted ones (where as many were built), whether the classifier typed them right, the path's
mean density and the seconds taken; a summary table per map and missing count goes to stderr.
With ``--builds DIR`` the sessions are the builds DIR/MAP.cif (``build_sweep.py --save``)
instead: every chain break that names a piece going on is closed, and the deposited model says
how many residues truly lie between its two ends (``missing``: None where they do not both match
residues of one unbroken deposited chain).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import gemmi
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild import gap_paths  # noqa: E402
from napari_densitybuild.breaks import chain_breaks, pieces  # noqa: E402
from napari_densitybuild.classify import Classifier  # noqa: E402
from napari_densitybuild.device import configure_cpu_threads  # noqa: E402
from napari_densitybuild.errors import DensityBuildError  # noqa: E402
from napari_densitybuild.gaps import close_gap  # noqa: E402
from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.residues import AMINO_ACIDS, INDEX, ONE_LETTER  # noqa: E402
from napari_densitybuild.session import Session  # noqa: E402
from napari_densitybuild.symmetry import Symmetry  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402

BACKBONE = ("N", "CA", "C", "O")


def _xyz(residue, names=BACKBONE) -> np.ndarray:
    got = {a[0]: a[1:] for a in residue.atoms}
    return np.array([got.get(n, (np.nan,) * 3) for n in names], dtype=float)


def sites(
    session: Session, every: int, missing: int, before_pro: bool = False, deleted: bool = False
) -> list[int]:
    """First deleted index of each site: the chain runs on unbroken from two before to two
    after the deleted residues (with ``before_pro``, every site whose next residue is a proline
    instead of every ``every``-th; with ``deleted`` too, whose last deleted residue is one)."""
    piece = pieces(session)
    res = session.residues
    out = []
    for i in range(2, len(res) - missing - 2, 1 if before_pro else every):
        if before_pro and res[i + missing - deleted].type != INDEX["PRO"]:
            continue
        if len(set(piece[i - 2 : i + missing + 2])) == 1:
            out.append(i)
    return out


def _omega(a, b) -> float:
    """Omega (CA-C-N-CA, degrees) of the peptide from residue ``a`` to residue ``b``."""
    p = np.concatenate([_xyz(a, ("CA", "C")), _xyz(b, ("N", "CA"))])
    return float(np.degrees(gemmi.calculate_dihedral(*(gemmi.Position(*x) for x in p))))


def measure(name: str, clf: Classifier, *args) -> list[dict]:
    """:func:`measure_session` (``args``: every, missing, free, ...) on real map ``name``."""
    dmap = read_map(real_dir() / name / "map.mtz")
    full = Session.from_structure(read_structure(model_path(name)), None, dmap)
    return measure_session(name, full, dmap, clf, *args)


def measure_session(
    name: str,
    full: Session,
    dmap,
    clf: Classifier,
    every: int,
    missing: int,
    free: bool,
    before_pro: bool = False,
    pro_deleted: bool = False,
) -> list[dict]:
    """The sites of ``full`` (a deposited model as a session on its map ``dmap``), each with
    ``missing`` residues deleted and closed again: one row per site. With ``pro_deleted`` the
    prolines themselves are deleted (the last of the ``missing``), and the session holds each
    chain's sequence as a build with one does."""
    rows = []
    meta = dict(full.meta)
    if pro_deleted:
        meta["chain_sequences"] = _chain_sequences(full)
    for i in sites(full, every, missing, before_pro or pro_deleted, pro_deleted):
        gone = full.residues[i : i + missing]
        after = full.residues[i + missing :]
        if free:  # the rest of the chain as a chain of its own, numbered from 1
            n = next((k for k, r in enumerate(after) if r.chain != gone[0].chain), len(after))
            after = [replace(r, chain="X" + r.chain, seqid=k + 1)
                     for k, r in enumerate(after[:n])] + after[n:]  # fmt: skip
        s = Session(full.residues[:i] + after, None, meta, autosave=False)
        brk = next((b for b in chain_breaks(s) if b.end == i - 1), None)
        if brk is None:  # the end is no break (a piece of another chain continues it)
            continue
        row = {"map": name, "site": f"{gone[0].chain}{gone[0].seqid}", "missing": missing,
               "gap": brk.distance, "target": brk.start == i}  # fmt: skip
        pro_at = i + missing - pro_deleted  # the proline's index in the deposited model
        if before_pro or pro_deleted:
            omega = _omega(full.residues[pro_at - 1], full.residues[pro_at])
            row["omega_deposited"] = round(omega, 1)
        t0 = time.perf_counter()
        try:
            closed = close_gap(s, brk, dmap, clf)
        except DensityBuildError as e:
            rows.append({**row, "built": 0, "error": str(e)})
            continue
        new = closed.rows[i : i + len(closed.rows) - len(s.residues)]
        row.update(built=len(new), seconds=round(time.perf_counter() - t0, 2),
                   density=round(closed.plan.density, 2))  # fmt: skip
        if len(new) == missing:
            ca = np.array([r.ca for r in new]) - np.array([r.ca for r in gone])
            bb = np.concatenate([_xyz(a) - _xyz(b) for a, b in zip(new, gone)])
            row.update(ca_rmsd=round(float(np.sqrt((ca**2).sum(1).mean())), 3),
                       backbone_rmsd=round(float(np.sqrt(np.nanmean((bb**2).sum(1)))), 3),
                       typed=sum(a.type == b.type for a, b in zip(new, gone)))  # fmt: skip
        if (before_pro or pro_deleted) and len(new) == missing:
            pro, prev = closed.rows[pro_at], closed.rows[pro_at - 1]
            row["omega_built"] = round(_omega(prev, pro), 1)
            row["last_step"] = round(float(np.linalg.norm(np.subtract(prev.ca, pro.ca))), 2)
        rows.append(row)
    return rows


def _chain_sequences(session: Session) -> dict[str, str]:
    """Each chain's one-letter sequence by residue number (X where none is modelled)."""
    out: dict[str, list[str]] = {}
    for r in session.residues:
        seq = out.setdefault(r.chain, [])
        seq.extend("X" * (r.seqid - len(seq)))
        if r.seqid >= 1 and 0 <= r.type < len(AMINO_ACIDS):
            seq[r.seqid - 1] = ONE_LETTER[AMINO_ACIDS[r.type]]
    return {c: "".join(v) for c, v in out.items()}


def _missing(e_ca, s_ca, dep: Session, dep_ca: np.ndarray, sym: Symmetry) -> int | None:
    """How many deposited residues lie between the ones matching ``e_ca`` and ``s_ca`` (C-alpha
    within 1 A, any crystal image) along one unbroken deposited chain; None if they do not
    both match, or not in that order on one chain."""
    got = []
    for ca in (e_ca, s_ca):
        img = sym.images(dep_ca, box=(ca - 1.5, ca + 1.5))
        d = np.linalg.norm(img["xyz"] - ca, axis=1) if len(img["xyz"]) else np.zeros(0)
        if not len(d) or d.min() > 1.0:
            return None
        got.append(int(img["src"][d.argmin()]))
    i, j = got
    piece = pieces(dep)
    return j - i - 1 if j > i and piece[i] == piece[j] else None


def measure_build(name: str, clf: Classifier, model: Path) -> list[dict]:
    """Every chain break of a saved build that names a piece going on, closed; the new
    residues compared with the deposited model (C-alpha within 1 A, any crystal image)."""
    folder = real_dir() / name
    dmap = read_map(folder / "map.mtz")
    dep = Session.from_structure(read_structure(model_path(name)), None, dmap)
    s = Session.from_structure(read_structure(model), None, dmap)
    s.autosave = False
    dep_ca = np.array([r.ca for r in dep.residues])
    sym = Symmetry.of_map(dmap)
    rows = []
    for brk in chain_breaks(s):
        if brk.start is None:
            continue
        e, st = s.residues[brk.end], s.residues[brk.start]
        row = {"map": name, "end": f"{e.chain}{e.seqid}", "start": f"{st.chain}{st.seqid}",
               "gap": brk.distance, "missing": _missing(e.ca, st.ca, dep, dep_ca, sym)}  # fmt: skip
        try:
            closed = close_gap(s, brk, dmap, clf)
        except DensityBuildError as err:
            rows.append({**row, "built": 0, "error": str(err)})
            continue
        new = [closed.rows[i] for i in closed.built] if len(closed.rows) > len(s.residues) else []
        row.update(built=len(new), density=round(closed.plan.density, 2))
        if new:
            ca = np.array([r.ca for r in new])
            img = sym.images(dep_ca, box=(ca.min(0) - 2, ca.max(0) + 2))
            if len(img["xyz"]):
                d = np.linalg.norm(ca[:, None] - img["xyz"][None], axis=2)
                k = d.argmin(1)
                near = d[np.arange(len(new)), k]
                src = img["src"][k]
            else:
                near, src = np.full(len(new), np.inf), np.zeros(len(new), int)
            row.update(matched=int((near < 1.0).sum()),
                       typed=int(sum(n < 1.0 and r.type == dep.residues[j].type
                                     for n, r, j in zip(near, new, src))),
                       nearest=[round(float(v), 2) for v in near])  # fmt: skip
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--maps", required=True, help="real-map folders, comma-separated")
    p.add_argument("--every", type=int, default=9, help="a site every N residues")
    p.add_argument("--missing", default="1,2", help="residues deleted per site, comma-separated")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--free", action="store_true",
                   help="the rest of the chain becomes a chain of its own, numbered from 1, so "
                   "the numbers do not say how many residues are missing")  # fmt: skip
    p.add_argument(
        "--before-pro",
        action="store_true",
        help="sites right before every proline; omega into it recorded",
    )
    p.add_argument(
        "--no-cis", action="store_true", help="paths into a proline not tried as cis peptides"
    )
    p.add_argument("--pro-deleted", action="store_true",
                   help="as --before-pro, the proline itself deleted (the last missing one), "
                   "the session holding each chain's sequence")  # fmt: skip
    p.add_argument("--cis-margin", type=float, default=gap_paths.CIS_MARGIN,
                   help="how much denser (sigma) a cis path must be")  # fmt: skip
    p.add_argument("--builds", type=Path,
                   help="a folder of builds (MAP.cif, as build_sweep.py --save keeps them): "
                   "close every chain break of each instead of deleting residues")  # fmt: skip
    args = p.parse_args(argv)
    configure_cpu_threads(args.threads)
    gap_paths.CIS_BEFORE_PRO = not args.no_cis
    gap_paths.CIS_MARGIN = args.cis_margin
    clf = Classifier.from_path()
    if args.builds:
        for name in args.maps.split(","):
            for r in measure_build(name, clf, args.builds / f"{name}.cif"):
                print(json.dumps(r), flush=True)
        return 0
    table = []
    for name in args.maps.split(","):
        for k in (int(v) for v in args.missing.split(",")):
            rows = measure(name, clf, args.every, k, args.free, args.before_pro,
                           args.pro_deleted)  # fmt: skip
            for r in rows:
                print(json.dumps(r), flush=True)
            right = [r for r in rows if r["built"] == k]
            ca = [r["ca_rmsd"] for r in right]
            table.append((name, k, len(rows), len(right), sum(r["built"] == 0 for r in rows),
                          np.median(ca) if ca else np.nan,
                          np.mean([c < 1.0 for c in ca]) if ca else np.nan,
                          sum(r.get("typed", 0) for r in right)))  # fmt: skip
    print(
        "| map | missing | sites | built as many | refused | median CA RMSD (A) | "
        "CA RMSD < 1 A | typed right |",
        file=sys.stderr,
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|", file=sys.stderr)
    for name, k, n, right, refused, med, share, typed in table:
        print(
            f"| {name} | {k} | {n} | {right} | {refused} | {med:.2f} | {share:.2f} | "
            f"{typed} of {right * k} |",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
