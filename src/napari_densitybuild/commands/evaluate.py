"""``densitybuild evaluate``: score the pipeline's stages against deposited or simulated models.

* ``--task classify`` (default): the residue classifier on box caches (``--cache``) or at the
  residues of map + model pairs (``--map``): top-1, top-3, mAP, confusion matrices.
* ``--task place``: placement on map + model pairs and on simulated test structures
  (``--simulated 1.5,2.5``): C-alpha recall and precision within 1 and 3 A (one to one,
  symmetry aware), fragment count and length, link accuracy.
* ``--task build``: the whole pipeline (or a model given with ``--built``) against the
  deposited model: recall/precision at 1 A, sequence recovery, backbone and all-atom RMSD,
  Ramachandran outliers, bond-length RMSZ.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DensityBuildError
from ..settings import DEFAULT_TTA, weak_fragments_rule

if TYPE_CHECKING:
    import gemmi

    from ..build_result import BuildResult
    from ..maps import DensityMap
from ._options import add_build_steps, add_device, at_least_zero, print_note
from ._paths import check_output_folder

TASKS = ("classify", "place", "build")
#: Resolutions (A) that ``--simulated`` takes: finer costs memory (the grid spacing follows the
#: resolution), coarser leaves small test cells without reflections.
SIMULATED_RANGE = (0.5, 10.0)


def resolutions(text: str) -> list[float]:
    """``--simulated``: comma-separated resolutions in A, each within :data:`SIMULATED_RANGE`."""
    low, high = SIMULATED_RANGE
    values = []
    for item in filter(None, (v.strip() for v in text.split(","))):
        try:
            value = float(item)
        except ValueError:
            value = math.nan
        if not low <= value <= high:  # NaN too
            raise argparse.ArgumentTypeError(
                f"resolutions in A, each from {low:g} to {high:g}, not {item!r}"
            )
        values.append(value)
    return values


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser(
        "evaluate",
        help="score classifier weights on cached test splits or a map + model",
        description="Per split: n, top-1, top-3, mAP; confusion matrices (PNG + CSV); "
        "metrics.json. Held-out real maps are also pooled as 'real_heldout'.",
    )
    p.add_argument("--task", choices=TASKS, default="classify", help="what to evaluate")
    p.add_argument("--weights", default="shipped", help="a .safetensors file, or 'shipped'")
    p.add_argument("--cache", help="box-cache folder (e.g. .cache/boxes)")
    p.add_argument(
        "--splits",
        help="comma-separated splits (default: test_1.5, test_2.5 and the held-out "
        "real maps, those present)",
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        help="a map file (with --model), or a folder holding a map and a model "
        "(e.g. data/real/1cbs); repeatable",
    )
    p.add_argument("--model", action="append", default=[], help="model file for each --map FILE")
    p.add_argument("--out", help="folder for metrics.json, metrics.md and confusion matrices")
    p.add_argument("--detector", default=None, help="place/build: detector .safetensors")
    p.add_argument(
        "--simulated",
        type=resolutions,
        default=[],
        help="place: resolutions (A) of simulated test maps, e.g. 1.5,2.5 (each "
        f"{SIMULATED_RANGE[0]:g}-{SIMULATED_RANGE[1]:g})",
    )
    p.add_argument("--limit", type=int, default=None, help="place: first N test structures")
    p.add_argument("--built", action="append", default=[], help="build: built model per --map")
    p.add_argument("--sequence", default=None, help="build: FASTA to build with")
    add_device(p)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, help="CPU threads (default: all physical cores)")
    p.add_argument("--tta", type=at_least_zero, default=DEFAULT_TTA,
                   help="test-time augmentation copies at map + model pairs and in builds "
                   f"(default {DEFAULT_TTA}; cached boxes are scored as they are)")  # fmt: skip
    add_build_steps(p)
    return p


def _pairs(maps: list[str], models: list[str]) -> list[tuple[str, Path, Path]]:
    from ..training.evaluate import find_map_and_model

    pairs, models = [], list(models)
    for m in maps:
        path = Path(m)
        if path.is_dir():
            map_file, model_file = find_map_and_model(path)
            pairs.append((f"real_{path.name}", map_file, model_file))
        else:
            if not models:
                raise DensityBuildError(f"--map {m} is a file: give its --model too")
            model_file = Path(models.pop(0))
            pairs.append((path.name.split(".")[0], path, model_file))
    if models:
        raise DensityBuildError(f"{len(models)} --model without a --map file")
    return pairs


def scorable_model(path: str | Path, role: str) -> gemmi.Structure:
    """Read a model to score or score against (``role``: "reference", "built"), refusing one
    without an amino-acid residue with N, CA and C: its recall and precision would be over no
    residues (waters or a ligand only, a C-alpha trace).

    Raises
    ------
    DensityBuildError
        Naming the file and the residues left out.
    """
    from ..models import protein_residues, read_structure

    st = read_structure(path)
    protein_residues(st, f"{path}: the {role} model", "score")
    return st


def run(args: argparse.Namespace) -> int:
    """Evaluate and print a table."""
    if args.out:
        check_output_folder(args.out)
    from ..device import configure_cpu_threads

    configure_cpu_threads(args.threads)
    if args.task == "place":
        return _run_place(args)
    if args.task == "build":
        return _run_build(args)
    from ..training.evaluate import evaluate_classifier, markdown_table

    weights = args.weights
    if weights == "shipped":
        from ..weights_io import shipped_weights_path

        weights = shipped_weights_path()
        if weights is None:
            raise DensityBuildError("no shipped weights in this install: give --weights PATH")
    splits = [s for s in args.splits.split(",") if s] if args.splits else None
    if splits and not args.cache:
        raise DensityBuildError("--splits needs --cache")
    results = evaluate_classifier(
        weights,
        cache=args.cache,
        splits=splits,
        pairs=_pairs(args.map, args.model),
        out=args.out,
        device=args.device,
        batch_size=args.batch_size,
        tta=args.tta,
        environment=args.environment,
    )
    print(markdown_table(results))
    if args.out:
        print(f"wrote {Path(args.out) / 'metrics.json'} and confusion matrices")
    return 0


def _table(rows: dict[str, dict], keys: list[str]) -> str:
    lines = ["| set | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for name, r in rows.items():
        cells = [f"{r[k]:.3f}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write(rows: dict, out: str | None, table: str) -> None:
    from ..json_out import dumps

    print(table)
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "metrics.json").write_text(dumps(rows, indent=1, default=str) + "\n")
        (Path(out) / "metrics.md").write_text(table + "\n")


def _run_place(args: argparse.Namespace) -> int:
    from ..place import Placer
    from ..training.evaluate_place import evaluate_simulated, score_placement
    from ..training.split import split_files

    placer = Placer.from_path(args.detector, device=args.device)
    rows: dict[str, dict] = {}
    for d_min in args.simulated:
        files = split_files("test")[: args.limit] if args.limit else split_files("test")
        rows[f"test_{d_min:g}A"] = evaluate_simulated(placer, files, d_min)
    for name, map_file, model_file in _pairs(args.map, args.model):
        from ..maps import read_map

        reference = scorable_model(model_file, "reference")
        rows[name] = score_placement(placer, read_map(map_file), reference)
    if not rows:
        raise DensityBuildError("nothing to evaluate: give --map and/or --simulated")
    keys = ["placed", "reference", "recall_1A", "precision_1A", "recall_3A", "precision_3A",
            "rmsd_1A", "fragments", "mean_fragment_length", "link_accuracy", "seconds"]  # fmt: skip
    _write(rows, args.out, _table(rows, keys))
    return 0


def _run_build(args: argparse.Namespace) -> int:
    from ..maps import read_map
    from ..symmetry import Symmetry
    from ..training.evaluate_build import compare_models

    pairs = _pairs(args.map, args.model)
    if not pairs:
        raise DensityBuildError("--task build needs --map (a folder, or a map with --model)")
    if args.built and len(args.built) != len(pairs):
        raise DensityBuildError(f"{len(args.built)} --built for {len(pairs)} --map")
    # every model checked before the first map is read or built
    references = [scorable_model(model_file, "reference") for _, _, model_file in pairs]
    given = [scorable_model(path, "built") for path in args.built]
    rows: dict[str, dict] = {}
    for k, (name, map_file, _) in enumerate(pairs):
        dmap = read_map(map_file)
        built = given[k] if given else _build(dmap, args).structure()
        rows[name] = compare_models(built, references[k], Symmetry.of_map(dmap), dmap)
        rows[name].update(data_fit(map_file, built, references[k]))
        rows[name].update(map_fit(dmap, built, references[k]))
    keys = ["built", "deposited", "recall_1A", "precision_1A", "sequence_recovery",
            "backbone_rmsd", "all_atom_rmsd", "all_atom_rmsd_flip_blind",
            "all_atom_rmsd_in_density", "all_atom_rmsd_clash_free", "far_residues",
            "far_built_in_higher_density", "rama_outliers", "bond_rmsz",
            "clashing_residues", "cis_proline", "cis_nonproline", "twisted_peptides",
            "rscc_median", "low_rscc", "deposited_rscc_median", "deposited_low_rscc",
            "r_work", "r_free", "deposited_r_free", "deposited_r_free_flat_b"]  # fmt: skip
    _write(rows, args.out, _table(rows, keys))
    return 0


def map_fit(dmap: DensityMap, built: gemmi.Structure, deposited: gemmi.Structure) -> dict:
    """Median real-space correlation of the built and the deposited model's residues with the
    map (:mod:`~..rscc`), and the share of each model's residues under 0.8."""
    import numpy as np

    from ..rscc import LOW_RSCC, residue_rscc
    from ..session import Session

    out = {}
    for prefix, st in (("", built), ("deposited_", deposited)):
        cc = residue_rscc(Session.from_structure(st, None, dmap), dmap)
        cc = cc[np.isfinite(cc)]
        out[f"{prefix}rscc_median"] = float(np.median(cc)) if len(cc) else None
        out[f"{prefix}low_rscc"] = float(np.mean(cc < LOW_RSCC)) if len(cc) else None
    return out


