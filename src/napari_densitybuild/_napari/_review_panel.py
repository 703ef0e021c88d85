"""Review and correction: a residue table, "Next doubtful residue", type changes, undo/redo.

Above the table the model's one-letter codes run chain by chain, each on its confidence colour
(:mod:`._sequence_strip`); a click on one goes to that residue. The table lists every residue
with its confidence, the runner-up type and its probability (close ASP/ASN, GLU/GLN and VAL/THR
calls are the classifier's usual doubts) and its density fit (mean map value at its atoms,
sigma), and sorts by any column. "Next doubtful residue" walks the residues from the least
confident (skipping those already corrected), moves the camera there and selects it. The type of
the selected residue is changed from a list ordered by the classifier's probabilities or by
typing its one-letter code and Enter (a chain and number, such as A 42, goes to that residue;
Enter on the empty field goes to the next doubtful residue, so review runs from the keyboard);
its atoms are then predicted again for the new type (pose head) and refined in place, off the
GUI thread, and the change lands with them (:mod:`._corrections`). Under the type list, the
current residue's H-bond partners (:mod:`~..contacts`, also drawn as the ``H-bonds`` layers)
and, for ASP/ASN, GLU/GLN and VAL/THR, what they suggest. "Next unmodelled blob" finds the
density the model leaves unexplained (:mod:`~..blobs`, off the GUI thread; an edit clears them,
and the next press looks again) and moves the camera from blob to blob, largest first. "Next
problem" walks the residues the model's checks flag (:mod:`~..model_checks`). "Flip side chain"
turns an ASN, GLN or HIS over and "Next rotamer" walks the library rotamers of the current side
chain, best fit first (:mod:`~..side_chain_edit`). "Next chain break" goes from one chain end or
gap to the next; "Close gap" joins the piece of chain that goes on there or builds the residues
missing between (:mod:`~..gaps`, off the GUI thread; these jobs are in :mod:`._model_edits`).
"Difference map" and "Next difference peak" set the model against the measured amplitudes of its
MTZ file (:mod:`._difference_view`); "Find waters" adds ordered waters (:mod:`._water_view`;
"Remove waters" takes them out). "Ramachandran plot" opens the model's plot in a window of its
own (:mod:`._rama_plot`), and "crystal neighbours" draws the residues of its crystal copies at
its surface (:mod:`._neighbour_view`). "Apply sequence..." types and numbers the model by a
FASTA file (:mod:`._sequence_edit`). Every change to the residues can be undone and redone,
and is autosaved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from ..settings import ZONE_BESIDE
from ._corrections import TypeCorrections, type_hint
from ._difference_view import DifferenceView
from ._layer_sync import follow_rows
from ._model_edits import ModelEdits
from ._neighbour_view import NeighbourView, neighbours_checkbox
from ._rama_plot import RamaView
from ._reader import notify_error
from ._residue_table import ResidueTable
from ._sequence_edit import SequenceAssignment, sequence_button
from ._sequence_strip import SequenceView
from ._water_view import WaterView

if TYPE_CHECKING:
    from ._build_widget import BuildWidget


def _button(text: str, tip: str) -> QPushButton:
    """A push button with its tooltip."""
    button = QPushButton(text)
    button.setToolTip(tip)
    return button


class ReviewPanel(
    ModelEdits, DifferenceView, WaterView, RamaView, NeighbourView, SequenceAssignment, QWidget
):
    """The review half of :class:`~._build_widget.BuildWidget`."""

    def __init__(self, widget: BuildWidget) -> None:
        super().__init__()
        self.widget = widget
        self.table = ResidueTable()
        self.sequence = SequenceView()  # the model's codes by confidence; a click goes there
        self.next_button = QPushButton("Next doubtful residue")
        self.blob_button = _button(
            "Next unmodelled blob",
            "Density at or above 1.5 sigma more than 2 A from the model (crystal copies "
            "included), largest first: chain ends, loops, ligands, glycans not built",
        )
        self.problem_button = _button(
            "Next problem",
            "The next residue the model's checks flag: Ramachandran outliers, twisted and cis "
            "peptides, impossible contacts (crystal copies included), weak density (mean map "
            "at its atoms under 1 sigma), ASN, GLN and HIS whose H-bonds would score higher "
            "turned over (as densitybuild info MAP MODEL lists them)",
        )
        self.break_button = _button(
            "Next chain break",
            "The next place a chain stops or has a gap, in model order, with the nearest start "
            "of another piece of chain (crystal copies included) within 11 A: a gap to close, "
            "or a stray end to delete",
        )
        self.close_gap_button = _button(
            "Close gap",
            "At a chain break (the current residue ends or starts a piece of chain): join the "
            "piece that goes on there (as Next chain break names it) by a peptide, or build the "
            "one or two residues missing between into the density (refused under 1.75 sigma), "
            "classify them and refine the stretch",
        )
        self.add_button = _button(
            "Add residue",
            "At a chain end (the current residue ends or starts a piece of chain): build one "
            "residue more where the map shows the chain going on (refused under 1.75 sigma), "
            "classify it (or type it by the chain's sequence) and refine it with its "
            "neighbours; it becomes the current residue, so press again to go on",
        )
        self.difference_button = _button(
            "Difference map",
            "The model as it stands against the measured amplitudes of its MTZ file (FP/SIGFP "
            "with free flags, as refinement writes it): R-work and R-free in the status bar, "
            "and the model-phased mFo-DFc map drawn at +3 sigma (green: the data want more) "
            "and -3 sigma (red: the data do not support the model); press again after edits",
        )
        self.peak_button = _button(
            "Next difference peak",
            "The next peak of the model's mFo-DFc map over 3.5 sigma within 3 A of the model, "
            "largest first, with the atom nearest to it (the map is computed first, and again "
            "after edits)",
        )
        self.waters_button = _button(
            "Find waters",
            "Ordered waters beside the model as it stands: round peaks of the map at 1.5 sigma "
            "or more, 2.4-3.4 A from N and O and clear of the atoms; kept with the model's other "
            "atoms and written by Export (with measured amplitudes, only if they lower R-work)",
        )
        self.remove_waters_button = _button("Remove waters", "Take out the waters found")
        self.type_combo = QComboBox()
        self.letter = QLineEdit()
        self.letter.setMaxLength(10)
        self.letter.setPlaceholderText("W or TRP; A 42: go; Enter: next")
        self.letter.setToolTip(
            "Type a one-letter or three-letter code and press Enter to change the residue's "
            "type; a chain and number (A 42, or 42 in this chain) and Enter to go to that "
            "residue; Enter with the field empty to go to the next doubtful residue."
        )
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint.setToolTip(
            "Polar atoms within 3.4 A of the side chain's N and O (crystal copies included): "
            "an acceptor-only partner (backbone O, ASP/GLU O) at an end makes it an amide N; "
            "donor-only partners (backbone N, LYS, ARG) at both ends make an acid."
        )
        self.peptide_button = _button(
            "Cis/trans peptide",
            "Rebuild the peptide before the current residue the other way round (trans to cis "
            "before a proline, cis to trans anywhere), turned to the highest map, and refine "
            "the residues around it; the status bar says how the map at the two residues changed",
        )
        self.pepflip_button = _button(
            "Flip peptide",
            "Turn the peptide before the current residue over (its C, O and N by 180 degrees "
            "about the C-alpha axis) and refine the residues around it; the status bar gives "
            "the map at its O and the two residues' Ramachandran outliers before and after",
        )
        self.zone_button = _button(
            "Refine zone",
            f"Refine the current residue and {ZONE_BESIDE} chain neighbours on either side "
            "against the map, with ideal geometry and the rest of the model held",
        )
        self.refine_all_button = _button(
            "Refine all",
            "Refine the whole model against the map with ideal geometry, its peptides, "
            "rotamers and amide namings kept (after many hand edits); the status bar gives the "
            "map fit, the largest shift, the Ramachandran outliers and the bond RMSZ before "
            "and after",
        )
        self.flip_button = _button(
            "Flip side chain",
            "Turn the current ASN, GLN or HIS over (amide O and N, or the ring's N and C, swap "
            "places) and refine it; the status bar gives its H-bond score before and after",
        )
        self.rotamer_button = _button(
            "Next rotamer",
            "Put the current side chain in a library rotamer of its type, the best fit to the "
            "map first (clashes and the rotamer's frequency count too), and refine it; press "
            "again for the next one",
        )
        self.delete_button = QPushButton("Delete residue")
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.export_button = QPushButton("Export model...")
        self.rama_button = _button("Ramachandran plot", "The model's phi/psi, by residue class")
        self.neighbours_box = neighbours_checkbox()
        self.sequence_button = sequence_button()
        self._current: int | None = None
        self._current_rows: list = []  # the residues ``current`` indexes
        self.corrections = TypeCorrections(widget, self._type_applied)

        row1 = QHBoxLayout()
        row1.addWidget(QLabel("Type"))
        row1.addWidget(self.type_combo, 2)
        row1.addWidget(self.letter, 1)
        row_edit = QHBoxLayout()  # the chain
        for b in (self.add_button, self.close_gap_button, self.zone_button,
                  self.refine_all_button):  # fmt: skip
            row_edit.addWidget(b)
        row_side = QHBoxLayout()  # peptides and side chains
        for b in (self.pepflip_button, self.peptide_button, self.flip_button,
                  self.rotamer_button):  # fmt: skip
            row_side.addWidget(b)
        row2 = QHBoxLayout()
        for b in (self.delete_button, self.undo_button, self.redo_button, self.export_button):
            row2.addWidget(b)
        row_view = QHBoxLayout()  # the model as a whole
        for w in (self.sequence_button, self.rama_button, self.neighbours_box):
            row_view.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.sequence)
        layout.addWidget(self.table)
        row0 = QHBoxLayout()
        for b in (self.next_button, self.problem_button, self.blob_button, self.break_button):
            row0.addWidget(b)
        layout.addLayout(row0)
        row_data = QHBoxLayout()  # the model against the measured data
        for b in (self.difference_button, self.peak_button, self.waters_button,
                  self.remove_waters_button):  # fmt: skip
            row_data.addWidget(b)
        layout.addLayout(row_data)
        layout.addLayout(row1)
        layout.addWidget(self.hint)
        layout.addLayout(row_edit)
        layout.addLayout(row_side)
        layout.addLayout(row2)
        layout.addLayout(row_view)

        self.table.itemSelectionChanged.connect(self._on_table_selection)
        self.sequence.strip.residue_clicked.connect(self.show_residue)
        self.next_button.clicked.connect(self.next_doubtful)
        self.problem_button.clicked.connect(self.next_problem)
        self.blob_button.clicked.connect(self.next_blob)
        self.break_button.clicked.connect(self.next_break)
        self.difference_button.clicked.connect(lambda: self.difference_map())
        self.peak_button.clicked.connect(self.next_peak)
        self.waters_button.clicked.connect(lambda: self.find_waters())
        self.remove_waters_button.clicked.connect(self.remove_waters)
        self.close_gap_button.clicked.connect(self.close_gap)
        self.add_button.clicked.connect(self.add_residue)
        self.type_combo.activated.connect(self._on_combo)
        self.letter.returnPressed.connect(self._on_letter)
        self.peptide_button.clicked.connect(self.switch_peptide)
        self.pepflip_button.clicked.connect(self.flip_peptide)
        self.zone_button.clicked.connect(self.refine_zone)
        self.refine_all_button.clicked.connect(self.refine_all)
        self.flip_button.clicked.connect(self.flip_side_chain)
        self.rotamer_button.clicked.connect(self.next_rotamer)
        self.delete_button.clicked.connect(self.delete_current)
        self.undo_button.clicked.connect(self.undo)
        self.redo_button.clicked.connect(self.redo)
        self.export_button.clicked.connect(lambda: self.widget.export())
        self.rama_button.clicked.connect(self.show_rama)
        self.neighbours_box.toggled.connect(self.update_neighbours)
        self.sequence_button.clicked.connect(lambda: self.apply_sequence())

    @property
    def session(self):
        return self.widget.session

    @property
    def current(self) -> int | None:
        """The residue under review (index), or None; it follows its residue through edits."""
        return self._current

    @current.setter
    def current(self, index: int | None) -> None:
        rows = self._current_rows = self.session.residues if self.session is not None else []
        self._current = index if index is not None and 0 <= index < len(rows) else None
        self.sequence.set_current(self._current)
        self.update_rama()

    # -- table -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Bring the table (and the type list) up to date with the session: the rows of the
        residues an edit changed (and their chain neighbours, whose Ramachandran and peptide
        columns depend on them), or every row after larger changes."""
        s = self.session
        if s is None:
            self.sequence.show_session(None)
            return
        self.stale_peaks()  # first: another model's mFo-DFc values leave the table and strip
        self.table.show_session(s, self.widget.kept_dmap())  # never read on the GUI thread
        self.sequence.show_session(s, self.table.fit, self.table.difference(s.residues))
        self.undo_button.setEnabled(s.can_undo)
        self.redo_button.setEnabled(s.can_redo)
        if self._current is not None and self._current_rows is not s.residues:
            self.current = (*follow_rows([self._current], self._current_rows, s.residues), None)[0]
        if self._blobs is not None and self._blobs_of is not s.residues:
            self._blobs = self._blobs_of = None  # the model changed: those blobs are stale
            self.widget.sync.show_blobs([])
        self.update_rama()  # (the current residue's setter does too, where it moved)
        self.update_neighbours()
        self._fill_types()

    def close_views(self) -> None:
        """The panel's dock closed: close the Ramachandran plot, take the neighbours away."""
        self.close_rama()
        self.hide_neighbours()

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
        self.widget.controls.focus()
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

    # -- corrections -----------------------------------------------------------------------------
    def _fill_types(self) -> None:
        self.type_combo.clear()
        self.hint.setText("")
        if self.session is None or self.current is None:
            return
        r = self.session.residues[self.current]
        self.hint.setText(type_hint(self.widget, self.current))
        for name in r.ranked_types():
            p = r.probs[parse_type(name)] if r.probs else float("nan")
            self.type_combo.addItem(f"{name}  p={p:.2f}" if r.probs else name, name)
        self.type_combo.setCurrentIndex(max(self.type_combo.findData(r.name), 0))

    def _on_combo(self, row: int) -> None:
        name = self.type_combo.itemData(row)
        if name:
            self.set_type(name)

    def _on_letter(self) -> None:
        text = self.letter.text().strip()
        self.letter.clear()
        if any(c.isdigit() for c in text):
            self.go_to(text)
        elif text:
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
