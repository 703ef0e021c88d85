"""Stage 2 end to end: device choice, Classifier on boxes, frames, a real map, and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import gemmi
import numpy as np
import pytest
import torch
from conftest import water_only_structure

from napari_densitybuild import classify as classify_mod
from napari_densitybuild._resources import shared_data_dir
from napari_densitybuild.boxes import BoxSpec, backbone_frames, cut_boxes, normalise_boxes
from napari_densitybuild.classify import Classifier, centre_crop
from napari_densitybuild.cli import main
from napari_densitybuild.device import configure_cpu_threads, physical_cores, pick_device
from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.maps import DensityMap, read_map
from napari_densitybuild.models import backbone_residues, read_structure
from napari_densitybuild.nets import build_net
from napari_densitybuild.residues import AMINO_ACIDS
from napari_densitybuild.weights_io import save_model

torch.set_num_threads(1)

REAL = shared_data_dir() / "real" / "1cbs"
needs_real = pytest.mark.skipif(not (REAL / "map.mtz").is_file(), reason="no ../shared/data")
NET = {"name": "compact", "base": 4, "blocks": [1, 1]}


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """A random-init classifier with non-trivial BN statistics, saved as safetensors."""
    torch.manual_seed(0)
    net = build_net(NET).train()
    with torch.no_grad():
        net(torch.randn(8, 1, 22, 22, 22))
    path = tmp_path_factory.mktemp("w") / "clf.safetensors"
    return save_model(path, net, {"net": NET, "box": BoxSpec()}, {"note": "random"})


@pytest.fixture(scope="module")
def real():
    if not (REAL / "map.mtz").is_file():
        pytest.skip("no ../shared/data/real/1cbs")
    return read_map(REAL / "map.mtz"), read_structure(REAL / "model.cif.gz")


# -- device -------------------------------------------------------------------------------------
def test_pick_device(monkeypatch):
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(DensityBuildError, match="'cuda' requested"):
        pick_device("cuda")
    with pytest.raises(DensityBuildError, match="mps"):
        pick_device("mps")
    with pytest.raises(DensityBuildError, match="unknown device"):
        pick_device("tpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device("auto").type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto").type == "cuda"


def test_cpu_threads():
    try:
        assert 1 <= physical_cores() <= (os.cpu_count() or 1)
        assert configure_cpu_threads() == physical_cores() == torch.get_num_threads()
        assert configure_cpu_threads(1) == 1 == torch.get_num_threads()
        with pytest.raises(DensityBuildError):
            configure_cpu_threads(0)
    finally:
        torch.set_num_threads(1)


# -- predicting boxes ---------------------------------------------------------------------------
def test_centre_crop():
    boxes = np.arange(2 * 44**3, dtype=np.float32).reshape(2, 44, 44, 44)
    crop = centre_crop(boxes, 41)
    assert crop.shape == (2, 41, 41, 41)
    assert crop[0, 0, 0, 0] == boxes[0, 1, 1, 1]
    assert centre_crop(boxes, 50) is boxes


def test_predict(weights):
    clf = Classifier.from_path(weights, device="cpu", batch_size=5)
    rng = np.random.default_rng(0)
    boxes = rng.normal(size=(12, 22, 22, 22)).astype(np.float32) * 3 + 1
    seen = []
    probs = clf.predict(boxes, progress=lambda d, t: seen.append((d, t)))
    assert probs.shape == (12, 20) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    assert seen == [(5, 12), (10, 12), (12, 12)]
    # the same as the net on normalised boxes, whatever the batch size
    with torch.no_grad():
        x = torch.from_numpy(normalise_boxes(boxes))[:, None]
        ref = torch.softmax(clf.net(x), 1).numpy()
    np.testing.assert_allclose(probs, ref, atol=1e-5)
    clf.batch_size = 64
    np.testing.assert_allclose(clf.predict(boxes), probs, atol=1e-5)
    # normalisation is inside: scaling and shifting the density changes nothing
    np.testing.assert_allclose(clf.predict(boxes * 7 - 3), probs, atol=1e-4)
    with pytest.raises(DensityBuildError, match="expected boxes"):
        clf.predict(boxes[:, :20])


def test_progress_can_cancel(weights):
    clf = Classifier.from_path(weights, device="cpu", batch_size=2)

    def cancel(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        clf.predict(np.zeros((6, 22, 22, 22), np.float32), progress=cancel)


def test_no_shipped_weights(monkeypatch):
    monkeypatch.setattr(classify_mod, "shipped_weights_path", lambda: None)
    with pytest.raises(DensityBuildError, match="ships no classifier weights"):
        Classifier.from_path(None, device="cpu")


# -- maps ---------------------------------------------------------------------------------------
@needs_real
def test_classify_frames_chunks(weights, real, monkeypatch):
    dmap, st = real
    clf = Classifier.from_path(weights, device="cpu", batch_size=4, tta=0)
    res, _ = backbone_residues(st)
    centres, rot = backbone_frames(res.n[:30], res.ca[:30], res.c[:30])
    direct = clf.predict(cut_boxes(dmap, centres, rot, clf.spec))
    monkeypatch.setattr(classify_mod, "CHUNK_BYTES", 4 * 22**3 * 8)  # 8 boxes per chunk
    seen = []
    chunked = clf.classify_frames(dmap, centres, rot, progress=lambda d, t: seen.append(d))
    np.testing.assert_allclose(chunked, direct, atol=1e-6)
    assert seen[-1] == 30 and seen == sorted(seen) and len(seen) == 8


def test_test_time_augmentation(weights, real):
    """TTA averages jittered copies: a different, normalised, reproducible answer."""
    dmap, st = real
    res, _ = backbone_residues(st)
    centres, rot = backbone_frames(res.n[:12], res.ca[:12], res.c[:12])
    plain = Classifier.from_path(weights, device="cpu", tta=0).classify_frames(dmap, centres, rot)
    clf = Classifier.from_path(weights, device="cpu", tta=3)
    a, b = clf.classify_frames(dmap, centres, rot), clf.classify_frames(dmap, centres, rot)
    np.testing.assert_allclose(a.sum(1), 1.0, atol=1e-5)
    assert np.array_equal(a, b) and not np.allclose(a, plain)


def test_test_time_augmentation_progress_covers_every_copy(weights, real):
    """The progress callback counts the jittered copies too, so Cancel works throughout."""
    dmap, st = real
    res, _ = backbone_residues(st)
    centres, rot = backbone_frames(res.n[:12], res.ca[:12], res.c[:12])
    clf = Classifier.from_path(weights, device="cpu", batch_size=4, tta=3)
    seen = []
    clf.classify_frames(dmap, centres, rot, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (48, 48) and [d for d, _ in seen] == sorted(d for d, _ in seen)

    def cancel(done, total):
        if done > 12:  # past the unjittered boxes: inside the augmentation copies
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        clf.classify_frames(dmap, centres, rot, progress=cancel)


@needs_real
def test_classify_model_real_map(weights, real):
    dmap, st = real
    clf = Classifier.from_path(weights, device="cpu")
    residues, skipped = clf.classify_model(dmap, st)
    assert len(residues) == 137
    assert skipped == {"missing N/CA/C": 0, "not amino acid": 101, "N/CA/C in a line": 0,
                       "outside map": 0}  # fmt: skip
    probs = np.array([[r["probs"][a] for a in AMINO_ACIDS] for r in residues])
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    first = residues[0]
    assert (first["chain"], first["seqid"], first["ref"]) == ("A", 1, "PRO")
    assert first["pred"] == max(first["probs"], key=first["probs"].get)
    assert first["confidence"] == pytest.approx(max(first["probs"].values()))
    assert np.mean([r["ca_density"] for r in residues]) > 1.0  # the model sits in density


@needs_real
def test_bad_residues_are_counted(weights, real):
    dmap, st = real
    st = st.clone()
    chain = st[0][0]
    res = chain[4]
    del res[[a.name for a in res].index("CA")]
    chain[9].name = "UNK"
    chain[10].name = "MSE"
    for name in ("N", "C"):  # a damaged residue: N and C on its CA, so no box
        chain[7][name][0].pos = chain[7]["CA"][0].pos
    clf = Classifier.from_path(weights, device="cpu")
    residues, skipped = clf.classify_model(dmap, st)
    assert len(residues) == 135 and skipped["missing N/CA/C"] == 1
    assert skipped["N/CA/C in a line"] == 1
    by_ref = {r["ref"]: r for r in residues}
    assert by_ref["UNK"]["ref_class"] is None and by_ref["MSE"]["ref_class"] == "MET"


@needs_real
def test_partial_and_disjoint_maps(weights, real):
    """A map that does not cover its cell, or a cryo-EM box: boxes outside its data are skipped,
    or it's an error."""
    dmap, st = real
    res, _ = backbone_residues(st)
    centres, _ = backbone_frames(res.n, res.ca, res.c)
    cut = np.median(centres[:, 0])
    lo = centres.min(0) - 20
    part = DensityMap(grid=dmap.grid, data_min=lo, data_max=np.array([cut, 1e3, 1e3]),
                      covers_cell=False, resolution=None, kind="em")  # fmt: skip
    clf = Classifier.from_path(weights, device="cpu")
    residues, skipped = clf.classify_model(part, st)
    assert skipped["outside map"] == int(np.sum(centres[:, 0] > cut)) > 0
    assert len(residues) + skipped["outside map"] == 137
    far = DensityMap(grid=dmap.grid, data_min=np.full(3, 500.0), data_max=np.full(3, 600.0),
                     covers_cell=False, kind="em")  # fmt: skip
    with pytest.raises(DensityBuildError, match="does not overlap the map"):
        clf.classify_model(far, st)
    # a cryo-EM box covers its whole (P 1) cell but is not periodic: a model beside it is outside
    box = DensityMap(grid=dmap.grid, data_min=np.full(3, 500.0), data_max=np.full(3, 600.0),
                     kind="em")  # fmt: skip
    assert box.covers_cell
    with pytest.raises(DensityBuildError, match="does not overlap the map"):
        clf.classify_model(box, st)


