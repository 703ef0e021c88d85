"""Keyboard shortcuts of the review panel: a residue-by-residue review runs from the keyboard,
as in Coot.

The keys are bound on the panel's viewer (``viewer.bind_key``) while the panel works on it, and
unbound when its dock closes or another panel has the model. Each presses its button, so a key
does nothing while the button is off (a job running, nothing built). Shift with a letter, avoiding
those napari binds itself for its viewer or for Points layers (Shift-A, Shift-V, Shift-L and
Shift-P); a key already bound (by the user, say) is left alone, and its button's tooltip does not
name it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import napari
    from qtpy.QtWidgets import QPushButton

    from ._review_panel import ReviewPanel

#: (key, the button it presses).
REVIEW_KEYS = (
    ("Shift-N", "Next doubtful residue"),
    ("Shift-K", "Next problem"),
    ("Shift-U", "Next unmodelled blob"),
    ("Shift-B", "Next chain break"),
    ("Shift-D", "Next difference peak"),
    ("Shift-E", "Add residue"),
    ("Shift-G", "Close gap"),
    ("Shift-Z", "Refine zone"),
    ("Shift-Q", "Flip peptide"),
    ("Shift-C", "Cis/trans peptide"),
    ("Shift-F", "Flip side chain"),
    ("Shift-R", "Next rotamer"),
)


class ReviewKeys:
    """The shortcuts of one review panel on its viewer: :meth:`bind`, :meth:`unbind`."""

    def __init__(self, viewer: napari.Viewer, panel: ReviewPanel) -> None:
        self.viewer = viewer
        self.panel = panel
        self.bound: list[str] = []
        self._tips: dict[str, str] = {}  # the tooltips as they were before a key was named

    def _button(self, text: str) -> QPushButton:
        from qtpy.QtWidgets import QPushButton

        return next(b for b in self.panel.findChildren(QPushButton) if b.text() == text)

    def bind(self) -> list[str]:
        """Bind the keys not bound yet (each tooltip then names its key); the keys bound."""
        for key, text in REVIEW_KEYS:
            if key in self.bound:
                continue
            button = self._button(text)

            def press(viewer: napari.Viewer, button: QPushButton = button) -> None:
                if button.isEnabled():
                    button.click()

            try:
                self.viewer.bind_key(key, press, overwrite=False)
            except ValueError:  # bound already (by the user, or napari): theirs
                continue
            self.bound.append(key)
            self._tips[key] = button.toolTip()
            button.setToolTip(f"{self._tips[key]} [{key}]".strip())
        return list(self.bound)

    def unbind(self) -> None:
        """Unbind the keys this panel bound, and take them out of the tooltips."""
        for key in self.bound:
            self.viewer.bind_key(key, None)
            self._button(dict(REVIEW_KEYS)[key]).setToolTip(self._tips.pop(key))
        self.bound = []