def data_fit(map_file: str | Path, built: gemmi.Structure, deposited: gemmi.Structure) -> dict:
    """R-work and R-free of the built model against the map's measured amplitudes (one B for
    every atom: its B column holds confidence), and R-free of the deposited model with its own
    B-factors, and of its protein alone with one B, as the built one is scored; {} without
    measured amplitudes."""
    from ..model_maps import fit_model
    from ..xray_data import read_observed

    try:
        data = read_observed(map_file)  # read once for the three models
    except DensityBuildError:
        return {}

    def scored(st: gemmi.Structure, b_factors: str):
        try:
            return fit_model(st, data, b_factors)
        except DensityBuildError:
            return None

    fit = scored(built, "flat")
    if fit is None:
        return {}
    protein = deposited.clone()
    protein.setup_entities()  # remove_ligands_and_waters needs the entities
    protein.remove_ligands_and_waters()
    own, flat = scored(deposited, "model"), scored(protein, "flat")
    return {"r_work": fit.r_work, "r_free": fit.r_free,
            "deposited_r_free": own.r_free if own else None,
            "deposited_r_free_flat_b": flat.r_free if flat else None}  # fmt: skip


def _build(dmap: DensityMap, args: argparse.Namespace) -> BuildResult:
    from ..build import build
    from ..classify import Classifier
    from ..place import Placer
    from ..sequence import protein_sequences

    weights = None if args.weights == "shipped" else args.weights
    sequences = protein_sequences(args.sequence, print_note) if args.sequence else None
    return build(dmap, Placer.from_path(args.detector, device=args.device),
                 Classifier.from_path(weights, device=args.device, tta=args.tta,
                                      environment=args.environment),
                 sequences, passes=args.passes, ncs=args.ncs,
                 ncs_side_chains=args.ncs_side_chains,
                 weak_fragments=weak_fragments_rule(args.keep_weak_fragments),
                 clashing_fragments=not args.keep_clashing_fragments,
                 join=args.join, trim_links=args.trim_links,
                 frame_search=args.frame_search, fill_gaps=args.fill_gaps,
                 link=args.link, cis_prolines=args.cis_prolines, settle=args.settle,
                 peptide_turns=args.peptide_turns)  # fmt: skip
