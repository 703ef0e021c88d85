"""Fragments joined across crystal contacts: a chain broken where it leaves the asymmetric unit
becomes one chain again, on the copy that continues it, with an ideal peptide at the junction."""

from __future__ import annotations

import gemmi
import numpy as np

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.assemble import chain_name
from napari_densitybuild.build_result import BuildResult
from napari_densitybuild.joins import join_fragments, mend_junctions
from napari_densitybuild.models import read_structure
from napari_densitybuild.refine import AtomModel, atom_model
from napari_densitybuild.residues import AMINO_ACIDS
from napari_densitybuild.symmetry import Symmetry
from napari_densitybuild.trace import Trace

SYM = Symmetry.from_cell(gemmi.UnitCell(60, 50, 70, 90, 100, 90), "P 1 21 1")


def _chain(n: int = 12) -> AtomModel:
    """The first ``n`` residues of the sample model's first chain."""
    st = read_structure(sample_paths()[1])
    for ch in st[0]:
        del ch[n:]
        break
    while len(st[0]) > 1:
        del st[0][1]
    return atom_model(st)


def _result(model: AtomModel, fragment: np.ndarray, seqid: np.ndarray) -> BuildResult:
    """A build of ``model`` cut into ``fragment``s (poses: each residue's atoms, padded)."""
    n = len(model.resname)
    first = np.searchsorted(model.residue, np.arange(n))
    ca = model.xyz[first + 1]
    to_n = model.xyz[first] - ca
    to_c = model.xyz[first + 2] - ca
    types = np.array([AMINO_ACIDS.index(str(r)) for r in model.resname])
    probs = np.full((n, 20), 0.01)
    probs[np.arange(n), types] = 0.81
    poses = np.repeat(ca[:, None, None, :], 20, axis=1).repeat(14, axis=2)
    linked = np.r_[False, fragment[1:] == fragment[:-1]]
    model = AtomModel(model.xyz.copy(), model.atom, model.element, model.residue,
                      model.resname, linked)  # fmt: skip
    chain = np.array([chain_name(int(f)) for f in fragment], dtype=object)
    trace = Trace(ca, to_n, to_c, np.full(n, 0.9), fragment)
    return BuildResult(trace, probs, poses, types, chain, seqid, np.full(n, "", dtype=object),
                       model, np.full(n, 73.0), None,
                       {"fragments": int(fragment.max()) + 1, "residues": n})  # fmt: skip


def _moved(result: BuildResult, residues: np.ndarray, op: int, shift) -> None:
    """Move ``residues`` (atoms, trace, poses) by symmetry operation ``op`` + ``shift``."""
    atoms = np.isin(result.model.residue, residues)
    result.model.xyz[atoms] = SYM.apply(result.model.xyz[atoms], op, shift)
    rot = SYM.cart_rotations()[op]
    tr = result.trace
    tr.ca[residues] = SYM.apply(tr.ca[residues], op, shift)
    tr.to_n[residues], tr.to_c[residues] = tr.to_n[residues] @ rot.T, tr.to_c[residues] @ rot.T
    p = result.poses[residues]
    result.poses[residues] = SYM.apply(p.reshape(-1, 3), op, shift).reshape(p.shape)


def test_a_chain_split_across_a_crystal_contact_is_joined_on_the_right_copy():
    model = _chain(12)
    truth = model.xyz.copy()
    result = _result(model, np.array([0] * 7 + [1] * 5), np.r_[1:8, 1:6])
    # the C-terminal five residues sit on a crystal copy: operation 1, one cell along b
    _moved(result, np.arange(7, 12), 1, (0, 1, 0))
    assert np.linalg.norm(result.trace.ca[6] - result.trace.ca[7]) > 10  # apart as placed
    joined, junction = join_fragments(result, SYM)
    assert joined.report["fragments_joined"] == 1 and joined.trace.fragment_count == 1
    assert joined.report["fragments"] == 1 and joined.chain.tolist() == ["A"] * 12
    assert joined.seqid.tolist() == list(range(1, 13)) and joined.model.linked[1:].all()
    assert np.flatnonzero(junction).tolist() == [6, 7]
    # the five were moved back onto the copy that continues the chain: atoms, trace, poses
    np.testing.assert_allclose(joined.model.xyz, truth, atol=1e-9)
    np.testing.assert_allclose(joined.trace.ca, _result(model, np.zeros(12, int),
                               np.arange(12)).trace.ca, atol=1e-9)  # fmt: skip
    np.testing.assert_allclose(joined.poses[:, 5, 3], joined.trace.ca, atol=1e-9)
    first = np.searchsorted(joined.model.residue, np.arange(12))
    np.testing.assert_allclose(joined.trace.to_n, truth[first] - truth[first + 1], atol=1e-9)
    st = joined.structure()
    assert [(ch.name, len(ch)) for ch in st[0]] == [("A", 12)]
    # the input is left as it was
    assert result.trace.fragment_count == 2 and result.chain.tolist() == ["A"] * 7 + ["B"] * 5
    assert np.abs(result.model.xyz - truth).max() > 10


