"""Short fragments in impossible contact with a longer one are left out; junctions, equal
partners, far-away fragments and a fragment's own copies are not contacts that count."""

from __future__ import annotations

import numpy as np
from test_joins import SYM, _chain, _moved, _result

from napari_densitybuild.clashing_fragments import (
    CLASH,
    clashing_fragments,
    without_clashing_fragments,
)
from napari_densitybuild.refine import AtomModel
from napari_densitybuild.symmetry import Symmetry

NONE = Symmetry.none()


def _with_copies(model: AtomModel, residues: list[int], offset) -> AtomModel:
    """``model`` with copies of ``residues`` moved by ``offset`` appended at its end."""
    order = np.r_[np.arange(len(model.resname)), residues]
    atoms = np.concatenate([np.flatnonzero(model.residue == r) for r in order])
    sizes = [np.count_nonzero(model.residue == r) for r in order]
    residue = np.repeat(np.arange(len(order)), sizes)
    xyz = model.xyz[atoms].copy()
    xyz[residue >= len(model.resname)] += np.asarray(offset, dtype=float)
    return AtomModel(xyz, model.atom[atoms], model.element[atoms], residue,
                     model.resname[order], np.ones(len(order), dtype=bool))  # fmt: skip


def _chain_and_short(offset, n: int = 9, copied=(3, 4, 5)):
    """An ``n``-residue fragment and a three-residue one: copies of ``copied`` moved by
    ``offset`` (1 A: inside the chain's atoms; 10 A: clear of them)."""
    model = _with_copies(_chain(n), list(copied), offset)
    fragment = np.r_[np.zeros(n, int), np.ones(len(copied), int)]
    return _result(model, fragment, np.r_[1 : n + 1, 1 : len(copied) + 1])


def test_a_short_fragment_inside_a_longer_chain_is_left_out():
    result = _chain_and_short((1.0, 0.0, 0.0))
    drop = clashing_fragments(result, NONE)
    assert np.flatnonzero(drop).tolist() == [9, 10, 11]
    aligned = np.ones(len(result), dtype=bool)
    out, kept = without_clashing_fragments(result, aligned, NONE)
    assert kept.tolist() == [True] * 9 + [False] * 3
    assert out.report["clashing_fragments_left_out"] == 1
    assert out.report["clashing_residues_left_out"] == 3
    assert out.report["residues"] == 9 and out.report["fragments"] == 1
    assert len(out.model) == int(np.count_nonzero(result.model.residue < 9))
    assert "1 short fragment (3 residues) in impossible contact" in out.summary()


def test_one_atom_under_the_clash_distance_is_enough_and_one_over_is_not():
    far = _chain_and_short((10.0, 0.0, 0.0))
    assert not clashing_fragments(far, NONE).any()
    residue = far.model.residue
    long_atoms, b = np.flatnonzero(residue < 9), np.flatnonzero(residue >= 9)[-1]
    xyz = far.model.xyz[long_atoms]
    centre = xyz.mean(0)
    a = int(np.argmax(np.linalg.norm(xyz - centre, axis=1)))  # the chain's outermost atom
    outward = (xyz[a] - centre) / np.linalg.norm(xyz[a] - centre)
    for gap, expect in ((CLASH - 0.05, True), (CLASH + 0.05, False)):
        moved = _chain_and_short((10.0, 0.0, 0.0))
        moved.model.xyz[b] = xyz[a] + gap * outward  # one atom of the short fragment's end
        d = np.linalg.norm(moved.model.xyz[long_atoms] - moved.model.xyz[b], axis=1)
        assert abs(d.min() - gap) < 1e-9
        assert clashing_fragments(moved, NONE).any() == expect


def test_a_chain_split_at_a_peptide_is_a_junction_not_a_clash():
    model = _chain(12)
    result = _result(model, np.array([0] * 9 + [1] * 3), np.r_[1:13])
    c, n = (
        model.xyz[(model.residue == 8) & (model.atom == "C")],
        model.xyz[(model.residue == 9) & (model.atom == "N")],
    )
    assert np.linalg.norm(c - n) < 1.5  # the peptide C-N: 1.33 A, under the clash distance
    assert not clashing_fragments(result, NONE).any()


