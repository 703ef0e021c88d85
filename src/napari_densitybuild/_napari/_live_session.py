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
When the open panel is destroyed with its viewer's window, the session ends (:func:`watch`):
its autosave file is given up at once, not when Python gets round to collecting it.

One panel at a time works on a viewer's session. A second one made while another is open on the
viewer (in code; the Plugins menu shows the open one instead), or a closed panel docked again
after a new one took over, is switched off with :data:`REFUSAL` in its panel: never two
sessions, or two panels, editing one set of layers.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

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
    """End the viewer's session when ``widget`` is destroyed while it holds it, open: its
    viewer's window was closed. The session's autosave file is given up then."""
    viewer_ref, key = weakref.ref(widget.viewer), id(widget)

    def destroyed(*_: object) -> None:
        viewer = viewer_ref()
        live = _LIVE.get(viewer) if viewer is not None else None
        holder = live.widget if live is not None else None
        if holder is None or id(holder) != key or holder.closed:
            return
        del _LIVE[viewer]
        _end(live)

    widget.destroyed.connect(destroyed)
