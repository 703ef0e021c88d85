"""The review panel's "Apply sequence..." (pytest-qt, napari, the sample data): a model built
without the sequence is typed and numbered by it in one undoable step, the residue under review
stays current, residues added afterwards take their type from it, and a model opened from a
file keeps its numbers; what cannot be done is refused with the reason."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import JOB_TIMEOUT, button
from qtpy.QtCore import Qt

from napari_densitybuild._napari import _sequence_edit
from napari_densitybuild.residues import INDEX, ONE_LETTER
from napari_densitybuild.session import Session

pytestmark = pytest.mark.gui

FASTA = Path(__file__).parents[1] / "sample_data" / "sample_sequence.fasta"
SEQUENCE = FASTA.read_text().splitlines()[1].strip()
#: Residues the "build" named wrongly (index -> type).
WRONG = {5: "LEU", 12: "SER", 33: "ALA", 50: "GLN"}


def _press(widget, qtbot, text: str) -> None:
    qtbot.mouseClick(button(widget, text), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=JOB_TIMEOUT)


def _as_built(widget, s: Session, meta: dict | None = None) -> Session:
    """The sample model as a build without the sequence leaves it: classified, four residues
    named wrongly, chain A numbered from 1."""
    from napari_densitybuild._napari._map_cache import cached_map
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.review import classify_residues

    dmap = cached_map(widget.map_file())
    got = classify_residues(s, dmap, Classifier.from_path(None), keep_types=True, poses=False)
    rows = [replace(got[i], chain="A", seqid=i + 1) for i in range(len(s.residues))]
    for i, t in WRONG.items():
        assert rows[i].name != t
        rows[i] = replace(rows[i], type=INDEX[t])
    built = Session(rows, s.map_path, {**s.meta, **(meta or {})})
    widget.set_session(built)
    return built


def test_a_build_is_typed_and_numbered_by_the_sequence_in_one_undo_step(shown, qtbot):
    widget, s = shown
    s = _as_built(widget, s)
    rows = s.residues
    widget._set_sequence(str(FASTA))
    widget.review.show_residue(12)
    _press(widget, qtbot, "Apply sequence...")
    got = widget.session.residues
    assert widget.session is s and got is not rows
    assert "".join(ONE_LETTER[r.name] for r in got) == SEQUENCE
    assert [r.seqid for r in got] == list(range(1, len(got) + 1))
    assert widget.status.text().startswith(
        f"Sequence applied: 2 of 2 pieces of chain aligned ({len(got)} of {len(got)} residues), "
        f"{len(WRONG)} types changed; numbered by the sequence, 1 chains -> 1"
    )
    assert widget.status.text().endswith("; Undo takes it back")
    assert s.meta["chain_sequences"] == {"A": SEQUENCE}
    saved = Session.load(s.autosave_claim.path)  # the autosave has it all
    assert saved.meta["chain_sequences"] == {"A": SEQUENCE}
    assert [(r.name, r.seqid) for r in saved.residues] == [(r.name, r.seqid) for r in got]
    assert widget.review.current == 12 and widget.sync.selected() == [12]
    # the residues it retyped have their new side chains; their chain neighbours settled with
    # them around their C-alphas; the others did not move
    near = {j for i in WRONG for j in (i - 1, i + 1)} - set(WRONG)
    for i, r in enumerate(got):
        if i in WRONG:
            assert r.atoms != rows[i].atoms and {"N", "CA", "C", "O"} <= {a[0] for a in r.atoms}
        elif i in near:
            assert np.array_equal(r.ca, rows[i].ca)
        else:
            assert r.atoms == rows[i].atoms
    # a residue added at the chain's end now takes the sequence's type
    s.replace(got[:-1])
    widget.review.show_residue(len(got) - 2)
    _press(widget, qtbot, "Add residue")
    assert widget.session.residues[-1].name == got[-1].name
    assert widget.session.residues[-1].seqid == got[-1].seqid
    for _ in range(3):
        _press(widget, qtbot, "Undo")
    assert widget.session.residues is rows


def test_a_model_from_a_file_keeps_its_numbers_and_the_file_is_asked_for(shown, qtbot, monkeypatch):
    widget, s = shown
    s = _as_built(widget, s, {"atom_b": {"A/1/CA": [20.0, 1.0]}})  # as Review model makes it
    rows = [replace(r, seqid=r.seqid + 99) for r in s.residues]  # the file numbers from 100
    s.replace(rows)
    asked = []
    monkeypatch.setattr(_sequence_edit.QFileDialog, "getOpenFileName",
                        lambda *a: asked.append(a) or (str(FASTA), ""))  # fmt: skip
    _press(widget, qtbot, "Apply sequence...")
    assert len(asked) == 1 and widget.sequence_path == str(FASTA)
    assert button(widget, f"Sequence: {FASTA.name}")  # Auto-build goes on with it
    got = widget.session.residues
    assert [(r.chain, r.seqid) for r in got] == [(r.chain, r.seqid) for r in rows]
    assert "".join(ONE_LETTER[r.name] for r in got) == SEQUENCE
    assert "chains and numbers kept as the model file has them" in widget.status.text()
    assert s.meta["chain_sequences"] == {"A": "X" * 99 + SEQUENCE}


def test_applying_a_sequence_is_refused_with_the_reason(shown, qtbot, monkeypatch, tmp_path):
    widget, s = shown
    said: list[str] = []
    monkeypatch.setattr(_sequence_edit, "notify_error", said.append)
    rows = s.residues
    assert widget.review.apply_sequence(str(FASTA)) is None  # the model has no probabilities
    assert said[-1].startswith("classify the residues first")
    _as_built(widget, s)
    rows = widget.session.residues
    text = tmp_path / "model.fasta"  # a model file chosen by mistake
    text.write_text("ATOM      1  N   MET A   1      11.104  13.207   2.100  1.00 20.00\n")
    assert widget.review.apply_sequence(str(text)) is None
    assert str(text) in said[-1]
    monkeypatch.setattr(_sequence_edit.QFileDialog, "getOpenFileName", lambda *a: ("", ""))
    assert widget.review.apply_sequence() is None  # the dialog cancelled: nothing happens
    assert widget.session.residues is rows and widget.sequence_path is None
