"""The committed train/val/test split: by complex, and no val/test chain similar to train."""

from __future__ import annotations

import numpy as np
import pytest

from napari_densitybuild.residues import AMINO_ACIDS
from napari_densitybuild.training import structures_dir
from napari_densitybuild.training.split import (
    OVERLAPS_REAL,
    SPLITS,
    THRESHOLD,
    chain_sequences,
    complex_code,
    identity,
    load_split,
    similar,
    similarity,
    split_files,
)

needs_data = pytest.mark.skipif(not structures_dir().is_dir(), reason="needs ../shared/data")


@pytest.fixture(scope="module")
def split():
    return load_split()


def test_codes_in_one_split_only(split):
    seen = [c for name in SPLITS for c in split["splits"][name]]
    assert len(seen) == len(set(seen)) > 200
    assert split["identity_threshold"] == THRESHOLD
    total = sum(split["counts"][s]["residues"] for s in SPLITS)
    for name, (lo, hi) in {
        "train": (0.75, 0.85),
        "val": (0.07, 0.11),
        "test": (0.07, 0.11),
    }.items():
        assert lo < split["counts"][name]["residues"] / total < hi
        assert split["counts"][name]["complexes"] == len(split["splits"][name])


def test_overlaps_real_recorded_and_in_train(split):
    assert set(split["overlaps_real"]) == set(OVERLAPS_REAL)
    for real, codes in split["overlaps_real"].items():
        assert set(codes) == set(OVERLAPS_REAL[real])
        assert set(codes.values()) == {"train"}
        assert set(codes) <= set(split["splits"]["train"])


def test_similarity_measure():
    rng = np.random.default_rng(0)
    a = tuple(rng.choice(AMINO_ACIDS, 150))
    half = list(a)
    for i in range(0, 150, 2):
        half[i] = AMINO_ACIDS[(AMINO_ACIDS.index(half[i]) + 3) % 20]
    assert identity(a, a) == 1.0 and similar(a, a)
    assert 0.45 < identity(a, tuple(half)) < 0.6 and similar(a, tuple(half))
    short, long_ = tuple(rng.choice(AMINO_ACIDS, 60)), tuple(rng.choice(AMINO_ACIDS, 900))
    ident, z = similarity(short, long_)
    assert ident > THRESHOLD and z < 5  # chance "identity" of a short chain: not similar
    assert not similar(short, long_)
    assert similar(a[20:120], a[20:120] + long_)  # a domain inside a longer chain


@needs_data
def test_files_complete(split):
    files = sorted(structures_dir().glob("*.pdb.gz"))
    by_split = {s: split_files(s) for s in SPLITS}
    assert sum(len(v) for v in by_split.values()) == len(files) == 894
    for s in SPLITS:
        assert len(by_split[s]) == split["counts"][s]["files"]
        assert {complex_code(f) for f in by_split[s]} == set(split["splits"][s])


@needs_data
def test_no_val_test_chain_similar_to_train():
    """Each val/test chain against the training chains it shares most 3-mers with, plus a
    random sample of pairs (the construction compared all pairs)."""
    seqs = {s: sorted({seq for f in split_files(s) for _, seq in chain_sequences(f)})
            for s in SPLITS}  # fmt: skip

    def kmers(seq):
        return {seq[i : i + 3] for i in range(len(seq) - 2)}

    train_k = [kmers(t) for t in seqs["train"]]
    rng = np.random.default_rng(1)
    pairs = []
    for s in ("val", "test"):
        for q in seqs[s]:
            qk = kmers(q)
            shared = [len(qk & tk) / max(1, min(len(qk), len(tk))) for tk in train_k]
            pairs += [(q, seqs["train"][j]) for j in np.argsort(shared)[-3:]]
            pairs += [(q, seqs["train"][j]) for j in rng.integers(len(seqs["train"]), size=2)]
    assert len(pairs) > 500
    bad = [(len(a), len(b), similarity(a, b)) for a, b in pairs if similar(a, b)]
    assert not bad
