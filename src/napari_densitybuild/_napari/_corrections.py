"""Type corrections whose atoms are predicted off the GUI thread, one after another.

A correction poses the residue's atoms for the new type (atom or pose head) and refines them
against the map with the rest of the model held (:func:`~..review.atoms_for_type`): on the GUI
thread this froze napari at every corrected residue (0.75 s refined alone on a 1,764-residue
build, more in the whole model). Here each correction is queued and run in a worker of its own
:class:`~._tasks.TaskRunner`, so the review panel stays usable (type a code, Enter, the next
doubtful residue, the next code) and the type changes, atoms and all, in one undoable step
when its atoms are ready. A newer correction of the same residue replaces a queued or running
one; a correction lands on its residue wherever it now is (rows before it may have been
deleted), and one whose residue changed in the meantime (deleted, moved, reclassified, a new
model) is dropped with a message rather than written over the change. Closing the dock drops
the corrections not yet landed, and the panel names them (:meth:`TypeCorrections.cancel`).
:func:`type_hint` is the line under the type list: what the residue's H-bonds suggest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qtpy.QtCore import QObject

from ..residues import AMINO_ACIDS
from ._model_on_map import in_job
from ._reader import notify_error
from ._tasks import TaskRunner

if TYPE_CHECKING:
    from ..build import StageProgress
    from ..maps import DensityMap
    from ._build_widget import BuildWidget


@dataclass
class _Request:
    session: object
    index: int
    new_type: int
    rows: list  # the session's residues then (the model its atoms are refined in)
    refine: bool

    @property
    def state(self):
        """The residue's state when the correction was asked for."""
        return self.rows[self.index]


class TypeCorrections(QObject):
    """A queue of type corrections; ``applied(index)`` is called after each one lands.

    Parameters
    ----------
    widget
        The Model building widget: its session, map (``dmap()``), classifier (``_load``).
    applied
        Called in the GUI thread with the residue index after a correction was applied.
    """

    def __init__(self, widget: BuildWidget, applied: Callable[[int], None]) -> None:
        super().__init__(widget)
        self.widget = widget
        self.applied = applied
        self.runner = TaskRunner(self)
        self._queue: list[_Request] = []
        self._running: _Request | None = None
        self.runner.stopped.connect(self._on_stopped)

    @property
    def pending(self) -> int:
        """Corrections queued or running."""
        return len(self._queue) + (self._running is not None)

    def request(self, index: int, new_type: int, refine: bool = True) -> None:
        """Queue residue ``index`` of the current session to become ``new_type`` (class index)
        with atoms predicted for it; replaces a queued or running correction of that residue."""
        session = self.widget.session
        req = _Request(session, index, new_type, session.residues, refine)
        self._queue = [r for r in self._queue if not _same_residue(r, req)]
        if self._running is not None and _same_residue(self._running, req):
            self._running = None  # its result is dropped when it comes (see _done)
        self._queue.append(req)
        self._next()

    def cancel(self) -> list[str]:
        """Drop the queue and the running correction (the dock closed); the corrections
        dropped, e.g. ``["A 12 as TRP"]``, running one first."""
        dropped = [r for r in (self._running, *self._queue) if r is not None]
        self._queue.clear()
        self._running = None
        self.runner.cancel()
        return [f"{r.state.chain} {r.state.seqid}{r.state.icode} as {AMINO_ACIDS[r.new_type]}"
                for r in dropped]  # fmt: skip

    def _next(self) -> None:
        if self.runner.busy or not self._queue:
            return
        from .. import review
        from ..errors import DensityBuildError

        req = self._queue.pop(0)
        try:
            clf, _ = self.widget._load("classifier")
            source = self.widget.map_file()
        except DensityBuildError as e:
            notify_error(str(e))
            return self._next()
        self._running = req

        def job(progress: StageProgress, dmap: DensityMap):
            return review.atoms_for_type(req.rows, req.index, req.new_type, dmap, clf,
                                         do_refine=req.refine)  # fmt: skip

        r = req.state
        name = f"{r.chain} {r.seqid}{r.icode} as {AMINO_ACIDS[req.new_type]}: predicting atoms"
        more = f" ({len(self._queue)} more queued)" if self._queue else ""
        self.widget.status.setText(name + more)
        self.runner.start(name, in_job(job), source, on_done=lambda atoms: self._done(req, atoms))

    def _done(self, req: _Request, atoms: tuple[tuple[str, float, float, float], ...]) -> None:
        if self._running is not req:  # replaced by a newer correction of the residue
            return
        session = req.session
        # the residue as it was asked for, wherever it is now (rows before it may have gone)
        now = next((j for j, r in enumerate(session.residues) if r is req.state), None)
        if session is not self.widget.session or now is None:
            said = (f"{AMINO_ACIDS[req.new_type]} not applied: the residue changed while its "
                    "atoms were predicted")  # fmt: skip
            self.widget.status.setText(said)
            notify_error(said)
            return
        session.set_type(now, req.new_type, atoms)
        self.applied(now)

    def _on_stopped(self, name: str, outcome: str) -> None:
        self._running = None
        if outcome != "done":  # the error itself is a notification already
            self.widget.status.setText(f"{name}: {outcome}")
        self._next()


def _same_residue(a: _Request, b: _Request) -> bool:
    return a.session is b.session and a.state is b.state


def type_hint(widget: BuildWidget, index: int) -> str:
    """The line under the type list for residue ``index``: what its H-bond partners suggest
    (the layers' contacts when it is the one selected), and, for ASN, GLN and HIS, whether
    turned over its H-bonds would score higher."""
    from ..contacts import contact_hint, polar_atoms, polar_contacts
    from ..side_chain_edit import turned_hbond_scores

    session, sync, polar = widget.session, widget.sync, None
    if sync.selected()[:1] == [index]:
        contacts = sync.contacts
    else:  # the model's polar atoms listed once, for the contacts and the turned score
        polar = polar_atoms(session)
        contacts = polar_contacts(session, index, polar=polar)
    text = contact_hint(session.residues[index].name, contacts)
    scores = turned_hbond_scores(session, index, polar)  # lists them for N/Q/H only
    if scores is not None and scores[1] > scores[0]:
        text += (f" Turned over, its H-bonds would score {scores[1]:+.0f}, not "
                 f"{scores[0]:+.0f}: Flip side chain.")  # fmt: skip
    return text
