"""What a dock widget does when napari closes its dock: give the viewer back as it found it.

napari closes a dock (its title bar's close button, or ``viewer.window.remove_dock_widget``) by
taking the widget out of it: the widget's parent becomes None, and the widget itself lives on
until Python collects it. Without care, what it did to the viewer stays (a map clipped to a
radius or hidden behind a mesh) and what it connected keeps running (the clipping cube follows
the view; edits of a closed panel's layers start jobs nobody sees).

A tall panel scrolls inside its dock (:func:`scrolled_layout`): napari's docks do not, so a
panel taller than the screen would hold the window taller than the screen, and one squeezed
by a short window would draw its rows over each other.
"""

from __future__ import annotations

from qtpy.QtCore import QEvent, QObject, QSize, Qt
from qtpy.QtGui import QShowEvent
from qtpy.QtWidgets import QFrame, QScrollArea, QStyle, QVBoxLayout, QWidget


class ReleasedWithDock:
    """Mixin for a QWidget: :meth:`release` when its dock closes, :meth:`attach` when docked again.

    Subclasses implement both; each is called once per change (a widget made inside another
    one, whose parent is set when it is laid out, is not released until its owner asks).
    """

    _released = False

    @property
    def closed(self) -> bool:
        """Whether its dock was closed (and it has not been docked again since)."""
        return self._released

    def changeEvent(self, event: QEvent) -> None:
        """Qt's change events; a parent change to or from None releases or attaches."""
        super().changeEvent(event)
        if event.type() != QEvent.Type.ParentChange:
            return
        closed = self.parent() is None
        if closed and not self._released:
            self._released = True
            self.release()
        elif not closed and self._released:
            self._released = False
            self.attach()

    def release(self) -> None:  # pragma: no cover - abstract
        """Leave the viewer as it would be without this widget and stop following its events."""
        raise NotImplementedError

    def attach(self) -> None:  # pragma: no cover - abstract
        """Follow the viewer again (the widget was docked once more)."""
        raise NotImplementedError


class _VerticalScroll(QScrollArea):
    """A scroll area that scrolls vertically only: as wide as its contents need."""

    def minimumSizeHint(self) -> QSize:
        inner = self.widget().minimumSizeHint() if self.widget() is not None else QSize()
        style = self.style()  # the bar's own size hint is not final until it is shown
        extent = style.pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        spacing = style.pixelMetric(QStyle.PixelMetric.PM_ScrollView_ScrollBarSpacing, None, self)
        bar = max(extent, self.verticalScrollBar().sizeHint().width()) + max(spacing, 0)
        bar += 2 * self.frameWidth()
        return QSize(inner.width() + bar, min(inner.height(), MIN_SCROLLED_HEIGHT))

    def showEvent(self, event: QShowEvent) -> None:
        """Shown (styled and polished): the dock hears of the width again."""
        super().showEvent(event)
        self.updateGeometry()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Contents laid out again (a longer line, a wider row): the dock hears of the width."""
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)


#: The least height a scrolled panel asks of its dock (pixels).
MIN_SCROLLED_HEIGHT = 120


def scrolled_layout(widget: QWidget) -> QVBoxLayout:
    """The layout to fill ``widget`` with, inside a scroll area that fills ``widget``.

    The contents stretch to the dock's height when it is taller than they need and scroll
    vertically when it is shorter, so the panel asks the window for little height; the
    panel is as wide as its contents need.
    """
    body = QWidget()
    layout = QVBoxLayout(body)
    scroll = _VerticalScroll(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(body)  # its event filter now sees the body's layout requests
    outer = QVBoxLayout(widget)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    return layout
