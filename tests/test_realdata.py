"""Boxes from real maps at the deposited residues, and the prepare command."""

from __future__ import annotations

import numpy as np
import pytest

from napari_densitybuild.boxes import BoxSpec
from napari_densitybuild.cli import main
from napari_densitybuild.residues import class_index
from napari_densitybuild.training import real_dir
from napari_densitybuild.training.cache import load_cache
from napari_densitybuild.training.realdata import (
    REAL_HOLDOUT,
    REAL_TRAIN,
    REAL_VAL,
    real_boxes,
    real_names,
)

pytestmark = pytest.mark.skipif(not (real_dir() / "1cbs").is_dir(), reason="needs ../shared/data")


def test_real_sets():
    assert not set(REAL_HOLDOUT) & set(REAL_TRAIN) and not set(REAL_VAL) & set(REAL_TRAIN)
    assert not set(REAL_HOLDOUT) & set(REAL_VAL)
    assert sorted(REAL_HOLDOUT + REAL_VAL + REAL_TRAIN) == real_names()
    from napari_densitybuild.training import evaluate

    assert evaluate.REAL_HOLDOUT == REAL_HOLDOUT and evaluate.REAL_VAL == REAL_VAL


def test_1cbs_boxes_in_density():
    rb = real_boxes("1cbs")
    assert rb.boxes.shape == (137, 22, 22, 22) and rb.boxes.dtype == np.float32
    assert rb.labels.shape == (137,) and rb.resolution == 1.8
    assert [class_index(r[3]) for r in rb.rows] == rb.labels.tolist()
    centre = rb.boxes[:, 10:12, 10:12, 10:12].mean(axis=(1, 2, 3))
    assert centre[rb.labels != class_index("GLY")].mean() > 0.8
    axis = real_boxes("1cbs", BoxSpec(size=12, spacing=0.5, frame="axis"))
    assert axis.boxes[:, 5:7, 5:7, 5:7].mean() > 1.5  # CA at the centre of the poster's box
    jittered = real_boxes("1cbs", jitter=True, seed=1)
    assert not np.allclose(jittered.boxes, rb.boxes)


def test_prepare_command_real(tmp_path, capsys):
    assert main(["prepare", "--out", str(tmp_path), "--splits", "none", "--real", "1cbs"]) == 0
    boxes, _, _, info = load_cache(tmp_path / "real_1cbs")
    assert boxes.shape == (137, 22, 22, 22) and boxes.dtype == np.float16
    assert info["holdout"] is True and "real_1cbs: 137 boxes" in capsys.readouterr().out
    assert main(["prepare", "--out", str(tmp_path), "--real", "nosuchmap", "--splits", "none"]) == 2
