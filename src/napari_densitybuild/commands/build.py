"""``densitybuild build MAP --out MODEL.cif``: the whole pipeline on one map.

Places residues (stage 1), names them and predicts their atoms (stages 2 and 3), aligns the
fragments to ``--sequence`` when given, refines the atoms against the map with ideal geometry,
and writes mmCIF or PDB (chains = traced fragments, B-factor column = confidence 0-100).
``--report`` writes counts and per-stage seconds as JSON, the largest blobs of density the
model leaves unexplained (:mod:`~..blobs`: where to look for what the build missed) and the
model's checks (:mod:`~..model_checks`: which residues to look at before deposition).
Where the map is an MTZ with measured amplitudes, the built model's R-work and R-free are
printed and reported (:mod:`~..model_maps`; one B for every atom, the B column holding
confidence). ``--waters`` adds ordered waters at the map's peaks beside the model
(:mod:`~..waters`; with measured amplitudes, only if they lower R-work).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..json_out import dumps
from ._options import MAP_HELP, add_build_options, add_waters, print_note
from ._paths import check_output_file

if TYPE_CHECKING:
    import gemmi

    from ..maps import DensityMap
    from ..model_maps import ModelFit


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser(
        "build",
        help="build a model into a map (place, classify, pose, refine)",
        description="Build a protein model into MAP with the shipped networks.",
    )
    p.add_argument("map", help=MAP_HELP)
    p.add_argument("--out", required=True, metavar="MODEL.cif", help="output model (.cif or .pdb)")
    add_build_options(p, "sequence(s) to align the fragments to")
    add_waters(p)
    p.add_argument("--report", metavar="REPORT.json", help="write counts and timings")
    p.add_argument("--threads", type=int, help="CPU threads (default: all physical cores)")
    return p


def run(args: argparse.Namespace) -> int:
    """Build and write the model; print one line."""
    from ..models import WRITE_SUFFIXES

    inputs = {"the map": args.map, "the --sequence": args.sequence,
              "the --weights": args.weights, "the --detector": args.detector}  # fmt: skip
    check_output_file(args.out, WRITE_SUFFIXES, inputs)
    if args.report:
        check_output_file(args.report, inputs={**inputs, "the --out model": args.out})
    from ..assemble import write_structure
    from ..build import build
    from ..build_result import sequence_note
    from ..classify import Classifier
    from ..device import configure_cpu_threads
    from ..maps import read_map
    from ..place import Placer
    from ..sequence import protein_sequences
    from ..settings import weak_fragments_rule

    threads = configure_cpu_threads(args.threads)
    t0 = time.perf_counter()
    sequences = protein_sequences(args.sequence, print_note) if args.sequence else None
    dmap = read_map(args.map, columns=args.columns, note=print_note)
    t_read = time.perf_counter() - t0
    placer = Placer.from_path(args.detector, device=args.device)
    clf = Classifier.from_path(
        args.weights, device=args.device, tta=args.tta, environment=args.environment
    )
    t_load = time.perf_counter() - t0 - t_read
    result = build(
        dmap,
        placer,
        clf,
        sequences=sequences,
        do_refine=not args.no_refine,
        passes=args.passes,
        ncs=args.ncs,
        ncs_side_chains=args.ncs_side_chains,
        weak_fragments=weak_fragments_rule(args.keep_weak_fragments),
        clashing_fragments=not args.keep_clashing_fragments,
        join=args.join,
        trim_links=args.trim_links,
        frame_search=args.frame_search,
        fill_gaps=args.fill_gaps,
        link=args.link,
        cis_prolines=args.cis_prolines,
        settle=args.settle,
        peptide_turns=args.peptide_turns,
    )
    built = result.structure()
    rep = result.report
    search = None
    if args.waters:
        from ..waters import model_waters, with_waters

        t = time.perf_counter()
        search = model_waters(dmap, built, args.map)
        built = with_waters(built, search.waters)
        rep["waters"] = len(search.waters)
        rep["seconds"]["waters"] = round(time.perf_counter() - t, 3)
        if search.note:
            print_note(search.note)
    write_structure(built, args.out)
    total = time.perf_counter() - t0
    rep["seconds"] = {"read_map": round(t_read, 3), "load_weights": round(t_load, 3),
                      **rep["seconds"], "wall_total": round(total, 3)}  # fmt: skip
    rep.update(map=str(args.map), out=str(args.out), device=str(clf.device), threads=threads,
               sequence=args.sequence, resolution=dmap.resolution)  # fmt: skip
    waters = f", {rep['waters']} waters" if args.waters else ""
    print(f"{Path(args.map).name}: {result.summary()}{waters}, {total:.1f} s in all -> {args.out}")
    fit = search.fit if search is not None else None  # the waters' check fitted it already
    if fit is None:
        fit = _r_factors(args.map, built, rep["seconds"])
    if fit is not None:
        from ..model_maps import r_factor_row

        print_note(fit.summary())
        rep["r_factors"] = r_factor_row(fit)
    note = sequence_note(rep, sequences) if sequences else None
    if note:
        print_note(note)
    if args.report:
        import numpy as np

        from ..blobs import unmodelled_blobs

        t = time.perf_counter()
        xyz = result.model.xyz  # and the waters, which explain their peaks
        xyz = xyz if search is None else np.concatenate([xyz, search.waters])
        blobs = unmodelled_blobs(dmap, xyz) if len(xyz) else []
        rep["seconds"]["unmodelled_blobs"] = round(time.perf_counter() - t, 3)
        rep["unmodelled_blobs"] = {
            "count": len(blobs),
            "largest": [{"centre": [round(v, 2) for v in b.centre], "volume": round(b.volume, 1),
                         "peak": round(b.peak, 2)} for b in blobs[:20]],
        }  # fmt: skip
        rep["model_checks"] = _checks(built, dmap, rep["seconds"])
        Path(args.report).write_text(dumps(rep, indent=1) + "\n")
    return 0


def _r_factors(path: str, st: gemmi.Structure, seconds: dict) -> ModelFit | None:
    """The built model against the measured amplitudes, where the map is an MTZ that has them."""
    from ..model_maps import fit_to_map_file

    t = time.perf_counter()
    fit = fit_to_map_file(path, st)
    if fit is not None:
        seconds["r_factors"] = round(time.perf_counter() - t, 3)
    return fit


def _checks(st: gemmi.Structure, dmap: DensityMap, seconds: dict) -> dict:
    """The built model's checks (:func:`~..model_checks.check_model`) for the report: the
    residues each flags (``"GLN A40"``; amides and rings to turn over with their H-bond scores
    as built and turned), the bond-length RMSZ and the median real-space correlation."""
    import numpy as np

    from ..model_checks import CHECKS, check_model

    t = time.perf_counter()
    checks = check_model(st, dmap)
    seconds["model_checks"] = round(time.perf_counter() - t, 3)
    rmsz = round(checks.bond_rmsz, 3) if np.isfinite(checks.bond_rmsz) else None  # JSON: no NaN
    rscc = round(checks.rscc_median, 3) if np.isfinite(checks.rscc_median) else None
    return {"bond_rmsz": rmsz, "rscc_median": rscc,
            **{name: checks.named(name) for name, _, _ in CHECKS}}  # fmt: skip