def test_model_without_backbone(weights):
    st = water_only_structure()
    grid = gemmi.FloatGrid(np.zeros((8, 8, 8), np.float32), gemmi.UnitCell(10, 10, 10, 90, 90, 90),
                           gemmi.SpaceGroup("P 1"))  # fmt: skip
    clf = Classifier.from_path(weights, device="cpu")
    with pytest.raises(DensityBuildError, match="no amino-acid residue"):
        clf.classify_model(DensityMap(grid=grid), st)


# -- command line -------------------------------------------------------------------------------
@needs_real
def test_cli_writes_json(weights, tmp_path, capsys):
    out = tmp_path / "pred.json"
    model = str(REAL / "model.cif.gz")
    args = ["classify", str(REAL / "map.mtz"), "--boxes-from", model, "--out", str(out)]
    rc = main([*args, "--weights", str(weights), "--device", "cpu", "--batch-size", "16",
               "--threads", "1"])  # fmt: skip
    assert rc == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and line.startswith("137 residues classified") and " s " in line
    doc = json.loads(out.read_text())
    assert {"map", "model", "weights", "skipped", "residues"} <= set(doc)
    assert doc["weights"] == str(weights)
    assert doc["skipped"]["not amino acid"] == 101
    assert len(doc["residues"]) == 137
    r = doc["residues"][0]
    assert {"chain", "seqid", "ref", "pred", "probs"} <= set(r)
    assert r["chain"] == "A" and r["seqid"] == 1 and r["ref"] == "PRO"
    assert list(r["probs"]) == list(AMINO_ACIDS)
    assert sum(r["probs"].values()) == pytest.approx(1, abs=1e-3)
    assert r["pred"] in AMINO_ACIDS
    torch.set_num_threads(1)


