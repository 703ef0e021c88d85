"""Batch builds on Dask: one task per map, failures reported without stopping the others,
re-runs skip finished maps, and the same call works against a running scheduler."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.batch import output_paths, run_batch
from napari_densitybuild.cli import main
from napari_densitybuild.models import read_structure

pytestmark = pytest.mark.slow
OPTIONS = {"no_refine": True, "threads": 1, "device": "cpu"}


@pytest.fixture
def maps(tmp_path):
    src = Path(sample_paths()[0])
    good = [tmp_path / "one.mtz", tmp_path / "two.mtz"]
    for g in good:
        shutil.copy(src, g)
    bad = tmp_path / "broken.mtz"
    bad.write_text("not an MTZ file\n")
    return [str(good[0]), str(bad), str(good[1])]


def test_batch_local_cluster(maps, tmp_path):
    out = tmp_path / "out"
    rows = run_batch(maps, out, workers=2, options=OPTIONS, progress=False)
    assert [r["status"] for r in rows] == ["done", "failed", "done"]
    assert "not a readable MTZ" in rows[1]["error"]
    for m in (maps[0], maps[2]):
        model, report = output_paths(m, out)
        assert model.is_file() and json.loads(report.read_text())["residues"] > 30
        # the sample MTZ holds measured amplitudes: the build's R factors are reported
        assert 0.1 < json.loads(report.read_text())["r_factors"]["r_free"] < 0.45  # unrefined
    assert rows[0]["r_free"] < 0.45 and "r_free" not in rows[1]
    assert f"| two.mtz | done | {rows[2]['residues']} |" in (out / "summary.md").read_text()
    again = run_batch(maps, out, workers=1, options=OPTIONS, progress=False)
    assert [r["status"] for r in again] == ["skipped (done before)", "failed",
                                            "skipped (done before)"]  # fmt: skip


def test_batch_against_a_scheduler_address(maps, tmp_path, capsys):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        code = main(["batch", maps[0], maps[1], "--out", str(tmp_path / "o"), "--scheduler",
                     cluster.scheduler_address, "--no-refine", "--device", "cpu"])  # fmt: skip
    assert code == 1  # one map failed
    printed = capsys.readouterr().out
    assert "| one.mtz | done |" in printed and "| broken.mtz | failed:" in printed


def test_build_one_creates_its_output_folder(maps, tmp_path):
    from napari_densitybuild.batch import build_one

    out = tmp_path / "not" / "there"
    row = build_one(maps[0], str(out), OPTIONS)
    assert row["status"] == "done", row
    assert Path(row["model"]).is_file() and Path(row["model"]).parent == out


def test_build_one_with_waters_reports_them(maps, tmp_path):
    from napari_densitybuild.batch import build_one

    row = build_one(maps[0], str(tmp_path), {**OPTIONS, "waters": True})
    assert row["status"] == "done", row
    report = json.loads(output_paths(maps[0], tmp_path)[1].read_text())
    st = read_structure(row["model"])
    assert report["waters"] == sum(r.is_water() for ch in st[0] for r in ch)
    # the sample's noisy map: the waters raise R-work against its amplitudes, and are not kept
    assert report["waters"] == 0 and any("waters not added" in n for n in report["notes"])


def test_batch_serial_without_dask(maps, tmp_path, capsys):
    from napari_densitybuild.errors import DensityBuildError

    out = tmp_path / "serial"
    code = main(["batch", *maps, "--out", str(out), "--workers", "0", "--no-refine",
                 "--device", "cpu"])  # fmt: skip
    assert code == 1
    printed = capsys.readouterr().out
    assert "| one.mtz | done |" in printed and "| broken.mtz | failed:" in printed
    assert json.loads(output_paths(maps[2], out)[1].read_text())["residues"] > 30
    args = ["--out", str(out), "--workers", "0", "--no-refine", "--device", "cpu"]
    assert main(["batch", *maps, maps[0], *args]) == 1
    again = json.loads((out / "summary.json").read_text())
    assert len(again) == 3  # a map given twice has one row
    assert [r["status"] for r in again][::2] == ["skipped (done before)"] * 2
    first = json.loads(output_paths(maps[0], out)[1].read_text())
    assert again[0]["residues"] == first["residues"]  # the earlier build's figures, kept
    # other options build again (a sequence given now was ignored), the rest is kept
    assert main(["batch", maps[0], *args, "--no-ncs"]) == 0
    assert json.loads((out / "summary.json").read_text())[0]["status"] == "done"
    assert json.loads(output_paths(maps[0], out)[1].read_text())["options"]["ncs"] is False
    capsys.readouterr()
    assert main(["batch", *maps, *args, "--sequence", str(tmp_path / "none.fasta")]) == 2
    assert "none.fasta: no such sequence file" in capsys.readouterr().err  # once, before maps
    with pytest.raises(DensityBuildError, match="--workers"):
        run_batch(maps, out, workers=-1, options=OPTIONS, progress=False)


def test_local_cluster_workers_do_not_trim_malloc():
    import os

    from distributed import Client

    from napari_densitybuild.batch import MALLOC_TRIM, local_cluster

    with local_cluster(1) as cluster, Client(cluster) as client:
        env = client.run(lambda: {k: os.environ.get(k) for k in (MALLOC_TRIM, "OMP_NUM_THREADS")})
    (worker_env,) = env.values()
    assert worker_env[MALLOC_TRIM] is None
    assert worker_env["OMP_NUM_THREADS"] == "1"  # Dask's thread caps are kept


def test_relax_malloc_trim_only_where_dask_set_it(monkeypatch):
    import sys

    from napari_densitybuild import batch

    monkeypatch.setattr(batch, "_MALLOC_RELAXED", False)
    monkeypatch.delenv(batch.MALLOC_TRIM, raising=False)
    assert batch.relax_malloc_trim() is False
    monkeypatch.setenv(batch.MALLOC_TRIM, "65536")
    assert batch.relax_malloc_trim() is sys.platform.startswith("linux")
    assert batch.relax_malloc_trim() is False  # once per process
