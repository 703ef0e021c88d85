"""Batch throughput: 8 sample-sized maps built one after another vs. on a Dask LocalCluster.

Each way is one fresh ``densitybuild batch`` command, timed from start to exit, so both pay for
starting Python, importing torch and loading the networks:

* serial: ``--workers 0`` (no Dask; one process, torch on every core, the maps in turn);
* cluster: ``--workers N`` (a LocalCluster of N single-threaded processes; default 2, this
  machine's cores), which also starts the scheduler and the workers.

The commands alternate (serial, cluster, serial, cluster, ...) for ``--repeats`` rounds and the
table gives each one's median. The ratio cluster / serial should be at most 1.1. A third column
is the serial build in this already-warm process (networks loaded, nothing to import): the
least any way of running could cost. The same command runs against a scheduler address
unchanged (``tests/test_batch.py``).

Usage::

    python benchmarks/bench_batch.py            # writes benchmarks/results/batch.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, report


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {out.stderr.strip()[-2000:]}")
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(RESULTS / "batch.md"), help="'-': print only")
    parser.add_argument("--maps", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.batch import build_one

    tmp = Path(tempfile.mkdtemp())
    maps = []
    for k in range(args.maps):
        dst = tmp / f"map{k}.mtz"
        shutil.copy(sample_paths()[0], dst)
        maps.append(str(dst))
    cores = os.cpu_count() or 1
    db = [sys.executable, "-m", "napari_densitybuild.cli", "batch", *maps, "--device", "cpu"]
    times: dict[str, list[float]] = {"serial": [], "cluster": []}
    for r in range(args.repeats):
        times["serial"].append(_timed([*db, "--out", str(tmp / f"s{r}"), "--workers", "0"]))
        times["cluster"].append(
            _timed([*db, "--out", str(tmp / f"c{r}"), "--workers", str(args.workers)])
        )
    torch.set_num_threads(cores)
    warm = build_one(maps[0], str(tmp / "warm"), {"threads": cores, "device": "cpu"})
    assert warm["status"] == "done", warm
    t0 = time.perf_counter()
    for m in maps:
        row = build_one(m, str(tmp / "in_process"), {"threads": cores, "device": "cpu"})
        assert row["status"] == "done", row
    in_process = time.perf_counter() - t0
    shutil.rmtree(tmp, ignore_errors=True)
    serial, cluster = (statistics.median(times[k]) for k in ("serial", "cluster"))
    table = [
        f"| maps | serial command, 1 process x {cores} threads (s) "
        f"| LocalCluster command, {args.workers} x 1 thread (s) | ratio "
        f"| serial in a warm process (s) |",
        "|---:|---:|---:|---:|---:|",
        f"| {args.maps} | {serial:.1f} | {cluster:.1f} | {cluster / serial:.2f} "
        f"| {in_process:.1f} |",
    ]
    intro = [
        f"`python benchmarks/bench_batch.py` (the sample map copied {args.maps} times; every "
        "build runs all stages: two passes with refinement). Serial and cluster are each one "
        "`densitybuild batch` command timed from start to exit (imports, network loading and, "
        "for the cluster, starting the scheduler and workers included), median of "
        f"{args.repeats} alternating runs: {', '.join(f'{t:.1f}' for t in times['serial'])} s "
        f"and {', '.join(f'{t:.1f}' for t in times['cluster'])} s. Target: ratio at most 1.1."
    ]
    report("Batch builds on Dask vs. one after another", intro, table, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
