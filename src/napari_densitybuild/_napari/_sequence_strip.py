"""The model as a strip of one-letter codes, coloured by confidence (Coot's sequence view).

Each chain starts a line of its residues' one-letter codes, wrapped to the panel's width and
labelled with the chain and the number of the line's first residue; where a chain's piece ends
and the next begins (C-alphas more than a peptide apart, :func:`~..breaks.pieces`) a ``/``
stands between them. Each code sits on its residue's confidence colour (red 0, yellow 50, green
100, as the boxes' borders; grey before classification), so the weak stretches of a model (a
loop, a fragment's end) show at a glance; its context menu colours them by density fit instead
(mean map value at the atoms: red at 1 sigma or under, green at 2 or over) or, once "Difference
map" has been pressed, by the mFo-DFc map at the atoms (red at -1 sigma or under: the data do not
support the residue; green at 0 or over; grey where the residue changed since); a type corrected by
hand is underlined and the residue under review is framed. A click on a code makes that residue
current, as a row of the table does; a tooltip gives its type, confidence and runner-up.

:func:`strip_lines` lays the strip out with no Qt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import QEvent, QPoint, QRect, Qt, Signal
from qtpy.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
)
from qtpy.QtWidgets import QMenu, QScrollArea, QToolTip, QWidget

from ..breaks import pieces
from ..residues import ONE_LETTER
from ._build_layers import UNKNOWN_COLOUR, confidence_colours

if TYPE_CHECKING:
    from ..residue_state import ResidueState
    from ..session import Session

#: A cell of the strip that stands for a break between two pieces of one chain.
BREAK = -1
#: Pixels around each code, across and down.
PAD_X, PAD_Y = 6, 6
#: What the codes can be coloured by (the context menu's choices).
MODES = ("confidence", "density fit", "difference map")
#: Density fit (mean map value at a residue's atoms, sigma) drawn red at or under the first
#: (where the model's checks flag weak density), green at or over the second.
FIT_RANGE = (1.0, 2.0)
#: Mean mFo-DFc at a residue's atoms (sigma) drawn red at or under the first (the data do not
#: support the residue as built), green at or over the second.
DIFFERENCE_RANGE = (-1.0, 0.0)


def fit_colours(fit: np.ndarray, value_range: tuple[float, float] = FIT_RANGE) -> np.ndarray:
    """RGBA (N, 4) of per-residue values (default: density fits, sigma): red at
    ``value_range``'s low end or under, yellow half-way, green at its top or over; grey where
    there is no value (NaN)."""
    fit = np.asarray(fit, dtype=float)
    lo, hi = value_range
    colours = confidence_colours(100.0 * (np.nan_to_num(fit, nan=lo) - lo) / (hi - lo))
    colours[~np.isfinite(fit)] = UNKNOWN_COLOUR
    return colours


def strip_lines(chains: Sequence[str], piece: np.ndarray, per_line: int) -> list[list[int]]:
    """The strip's lines: lists of residue indices, with :data:`BREAK` between two pieces of
    one chain; each chain starts a new line, and no line holds more than ``per_line`` cells.

    Parameters
    ----------
    chains
        Chain name of every residue, in model order.
    piece
        (N,) piece index of every residue (:func:`~..breaks.pieces`).
    per_line
        Cells per line (at least 1).

    Examples
    --------
    >>> strip_lines(["A", "A", "A", "B"], np.array([0, 0, 1, 2]), 8)
    [[0, 1, -1, 2], [3]]
    >>> strip_lines(["A", "A", "A"], np.array([0, 0, 1]), 2)
    [[0, 1], [-1, 2]]
    """
    per_line = max(int(per_line), 1)
    lines: list[list[int]] = []
    for i, chain in enumerate(chains):
        if i == 0 or chain != chains[i - 1]:
            lines.append([])
        elif piece[i] != piece[i - 1]:
            if len(lines[-1]) >= per_line:
                lines.append([])
            lines[-1].append(BREAK)
        if len(lines[-1]) >= per_line:
            lines.append([])
        lines[-1].append(i)
    return lines


class SequenceStrip(QWidget):
    """The strip (put it in a ``QScrollArea`` with ``widgetResizable``); :meth:`show_session`
    fills it, :meth:`set_current` frames the residue under review.

    Signals
    -------
    residue_clicked(int)
        A code was clicked: the index of its residue.
    """

    residue_clicked = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        fm = self.fontMetrics()
        self.cell_w = fm.horizontalAdvance("W") + PAD_X
        self.line_h = fm.height() + PAD_Y
        self.label_w = self._label_width([])
        self.letters: list[str] = []
        self.chains: list[str] = []
        self._rows: list[ResidueState] = []
        self.edited = np.zeros(0, dtype=bool)
        self.colours = np.zeros((0, 4))
        self.mode = MODES[0]
        self.fit = np.zeros(0)
        self.difference = np.zeros(0)  # mean mFo-DFc at each residue's atoms (NaN: none)
        self.piece = np.zeros(0, dtype=int)
        self.labels: list[str] = []  # "A 12" per residue
        self.lines: list[list[int]] = []
        self.current: int | None = None
        self._per_line = 0
        self._cells: dict[int, tuple[int, int]] = {}  # residue -> (line, column)

    # -- contents ------------------------------------------------------------------------------
    def show_session(
        self,
        session: Session | None,
        fit: np.ndarray | None = None,
        difference: np.ndarray | None = None,
    ) -> None:
        """Show the residues of ``session`` (none for None), with their density fit and mean
        mFo-DFc at their atoms (sigma, NaN where unknown) if given."""
        rows = session.residues if session is not None else []
        self.letters = [ONE_LETTER.get(r.name, "X") for r in rows]
        self.chains = [r.chain for r in rows]
        self.labels = [f"{r.chain} {r.seqid}{r.icode}" for r in rows]
        self.label_w = self._label_width(self.labels)
        self.edited = np.array([r.edited for r in rows], dtype=bool)
        self._rows = rows
        self.piece = pieces(session) if rows else np.zeros(0, dtype=int)
        if self.current is not None and self.current >= len(rows):
            self.current = None
        self.fit = np.full(len(rows), np.nan)
        self.difference = np.full(len(rows), np.nan)
        self.set_fit(fit, difference)
        self._layout()

    def set_fit(self, fit: np.ndarray | None, difference: np.ndarray | None = None) -> None:
        """The residues' density fit and mean mFo-DFc at their atoms (sigma; None: as they
        are; NaN: unknown)."""
        for name, values in (("fit", fit), ("difference", difference)):
            if values is not None and len(values) == len(self._rows):
                setattr(self, name, np.asarray(values, dtype=float).copy())
        self.set_mode(self.mode)

    def set_mode(self, mode: str) -> None:
        """Colour the codes by ``mode``, one of :data:`MODES`."""
        self.mode = mode
        if mode == "density fit":
            self.colours = fit_colours(self.fit)
        elif mode == "difference map":
            self.colours = fit_colours(self.difference, DIFFERENCE_RANGE)
        else:
            rows = self._rows
            conf = np.array([r.confidence for r in rows], dtype=float)
            self.colours = confidence_colours(conf) if rows else np.zeros((0, 4))
            self.colours[np.array([r.type < 0 for r in rows], dtype=bool)] = UNKNOWN_COLOUR
        self.update()

    def _label_width(self, labels: list[str]) -> int:
        """Room for the longest line label (at least "A 999")."""
        fm = self.fontMetrics()
        longest = max(labels, key=len, default="")
        return max(fm.horizontalAdvance("A 999"), fm.horizontalAdvance(longest)) + 2 * PAD_X

    def tip(self, index: int) -> str:
        """The tooltip of residue ``index``: type, chain, number, confidence, runner-up."""
        r = self._rows[index]
        text = f"{r.name} {r.chain} {r.seqid}{r.icode}: confidence {r.confidence:.0f}"
        alt = r.alternative
        if alt is not None:
            text += f", runner-up {alt[0]} {alt[1]:.2f}"
        if np.isfinite(self.fit[index]):
            text += f", fit {self.fit[index]:.1f} σ"
        if np.isfinite(self.difference[index]):
            text += f", mFo-DFc {self.difference[index]:+.2f} σ"
        return text + (", type corrected by hand" if r.edited else "")

    def set_current(self, index: int | None) -> None:
        """Frame residue ``index`` (None: none)."""
        if index != self.current:
            self.current = index
            self.update()

    # -- geometry ------------------------------------------------------------------------------
    def per_line(self) -> int:
        """Codes per line at the widget's width."""
        return max((self.width() - self.label_w - PAD_X) // self.cell_w, 1)

    def _layout(self) -> None:
        self._per_line = self.per_line()
        self.lines = strip_lines(self.chains, self.piece, self._per_line)
        self._cells = {i: (k, j) for k, line in enumerate(self.lines)
                       for j, i in enumerate(line) if i != BREAK}  # fmt: skip
        self.setMinimumHeight(max(len(self.lines), 1) * self.line_h + PAD_Y)
        self.update()

    def cell_rect(self, index: int) -> QRect:
        """Where residue ``index``'s code is drawn (an empty rectangle if it is not shown)."""
        if index not in self._cells:
            return QRect()
        k, j = self._cells[index]
        return QRect(self.label_w + j * self.cell_w, PAD_Y // 2 + k * self.line_h,
                     self.cell_w - 1, self.line_h - 2)  # fmt: skip

    def index_at(self, pos: QPoint) -> int | None:
        """The residue whose code is at ``pos``, or None."""
        k = (pos.y() - PAD_Y // 2) // self.line_h
        j = (pos.x() - self.label_w) // self.cell_w
        if pos.x() < self.label_w or not 0 <= k < len(self.lines) or j >= len(self.lines[k]):
            return None
        i = self.lines[k][j]
        return None if i == BREAK else i

    # -- Qt ------------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        if self.lines and self.per_line() != self._per_line:
            self._layout()
        super().resizeEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.index_at(event.position().toPoint() if hasattr(event, "position")
                              else event.pos())  # fmt: skip
        if index is not None and event.button() == Qt.MouseButton.LeftButton:
            self.residue_clicked.emit(index)
        super().mousePressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = QMenu(self)
        for mode in MODES:
            action = menu.addAction(f"Colour by {mode}")
            action.setCheckable(True)
            action.setChecked(mode == self.mode)
            if mode == "difference map" and not np.isfinite(self.difference).any():
                action.setText("Colour by difference map (press Difference map first)")
                action.setEnabled(mode == self.mode)
            action.triggered.connect(lambda _=False, m=mode: self.set_mode(m))
        menu.exec(event.globalPos())

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            index = self.index_at(event.pos())
            if index is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.tip(index), self)
            return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            self._paint(painter, event.rect())
        finally:
            painter.end()

    def _paint(self, painter: QPainter, area: QRect) -> None:
        text = self.palette().color(QPalette.ColorRole.WindowText)
        first = max((area.top() - PAD_Y // 2) // self.line_h, 0)
        last = min((area.bottom() - PAD_Y // 2) // self.line_h, len(self.lines) - 1)
        font, underlined = self.font(), QFont(self.font())
        underlined.setUnderline(True)
        underlined.setBold(True)
        for k in range(first, last + 1):
            line = self.lines[k]
            top = PAD_Y // 2 + k * self.line_h
            label = next((self.labels[i] for i in line if i != BREAK), "")
            painter.setPen(text)
            painter.setFont(font)
            painter.drawText(QRect(0, top, self.label_w - PAD_X, self.line_h - 2),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                             label)  # fmt: skip
            for j, i in enumerate(line):
                rect = QRect(self.label_w + j * self.cell_w, top, self.cell_w - 1, self.line_h - 2)
                if i == BREAK:
                    painter.setPen(text)
                    painter.setFont(font)
                    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), "/")
                    continue
                r, g, b, _ = (0.85 * self.colours[i]).tolist()
                painter.fillRect(rect, QColor.fromRgbF(r, g, b))
                painter.setPen(QColor(Qt.GlobalColor.black))
                painter.setFont(underlined if self.edited[i] else font)
                painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), self.letters[i])
        if self.current is not None and self.current in self._cells:
            k = self._cells[self.current][0]
            if first <= k <= last:
                pen = painter.pen()
                pen.setColor(text)
                pen.setWidth(2)
                painter.setPen(pen)
                painter.drawRect(self.cell_rect(self.current).adjusted(0, 0, -1, -1))


class SequenceView(QScrollArea):
    """The strip in a scroll area a few lines high, kept up to date with a session and
    scrolled to the residue under review."""

    def __init__(self) -> None:
        super().__init__()
        self.strip = SequenceStrip()
        self.setWidget(self.strip)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMaximumHeight(3 * self.strip.line_h + PAD_Y + 2 * self.frameWidth())
        self._of: list | None = None  # the residue list shown

    def show_session(
        self,
        session: Session | None,
        fit: np.ndarray | None = None,
        difference: np.ndarray | None = None,
    ) -> None:
        """Show ``session``'s residues (unless they are the ones shown already) and their
        density fit and mean mFo-DFc (sigma) if given."""
        rows = session.residues if session is not None else None
        strip = self.strip
        if rows is not self._of:
            self._of = rows
            strip.show_session(session, fit, difference)
        elif any(v is not None and not np.array_equal(v, now, equal_nan=True)
                 for v, now in ((fit, strip.fit), (difference, strip.difference))):  # fmt: skip
            strip.set_fit(fit, difference)

    def set_current(self, index: int | None) -> None:
        """Frame residue ``index`` and scroll to it."""
        self.strip.set_current(index)
        rect = self.strip.cell_rect(index) if index is not None else None
        if rect is not None and not rect.isEmpty():
            centre = rect.center()
            self.ensureVisible(centre.x(), centre.y(), 0, self.strip.line_h)
