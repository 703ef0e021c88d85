"""Many maps at once: one build task per map on a Dask cluster (local or remote).

:func:`run_batch` submits :func:`build_one` for every map to a ``dask.distributed`` client (a
``LocalCluster`` of single-threaded worker processes by default, or an existing scheduler by
address), shows a progress bar as tasks finish, and returns one summary row per map. A map that
fails is reported (its row says why) without stopping the others; a map whose model and report
are already in the output folder is skipped, so a re-run only does what is left. Each worker
loads the networks once and keeps them. On a machine with GPUs, worker ``k`` uses GPU
``k mod count``.

Examples
--------
>>> rows = run_batch(["a.mtz", "b.mtz"], "out", workers=2)  # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from .batch_names import output_names, output_paths
from .json_out import dumps
from .settings import (
    DEFAULT_CIS_PROLINES,
    DEFAULT_ENVIRONMENT,
    DEFAULT_FILL_GAPS,
    DEFAULT_FRAME_SEARCH,
    DEFAULT_JOIN,
    DEFAULT_LINK,
    DEFAULT_NCS,
    DEFAULT_PASSES,
    DEFAULT_PEPTIDE_TURNS,
    DEFAULT_SETTLE,
    DEFAULT_TRIM_LINKS,
    DEFAULT_TTA,
    weak_fragments_rule,
)

if TYPE_CHECKING:
    from distributed import LocalCluster

#: Per-process cache of loaded networks (device, weights) -> (placer, classifier).
_MODELS: dict = {}
#: The environment variable Dask sets in its workers, and glibc's mallopt parameters.
MALLOC_TRIM, M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = "MALLOC_TRIM_THRESHOLD_", -1, -3
_MALLOC_RELAXED = False


#: Options that do not change what a build makes: not compared when a batch runs again.
RUN_ONLY = ("threads", "device")


def _built_options(options: dict) -> dict:
    """The options that decide what a build makes, as its report records them."""
    return {k: v for k, v in sorted(options.items()) if k not in RUN_ONLY and v is not None}


def _done_before(report: Path, map_path: str, options: dict) -> dict | None:
    """The summary row of ``report``'s build where it was made of the file ``map_path`` with
    the same ``options`` (so it can be kept), else None."""
    try:
        done = json.loads(report.read_text())
        built = done.get("map")
    except (OSError, ValueError, AttributeError):
        return None
    same = built is not None and Path(built).resolve() == Path(map_path).resolve()
    if not same or done.get("options") != _built_options(options):
        return None
    r_free = (done.get("r_factors") or {}).get("r_free")
    return {"residues": done.get("residues"), "fragments": done.get("fragments"),
            **({"r_free": round(r_free, 3)} if isinstance(r_free, float) else {})}  # fmt: skip


def _worker_device(device: str) -> str:
    if device != "auto":
        return device
    try:
        import torch

        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n > 1:
            from distributed import get_worker

            index = int(str(get_worker().name).split("-")[-1]) if get_worker().name else 0
            return f"cuda:{index % n}"
    except (ImportError, ValueError):
        pass
    return "auto"


def build_one(
    map_path: str, out_dir: str, options: dict | None = None, name: str | None = None
) -> dict:
    """Build one map and write its model and report (``name``: see :func:`output_paths`);
    never raises (errors go in the row)."""
    from .assemble import write_structure
    from .build import build
    from .classify import Classifier
    from .device import configure_cpu_threads
    from .errors import DensityBuildError
    from .maps import read_map
    from .model_maps import fit_to_map_file, r_factor_row
    from .place import Placer
    from .sequence import protein_sequences

    options = dict(options or {})
    t0 = time.perf_counter()
    model_path, report_path = output_paths(map_path, out_dir, name)
    row = {"map": str(map_path), "model": str(model_path)}
    try:
        relax_malloc_trim()
        configure_cpu_threads(options.get("threads"))
        device = _worker_device(options.get("device", "auto"))
        key = tuple(options.get(k) for k in ("weights", "detector", "tta", "environment"))
        key = (device, *key)
        if key not in _MODELS:
            placer = Placer.from_path(options.get("detector"), device=device)
            tta = options.get("tta", DEFAULT_TTA)
            env = options.get("environment", DEFAULT_ENVIRONMENT)
            clf = Classifier.from_path(options.get("weights"), device, tta=tta, environment=env)
            _MODELS[key] = (placer, clf)
        placer, clf = _MODELS[key]
        fasta = options.get("sequence")
        notes: list[str] = []
        seqs = protein_sequences(fasta, notes.append) if fasta else None
        dmap = read_map(map_path, columns=options.get("columns"), note=notes.append)
        result = build(
            dmap,
            placer,
            clf,
            seqs,
            do_refine=not options.get("no_refine"),
            passes=options.get("passes", DEFAULT_PASSES),
            ncs=options.get("ncs", DEFAULT_NCS),
            ncs_side_chains=options.get("ncs_side_chains", False),
            weak_fragments=weak_fragments_rule(bool(options.get("keep_weak_fragments"))),
            clashing_fragments=not options.get("keep_clashing_fragments"),
            join=options.get("join", DEFAULT_JOIN),
            trim_links=options.get("trim_links", DEFAULT_TRIM_LINKS),
            frame_search=options.get("frame_search", DEFAULT_FRAME_SEARCH),
            fill_gaps=options.get("fill_gaps", DEFAULT_FILL_GAPS),
            link=options.get("link", DEFAULT_LINK),
            cis_prolines=options.get("cis_prolines", DEFAULT_CIS_PROLINES),
            settle=options.get("settle", DEFAULT_SETTLE),
            peptide_turns=options.get("peptide_turns", DEFAULT_PEPTIDE_TURNS),
        )
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        built = result.structure()
        fit = None
        if options.get("waters"):
            from .waters import model_waters, with_waters

            search = model_waters(dmap, built, map_path)
            built, fit = with_waters(built, search.waters), search.fit
            result.report["waters"] = len(search.waters)
            if search.note:
                notes.append(search.note)
        write_structure(built, model_path)
        report = {**result.report, "map": str(map_path), "device": str(clf.device),
                  "options": _built_options(options)}  # fmt: skip
        if notes:
            report["notes"] = notes
        if fit is None:  # the waters' check fitted the model as written already
            fit = fit_to_map_file(map_path, built)  # None unless the MTZ has measured amplitudes
        if fit is not None:
            report["r_factors"] = r_factor_row(fit)
            row["r_free"] = None if fit.r_free is None else round(fit.r_free, 3)
        report_path.write_text(dumps(report, indent=1) + "\n")
        row.update(status="done", residues=result.report["residues"],
                   fragments=result.report["fragments"], device=str(clf.device))  # fmt: skip
    except DensityBuildError as e:
        row.update(status="failed", error=str(e))
    except Exception as e:  # one bad map must never stop the batch
        row.update(status="failed", error=f"{type(e).__name__}: {e}")
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def run_batch(
    maps: list[str],
    out_dir: str | Path,
    scheduler: str | None = None,
    workers: int = 2,
    options: dict | None = None,
    progress: bool = True,
) -> list[dict]:
    """Build every map on a Dask cluster; rows in the order of ``maps``.

    A map given twice (the same file) is built once and has one row. Outputs are named by
    :func:`output_names`; a map whose model and report are in ``out_dir`` already, the report
    written for that map with the same options (those of :data:`RUN_ONLY` aside), is skipped
    ("skipped (done before)", its row's figures from that report); with other options it is
    built again.

    Parameters
    ----------
    maps
        Map files.
    out_dir
        Output folder (created).
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); None starts a LocalCluster
        of ``workers`` single-threaded processes.
    workers
        LocalCluster processes; 0 (and no scheduler): no Dask, the maps one after another in
        this process, torch on every core (what the cluster is measured against).
    options
        ``build_one`` options: device, weights, detector, sequence, columns, no_refine, passes, ncs,
        ncs_side_chains,
        threads (default 1 per worker, or every core when serial).
    """
    from tqdm import tqdm

    from .errors import DensityBuildError

    if workers < 0:
        raise DensityBuildError(f"--workers must be 0 (no Dask) or more, not {workers}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    threads = 1 if scheduler or workers else (os.cpu_count() or 1)
    options = {**(options or {})}
    options["threads"] = options.get("threads") or threads
    unique: dict[Path, str] = {}
    for m in maps:
        unique.setdefault(Path(m).resolve(), m)
    maps = list(unique.values())
    names = output_names(maps)
    rows: dict[str, dict] = {}
    todo = []
    for m in maps:
        model, report = output_paths(m, out_dir, names[m])
        before = _done_before(report, m, options) if model.is_file() else None
        if before is not None:
            rows[m] = {"map": m, "model": str(model), "status": "skipped (done before)",
                       **before}  # fmt: skip
        else:
            todo.append(m)
    if todo:
        bar = tqdm(total=len(todo), desc="maps", unit="map", file=sys.stderr,
                   disable=not progress)  # fmt: skip
        if scheduler is None and workers == 0:  # no Dask: one after another, here
            finished = ((m, build_one(m, str(out_dir), options, names[m])) for m in todo)
        else:
            finished = _run_dask(todo, names, str(out_dir), options, scheduler, workers)
        for m, row in finished:
            rows[m] = row
            bar.update()
            if row["status"] == "failed":
                bar.write(f"{Path(row['map']).name}: failed: {row['error']}")
        bar.close()
    out = [rows[m] for m in maps]
    write_summary(out, out_dir)
    return out


def local_cluster(workers: int) -> LocalCluster:
    """A LocalCluster of ``workers`` single-threaded processes, without Dask's malloc trimming.

    Dask starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also pins glibc's mmap
    threshold: every array over 128 KiB is then mapped and unmapped afresh, and a build ran
    1.8x slower in such a worker (6.6 s instead of 3.7 s per sample map on one thread). The
    thread caps (OMP, MKL, OpenBLAS = 1) are kept.
    """
    import dask
    from distributed import LocalCluster

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    dask_value = environ.pop(MALLOC_TRIM, None)
    # A nanny also sets these in its own process (here), and children inherit them: undo what
    # an earlier cluster of this process left, and only that.
    if dask_value is not None and os.environ.get(MALLOC_TRIM) == str(dask_value):
        del os.environ[MALLOC_TRIM]
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=logging.ERROR,
        )  # fmt: skip


def relax_malloc_trim() -> bool:
    """In a worker started with ``MALLOC_TRIM_THRESHOLD_`` (e.g. by ``dask worker`` on another
    machine), give glibc back generous trim and mmap thresholds; True if it did.

    Brought a sample build under that setting from 6.6 s back to 4.3 s (3.7 s without it).
    """
    global _MALLOC_RELAXED
    if _MALLOC_RELAXED or MALLOC_TRIM not in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(M_TRIM_THRESHOLD, 256 << 20) and libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
    except (OSError, AttributeError):
        return False
    _MALLOC_RELAXED = bool(ok)
    return _MALLOC_RELAXED


def _run_dask(
    todo: list[str],
    names: dict[str, str],
    out_dir: str,
    options: dict,
    scheduler: str | None,
    workers: int,
):
    """(map, row) as each map's task finishes on the cluster (a LocalCluster if no address)."""
    from distributed import Client, as_completed

    cluster = local_cluster(workers) if scheduler is None else None
    client = Client(scheduler or cluster)
    try:
        futures = {
            client.submit(build_one, m, out_dir, options, names[m], pure=False): m for m in todo
        }
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def summary_table(rows: list[dict]) -> str:
    """Markdown table: map (its file name, or its path where file names repeat), status,
    residues, fragments, R-free (where the MTZ holds measured amplitudes), seconds."""
    lines = ["| map | status | residues | fragments | R-free | seconds |",
             "|---|---|---:|---:|---:|---:|"]  # fmt: skip
    names = Counter(Path(r["map"]).name for r in rows)
    for r in rows:
        status = r["status"] if r["status"] != "failed" else f"failed: {r.get('error', '')}"
        name = Path(r["map"]).name if names[Path(r["map"]).name] == 1 else r["map"]
        lines.append(f"| {name} | {status} | {r.get('residues', '')} | "
                     f"{r.get('fragments', '')} | {r.get('r_free', '')} | "
                     f"{r.get('seconds', '')} |")  # fmt: skip
    return "\n".join(lines)


def write_summary(rows: list[dict], out_dir: str | Path) -> None:
    """``summary.json`` and ``summary.md`` in the output folder."""
    out_dir = Path(out_dir)
    (out_dir / "summary.json").write_text(dumps(rows, indent=1) + "\n")
    (out_dir / "summary.md").write_text(summary_table(rows) + "\n")
