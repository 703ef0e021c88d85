"""``densitybuild batch MAPS... --out DIR``: build many maps on a Dask cluster.

One task per map on a LocalCluster of ``--workers`` single-threaded processes, or on a running
scheduler (``--scheduler tcp://host:8786``); ``--workers 0`` builds the maps one after another
in this process without Dask. Prints a progress bar, the failures as they
happen, and a summary table; writes ``DIR/<map>.cif``, ``DIR/<map>.json`` and
``DIR/summary.md``/``summary.json``. Maps already built in DIR are skipped. Exit status 1 if
any map failed.
"""

from __future__ import annotations

import argparse

from ._options import add_build_options


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register the sub-command."""
    p = sub.add_parser("batch", help="build many maps on a Dask cluster (local or remote)")
    p.add_argument("maps", nargs="+", help="map files")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--scheduler", help="address of a running Dask scheduler")
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="LocalCluster worker processes (2); 0: no Dask, one map after another",
    )
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads per worker (1; with --workers 0, every core)")  # fmt: skip
    add_build_options(p, "sequence(s) for every map")
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
    )
    options = {k: getattr(args, k) for k in keys}
    rows = run_batch(args.maps, args.out, args.scheduler, args.workers, options)
    print(summary_table(rows))
    return 1 if any(r["status"] == "failed" for r in rows) else 0
