"""Unmodelled blobs: density the model leaves unexplained, found where residues were taken out."""

from __future__ import annotations

import re

import gemmi
import numpy as np
import pytest

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.blobs import unmodelled_blobs
from napari_densitybuild.cli import main
from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.maps import read_map

MAP, MODEL = sample_paths()


@pytest.fixture(scope="module")
def sample():
    st = gemmi.read_structure(MODEL)
    atoms = [(r.seqid.num, a.pos.tolist()) for r in st[0]["B"] for a in r]
    seqid = np.array([k for k, _ in atoms])
    xyz = np.array([p for _, p in atoms])
    return read_map(MAP), seqid, xyz


def test_the_true_model_leaves_nothing(sample):
    # the sample's cell is small (P 1, 25 x 31 x 34 A): the margin around the model holds the
    # molecule's own crystal copies, which must count as modelled
    dmap, _, xyz = sample
    assert unmodelled_blobs(dmap, xyz) == []


def test_residues_taken_out_are_the_largest_blob(sample):
    dmap, seqid, xyz = sample
    gone = (seqid >= 20) & (seqid <= 23)
    blobs = unmodelled_blobs(dmap, xyz[~gone])
    assert blobs and blobs[0].volume > 40 and blobs[0].peak > 2.0
    assert np.linalg.norm(xyz[gone] - np.array(blobs[0].centre), axis=1).min() < 1.5
    assert [b.score for b in blobs] == sorted((b.score for b in blobs), reverse=True)
    # a higher contour or a larger smallest volume keeps fewer
    assert len(unmodelled_blobs(dmap, xyz[~gone], level=3.0)) <= len(blobs)
    assert all(b.volume >= 60 for b in unmodelled_blobs(dmap, xyz[~gone], min_volume=60))


def test_no_atoms_is_a_clear_error(sample):
    dmap, _, _ = sample
    with pytest.raises(DensityBuildError, match="no atoms"):
        unmodelled_blobs(dmap, np.zeros((0, 3)))


def test_info_lists_the_blobs_of_a_model(tmp_path, capsys):
    st = gemmi.read_structure(MODEL)
    chain = st[0]["B"]
    for k in reversed([i for i, r in enumerate(chain) if 20 <= r.seqid.num <= 23]):
        del chain[k]
    path = tmp_path / "trimmed.pdb"
    st.write_pdb(str(path))
    assert main(["info", MAP, str(path), "--blobs", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    head = next(i for i, line in enumerate(out) if "unmodelled blobs" in line)
    assert int(out[head].split()[0]) >= 1
    listed = [line for line in out[head + 1 :] if re.match(r"\s+\d+\. ", line)]  # then checks
    assert 1 <= len(listed) <= 2 and listed[0].strip().startswith("1.") and "A^3" in listed[0]
