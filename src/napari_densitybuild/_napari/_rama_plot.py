"""A Ramachandran plot of the model under review, as Coot and MolProbity draw one.

One plot per residue class (general, glycine, proline, pre-proline; :func:`~..geometry.
rama_class`), picked from a list: its favoured region (the densest phi/psi bins holding 98 % of
the residues of the training structures) and allowed region (above the outlier contour that
``evaluate`` and the model's checks use: :func:`~..geometry.rama_tables`) drawn behind the
model's residues of that class, outliers in red. A click on a residue makes it current, as a row
of the residue table does; the residue under review is ringed, and a tooltip names a residue
with its angles. The list says how many residues of each class there are and how many are
outliers. :func:`region_levels` and :func:`rama_points` work with no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from qtpy.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from qtpy.QtWidgets import QComboBox, QToolTip, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from ..session import Session
    from ._build_widget import BuildWidget

CLASSES = ("general", "glycine", "proline", "preproline")
#: Share of the training residues inside the favoured region (MolProbity's 98 %).
FAVOURED = 0.98
#: Region colours (RGB): outlier, allowed, favoured.
REGION_RGB = ((40, 40, 46), (70, 92, 120), (120, 160, 210))
#: A click picks the nearest residue within this many pixels.
PICK_PX = 8.0


def region_levels(density: np.ndarray, threshold: float, favoured: float = FAVOURED) -> np.ndarray:
    """Per phi/psi bin: 2 in the favoured region (the densest bins that hold ``favoured`` of
    the probability), 1 where allowed (density at or above the outlier ``threshold``), 0 in the
    outlier region.

    Examples
    --------
    >>> region_levels(np.array([[0.6, 0.3], [0.09, 0.01]]), 0.05, favoured=0.9).tolist()
    [[2, 2], [1, 0]]
    """
    flat = density.ravel()
    order = np.argsort(flat)[::-1]
    before = np.cumsum(flat[order]) - flat[order]  # probability of the denser bins
    levels = np.where(flat >= threshold, 1, 0)
    levels[order[before < favoured * flat.sum()]] = 2
    return levels.reshape(density.shape)


@dataclass(frozen=True)
class RamaPoint:
    """One residue on the plot: its index in the session, angles (degrees), class, outlier."""

    index: int
    phi: float
    psi: float
    kind: str
    outlier: bool


def rama_points(session: Session) -> list[RamaPoint]:
    """The residues of ``session`` with phi and psi (linked on both sides, with atoms), as
    :func:`~..geometry.ramachandran` measures and judges them."""
    from ..geometry import ramachandran
    from ..review import by_residue

    if not any(r.atoms for r in session.residues):
        return []
    rows = by_residue(session, ramachandran(session.structure()), lambda row: row, None)
    return [RamaPoint(i, row["phi"], row["psi"], row["class"], row["outlier"])
            for i, row in enumerate(rows) if row is not None]  # fmt: skip


class RamaCanvas(QWidget):
    """The plot itself: regions of one class, its residues, the current one ringed."""

    residue_clicked = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumSize(240, 240)
        self.kind = "general"
        self.points: list[RamaPoint] = []  # of ``kind``
        self.labels: dict[int, str] = {}
        self.current: int | None = None
        self._images: dict[str, QImage] = {}

    def region_image(self, kind: str) -> QImage:
        """The regions of class ``kind`` as an image, phi along x, psi up (made once)."""
        if kind not in self._images:
            from ..geometry import rama_tables

            t = rama_tables()
            levels = region_levels(t[kind], float(t[f"{kind}_threshold"]))
            rgb = np.array(REGION_RGB, dtype=np.uint8)[levels.T[::-1]]  # rows: psi from the top
            rgba = np.ascontiguousarray(np.dstack([rgb, np.full(levels.shape, 255, np.uint8)]))
            h, w = rgba.shape[:2]
            image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
            self._images[kind] = image.copy()  # own the pixels
        return self._images[kind]

    def plot_rect(self) -> QRectF:
        """The square the angles fill, with room for the axis labels."""
        label = self.fontMetrics().horizontalAdvance("-180")
        margin = label + 8
        side = max(min(self.width() - margin - label / 2 - 4, self.height() - margin - 6), 10)
        return QRectF(margin, 6, side, side)

    def position(self, phi: float, psi: float) -> QPointF:
        """Where (phi, psi) is drawn."""
        r = self.plot_rect()
        return QPointF(r.left() + (phi + 180) / 360 * r.width(),
                       r.bottom() - (psi + 180) / 360 * r.height())  # fmt: skip

    def point_at(self, pos: QPointF) -> RamaPoint | None:
        """The residue drawn nearest ``pos``, within :data:`PICK_PX`."""
        best, best_d = None, PICK_PX
        for p in self.points:
            q = self.position(p.phi, p.psi)
            d = float(np.hypot(q.x() - pos.x(), q.y() - pos.y()))
            if d <= best_d:
                best, best_d = p, d
        return best

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position() if hasattr(event, "position") else QPointF(event.pos())
        p = self.point_at(pos)
        if p is not None and event.button() == Qt.MouseButton.LeftButton:
            self.residue_clicked.emit(p.index)
        super().mousePressEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            p = self.point_at(QPointF(event.pos()))
            if p is None:
                QToolTip.hideText()
            else:
                text = (f"{self.labels.get(p.index, '')}: phi {p.phi:.0f}, psi {p.psi:.0f}"
                        + (", outlier" if p.outlier else ""))  # fmt: skip
                QToolTip.showText(event.globalPos(), text, self)
            return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        r = self.plot_rect()
        painter.drawImage(r, self.region_image(self.kind))
        text = self.palette().color(self.foregroundRole())
        painter.setPen(QPen(text, 1))
        painter.drawRect(r)
        for v in (-90, 0, 90):  # grid lines
            a, b = self.position(v, -180), self.position(v, 180)
            painter.drawLine(a, b)
            a, b = self.position(-180, v), self.position(180, v)
            painter.drawLine(a, b)
        fm = self.fontMetrics()
        for v, x_name, y_name in ((-180, "", ""), (0, "", ""), (90, "phi", "psi"), (180, "", "")):
            x_label, y_label = x_name or str(v), y_name or str(v)
            q = self.position(v, -180)  # along x, under the axis
            x = q.x() - fm.horizontalAdvance(x_label) / 2
            painter.drawText(QPointF(x, r.bottom() + fm.ascent() + 2), x_label)
            q = self.position(-180, v)  # along y, left of it
            x = r.left() - fm.horizontalAdvance(y_label) - 4
            painter.drawText(QPointF(x, q.y() + fm.ascent() / 2), y_label)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for outliers in (False, True):  # outliers drawn last, on top
            colour = QColor(230, 40, 40) if outliers else QColor(245, 245, 245)
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(colour)
            size = 4.5 if outliers else 3.0
            for p in self.points:
                if p.outlier == outliers:
                    painter.drawEllipse(self.position(p.phi, p.psi), size, size)
        current = next((p for p in self.points if p.index == self.current), None)
        if current is not None:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(255, 220, 0), 2.5))
            painter.drawEllipse(self.position(current.phi, current.psi), 8.0, 8.0)


class RamaPlot(QWidget):
    """The plot with its class list; :meth:`show_session` brings it up to date."""

    def __init__(self) -> None:
        super().__init__()
        self.canvas = RamaCanvas()
        self.residue_clicked = self.canvas.residue_clicked
        self.kinds = QComboBox()
        self.kinds.setToolTip("Residue class: each has its own regions (Gly, Pro, before Pro)")
        layout = QVBoxLayout(self)
        layout.addWidget(self.kinds)
        layout.addWidget(self.canvas, 1)
        self.all_points: list[RamaPoint] = []
        self._of: list | None = None  # the residue list the points are of
        for kind in CLASSES:
            self.kinds.addItem(kind, kind)
        self.kinds.currentIndexChanged.connect(self._show_kind)

    def show_session(self, session: Session | None) -> None:
        """The residues of ``session`` (measured again only if they changed)."""
        rows = session.residues if session is not None else None
        if rows is self._of:
            return
        self._of = rows
        self.all_points = rama_points(session) if session is not None else []
        self.canvas.labels = ({p.index: f"{rows[p.index].name} {rows[p.index].chain} "
                               f"{rows[p.index].seqid}{rows[p.index].icode}"
                               for p in self.all_points} if rows else {})  # fmt: skip
        for k, kind in enumerate(CLASSES):
            of = [p for p in self.all_points if p.kind == kind]
            bad = sum(p.outlier for p in of)
            self.kinds.setItemText(k, f"{kind}: {len(of)} residues, {bad} outlier"
                                   + ("" if bad == 1 else "s"))  # fmt: skip
        self._show_kind()

    def set_current(self, index: int | None) -> None:
        """Ring residue ``index`` (None: none), showing its class."""
        self.canvas.current = index
        kind = next((p.kind for p in self.all_points if p.index == index), None)
        if kind is not None and kind != self.canvas.kind:
            self.kinds.setCurrentIndex(CLASSES.index(kind))  # redraws
        self.canvas.update()

    def _show_kind(self) -> None:
        kind = self.kinds.currentData() or "general"
        self.canvas.kind = kind
        self.canvas.points = [p for p in self.all_points if p.kind == kind]
        self.canvas.update()


class RamaView:
    """Mixed into :class:`~._review_panel.ReviewPanel` (which has ``widget``, ``session``,
    ``current`` and :meth:`show_residue`): the plot in a dock of its own beside the panel."""

    widget: BuildWidget
    _rama: RamaPlot | None = None

    def show_rama(self) -> RamaPlot:
        """Open the Ramachandran plot of the model under review (again, if its dock was
        closed) and bring it up to date."""
        plot = self._rama
        if plot is None or plot.parent() is None:  # never opened, or its dock closed
            plot = self._rama = RamaPlot()
            plot.residue_clicked.connect(self.show_residue)
            dock = self.widget.viewer.window.add_dock_widget(
                plot, name="Ramachandran plot", area="right", add_vertical_stretch=False
            )
            dock.setFloating(True)  # a window of its own, as in Coot: the right column is full
            dock.resize(460, 520)
        dock = plot.parent()
        dock.show()  # (a dock hidden by its window's own close button stays hidden otherwise)
        dock.raise_()
        self.update_rama()
        return plot

    def update_rama(self) -> None:
        """Bring an open plot up to date with the model and the residue under review."""
        plot = self._rama
        if plot is not None and plot.parent() is not None:
            plot.show_session(self.session)
            plot.set_current(self.current)

    def close_rama(self) -> None:
        """Close the plot's dock (the panel's own dock closed)."""
        plot, self._rama = self._rama, None
        if plot is not None and plot.parent() is not None:
            self.widget.viewer.window.remove_dock_widget(plot)
