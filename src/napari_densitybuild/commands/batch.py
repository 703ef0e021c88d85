"""``densitybuild batch MAPS... --out DIR``: build many maps on a Dask cluster.

One task per map on a LocalCluster of ``--workers`` single-threaded processes, or on a running
scheduler (``--scheduler tcp://host:8786``); ``--workers 0`` builds the maps one after another
in this process without Dask. Prints a progress bar, the failures as they
happen, and a summary table; writes ``DIR/<name>.cif``, ``DIR/<name>.json`` and
``DIR/summary.md``/``summary.json`` (names: :data:`NAMES`). Maps already built in DIR are
skipped; a map given twice is built once. Exit status 1 if any map failed.
"""

from __future__ import annotations

import argparse

from ._options import add_build_options, add_waters, at_least_one
from ._paths import check_output_folder

#: How the outputs are named (:func:`~napari_densitybuild.batch.output_names`).
NAMES = (
    "Each map's model and report are named after its file name less the map suffix "
    "(map.mtz: map.cif, map.json). Where maps share that name, their folders' names go in front, "
    "one at a time, until the names differ (real/3sb3/map.mtz and real/1cbs/map.mtz: "
    "3sb3_map.cif and 1cbs_map.cif); maps of one folder with one name keep their suffix "
    "(x.mtz, x.ccp4: x_mtz.cif, x_ccp4.cif). A map given twice is built once. A map whose "
    "model and report are in DIR from a run with the same maps is skipped."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser(
        "batch",
        help="build many maps on a Dask cluster (local or remote)",
        description="Build every map given, one task per map, into the folder --out. " + NAMES,
    )
    p.add_argument("maps", nargs="+", help="map files")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (made if missing)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler")
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="LocalCluster worker processes (2); 0: no Dask, one map after another",
    )
    p.add_argument("--threads", type=at_least_one, default=None,
                   help="CPU threads per worker (1; with --workers 0, every core)")  # fmt: skip
    add_build_options(p, "sequence(s) for every map")
    add_waters(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the batch and print the summary."""
    from ..batch import run_batch, summary_table

    keys = (
        "threads",
        "device",
        "sequence",
        "columns",
        "no_refine",
        "weights",
        "detector",
        "tta",
        "environment",
        "passes",
        "ncs",
        "ncs_side_chains",
        "keep_weak_fragments",
        "keep_clashing_fragments",
        "join",
        "trim_links",
        "frame_search",
        "fill_gaps",
        "link",
        "cis_prolines",
        "settle",
        "peptide_turns",
        "waters",
    )
    check_output_folder(args.out)
    if args.sequence:  # read once here: a bad file is one error, not one per map
        from ..sequence import protein_sequences

        protein_sequences(args.sequence)
    options = {k: getattr(args, k) for k in keys}
    rows = run_batch(args.maps, args.out, args.scheduler, args.workers, options)
    print(summary_table(rows))
    return 1 if any(r["status"] == "failed" for r in rows) else 0
