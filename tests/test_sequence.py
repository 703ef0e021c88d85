"""Sequence assignment: profiles of noisy classifier outputs align to the right place."""

from __future__ import annotations

from pathlib import Path

import gemmi
import numpy as np
import pytest

from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.sequence import (
    align,
    assign_fragment,
    encode,
    is_nucleic,
    model_fasta,
    profile_log_odds,
    protein_sequences,
    read_fasta,
)

SEQ = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEG"


def noisy_profile(seq: str, accuracy: float, seed: int = 0) -> np.ndarray:
    """Probabilities whose top class is right with probability ``accuracy``."""
    rng = np.random.default_rng(seed)
    code = encode(seq)
    probs = rng.dirichlet(np.full(20, 0.3), size=len(code))
    for i, c in enumerate(code):
        top = c if rng.random() < accuracy else rng.integers(20)
        probs[i] = 0.4 * probs[i]
        probs[i, top] += 0.6
    return probs / probs.sum(1, keepdims=True)


def test_align_finds_the_piece():
    piece = SEQ[30:60]
    probs = noisy_profile(piece, accuracy=0.7)
    score, pos = align(profile_log_odds(probs), encode(SEQ))
    assert np.array_equal(pos, np.arange(30, 60)) and score > 0


def test_extra_detection_and_missed_residue():
    piece = SEQ[10:40]
    probs = noisy_profile(piece, accuracy=0.8, seed=1)
    junk = np.full((1, 20), 0.05)
    with_extra = np.concatenate([probs[:15], junk, probs[15:]])
    _, pos = align(profile_log_odds(with_extra), encode(SEQ))
    truth = np.concatenate([np.arange(10, 25), [-1], np.arange(25, 40)])
    assert (pos == -1).sum() == 1 and (pos != truth).sum() <= 3  # the gap may slide a little
    missed = np.delete(probs, 12, axis=0)
    _, pos = align(profile_log_odds(missed), encode(SEQ))
    assert (pos != np.delete(np.arange(10, 40), 12)).sum() <= 5


def test_assignment_fixes_types_and_refuses_noise():
    piece = SEQ[50:80]
    probs = noisy_profile(piece, accuracy=0.8, seed=2)
    a = assign_fragment(probs, ["GGGSSSGGGSSS", SEQ])
    assert a is not None and a.sequence == 1 and a.z > 4
    fixed = "".join(SEQ[p] for p in a.positions)
    before = np.mean(probs.argmax(1) == encode(piece))
    after = np.mean([f == t for f, t in zip(fixed, piece)])
    assert before < 0.8 and after >= 0.95, (before, after)
    rng = np.random.default_rng(3)
    assert assign_fragment(rng.dirichlet(np.ones(20), size=30), [SEQ]) is None
    assert assign_fragment(probs[:3], [SEQ]) is None  # too short to trust


def test_read_fasta(tmp_path):
    f = tmp_path / "s.fasta"
    f.write_text(">chain A\nMKTAY\nIAKQ*\n>B\nGGSX\n")
    assert read_fasta(f) == [("chain A", "MKTAYIAKQ"), ("B", "GGSX")]
    pir = tmp_path / "s.pir"  # PIR: the line after the header is a title, not sequence
    pir.write_text(">P1;ubq\nubiquitin, human\nMQIFVK\nTLTGK*\n>F1;frag\nfragment\nGGSX*\n")
    assert read_fasta(pir) == [("ubq", "MQIFVKTLTGK"), ("frag", "GGSX")]
    (tmp_path / "bad.fa").write_text(">x\nMKT1Q\n")
    with pytest.raises(DensityBuildError, match="not amino acids"):
        read_fasta(tmp_path / "bad.fa")
    (tmp_path / "empty.fa").write_text("")
    with pytest.raises(DensityBuildError, match="no sequence"):
        read_fasta(tmp_path / "empty.fa")
    (tmp_path / "map.fa").write_bytes(b"MAP \x00\x00\x01" + bytes(range(256)) * 4)
    with pytest.raises(DensityBuildError, match="binary file"):
        read_fasta(tmp_path / "map.fa")
    (tmp_path / "text.fa").write_text(">x\n" + "".join(chr(c) for c in range(33, 127)) + "\n")
    with pytest.raises(DensityBuildError, match=r"\.\.\.' that are not amino acids"):
        read_fasta(tmp_path / "text.fa")


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux /proc")
def test_an_unreadable_fasta_file_says_so():
    """A file that exists but cannot be read (here /proc/self/mem, which fails with EIO for
    anyone, root included) gives a message, not an OSError."""
    with pytest.raises(DensityBuildError, match="cannot be read"):
        read_fasta("/proc/self/mem")


def test_read_fasta_saved_by_windows_editors(tmp_path):
    """A UTF-8 byte-order mark (Notepad's UTF-8), UTF-16 (its "Unicode") and CRLF line ends."""
    text = ">chain A\r\nMKTAY\r\nIAKQ\r\n"
    (tmp_path / "bom.fa").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (tmp_path / "utf16.fa").write_bytes(text.encode("utf-16"))  # with its byte-order mark
    for name in ("bom.fa", "utf16.fa"):
        assert read_fasta(tmp_path / name) == [("chain A", "MKTAYIAKQ")]