def _split_in_place(gap_shift: float = 0.0) -> BuildResult:
    """The sample's first 12 residues as two fragments of the same copy (P 1 cell), the second's
    atoms moved ``gap_shift`` A away from the first's last C."""
    model = _chain(12)
    fragment = np.array([0] * 7 + [1] * 5)
    result = _result(model, fragment, np.arange(1, 13))
    m = result.model
    c = m.xyz[(m.residue == 6) & (m.atom == "C")][0]
    n = m.xyz[(m.residue == 7) & (m.atom == "N")][0]
    m.xyz[m.residue >= 7] += gap_shift * (n - c) / np.linalg.norm(n - c)
    return result


def test_far_ends_and_non_consecutive_sequence_numbers_are_not_joined():
    p1 = Symmetry.none()
    joined, junction = join_fragments(_split_in_place(), p1)
    assert joined.trace.fragment_count == 1 and junction.sum() == 2
    far = _split_in_place(gap_shift=1.5)  # C-N about 2.8 A: no peptide
    joined, junction = join_fragments(far, p1)
    assert joined.trace.fragment_count == 2 and not junction.any()
    assert joined.report["fragments_joined"] == 0
    numbered = _split_in_place()
    numbered.seqid = np.r_[1:8, 20:25]  # aligned to a sequence, with a gap between
    joined, _ = join_fragments(numbered, p1, renumber=False)
    assert joined.trace.fragment_count == 2
    numbered.seqid = np.r_[31:43]
    joined, _ = join_fragments(numbered, p1, renumber=False)
    assert joined.trace.fragment_count == 1 and joined.seqid.tolist() == list(range(31, 43))


def test_mending_gives_the_junction_a_peptide_and_holds_the_rest():
    result = _split_in_place(gap_shift=0.5)
    joined, junction = join_fragments(result, Symmetry.none())
    m = joined.model
    c = m.xyz[(m.residue == 6) & (m.atom == "C")][0]
    n = m.xyz[(m.residue == 7) & (m.atom == "N")][0]
    assert 1.7 < np.linalg.norm(c - n) < 2.2
    before = m.xyz.copy()
    mend_junctions(joined, junction, None)
    c = m.xyz[(m.residue == 6) & (m.atom == "C")][0]
    n = m.xyz[(m.residue == 7) & (m.atom == "N")][0]
    assert abs(np.linalg.norm(c - n) - 1.33) < 0.05
    held = ~np.isin(m.residue, [5, 6, 7, 8])
    np.testing.assert_array_equal(m.xyz[held], before[held])
    assert np.abs(m.xyz[~held] - before[~held]).max() > 0.1


def test_join_is_on_by_default_and_can_be_turned_off_everywhere():
    """``build``, ``batch`` and ``evaluate --task build`` take ``--no-join``; the build joins
    by default."""
    import inspect

    from napari_densitybuild import build as build_module
    from napari_densitybuild.cli import build_parser
    from napari_densitybuild.settings import DEFAULT_JOIN

    assert DEFAULT_JOIN and inspect.signature(build_module.build).parameters["join"].default
    p = build_parser()
    assert p.parse_args(["build", "m.mtz", "--out", "x.cif"]).join is True
    assert p.parse_args(["build", "m.mtz", "--out", "x.cif", "--no-join"]).join is False
    assert p.parse_args(["batch", "m.mtz", "--out", "d", "--no-join"]).join is False
    assert p.parse_args(["evaluate", "--task", "build", "--no-join"]).join is False


def test_trimming_short_links_can_be_turned_off_on_the_command_line():
    from napari_densitybuild.cli import build_parser

    p = build_parser()
    assert p.parse_args(["build", "m.mtz", "--out", "o.cif"]).trim_links is True
    assert p.parse_args(["build", "m.mtz", "--out", "o.cif", "--no-trim-links"]).trim_links is False
    assert p.parse_args(["batch", "m.mtz", "--out", "d", "--no-trim-links"]).trim_links is False
    assert p.parse_args(["evaluate", "--task", "build", "--no-trim-links"]).trim_links is False