@needs_real
def test_cli_map_without_resolution(weights, real, tmp_path, capsys):
    """A CCP4 map whose resolution neither its header nor its Fourier terms give (noise added
    in real space runs to the grid's finest spacing): classification works and says so."""
    dmap, _ = real
    values = np.array(dmap.grid, copy=True)
    values += np.random.default_rng(0).normal(0.0, 0.05, values.shape).astype(np.float32)
    ccp4 = gemmi.Ccp4Map()
    ccp4.grid = gemmi.FloatGrid(values, dmap.grid.unit_cell, dmap.grid.spacegroup)
    ccp4.update_ccp4_header()
    ccp4.write_ccp4_map(str(tmp_path / "map.ccp4"))
    out = tmp_path / "pred.json"
    rc = main(["classify", str(tmp_path / "map.ccp4"), "--boxes-from", str(REAL / "model.cif.gz"),
               "--out", str(out), "--weights", str(weights), "--threads", "1"])  # fmt: skip
    assert rc == 0
    doc = json.loads(out.read_text())
    assert len(doc["residues"]) == 137
    assert any("resolution unknown" in n for n in doc["notes"])
    assert "resolution unknown" in capsys.readouterr().err
    torch.set_num_threads(1)


def test_cli_errors(weights, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    args = ["classify", str(tmp_path / "no.mtz"), "--boxes-from", "x.cif", "--out"]
    assert main([*args, str(tmp_path / "p.json"), "--device", "cuda"]) == 2
    assert "requested" in capsys.readouterr().err
    assert main([*args, str(tmp_path / "nodir" / "p.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"junk")
    assert main([*args, str(tmp_path / "p.json"), "--weights", str(bad)]) == 2
    assert "not a readable safetensors" in capsys.readouterr().err
    torch.set_num_threads(1)


def test_a_residue_with_n_ca_c_on_one_point_is_counted_not_a_crash(tmp_path, capsys):
    """A model file whose residue has N and C on its CA (no backbone frame): ``classify`` leaves
    it out with a count, and a review session still boxes it (on its CA, axis-aligned)."""
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.cli import main
    from napari_densitybuild.models import read_structure
    from napari_densitybuild.session import Session

    st = read_structure(sample_paths()[1])
    res = st[0][0][5]
    for name in ("N", "C"):
        res[name][0].pos = res["CA"][0].pos
    st.setup_entities()
    bad = tmp_path / "damaged.cif"
    st.make_mmcif_document().write_file(str(bad))
    out = tmp_path / "pred.json"
    code = main(["classify", sample_paths()[0], "--boxes-from", str(bad), "--out", str(out),
                 "--device", "cpu"])  # fmt: skip
    assert code == 0 and "1 N/CA/C in a line" in capsys.readouterr().out
    got = json.loads(out.read_text())
    assert got["skipped"]["N/CA/C in a line"] == 1 and len(got["residues"]) == 69
    r = Session.from_structure(st).residues[5]
    assert np.isfinite(r.centre).all() and np.allclose(r.rotation, np.eye(3).ravel())
    for res in st[0][0]:  # every residue so: one line, not "outside the map"
        for name in ("N", "C"):
            res[name][0].pos = res["CA"][0].pos
    st.make_mmcif_document().write_file(str(bad))
    assert main(["classify", sample_paths()[0], "--boxes-from", str(bad), "--out", str(out),
                 "--device", "cpu"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "no residue whose N, CA and C give a box (all 70" in err and "outside" not in err