def _structure(chains: dict[str, list[str]]) -> gemmi.Structure:
    st = gemmi.Structure()
    model = gemmi.Model("1")
    for cname, names in chains.items():
        chain = gemmi.Chain(cname)
        for k, n in enumerate(names):
            res = gemmi.Residue()
            res.name, res.seqid = n, gemmi.SeqId(k + 1, " ")
            chain.add_residue(res)
        model.add_chain(chain)
    st.add_model(model)
    return st


def test_model_fasta_reads_back(tmp_path):
    """A model's chains as FASTA (modified residues as their parents, ligands and waters out)."""
    st = _structure({"A": ["MET", "MSE", "GLY", "HOH"], "B": ["HOH"], "C": ["TRP"]})
    path = tmp_path / "m.fasta"
    path.write_text(model_fasta(st, "x"))
    assert read_fasta(path) == [("x chain A", "MMG"), ("x chain C", "W")]
    with pytest.raises(DensityBuildError, match="no amino-acid chain"):
        model_fasta(_structure({"W": ["HOH"]}), "w")


def test_sequence_gaps_mark_residues_the_trace_missed():
    from types import SimpleNamespace

    from napari_densitybuild.assemble import sequence_gaps

    trace = SimpleNamespace(fragment=np.array([0, 0, 0, 0, 1, 1, 1, 2, 2]))
    positions = [np.array([0, 1, 3, 4]), np.array([-1, 5, 7]), None]
    np.testing.assert_array_equal(sequence_gaps(trace, positions),
                                  [0, 0, 1, 0, 0, 0, 1, 0, 0])  # fmt: skip


def test_build_numbers_around_a_skipped_position_and_counts_it(monkeypatch):
    """A sequence with a residue the map does not have (inserted into the sample's): the
    alignment skips it, the two residues either side are numbered around it, and the report
    counts it."""
    import napari_densitybuild.build as build_module
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.place import Placer

    real_refine = build_module.refine
    monkeypatch.setattr(build_module, "refine", lambda m, *a, **k: real_refine(
        m, *a, **{**k, "rounds": 1, "iterations": 2}))  # fmt: skip
    dmap = read_map(sample_paths()[0])
    fasta = sample_paths()[0].replace("sample_map.mtz", "sample_sequence.fasta")
    seq = read_fasta(fasta)[0][1]
    longer = seq[:40] + "W" + seq[40:]
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    out = build_module.build(dmap, placer, clf, [longer], passes=1, frame_search=False)
    assert out.report["sequence_gaps"] == 1
    i = int(np.flatnonzero(np.diff(out.seqid) == 2)[0]) + 1
    assert out.chain[i] == out.chain[i - 1] and out.model.linked[i]
    assert out.seqid[i - 1] == 40 and out.seqid[i] == 42  # position 41 (1-based) is the W
    assert "1 sequence position skipped inside fragments" in out.summary()


def test_dna_and_rna_records_are_told_from_protein_ones():
    assert is_nucleic("ATGCGTACGTTAGC") and is_nucleic("ACGUACGUNN")
    assert is_nucleic("MKTAYIAK", "1ABC_2 mol:na length:8  DNA")
    assert not is_nucleic("ACG")  # too short to tell
    assert not is_nucleic("GGGGGGGG") and not is_nucleic("GAGAGAGA")  # glycine-rich peptides
    assert not is_nucleic(SEQ) and not is_nucleic("MKTAYIAKQ", "1ABC_1 mol:protein")


def test_protein_sequences_leave_nucleic_acid_records_out_with_a_note(tmp_path):
    """A PDB FASTA file of a protein-DNA complex: the DNA strands are not aligned to."""
    path = tmp_path / "complex.fasta"
    path.write_text(">1ABC_1|Chain A|REPRESSOR\nMKTAYIAKQRQ\n>1ABC_2|Chain B|DNA\nATGCGTACGT\n"
                    ">1ABC_3|Chain C|DNA\nACGTACGCAT\n")  # fmt: skip
    notes: list[str] = []
    assert protein_sequences(path, notes.append) == ["MKTAYIAKQRQ"]
    assert len(notes) == 2 and "'1ABC_2|Chain B|DNA'" in notes[0] and "DNA or RNA" in notes[0]
    assert protein_sequences(path) == ["MKTAYIAKQRQ"]  # no note callback: silent
    dna = tmp_path / "dna.fasta"
    dna.write_text(">B\nATGCGTACGT\n")
    with pytest.raises(DensityBuildError, match="every sequence is DNA or RNA"):
        protein_sequences(dna)


def test_build_command_refuses_a_sequence_file_of_dna_alone(tmp_path, capsys):
    from napari_densitybuild import cli
    from napari_densitybuild._napari._sample_data import sample_paths

    dna = tmp_path / "dna.fasta"
    dna.write_text(">B\nATGCGTACGT\n")
    args = ["build", sample_paths()[0], "--sequence", str(dna), "--out", str(tmp_path / "m.cif")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "every sequence is DNA or RNA" in err[0]
    assert not (tmp_path / "m.cif").exists()
