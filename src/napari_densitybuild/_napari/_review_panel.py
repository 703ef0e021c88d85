"""Review and correction: a residue table, "Next doubtful residue", type changes, undo/redo.

The table lists every residue with its confidence, the runner-up type and its probability
(close ASP/ASN, GLU/GLN and VAL/THR calls are the classifier's usual doubts) and its density
fit (mean map value at its atoms, sigma), and sorts by any column. "Next doubtful residue"
walks the residues from the least confident (skipping those already corrected), moves the
camera there and selects it. The type of the selected residue is changed from a list ordered by
the classifier's probabilities or by typing its one-letter code and Enter (Enter on the empty
field goes to the next doubtful residue, so review runs from the keyboard); its atoms are then
predicted again for the new type (pose head) and refined in place, off the GUI thread, and the
change lands with them (:mod:`._corrections`). Under the type list, the
current residue's H-bond partners (:mod:`~..contacts`, also drawn as the ``H-bonds`` layers) and,
for ASP/ASN, GLU/GLN and VAL/THR, what they suggest. "Next unmodelled blob" finds the density
the model leaves unexplained (:mod:`~..blobs`, off the GUI thread; an edit clears them, and the
next press looks again) and moves the camera from blob to blob, largest first. "Next chain
break" goes from one chain end or gap to the next; "Close gap" joins the piece of chain that goes
on there or builds the residues missing between (:mod:`~..gaps`, off the GUI thread). Every
change can be undone and redone, and is autosaved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import DensityBuildError
from ..session import parse_type
from ._corrections import TypeCorrections
from ._reader import notify_error
from ._residue_table import ResidueTable

if TYPE_CHECKING:
    from ..blobs import Blob
    from ..build import StageProgress
    from ..gaps import GapClosure
    from ..maps import DensityMap
    from ..peptide_switch import PeptideSwitch
    from ..residue_state import ResidueState
    from ..session import Session
    from ._build_widget import BuildWidget


class ReviewPanel(QWidget):
    """The review half of :class:`~._build_widget.BuildWidget`."""

    def __init__(self, widget: BuildWidget) -> None:
        super().__init__()
        self.widget = widget
        self.table = ResidueTable()
        self.next_button = QPushButton("Next doubtful residue")
        self.blob_button = QPushButton("Next unmodelled blob")
        self.blob_button.setToolTip(
            "Density at or above 1.5 sigma more than 2 A from the model (crystal copies "
            "included), largest first: chain ends, loops, ligands, glycans not built"
        )
        self.break_button = QPushButton("Next chain break")
        self.break_button.setToolTip(
            "The next place a chain stops or has a gap, in model order, with the nearest start "
            "of another piece of chain (crystal copies included) within 11 A: a gap to close, "
            "or a stray end to delete"
        )
        self.close_gap_button = QPushButton("Close gap")
        self.close_gap_button.setToolTip(
            "At a chain break (the current residue ends or starts a piece of chain): join the "
            "piece that goes on there (as Next chain break names it) by a peptide, or build the "
            "one or two residues missing between into the density (refused under 1.75 sigma), "
            "classify them and refine the stretch"
        )
        self._blobs: list | None = None
        self._blobs_of = None  # the residue list they were found for
        self._blob_index = -1
        self.type_combo = QComboBox()
        self.letter = QLineEdit()
        self.letter.setMaxLength(3)
        self.letter.setPlaceholderText("type: W or TRP; Enter: next")
        self.letter.setToolTip(
            "Type a one-letter or three-letter code and press Enter to change the residue's "
            "type; press Enter with the field empty to go to the next doubtful residue."
        )
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint.setToolTip(
            "Polar atoms within 3.4 A of the side chain's N and O (crystal copies included): "
            "an acceptor-only partner (backbone O, ASP/GLU O) at an end makes it an amide N; "
            "donor-only partners (backbone N, LYS, ARG) at both ends make an acid."
        )
        self.peptide_button = QPushButton("Cis/trans peptide")
        self.peptide_button.setToolTip(
            "Rebuild the peptide before the current residue the other way round (trans to cis "
            "before a proline, cis to trans anywhere), turned to the highest map, and refine "
            "the residues around it; the status bar says how the map at the two residues changed"
        )
        self.delete_button = QPushButton("Delete residue")
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.export_button = QPushButton("Export model...")
        self.current: int | None = None
        self.corrections = TypeCorrections(widget, self._type_applied)

        row1 = QHBoxLayout()
        row1.addWidget(QLabel("Type"))
        row1.addWidget(self.type_combo, 2)
        row1.addWidget(self.letter, 1)
        row2 = QHBoxLayout()
        for b in (self.peptide_button, self.delete_button, self.undo_button, self.redo_button,
                  self.export_button):  # fmt: skip
            row2.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        row0 = QHBoxLayout()
        row0.addWidget(self.next_button)
        row0.addWidget(self.blob_button)
        row0.addWidget(self.break_button)
        row0.addWidget(self.close_gap_button)
        layout.addLayout(row0)
        layout.addLayout(row1)
        layout.addWidget(self.hint)
        layout.addLayout(row2)

        self.table.itemSelectionChanged.connect(self._on_table_selection)
        self.next_button.clicked.connect(self.next_doubtful)
        self.blob_button.clicked.connect(self.next_blob)
        self.break_button.clicked.connect(self.next_break)
        self.close_gap_button.clicked.connect(self.close_gap)
        self.type_combo.activated.connect(self._on_combo)
        self.letter.returnPressed.connect(self._on_letter)
        self.peptide_button.clicked.connect(self.switch_peptide)
        self.delete_button.clicked.connect(self.delete_current)
        self.undo_button.clicked.connect(self.undo)
        self.redo_button.clicked.connect(self.redo)
        self.export_button.clicked.connect(lambda: self.widget.export())

    @property
    def session(self):
        return self.widget.session

    # -- table -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Bring the table (and the type list) up to date with the session: the rows of the
        residues an edit changed (and their chain neighbours, whose Ramachandran and peptide
        columns depend on them), or every row after larger changes."""
        s = self.session
        if s is None:
            return
        self.table.show_session(s, self.widget.kept_dmap())  # never read on the GUI thread
        self.undo_button.setEnabled(s.can_undo)
        self.redo_button.setEnabled(s.can_redo)
        if self.current is not None and self.current >= len(s.residues):
            self.current = None
        if self._blobs is not None and self._blobs_of is not s.residues:
            self._blobs = self._blobs_of = None  # the model changed: those blobs are stale
            self.widget.sync.show_blobs([])
        self._fill_types()

    def _on_table_selection(self) -> None:
        if self.table.filling:
            return
        items = self.table.selectedItems()
        if items:
            self.show_residue(int(items[0].data(Qt.ItemDataRole.UserRole)), select_row=False)

    def follow_selection(self, indices: list[int]) -> None:
        """The boxes layer's selection changed: make its first residue the current one."""
        if indices and indices[0] != self.current:
            self.current = indices[0]
            self._fill_types()

    def show_residue(self, index: int, select_row: bool = True) -> None:
        """Make residue ``index`` current: camera, selection, type list."""
        self.current = index
        self.widget.sync.centre_on(index)
        self.widget.controls.local.zoom_in()
        if select_row:
            self.table.select_residue(index)
        self._fill_types()

    def next_doubtful(self) -> int | None:
        """Go to the next least confident residue not yet corrected."""
        if self.session is None:
            notify_error("nothing to review yet: run Auto-build or Auto-place first")
            return None
        index = self.session.doubtful(after=self.current)
        if index is None:
            notify_error("no residue left to review")
            return None
        self.show_residue(index)
        self.letter.setFocus()  # type a code, or Enter again for the next one
        return index

    def next_break(self) -> int | None:
        """Go to the next chain end or gap after the current residue (model order, wrapping)
        and say in the status line where the nearest other piece of chain goes on."""
        from ..breaks import chain_breaks

        s = self.session
        if s is None or not s.residues:
            notify_error("nothing built yet: no chains to look at")
            return None
        breaks = chain_breaks(s)
        after = -1 if self.current is None else self.current
        b = next((b for b in breaks if b.end > after), breaks[0])
        self.show_residue(b.end)
        self.widget.status.setText(f"Break {breaks.index(b) + 1} of {len(breaks)}: "
                                   f"{b.describe(s.residues)}")  # fmt: skip
        return b.end

    def close_gap(self):
        """Close the chain break at the current residue (:func:`~..gaps.close_gap`) off the GUI
        thread; the change lands in one undoable step unless the model changed meanwhile."""
        from ..breaks import chain_breaks
        from ..gaps import close_gap
        from ..session import Session

        s = self.session
        if s is None or self.current is None:
            notify_error("go to a chain break first (Next chain break)")
            return None
        brk = next((b for b in chain_breaks(s) if self.current in (b.end, b.start)), None)
        if brk is None:
            notify_error(f"{s.residues[self.current].label} is not at a chain break: "
                         "Next chain break finds them")  # fmt: skip
            return None
        clf, _ = self.widget._load("classifier")
        rows, refine = s.residues, self.widget.refine_box.isChecked()

        def job(progress: StageProgress, dmap: DensityMap):
            snapshot = Session(rows, None, s.meta, autosave=False)
            return close_gap(snapshot, brk, dmap, clf, refine=refine, progress=progress)

        def done(closed: GapClosure):
            if not self._unchanged(s, rows, "gap not closed: the model changed while it was built"):
                return
            s.replace(closed.rows)
            self.current = closed.built[0]
            self.widget.refresh()
            self.widget.sync.select(closed.built)
            self.widget.status.setText(closed.text)

        return self.widget._start("Close gap", job, done)

    def _unchanged(self, s: Session, rows: list[ResidueState], refused: str) -> bool:
        """Whether session ``s`` is still the widget's and still holds ``rows`` (a job's result
        applies only then); else ``refused`` goes to the status bar and a notification."""
        if self.session is s and s.residues is rows:
            return True
        self.widget.status.setText(refused)
        notify_error(refused)
        return False

    def switch_peptide(self):
        """Switch the peptide before the current residue between cis and trans
        (:func:`~..peptide_switch.switch_peptide`) off the GUI thread; one undoable step."""
        from ..peptide_switch import switch_peptide
        from ..session import Session

        s = self.session
        if s is None or self.current is None:
            notify_error("select a residue first: the peptide before it is switched")
            return None
        rows, index, refine = s.residues, self.current, self.widget.refine_box.isChecked()

        def job(progress: StageProgress, dmap: DensityMap):
            return switch_peptide(Session(rows, None, s.meta, autosave=False), index, dmap, refine)

        def done(switched: PeptideSwitch):
            if not self._unchanged(s, rows, "peptide not switched: the model changed meanwhile"):
                return
            s.replace(switched.rows)
            self.widget.refresh()
            self.widget.status.setText(switched.text)

        return self.widget._start("Cis/trans peptide", job, done)

    def next_blob(self):
        """Go to the next unmodelled blob (found first, or again after the model changed)."""
        s = self.session
        if s is None or not s.residues:
            notify_error("nothing built yet: no model to compare the map with")
            return None
        if self._blobs is not None and self._blobs_of is s.residues:
            return self._go_to_blob()
        residues = s.residues
        xyz = np.array([a[1:] for r in residues for a in r.atoms], dtype=float).reshape(-1, 3)

        def job(progress: StageProgress, dmap: DensityMap):
            from ..blobs import unmodelled_blobs

            return unmodelled_blobs(dmap, xyz)

        def done(blobs: list[Blob]):
            self._blobs, self._blobs_of, self._blob_index = blobs, residues, -1
            self.widget.sync.show_blobs(blobs)
            self._go_to_blob()

        return self.widget._start("Find blobs", job, done)

    def _go_to_blob(self) -> int | None:
        if not self._blobs:
            notify_error("no unmodelled blob: the model explains the map at 1.5 sigma")
            return None
        self._blob_index = (self._blob_index + 1) % len(self._blobs)
        b = self._blobs[self._blob_index]
        self.widget.sync.centre_at(b.centre)
        self.widget.controls.local.zoom_in()
        self.widget.status.setText(f"Blob {self._blob_index + 1} of {len(self._blobs)}: "
                                   f"{b.volume:.0f} A^3, peak {b.peak:.1f} sigma")  # fmt: skip
        return self._blob_index

    # -- corrections -----------------------------------------------------------------------------
    def _fill_types(self) -> None:
        self.type_combo.clear()
        self.hint.setText("")
        if self.session is None or self.current is None:
            return
        r = self.session.residues[self.current]
        self.hint.setText(self._hint(self.current))
        for name in r.ranked_types():
            p = r.probs[parse_type(name)] if r.probs else float("nan")
            self.type_combo.addItem(f"{name}  p={p:.2f}" if r.probs else name, name)
        self.type_combo.setCurrentIndex(max(self.type_combo.findData(r.name), 0))

    def _hint(self, index: int) -> str:
        """The H-bond line of residue ``index`` (the layers' contacts when it is selected)."""
        from ..contacts import contact_hint, polar_contacts

        sync = self.widget.sync
        contacts = (sync.contacts if sync.selected()[:1] == [index]
                    else polar_contacts(self.session, index))  # fmt: skip
        return contact_hint(self.session.residues[index].name, contacts)

    def _on_combo(self, row: int) -> None:
        name = self.type_combo.itemData(row)
        if name:
            self.set_type(name)

    def _on_letter(self) -> None:
        text = self.letter.text().strip()
        self.letter.clear()
        if text:
            self.set_type(text)
        else:
            self.next_doubtful()

    def set_type(self, value: str | int, index: int | None = None) -> bool:
        """Change the current (or ``index``) residue's type; with a pose head its atoms are
        predicted again off the GUI thread and the change lands with them
        (:mod:`._corrections`). False where nothing was changed or queued."""
        index = self.current if index is None else index
        if self.session is None or index is None:
            notify_error("select a residue first (click a box or a table row)")
            return False
        try:
            t = parse_type(value)
            clf, _ = self.widget._load("classifier")
        except DensityBuildError as e:
            notify_error(str(e))
            return False
        if clf is not None and clf.has_poses:
            self.corrections.request(index, t, refine=self.widget.refine_box.isChecked())
            return True
        self.session.set_type(index, t)
        self.current = index
        self._type_applied(index)
        return True

    def _type_applied(self, index: int) -> None:
        """A type change landed: redraw, keeping the residue the user is on selected."""
        if self.current is None:
            self.current = index
        self.widget.refresh()
        self.widget.sync.select([self.current])

    def delete_current(self) -> None:
        """Delete the current residue."""
        if self.session is None or self.current is None:
            notify_error("select a residue first")
            return
        self.session.delete(self.current)
        self.current = None
        self.widget.refresh()

    def undo(self) -> bool:
        """Undo the last edit."""
        ok = self.session is not None and self.session.undo()
        self.widget.refresh()
        return ok

    def redo(self) -> bool:
        """Redo the last undone edit."""
        ok = self.session is not None and self.session.redo()
        self.widget.refresh()
        return ok