def test_equal_fragments_and_long_ones_stay():
    # two three-residue fragments on top of each other: neither is longer, both stay
    model = _with_copies(_chain(3), [0, 1, 2], (1.0, 0.0, 0.0))
    result = _result(model, np.array([0, 0, 0, 1, 1, 1]), np.r_[1:4, 1:4])
    assert not clashing_fragments(result, NONE).any()
    # a six-residue fragment (longer than MAX_LENGTH) in contact with a longer one stays
    result = _chain_and_short((1.0, 0.0, 0.0), n=9, copied=(1, 2, 3, 4, 5, 6))
    assert not clashing_fragments(result, NONE).any()
    # and with the contact, the shorter of two short fragments goes
    result = _chain_and_short((1.0, 0.0, 0.0), n=5, copied=(1, 2, 3))
    assert np.flatnonzero(clashing_fragments(result, NONE)).tolist() == [5, 6, 7]


def test_a_contact_with_a_crystal_copy_counts():
    result = _chain_and_short((1.0, 0.0, 0.0))
    # the short fragment moves onto a crystal copy: apart in the asymmetric unit
    _moved(result, np.arange(9, 12), 1, (0, 1, 0))
    assert not clashing_fragments(result, NONE).any()
    assert np.flatnonzero(clashing_fragments(result, SYM)).tolist() == [9, 10, 11]


def test_nothing_to_leave_out_changes_nothing():
    result = _chain_and_short((10.0, 0.0, 0.0))
    out, kept = without_clashing_fragments(result, np.ones(len(result), dtype=bool), SYM)
    assert out is result and kept.all()
    assert out.report["clashing_fragments_left_out"] == 0


def test_build_leaves_clashing_fragments_out_unless_told_not_to(monkeypatch):
    """``build`` hands its result, after the weak fragments went, to
    :func:`without_clashing_fragments`; ``clashing_fragments=False`` skips it."""
    import napari_densitybuild.build as build_module
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.place import Placer

    dmap = read_map(sample_paths()[0])
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    calls, real = [], build_module.without_clashing_fragments

    def spy(result, aligned, sym):
        calls.append((len(result), result.report.get("weak_residues_left_out"), sym.periodic))
        return real(result, aligned, sym)

    monkeypatch.setattr(build_module, "without_clashing_fragments", spy)
    out = build_module.build(dmap, placer, clf, passes=1, do_refine=False)
    assert len(calls) == 1 and calls[0][1] is not None and calls[0][2]  # after weak, crystal
    assert out.report["clashing_fragments_left_out"] >= 0
    out = build_module.build(dmap, placer, clf, passes=1, do_refine=False, clashing_fragments=False)
    assert len(calls) == 1 and "clashing_fragments_left_out" not in out.report


def test_every_command_leaves_them_out_unless_told_to_keep_them(monkeypatch, tmp_path):
    """``build``, ``batch`` and ``evaluate --task build`` take ``--keep-clashing-fragments``;
    the batch runner hands it to ``build()``."""
    import inspect

    from napari_densitybuild import build as build_module
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.batch import build_one
    from napari_densitybuild.cli import build_parser
    from napari_densitybuild.errors import DensityBuildError

    assert inspect.signature(build_module.build).parameters["clashing_fragments"].default is True
    p = build_parser()
    for argv in (["build", "m.mtz", "--out", "o.cif"], ["batch", "m.mtz", "--out", "d"],
                 ["evaluate", "--task", "build"]):  # fmt: skip
        assert p.parse_args(argv).keep_clashing_fragments is False
        assert p.parse_args([*argv, "--keep-clashing-fragments"]).keep_clashing_fragments
    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs["clashing_fragments"])
        raise DensityBuildError("stop here")

    monkeypatch.setattr(build_module, "build", spy)
    for options in ({}, {"keep_clashing_fragments": True}):
        assert "stop here" in build_one(sample_paths()[0], str(tmp_path), options)["error"]
    assert seen == [True, False]
