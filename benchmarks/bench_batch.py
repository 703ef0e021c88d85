"""Batch throughput: 8 sample-sized maps built serially vs. on a Dask LocalCluster.

Serial: one process, torch on all cores, the maps one after another (what a script would do).
Batch: ``run_batch`` on a LocalCluster of N single-threaded worker processes (default 2, this
machine's cores). The ratio batch / serial wall time should be at most 1.1. The same call runs
against a scheduler address unchanged (tested in ``tests/test_batch.py``).

Usage::

    python benchmarks/bench_batch.py            # writes benchmarks/results/batch.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS / "batch.md"), help="'-': print only")
    parser.add_argument("--maps", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.batch import build_one, run_batch

    tmp = Path(tempfile.mkdtemp())
    maps = []
    for k in range(args.maps):
        dst = tmp / f"map{k}.mtz"
        shutil.copy(sample_paths()[0], dst)
        maps.append(str(dst))
    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    warm = build_one(maps[0], str(tmp / "warm"), {"threads": cores})  # load weights, caches
    assert warm["status"] == "done", warm
    t0 = time.perf_counter()
    for m in maps:
        row = build_one(m, str(tmp / "serial"), {"threads": cores})
        assert row["status"] == "done", row
    serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = run_batch(maps, tmp / "batch", workers=args.workers, options={"threads": 1},
                     progress=False)  # fmt: skip
    batch = time.perf_counter() - t0
    assert all(r["status"] == "done" for r in rows), rows
    shutil.rmtree(tmp, ignore_errors=True)
    table = [
        f"| maps | serial, 1 process x {cores} threads (s) "
        f"| LocalCluster {args.workers} x 1 thread (s) | ratio |",
        "|---:|---:|---:|---:|",
        f"| {args.maps} | {serial:.1f} | {batch:.1f} | {batch / serial:.2f} |",
    ]
    intro = [
        "`python benchmarks/bench_batch.py` (the sample map copied 8 times; both runs build "
        "all stages with refinement; the batch time includes starting the cluster and "
        "loading the networks in each worker). Target: ratio at most 1.1."
    ]
    report("Batch builds on Dask vs. one after another", intro, table, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
