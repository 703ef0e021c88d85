"""The live review session of each napari viewer, so a Model building panel opened again carries
on with the model on screen.

When its dock closes, a panel leaves its layers (residue boxes, atoms, ...) in the viewer; napari's
Plugins menu then makes a *new* panel. Without this module that panel knew nothing of the session
on screen and drew a second set of layers beside the first. Here the plugin keeps, per viewer, the
:class:`~._layer_sync.LayerSync` that draws the session (it holds the
:class:`~..session.Session` and its layers), and a new panel takes it over (:func:`join`) while
its boxes or atoms are still in the viewer.

Why a registry of the live objects, rather than the session read back from what the viewer
shows: the boxes layer has the residues' positions and labels but not the session behind them
(its undo history, the classifier's probabilities, the atoms, the map it is on); the autosave has
the residues but neither the history nor the layers, and may be another napari's
(:mod:`..autosave`); the map layer says nothing of the model. Handing over the objects themselves
rebuilds nothing, so nothing is lost or drawn twice. The registry holds them weakly by viewer,
and they hold neither the viewer nor a panel (weakly too): a closed viewer is freed as before.
When the viewer's window closes, its session ends (:func:`watch`), whether its panel is open or
was closed with the model left on screen: its autosave file is given up at once, not when Python
gets round to collecting it (napari keeps a closed viewer, and with it the session, until exit).

One panel at a time works on a viewer's session. A second one made while another is open on the
viewer (in code; the Plugins menu shows the open one instead), or a closed panel docked again
after a new one took over, is switched off with :data:`REFUSAL` in its panel: never two
sessions, or two panels, editing one set of layers.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from qtpy.QtCore import QTimer

from ._layer_sync import LayerSync

if TYPE_CHECKING:
    import napari

    from ._build_widget import BuildWidget

#: What a panel switched off says (another panel works on the viewer's model).
REFUSAL = (
    "Another Model building panel is open on this viewer and works on its model: use that one. "
    "This panel is off (close it)."
)

_LIVE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # viewer -> LayerSync
_WATCHED: weakref.WeakSet = weakref.WeakSet()  # viewers whose window closing is watched


def _is_open(widget: BuildWidget | None) -> bool:
    """Whether a panel exists and its dock is not closed (one never docked counts as open)."""
    return widget is not None and not widget.closed


def join(viewer: napari.viewer.Viewer, widget: BuildWidget) -> LayerSync | None:
    """The layers ``widget`` is to work on, which it then holds for the viewer.

    Parameters
    ----------
    viewer
        The viewer the panel is on.
    widget
        A panel made, or docked again.

    Returns
    -------
    LayerSync or None
        The viewer's live one, taken over, when it is ``widget``'s own or its session is still
        on screen; a new one where there is none; None (refused) where another open panel
        holds the viewer's.
    """
    live = _LIVE.get(viewer)
    if live is not None:
        holder = live.widget
        if holder is not None and holder is not widget and _is_open(holder):
            return None
        if holder is widget or live.on_screen():
            live.hand_to(widget)
            return live
        _end(live)  # its panel closed and its layers deleted: that session has ended
    sync = LayerSync(viewer, widget)
    _LIVE[viewer] = sync
    return sync


def _end(sync: LayerSync) -> None:
    """The session of ``sync`` has ended: give its autosave file up (:mod:`..autosave`)."""
    claim = sync.session.autosave_claim if sync.session is not None else None
    if claim is not None:
        claim.release()


def watch(widget: BuildWidget) -> None:
    """End the viewer's session when its window closes (the panel open, or closed with the
    model left on screen), or when ``widget`` is destroyed while it holds the session, open.
    The session's autosave file is given up then."""
    viewer = widget.viewer
    viewer_ref, key = weakref.ref(viewer), id(widget)

    def destroyed(*_: object) -> None:
        viewer = viewer_ref()
        live = _LIVE.get(viewer) if viewer is not None else None
        holder = live.widget if live is not None else None
        if holder is not None and id(holder) == key and not holder.closed:
            _end_viewer(viewer)

    widget.destroyed.connect(destroyed)
    widget_ref = weakref.ref(widget)

    def watch_window() -> None:  # once docked: napari's main window, through Qt's parents
        widget, viewer = widget_ref(), viewer_ref()
        if widget is None or viewer is None or viewer in _WATCHED:
            return
        try:
            top = widget
            while top.parentWidget() is not None:  # a floating dock's parent is the window too
                top = top.parentWidget()
        except RuntimeError:  # deleted meanwhile
            return
        if top is not widget:
            _WATCHED.add(viewer)
            top.destroyed.connect(lambda *_: _end_viewer(viewer_ref()))

    QTimer.singleShot(0, watch_window)  # napari docks a panel after making it


def _end_viewer(viewer: napari.viewer.Viewer | None) -> None:
    """The viewer's session has ended (its window closed): no panel takes it up again."""
    live = _LIVE.pop(viewer, None) if viewer is not None else None
    if live is not None:
        _end(live)
