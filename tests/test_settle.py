"""The last short refinement: it pulls a disturbed model back towards the truth without
touching the input, and the build runs it last, only where asked and refining; and the
iteration counts of the passes' refinement."""

from __future__ import annotations

import numpy as np

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_structure
from napari_densitybuild.refine import atom_model
from napari_densitybuild.settle import settle

MAP, MODEL = sample_paths()


def _rmsd(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(((a - b) ** 2).sum(1).mean()))


def test_settle_pulls_a_disturbed_model_back_and_leaves_the_input():
    dmap = read_map(MAP)
    model = atom_model(read_structure(MODEL))
    truth = model.xyz.copy()
    model.xyz = truth + np.random.default_rng(1).normal(scale=0.12, size=truth.shape)
    start = model.xyz.copy()
    out = settle(model, dmap)
    assert np.array_equal(model.xyz, start)  # the model is not modified
    before, after = _rmsd(start, truth), _rmsd(out, truth)
    print(f"rmsd to the true model {before:.3f} -> {after:.3f} A")
    assert after < 0.7 * before
    # the iteration count is what the caller asks: one iteration does less
    once = settle(model, dmap, iterations=1)
    assert _rmsd(once, truth) > after


def test_settle_reads_the_map_cubically_and_ends_closer_than_trilinear():
    """The last round reads the map between grid nodes by cubic interpolation: from the same
    start, its atoms end nearer the true ones (median) than with the trilinear reading."""
    from napari_densitybuild.settle import SETTLE_INTERPOLATION

    assert SETTLE_INTERPOLATION == "cubic"
    dmap = read_map(MAP)
    model = atom_model(read_structure(MODEL))
    truth = model.xyz.copy()
    model.xyz = truth + np.random.default_rng(2).normal(scale=0.12, size=truth.shape)
    median = {
        kind: float(np.median(np.linalg.norm(settle(model, dmap, interpolation=kind) - truth, 1)))
        for kind in ("linear", "cubic")
    }
    assert median["cubic"] < median["linear"] - 0.003, median


def test_settle_refits_a_side_chain_out_of_density_only_when_asked():
    """A side chain turned out of its density (as the pose head gives a residue whose type a
    later step changed) comes back with ``refit``; without it, refinement cannot bring it."""
    from napari_densitybuild.geometry import rotate_about

    dmap = read_map(MAP)
    model = atom_model(read_structure(MODEL))
    truth = model.xyz.copy()
    r = next(i for i, name in enumerate(model.resname) if name == "LEU" and i >= 10)  # not an end
    atoms = model.residue_atoms(r)
    side = [i for name, i in atoms.items() if name not in ("N", "CA", "C", "O", "CB")]
    ca, cb = truth[atoms["CA"]], truth[atoms["CB"]]
    model.xyz[side] = rotate_about(truth[side], ca, cb - ca, 120.0)  # chi1 turned by 120
    info: dict = {}
    plain, refit = settle(model, dmap), settle(model, dmap, refit=True, info=info)
    print(model.resname[r], _rmsd(plain[side], truth[side]), _rmsd(refit[side], truth[side]))
    assert _rmsd(plain[side], truth[side]) > 1.5
    assert _rmsd(refit[side], truth[side]) < 0.5 and info["final_rotamer_fits"] >= 1
    others = np.ones(len(truth), bool)
    others[side] = False
    assert _rmsd(refit[others], plain[others]) < 0.05  # the rest settles as it would


def test_build_settles_last_and_only_when_asked(monkeypatch):
    import napari_densitybuild.build as build_module
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.place import Placer

    dmap = read_map(MAP)
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    seen: list[np.ndarray] = []

    def spy(model, dmap, **kwargs):
        seen.append(model.xyz.copy())
        return model.xyz + 1.0  # a mark to find in the result

    monkeypatch.setattr(build_module, "settle_model", spy)
    kw = dict(passes=1, link=False, cis_prolines=False)
    done = build_module.build(dmap, placer, clf, settle=True, **kw)
    assert len(seen) == 1 and np.allclose(done.model.xyz, seen[0] + 1.0)
    assert "settle" in done.report["seconds"]
    plain = build_module.build(dmap, placer, clf, settle=False, **kw)
    assert "settle" not in plain.report["seconds"]
    assert np.allclose(plain.model.xyz, seen[0])  # settle was the last step to move atoms
    build_module.build(dmap, placer, clf, settle=True, do_refine=False, **kw)
    assert len(seen) == 1


def test_settle_is_on_everywhere_by_default():
    from conftest import assert_build_step_on_everywhere

    assert_build_step_on_everywhere("settle")


def test_passes_refine_with_their_iteration_counts(monkeypatch):
    """The passes before the last refine with ``FRAMING_ITERATIONS``, the last with
    ``LAST_PASS_ITERATIONS``."""
    import napari_densitybuild.build as build_module
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.place import Placer

    dmap = read_map(MAP)
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    seen: list[int] = []

    def spy(model, dmap, **kwargs):
        seen.append(kwargs["iterations"])
        return model.xyz.copy()

    monkeypatch.setattr(build_module, "refine", spy)
    monkeypatch.setattr(build_module, "FRAMING_ITERATIONS", 7)
    monkeypatch.setattr(build_module, "LAST_PASS_ITERATIONS", 9)
    kw = dict(link=False, cis_prolines=False, settle=False, join=False, trim_links=False)
    build_module.build(dmap, placer, clf, passes=3, **kw)
    assert seen == [7, 7, 9]


def test_stages_name_every_stage_the_build_reports():
    """Every stage a build times (and reports to ``progress``) is one of ``STAGES``."""
    import napari_densitybuild.build as build_module
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.place import Placer
    from napari_densitybuild.sequence import read_fasta

    dmap = read_map(MAP)
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    seen: list[str] = []
    fasta = str(MAP).replace("sample_map.mtz", "sample_sequence.fasta")
    sequences = [seq for _, seq in read_fasta(fasta)]
    build_module.build(dmap, placer, clf, sequences, passes=2,
                       progress=lambda stage, done, total: seen.append(stage))  # fmt: skip
    assert {"frame_search", "settle"} <= set(seen) <= set(build_module.STAGES)


def test_the_last_rotamer_fit_follows_the_sequence_when_not_told(monkeypatch):
    """``final_rotamers=None`` refits side chains where a sequence is given, not without one;
    True and False say so whatever the sequence."""
    import napari_densitybuild.build as build_module
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.place import Placer
    from napari_densitybuild.sequence import read_fasta

    dmap = read_map(MAP)
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    asked: list[bool] = []

    def spy(model, dmap, refit=False, info=None):
        asked.append(refit)
        return model.xyz.copy()

    monkeypatch.setattr(build_module, "settle_model", spy)
    fasta = str(MAP).replace("sample_map.mtz", "sample_sequence.fasta")
    seqs = [seq for _, seq in read_fasta(fasta)]
    kw = dict(passes=1, link=False, cis_prolines=False, join=False, fill_gaps=False)
    for sequences, told in ((seqs, None), (None, None), (None, True), (seqs, False)):
        build_module.build(dmap, placer, clf, sequences, final_rotamers=told, **kw)
    assert asked == [True, False, True, False]


def test_the_summary_counts_the_last_refits():
    from test_joins import _chain, _result

    result = _result(_chain(6), np.zeros(6, int), np.arange(1, 7))
    result.report["final_rotamer_fits"] = 1
    assert "1 side chain out of density refitted at the end" in result.summary()
    result.report["final_rotamer_fits"] = 0
    assert "refitted at the end" not in result.summary()
