"""The model shown and the map it belongs to, for the Model building widget.

A model stays on the map it was built into (its session's ``map_path``): review, corrections and
Classify use that map whichever map layer is chosen for display (a difference map, say), while
Auto-place, Auto-build and Review model start a new model on the chosen map. Choosing a map
with an autosaved session and no model shown restores the session (the newest autosave of
that map: another napari may have written one under another name, :mod:`..autosave`). A new
model replaces the one shown as one undoable step (the one replaced gives its autosave file up),
and a job's result lands only on the residues it was computed for that nobody changed meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QTimer

from ..autosave import newest_autosave
from ..errors import DensityBuildError
from ..session import Session
from ._map_cache import cached_map, kept_map
from ._map_cover import MapCover
from ._reader import notify_error, notify_warning

if TYPE_CHECKING:
    from ..build import StageProgress
    from ..maps import DensityMap
    from ..residue_state import ResidueState


def notify_info(message: str) -> None:
    """An information notification in napari."""
    from napari.utils.notifications import show_info

    show_info(message)


class ModelOnMap:
    """Mixed into :class:`~._build_widget.BuildWidget` (which has ``session``, ``viewer``,
    ``controls``, ``runner``, ``sync``, ``review`` and ``status``)."""

    _last_chosen: str | None = None  # the chosen map's file when last looked at
    _following_maps = False
    _map_cover: MapCover | None = None

    def _follow_maps(self, on: bool) -> None:
        """Watch the chosen map (after the controls have followed it: a queued call)."""
        if on == self._following_maps:
            return
        self._following_maps = on
        events = self.viewer.layers.events.inserted
        if on:
            self.controls.map_combo.currentIndexChanged.connect(self._map_changed_later)
            events.connect(self._map_changed_later)
        else:
            self.controls.map_combo.currentIndexChanged.disconnect(self._map_changed_later)
            events.disconnect(self._map_changed_later)

    def _map_changed_later(self, event: object = None) -> None:
        from napari.layers import Image

        layer = getattr(event, "value", None)  # a layer inserted (the combo box gives an int)
        if layer is None or isinstance(layer, Image):
            QTimer.singleShot(0, self._on_map_changed)

    def _on_map_changed(self) -> None:
        """Another map chosen: restore its autosaved session if no model is shown; say which
        map a model shown stays on if it is another."""
        chosen, s = self.map_path(chosen=True), self.session
        if chosen == self._last_chosen or self.runner.busy:
            return  # the layer list changed, not the map
        self._last_chosen = chosen
        if not chosen:
            return
        if s is None:
            if newest_autosave(chosen) is not None:
                self.restore_autosave()
        elif s.map_path and Path(s.map_path) != Path(chosen):
            self.status.setText(
                f"The model stays on {Path(s.map_path).name}, the map it was built into: review, "
                f"corrections and Classify use it; Auto-place, Auto-build and Review model build "
                f"on the chosen map, {Path(chosen).name}."
            )

    def map_file(self, chosen: bool = False) -> str:
        """The file of the map jobs run on: the model's (:meth:`map_path`), or with ``chosen``
        the chosen map layer's. Jobs read it on their worker thread (:func:`in_job`), so a map
        another plugin opened is not read on the GUI thread.

        Raises
        ------
        DensityBuildError
            If there is no such map (none open, or the model's map file is gone).
        """
        source = self.map_path(chosen)
        if not source:
            raise DensityBuildError("open a map first (File > Open, or the Open button above)")
        if not Path(str(source)).is_file():
            raise DensityBuildError(f"the map {source} is no longer there")
        return str(source)

    def kept_dmap(self) -> DensityMap | None:
        """The model's map if it has been read (by the reader or a job), else None: for the
        GUI thread, which never reads a map itself."""
        return kept_map(self.map_path())

    def map_path(self, chosen: bool = False) -> str | None:
        """The map of the model shown (its session's), else, or with ``chosen``, the file of
        the chosen map layer."""
        if not chosen and self.session is not None and self.session.map_path:
            return self.session.map_path
        layer = self.controls.layer
        return layer.metadata.get("source") if layer is not None else None

    # -- session ---------------------------------------------------------------------------------
    def set_session(self, session: Session) -> None:
        """Show ``session`` and make it the one edits go to; a model it replaces on the same
        map stays one Undo away (:meth:`Session.follow`)."""
        old = self.session
        if old is not None and old is not session and old.residues:
            if old.map_path == session.map_path:
                session.follow(old)
                notify_info(f"the model of {len(old.residues)} residues before is one Undo away")
            elif old.map_path:
                notify_info(
                    f"the model of {len(old.residues)} residues on {Path(old.map_path).name} "
                    f"stays in its autosave: choose that map and press Restore autosave"
                )
        if old is not None and old is not session and old.autosave_claim is not None:
            old.autosave_claim.release()  # that session has ended: its file is free
        self.session = session
        session.save_autosave()
        self.refresh()

    def apply_result(
        self, session: Session, rows: list, updates: dict[int, ResidueState], what: str
    ) -> list[int]:
        """Apply a job's ``updates``, computed for ``session``'s residues ``rows``, to those of
        them not changed since (by hand, meanwhile); say how many were left out. Returns the
        indices of the residues updated."""
        if self.session is not session:
            notify_error(f"not {what}: another model replaced this one meanwhile")
            return []
        done = session.apply_unchanged(updates, rows)
        left = len(updates) - len(done)
        self.refresh()
        if left:
            said = (f"{len(updates) - left} residues {what}; {left} changed meanwhile "
                    "and keep their changes")  # fmt: skip
            self.status.setText(said)
            notify_warning(said)
        return done

    def refresh(self) -> None:
        """Redraw the layers and the review table from the session."""
        if self.session is None:
            return
        self.sync.show(self.session)
        self.review.refresh()
        if self._map_cover is None:  # the map layers grown to the whole model, off the GUI thread
            controls = self.controls
            self._map_cover = MapCover(self.viewer, controls.local.update, controls.gone)
        self._map_cover.check(self.session)
        s, n = self.session, len(self.session.residues)
        if s.autosave_error:
            self.status.setText(f"{n} residues; NOT autosaved ({s.autosave_error}): export "
                                "the model to keep it")  # fmt: skip
        elif s.map_path and s.autosave and s.autosave_claim is not None:
            claim = s.autosave_claim
            note = f" ({claim.note})" if claim.note else ""
            self.status.setText(f"{n} residues; autosaved to {claim.path}{note}")
        else:
            self.status.setText(f"{n} residues")

    def restore_autosave(self) -> bool:
        """Open the newest autosaved session of the chosen map, if there is one (a model shown
        on the same map stays one Undo away)."""
        path = self.map_path(chosen=True)
        newest = newest_autosave(path) if path else None
        if newest is None:
            notify_error(f"no autosaved model of {Path(path).name if path else 'this map'}")
            return False
        try:
            session = Session.load(newest)
        except DensityBuildError as e:
            notify_error(f"autosaved session not restored: {e}")
            return False
        session.map_path = path
        self.set_session(session)
        notify_info(f"restored {len(session.residues)} residues from {newest}")
        return True


def in_job(
    fn: Callable[[StageProgress, DensityMap], Any],
) -> Callable[[StageProgress, str], Any]:
    """``fn(progress, dmap)`` as a job of a map file: the worker reads the map (once, shared:
    :func:`._map_cache.cached_map`) and then runs ``fn``."""

    def job(progress: StageProgress, source: str) -> Any:
        progress("read map", 0, 1)
        return fn(progress, cached_map(source))

    return job
