"""The review panel's residue table: one row per residue, sortable by any column.

Columns: residue, type (* corrected by hand), confidence, the runner-up type and its
probability, density fit (mean map value at the residue's atoms, sigma), Ramachandran outlier,
the peptide bond before the residue, and, once the panel's Difference map has set the model
against the measured data, the mean of the model's mFo-DFc map at the residue's atoms (blank for
residues changed since; the column is hidden until then). After an edit only the rows of the
residues it changed and of their neighbours (whose Ramachandran and peptide columns depend on
them) are worked out again, so correcting one residue of a large model costs what one row
costs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

if TYPE_CHECKING:
    from ..maps import DensityMap
    from ..residue_state import ResidueState
    from ..session import Session

COLUMNS = ("residue", "type", "conf.", "runner-up", "fit σ", "Rama", "peptide", "diff σ")
#: Header tooltips: what each column holds.
COLUMN_TIPS = (
    "chain and residue number",
    "residue type (* corrected by hand)",
    "confidence, 0-100 (detector score x probability of the type)",
    "most likely other type and its probability",
    "density fit: mean map value at the residue's atoms (sigma; blank without atoms, or with "
    "atoms outside the map's box)",
    "Ramachandran outlier: phi/psi in the outlier region (sort to bring them to the top)",
    "the peptide bond before the residue: twisted (never right), cis (before a residue other "
    "than proline: rare in proteins, so look at it) or cis-Pro; sort to bring them to the top",
    "after Difference map: mean of the model's mFo-DFc map at the residue's atoms (sigma); "
    "sorted, the most negative first: atoms the measured data do not support (blank until "
    "computed, and for residues changed since)",
)
#: Sort order of the peptide column: the worst first.
PEPTIDE_ORDER = {"twisted": -3.0, "cis": -2.0, "cis-Pro": -1.0, "": 0.0}
#: The table shows at least this many rows.
MIN_ROWS = 5
#: Up to this many residues changed by an edit, only their rows (and their neighbours') are
#: worked out again; past it, or when residues come or go, the whole table is refilled.
PATCH_MAX = 50


class _Number(QTableWidgetItem):
    """A table cell that sorts by its value (a number, or a tuple such as (chain, number))."""

    def __init__(self, value: float | tuple, text: str):
        super().__init__(text)
        if isinstance(value, tuple):
            self.value = value
        else:
            self.value = (float(value) if np.isfinite(value) else -1e9,)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        return self.value < getattr(other, "value", ())


class ResidueTable(QTableWidget):
    """The residue table; :meth:`show_session` brings it up to date with a session.

    Attributes
    ----------
    fit
        (N,) density fit of each residue (sigma; NaN without atoms or map).
    filling
        True while rows are being set (selection signals then come from the table itself).
    """

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels(COLUMNS)
        for c, tip in enumerate(COLUMN_TIPS):
            self.horizontalHeaderItem(c).setToolTip(tip)
        header = self.horizontalHeader()
        self._fit_columns(True)
        header.setMinimumSectionSize(36)
        self.verticalHeader().setVisible(False)  # row numbers mean nothing once sorted
        self.setWordWrap(False)  # one line per row: "ASN 0.13", never "ASN" over "0.13"
        rows = self.verticalHeader().defaultSectionSize()
        self.setMinimumHeight(MIN_ROWS * rows + header.sizeHint().height())
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSortingEnabled(True)
        # in chain order until the user sorts by a column (Qt's own first order is descending)
        self.sortByColumn(COLUMNS.index("residue"), Qt.SortOrder.AscendingOrder)
        self.fit = np.zeros(0)
        self.filling = False
        self._shown_session = None  # the session the table shows
        self._shown: list | None = None  # its residues when it was shown
        self._shown_map = None  # the map their fit was measured in
        #: mFo-DFc at residues' atoms: id(residue) -> (residue, value); a residue an edit
        #: replaced is not in it, so its cell is blank
        self._difference: dict[int, tuple] = {}
        self.setColumnHidden(COLUMNS.index("diff σ"), True)  # shown once there is something

    def show_session(self, s: Session, dmap: DensityMap | None) -> None:
        """Bring the rows up to date with session ``s`` (``dmap``: its map, or None): the
        rows of the residues replaced since the last call and of their neighbours, or every
        row after larger changes."""
        changed = None if s is not self._shown_session else self._changed(s.residues, dmap)
        if changed == []:
            return
        self.filling = True
        self.setSortingEnabled(False)
        self._fit_columns(False)
        if changed is None:
            self._fill(s, dmap)
        else:
            self._patch(s, dmap, changed)
        self._fit_columns(True)
        self.setSortingEnabled(True)
        self.filling = False
        self._shown_session, self._shown, self._shown_map = s, list(s.residues), dmap

    def set_difference(self, rows: list, values: np.ndarray) -> None:
        """Show ``values`` (mean mFo-DFc at each residue's atoms) for the residues ``rows``."""
        self._difference = {id(r): (r, float(v)) for r, v in zip(rows, values)}
        self.setColumnHidden(COLUMNS.index("diff σ"), False)
        if self._shown is None:
            return
        self.filling = True
        self.setSortingEnabled(False)
        column = COLUMNS.index("diff σ")
        for row in range(self.rowCount()):
            i = self.residue_of(row)
            if i is not None and i < len(self._shown):
                self.setItem(row, column, self._difference_item(i, self._shown[i]))
        self.setSortingEnabled(True)
        self.filling = False

    def difference(self, rows: list) -> np.ndarray:
        """Mean mFo-DFc at the atoms of each of ``rows`` (NaN: none, or changed since)."""
        got = (self._difference.get(id(r)) for r in rows)
        return np.array([v[1] if v is not None and v[0] is r else np.nan
                         for v, r in zip(got, rows)], dtype=float)  # fmt: skip

    def clear_difference(self) -> None:
        """No mFo-DFc values (another model or map): the column is hidden again."""
        self._difference = {}
        self.setColumnHidden(COLUMNS.index("diff σ"), True)

    def _difference_item(self, i: int, r: ResidueState) -> QTableWidgetItem:
        known = self._difference.get(id(r))
        value = known[1] if known is not None and known[0] is r else np.nan
        item = _Number((value,) if np.isfinite(value) else (1e9,),
                       f"{value:+.2f}" if np.isfinite(value) else "")  # fmt: skip
        item.setData(Qt.ItemDataRole.UserRole, i)
        return item

    def residue_of(self, row: int) -> int | None:
        """The residue index a table row shows."""
        item = self.item(row, 0)
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def select_residue(self, index: int) -> None:
        """Select the row of residue ``index`` (without selection signals to the panel)."""
        for row in range(self.rowCount()):
            if self.residue_of(row) == index:
                self.filling = True
                self.selectRow(row)
                self.filling = False
                return

    def _fit_columns(self, on: bool) -> None:
        """Columns sized to their contents (the last one takes what is left; a narrow dock
        scrolls sideways rather than squeeze a column into two cut lines), or fixed while
        cells are set: sized per cell set, refilling a table of N rows takes N^2 steps (196 s
        for a 1,764-residue model, 0.2 s fixed; benchmarks/bench_gui.py), and even one cell
        costs a pass over every row."""
        header = self.horizontalHeader()
        if not on:
            header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
            return
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

    def _changed(self, rows: list, dmap: DensityMap | None) -> list[int] | None:
        """Indices of the residues replaced since the table was filled; None where the table
        must be filled again (another map, residues added or removed, many changed)."""
        shown = self._shown
        if shown is None or dmap is not self._shown_map or len(shown) != len(rows):
            return None
        changed = [i for i, (a, b) in enumerate(zip(shown, rows)) if a is not b]
        return changed if len(changed) <= PATCH_MAX else None

    def _fill(self, s: Session, dmap: DensityMap | None) -> None:
        """Every row, from the whole session."""
        from ..review import density_fit, peptide_flags, rama_outliers

        self.fit = (density_fit(s, dmap) if dmap is not None
                    else np.full(len(s.residues), np.nan))  # fmt: skip
        st = s.structure() if any(r.atoms for r in s.residues) else None  # made once
        rama, peptides = rama_outliers(s, st), peptide_flags(s, st)
        self.setRowCount(len(s.residues))
        for i, r in enumerate(s.residues):
            self._set_row(i, i, r, rama[i], peptides[i])

    def _patch(self, s: Session, dmap: DensityMap | None, changed: list[int]) -> None:
        """The rows of residues ``changed`` and of their neighbours in the session's order,
        each worked out from the residue and its two neighbours."""
        from ..review import density_fit, peptide_flags, rama_outliers
        from ..session import Session

        n = len(s.residues)
        todo = sorted({j for i in changed for j in (i - 1, i, i + 1) if 0 <= j < n})
        rows = {self.residue_of(r): r for r in range(self.rowCount())}
        for j in todo:
            lo = max(j - 1, 0)
            window = Session(s.residues[lo : j + 2], None, s.meta, autosave=False)
            k = j - lo
            if dmap is not None:
                self.fit[j] = density_fit(window, dmap)[k]
            self._set_row(rows[j], j, s.residues[j], rama_outliers(window)[k],
                          peptide_flags(window)[k])  # fmt: skip

    def _set_row(self, row: int, i: int, r: ResidueState, rama: bool, peptide: str) -> None:
        alt = r.alternative
        cells = [_Number((r.chain, r.seqid, r.icode), f"{r.chain} {r.seqid}{r.icode}"),
                 QTableWidgetItem(r.name + (" *" if r.edited else "")),
                 _Number(r.confidence, f"{r.confidence:.0f}"),
                 _Number(alt[1], f"{alt[0]} {alt[1]:.2f}") if alt else _Number(np.nan, ""),
                 _Number(self.fit[i], f"{self.fit[i]:.2f}" if np.isfinite(self.fit[i]) else ""),
                 _Number(-float(rama), "outlier" if rama else ""),
                 _Number(PEPTIDE_ORDER[peptide], peptide)]  # fmt: skip
        for c, item in enumerate(cells):
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.setItem(row, c, item)
        self.setItem(row, len(cells), self._difference_item(i, r))