def test_build_joins_after_the_last_pass_renumbering_only_without_a_sequence(monkeypatch):
    """``build`` hands its result to :func:`join_fragments` (renumber: no sequence given) and
    the junctions to :func:`mend_junctions`; ``join=False`` skips both."""
    import napari_densitybuild.build as build_module
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.place import Placer
    from napari_densitybuild.sequence import read_fasta

    dmap = read_map(sample_paths()[0])
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    calls, real_join, real_refine = [], build_module.join_fragments, build_module.refine

    def join_spy(result, sym, renumber=True):
        calls.append(renumber)
        return real_join(result, sym, renumber=renumber)

    def quick(model, *args, **kwargs):
        return real_refine(model, *args, **{**kwargs, "rounds": 1, "iterations": 2})

    monkeypatch.setattr(build_module, "join_fragments", join_spy)
    monkeypatch.setattr(build_module, "refine", quick)
    out = build_module.build(dmap, placer, clf, passes=1)
    assert calls == [True] and out.report["fragments_joined"] >= 0
    fasta = sample_paths()[0].replace("sample_map.mtz", "sample_sequence.fasta")
    build_module.build(dmap, placer, clf, [s for _, s in read_fasta(fasta)], passes=1)
    assert calls == [True, False]
    off = build_module.build(dmap, placer, clf, passes=1, join=False)
    assert calls == [True, False] and "fragments_joined" not in off.report


def test_fragment_ends_across_a_cis_link_are_trimmed_and_the_new_ends_refined():
    from napari_densitybuild.joins import trim_short_links
    from napari_densitybuild.maps import read_map

    result = _result(_chain(12), np.zeros(12, int), np.arange(1, 13))
    m = result.model

    def ca(r: int) -> np.ndarray:
        return m.xyz[(m.residue == r) & (m.atom == "CA")][0]

    # wrong first and last steps: each end residue moved to 2.6 A from its neighbour's C-alpha
    for r, towards in ((0, 1), (11, 10)):
        v = ca(towards) - ca(r)
        m.xyz[m.residue == r] += (np.linalg.norm(v) - 2.6) * v / np.linalg.norm(v)
    inner = np.isin(m.residue, range(1, 11))
    out, kept, twice = trim_short_links(result, None, renumber=False)
    assert kept.tolist() == [False] + [True] * 10 + [False] and twice == 0
    assert len(out) == 10 and out.types.tolist() == result.types[1:-1].tolist()
    assert out.seqid.tolist() == list(range(2, 12)) and not out.model.linked[0]
    np.testing.assert_array_equal(out.model.xyz, m.xyz[inner])  # no map: nothing moves
    out, _, _ = trim_short_links(result, read_map(sample_paths()[0]))
    assert out.seqid.tolist() == list(range(1, 11))  # no sequence: numbered again
    moved = np.abs(out.model.xyz - m.xyz[inner]).max(axis=1) > 0
    assert moved.any() and set(out.model.residue[moved].tolist()) <= {0, 9}  # the new ends
    clean = _result(_chain(12), np.zeros(12, int), np.arange(1, 13))
    same, kept, _ = trim_short_links(clean, None)
    assert same is clean and kept.all()


def test_a_residue_detected_twice_is_left_out_and_its_neighbours_linked():
    """A second detection of a residue inside a chain (its copy 1.9 A away, linked in after it)
    goes; the chain stays one, numbered on without a gap, and the peptide across the gap is
    refined to bond length."""
    from napari_densitybuild.joins import trim_short_links
    from napari_densitybuild.maps import read_map

    st = read_structure(sample_paths()[1])
    ch = st[0][0]
    del ch[12:]
    while len(st[0]) > 1:
        del st[0][1]
    copy = ch[5].clone()
    for atom in copy:  # 1.9 A off, across the chain
        atom.pos = atom.pos + gemmi.Position(0.0, 1.9, 0.0)
    ch.add_residue(copy, 6)
    result = _result(atom_model(st), np.zeros(13, int), np.arange(1, 14))
    out, kept, twice = trim_short_links(result, read_map(sample_paths()[0]))
    assert twice == 1 and np.flatnonzero(~kept).tolist() == [6]
    assert len(out) == 12 and out.trace.fragment_count == 1
    assert out.seqid.tolist() == list(range(1, 13)) and out.model.linked[1:].all()
    m = out.model
    c5, n6 = (m.xyz[(m.residue == r) & (m.atom == a)][0] for r, a in ((5, "C"), (6, "N")))
    assert abs(np.linalg.norm(c5 - n6) - 1.33) < 0.1
