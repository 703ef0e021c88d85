"""What a dock widget does when napari closes its dock: give the viewer back as it found it.

napari closes a dock (its title bar's close button, or ``viewer.window.remove_dock_widget``) by
taking the widget out of it: the widget's parent becomes None, and the widget itself lives on
until Python collects it. Without care, what it did to the viewer stays (a map clipped to a
radius or hidden behind a mesh) and what it connected keeps running (the clipping cube follows
the view; edits of a closed panel's layers start jobs nobody sees).
"""

from __future__ import annotations

from qtpy.QtCore import QEvent


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
