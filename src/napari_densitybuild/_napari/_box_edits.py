"""Boxes edited by hand in the boxes layer: added points become classified residues, deleted
points delete residues, dragged points are placed again where they were dropped.

Edits that start a job (adding, moving) wait while another job runs: an added point is taken
back with a message (the running job, an Auto-build perhaps, is not thrown away), a drag is
placed once the job is done. Boxes added or moved are then classified and posed. Results
land only on the residues they were computed for (:meth:`~..session.Session.apply_unchanged`),
wherever those now are in the model.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import QObject, QTimer

from ..session import Session
from ._reader import notify_error

if TYPE_CHECKING:
    from ..build import StageProgress
    from ..maps import DensityMap
    from ..residue_state import ResidueState
    from ._build_widget import BuildWidget

#: Milliseconds after the last drag before moved boxes are placed again.
MOVE_DELAY_MS = 400


class BoxEdits(QObject):
    """The boxes layer's edits for a :class:`~._build_widget.BuildWidget`."""

    def __init__(self, widget: BuildWidget) -> None:
        super().__init__(widget)
        self.widget = widget
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(MOVE_DELAY_MS)
        self.timer.timeout.connect(self.commit_moves)
        self.moved: dict[tuple[str, int, str], np.ndarray] = {}  # residue -> dropped (z, y, x)

    def stop(self) -> None:
        """Forget pending moves (the dock closed)."""
        self.timer.stop()
        self.moved.clear()

    def added(self, points_zyx: np.ndarray) -> None:
        """New points: snap each to a C-alpha, then classify and pose them."""
        from ..review import residue_at

        w = self.widget
        if w.runner.busy:
            notify_error(f"{w.runner.name} is running: add boxes when it is done, or cancel it")
            w.refresh()  # the layer shows the session again: the new points go
            return
        placer, _ = w._load("placer")
        if w.session is None:
            w.set_session(Session(map_path=w.map_path(chosen=True)))
        session = w.session
        chain = "Z"
        used = [r.seqid for r in session.residues if r.chain == chain]
        first = max(used, default=0) + 1

        def job(progress: StageProgress, dmap: DensityMap) -> list[ResidueState]:
            made = []
            for k, p in enumerate(points_zyx):
                made.append(residue_at(np.asarray(p)[::-1], dmap, placer, chain, first + k))
                progress("place box", k + 1, len(points_zyx))
            return made

        def done(residues: list[ResidueState]) -> None:
            if w.session is not session:
                notify_error("boxes not added: another model replaced this one meanwhile")
                return
            start = len(session.residues)
            for r in residues:
                session.insert(r)
            w.refresh()
            new = list(range(start, start + len(residues)))
            w.sync.select(new)
            if w._load("classifier")[0] is not None:
                w.classify(poses=True, indices=new)

        w.refresh()
        w._start("Add box", job, done)

    def removed(self, indices: list[int]) -> None:
        """Deleted points: delete those residues (one undo step each). A job running on the
        model then applies to the residues left (:meth:`Session.apply_unchanged`)."""
        w = self.widget
        if w.session is None:
            return
        for i in sorted(indices, reverse=True):
            if 0 <= i < len(w.session.residues):
                w.session.delete(i)
        w.refresh()

    def dragged(self, indices: list[int]) -> None:
        """Points dragged: place those residues again where they were dropped, once the drag
        stops and no job runs (the residue is known by its chain and number, so a job that
        reclassified it meanwhile does not lose the drag)."""
        session = self.widget.session
        if session is None:
            return
        data = np.asarray(self.widget.sync.boxes.data)
        for i in indices:
            if 0 <= i < len(session.residues) and i < len(data):
                self.moved[_key(session.residues[i])] = data[i].copy()
        self.timer.start()

    def commit_moves(self) -> None:
        """Place the dragged boxes again where they were dropped (later if a job runs)."""
        from ..review import residue_at

        w = self.widget
        session = w.session
        if session is None or not self.moved:
            return
        if w.runner.busy:
            self.timer.start()  # try again when the job is done
            return
        rows = session.residues
        where = {_key(r): i for i, r in enumerate(rows)}
        todo = {where[k]: p for k, p in self.moved.items() if k in where}
        lost = len(self.moved) - len(todo)
        self.moved = {}
        if lost:
            notify_error(f"{lost} dragged boxes not placed again: their residues are gone")
        if not todo:
            w.refresh()
            return
        placer, _ = w._load("placer")

        def job(progress: StageProgress, dmap: DensityMap) -> dict[int, ResidueState]:
            out = {}
            for k, (i, point) in enumerate(sorted(todo.items())):
                old = rows[i]
                new = residue_at(point[::-1], dmap, placer, old.chain, old.seqid)
                out[i] = replace(new, icode=old.icode)
                progress("place box", k + 1, len(todo))
            return out

        def done(updates: dict[int, ResidueState]) -> None:
            placed = w.apply_result(session, rows, updates, "placed again")
            if placed and w._load("classifier")[0] is not None:
                w.classify(poses=True, indices=placed)  # named and posed where it now sits

        w._start("Move box", job, done)


def _key(r: ResidueState) -> tuple[str, int, str]:
    return (r.chain, r.seqid, r.icode)
