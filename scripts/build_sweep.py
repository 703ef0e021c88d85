"""Build real maps with a variant of the build's refinement settings; one JSON line per map.

    .venv/bin/python scripts/build_sweep.py --maps 4iid,gere,1g8a,5gge,2apb,3sb3 \\
        [--amide-weight 2] [--refine rounds=4] [--build join=false] \\
        [--set classify.TTA_SEED=1] [--weights W.safetensors] [--save DIR] [--sequence] \
        > variant.jsonl

Each map of ``../shared/data/real`` is built with ``build.build`` and the defaults of
``densitybuild build`` (one thread), except: ``--amide-weight`` (the last pass's
``settings.AMIDE_DENSITY_WEIGHT``), ``--refine KEY=VALUE`` (keyword arguments of
``refine.refine`` in every pass), ``--build KEY=VALUE`` (of ``build.build``) and ``--set
MODULE.NAME=VALUE`` (a module constant, VALUE in JSON; ``classify.TTA_SEED=1`` draws other
test-time copies, which shows how far builds move by chance); ``--sequence`` builds with the
deposited model's sequence (``sequence.model_fasta``). Then it is compared with the
deposited model as ``densitybuild evaluate --task build`` compares it: correctly typed
residues, residues more than 1 A off, backbone and all-atom RMSD, residues in impossible
contacts, Ramachandran outliers and bond-length RMSZ of the build. Used for the tables of
docs/build.md (two such runs at a time, the 13 maps outside the held-out set split in two
lists). ``--save DIR`` keeps each model as DIR/MAP.cif, for
``compare_builds.py``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild import build as build_module  # noqa: E402
from napari_densitybuild import refine as refine_module  # noqa: E402
from napari_densitybuild.classify import Classifier  # noqa: E402
from napari_densitybuild.device import configure_cpu_threads  # noqa: E402
from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.models import read_structure, write_structure  # noqa: E402
from napari_densitybuild.place import Placer  # noqa: E402
from napari_densitybuild.sequence import model_fasta  # noqa: E402
from napari_densitybuild.settings import weak_fragments_rule  # noqa: E402
from napari_densitybuild.symmetry import Symmetry  # noqa: E402
from napari_densitybuild.training.evaluate_build import compare_models  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--maps", required=True, help="real-map folders, comma-separated")
    p.add_argument("--amide-weight", type=float, help="the last pass's amide density weight")
    p.add_argument("--refine", action="append", default=[], help="KEY=VALUE for refine()")
    p.add_argument("--build", action="append", default=[], help="KEY=VALUE for build()")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        help="MODULE.NAME=VALUE: a constant of napari_densitybuild.MODULE",
    )
    p.add_argument("--weights", help="classifier .safetensors (default: the shipped weights)")
    p.add_argument("--save", help="folder to write each model to (MAP.cif)")
    p.add_argument(
        "--sequence",
        action="store_true",
        help="build with the deposited model's sequence (sequence.model_fasta)",
    )
    args = p.parse_args(argv)
    configure_cpu_threads(1)
    variant = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.refine)}
    build_module.refine = functools.partial(refine_module.refine, **variant)
    options = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.build)}
    variant.update(options)
    for item in args.set:
        key, value = item.split("=", 1)
        module, name = key.rsplit(".", 1)
        setattr(importlib.import_module(f"napari_densitybuild.{module}"), name, json.loads(value))
        variant[key] = json.loads(value)
    if args.amide_weight is not None:
        build_module.AMIDE_DENSITY_WEIGHT = args.amide_weight
        variant["amide_weight"] = args.amide_weight
    placer, classifier = Placer.from_path(None), Classifier.from_path(args.weights)
    if args.weights:
        variant["weights"] = args.weights
    for name in args.maps.split(","):
        t0 = time.perf_counter()
        dmap = read_map(real_dir() / name / "map.mtz")
        deposited = read_structure(model_path(name))
        seqs = None
        if args.sequence:
            text = model_fasta(deposited, name)
            seqs = [line for line in text.splitlines() if not line.startswith(">")]
        result = build_module.build(dmap, placer, classifier, seqs,
                                    weak_fragments=weak_fragments_rule(False),
                                    **options)  # fmt: skip
        built = result.structure()
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            write_structure(built, Path(args.save) / f"{name}.cif")
        m = compare_models(built, deposited, Symmetry.of_map(dmap), dmap)
        row = {"map": name, "variant": {**variant, "sequence": args.sequence},
               "typed": round(m["sequence_recovery"] * m["matched_1A"]),
               "built": m["built"], "matched": m["matched_1A"], "far": m["far_residues"],
               "backbone_rmsd": round(m["backbone_rmsd"], 3),
               "all_atom_rmsd": round(m["all_atom_rmsd"], 3),
               "clashing": m["clashing_residues"],
               "clashing_left_out": result.report.get("clashing_residues_left_out"),
               "rama_outliers": round(m["rama_outliers"], 4), "bond_rmsz": round(m["bond_rmsz"], 3),
               "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
