"""The review panel's "Apply sequence...": a sequence given after the build.

The model's residues are typed by a FASTA file and, in a build's model, numbered by it and the
pieces of one molecule gathered into one chain (:func:`~..assign_sequence.assign_sequence`, off
the GUI thread; one undoable step). The file is the one chosen for Auto-build, else asked for
(and then chosen for Auto-build too). A model opened with Review model... keeps its chains and
numbers: its B-factors, waters and ligands are filed by them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from qtpy.QtWidgets import QFileDialog, QPushButton, QWidget

from ._reader import notify_error, notify_warning

if TYPE_CHECKING:
    from ..assign_sequence import SequenceEdit
    from ..build import StageProgress
    from ..maps import DensityMap
    from ..session import Session
    from ._build_widget import BuildWidget

TIP = (
    "Type the model's residues by a sequence (FASTA: the one chosen for Auto-build, else asked "
    "for): each piece of chain is aligned to it through the classifier's probabilities, as a "
    "build with the sequence aligns its fragments; residues it names otherwise take its type, "
    "their side chains posed and refined on the backbone they have, then with their chain "
    "neighbours around C-alphas held where they are (framed again where the classifier doubts "
    "the new type, as a build with the sequence does). A build's chains are "
    "numbered by it and the pieces of one molecule gathered into one chain; a model opened with "
    "Review model keeps its chains and numbers. Undo takes it back"
)


def ask_sequence_file(parent: QWidget) -> str | None:
    """A FASTA file chosen in a file dialog (None: cancelled)."""
    path, _ = QFileDialog.getOpenFileName(parent, "Sequence", "", "FASTA (*.fa *.fasta *.seq"
                                          " *.txt);;All files (*)")  # fmt: skip
    return path or None


def sequence_button() -> QPushButton:
    """The panel's "Apply sequence..." button."""
    button = QPushButton("Apply sequence...")
    button.setToolTip(TIP)
    return button


class SequenceAssignment:
    """Mixed into :class:`~._review_panel.ReviewPanel` (which has ``widget``, ``session``,
    ``current`` and the job runner of :class:`~._model_edits.ModelEdits`)."""

    widget: BuildWidget
    current: int | None

    def apply_sequence(self, path: str | None = None):
        """Type (and number) the model by the sequence in ``path`` (default: the one chosen for
        Auto-build, else asked for); returns the job, or None where nothing was started."""
        from ..errors import DensityBuildError
        from ..kept_parts import ATOM_B
        from ..sequence import protein_sequences

        s = self.session
        if s is None or not s.residues:
            notify_error("nothing built yet: no model to apply a sequence to")
            return None
        if not any(r.probs for r in s.residues):
            notify_error("classify the residues first: the sequence is aligned to them through "
                         "the classifier's probabilities")  # fmt: skip
            return None
        path = path or self.widget.sequence_path or ask_sequence_file(self)
        if not path:
            return None
        try:
            sequences = protein_sequences(path, notify_warning)
        except DensityBuildError as e:
            notify_error(str(e))
            return None
        self.widget._set_sequence(path)  # Auto-build goes on with it
        clf, _ = self.widget._load("classifier")
        refine = self.widget.refine_box.isChecked()
        renumber = ATOM_B not in s.meta  # a model from a file keeps its chains and numbers
        current = self.current

        def run(snap: Session, _index: int | None, dmap: DensityMap, progress: StageProgress):
            from ..assign_sequence import assign_sequence

            edit = assign_sequence(snap, sequences, dmap, clf, refine, renumber, progress)
            return replace(edit, text=f"{edit.text}; Undo takes it back")

        def landed(edit: SequenceEdit, _start: list, _index: int | None) -> None:
            s.meta["chain_sequences"] = {**(s.meta.get("chain_sequences") or {}),
                                         **edit.chain_sequences}  # fmt: skip
            s.save_autosave()

        def built(edit: SequenceEdit) -> list[int]:
            # the residue under review stays so, wherever the chains put it
            return [edit.order.index(current)] if current in edit.order else []

        return self._edit_job("Apply sequence", run, "sequence not applied: the model changed "
                              "meanwhile", built=built, needs_current=False,
                              landed=landed)  # fmt: skip
