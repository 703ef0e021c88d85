"""Hand-computed cases for the classifier metrics."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from napari_densitybuild.training.metrics import (
    average_precision,
    classification_metrics,
    confusion_matrix,
    row_normalise,
    topk_accuracy,
    write_confusion,
)


def test_average_precision_perfect_and_known():
    assert average_precision(np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 1, 0, 0])) == 1.0
    # ranking P N P N: precisions at hits 1/1 and 2/3 -> AP = (1 + 2/3) / 2
    ap = average_precision(np.array([0.9, 0.7, 0.5, 0.1]), np.array([1, 0, 1, 0]))
    assert ap == pytest.approx((1 + 2 / 3) / 2)
    # worst ranking of 1 positive among 4: precision 1/4
    assert average_precision(np.array([0.9, 0.8, 0.7, 0.1]), np.array([0, 0, 0, 1])) == 0.25
    assert np.isnan(average_precision(np.array([0.5, 0.4]), np.array([0, 0])))


def test_confusion_topk_and_rows():
    cm = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    assert row_normalise(cm)[0].tolist() == [0.5, 0.5, 0.0]
    assert row_normalise(np.zeros((2, 2))).sum() == 0
    probs = np.array([[0.6, 0.3, 0.1], [0.5, 0.3, 0.2], [0.1, 0.2, 0.7]])
    labels = np.array([0, 1, 0])
    assert topk_accuracy(probs, labels, 1) == pytest.approx(1 / 3)
    assert topk_accuracy(probs, labels, 2) == pytest.approx(2 / 3)
    assert topk_accuracy(probs, labels, 3) == 1.0


def test_classification_metrics_excludes_absent_classes():
    # 3 of 20 classes present; scores rank class 0 perfectly, class 1 and 2 imperfectly
    probs = np.full((4, 20), 0.01)
    probs[0, [0, 1]] = [0.9, 0.1]
    probs[1, [0, 1]] = [0.2, 0.7]
    probs[2, [0, 2]] = [0.1, 0.8]
    probs[3, [1, 2]] = [0.6, 0.3]
    labels = np.array([0, 1, 2, 2])
    m = classification_metrics(probs, labels)
    assert m["n"] == 4 and m["classes_present"] == 3
    assert m["top1"] == 0.75
    ap = m["ap"]
    assert ap[0] == 1.0
    # class 1 scores: .1, .7, .01, .6 -> its one positive ranks first: AP 1
    assert ap[1] == 1.0
    # class 2 scores: .01, .01, .8, .3 -> rank r2(P), r3(P): AP 1
    assert ap[2] == 1.0
    assert np.isnan(ap[5]) and np.isnan(m["recall"][5])
    assert m["map"] == 1.0
    assert m["recall"][:3] == [1.0, 1.0, 0.5]
    assert np.array(m["confusion"]).sum() == 4


def test_write_confusion(tmp_path):
    cm = np.zeros((20, 20), dtype=int)
    cm[np.arange(20), np.arange(20)] = 10
    cm[0, 1] = 1  # 1/11 = 0.09 shown, 0.01 rows omitted
    png, path = write_confusion(cm, tmp_path / "cm", title="test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.reader(open(path)))
    assert rows[0][0] == "true\\predicted" and rows[1][0] == "ALA" and len(rows) == 21
    assert float(rows[1][1]) == pytest.approx(10 / 11, abs=1e-4)
    assert int(rows[1][-1]) == 11
