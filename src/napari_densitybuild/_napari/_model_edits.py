"""Model edits of the review panel that run as jobs, and the walks they start from: the next
chain break and closing it (:mod:`~..gaps`), a residue added at a chain end
(:mod:`~..chain_extend`), switching the peptide before a residue between cis
and trans (:mod:`~..peptide_switch`), flipping that peptide or refining the stretch of chain
around a residue (:mod:`~..backbone_edit`), turning a side chain over or into the next rotamer
(:mod:`~..side_chain_edit`), the next unmodelled blob (:mod:`~..blobs`) and the next problem
of the model's checks (:mod:`~..model_checks`); going to a residue by its chain and number;
deleting a residue, undo and redo. Each job
runs off the GUI thread on a snapshot of the model, and its result lands in one undoable step
only if the model did not change meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ._reader import notify_error

if TYPE_CHECKING:
    from ..backbone_edit import BackboneEdit
    from ..blobs import Blob
    from ..build import StageProgress
    from ..chain_extend import Extension
    from ..gaps import GapClosure
    from ..maps import DensityMap
    from ..peptide_switch import PeptideSwitch
    from ..residue_state import ResidueState
    from ..session import Session
    from ..side_chain_edit import SideChainEdit
    from ._build_widget import BuildWidget


class ModelEdits:
    """Mixed into :class:`~._review_panel.ReviewPanel` (which has ``widget``, ``session``,
    ``current`` and :meth:`show_residue`)."""

    widget: BuildWidget
    current: int | None
    _blobs: list | None = None
    _blobs_of: list | None = None  # the residue list they were found for
    _blob_index = -1
    _problems: list | None = None  # (residue index, what is wrong) of the model's checks
    _problems_of: list | None = None  # the residue list they were found for
    #: The rotamer walk under way: the rows it started from, its residue, the rank shown and
    #: the rows that rank gave (a press on those rows shows the next rank).
    _rotamers: tuple | None = None

    def delete_current(self) -> None:
        """Delete the current residue."""
        if self.session is None or self.current is None:
            notify_error("select a residue first")
            return
        self.session.delete(self.current)
        self.current = None
        self.widget.refresh()

    def undo(self) -> bool:
        """Undo the last edit."""
        ok = self.session is not None and self.session.undo()
        self.widget.refresh()
        return ok

    def redo(self) -> bool:
        """Redo the last undone edit."""
        ok = self.session is not None and self.session.redo()
        self.widget.refresh()
        return ok

    def go_to(self, text: str) -> int | None:
        """Go to the residue ``text`` names ("A 143", "A143", or "143": in the current
        residue's chain first); say so where the model has none."""
        from ..errors import DensityBuildError
        from ..residue_state import find_residue

        s = self.session
        if s is None or not s.residues:
            notify_error("nothing built yet: no residues to go to")
            return None
        here = s.residues[self.current].chain if self.current is not None else None
        try:
            index = find_residue(s.residues, text, here)
        except DensityBuildError as e:
            notify_error(str(e))
            return None
        if index is None:
            notify_error(f"no residue {text.strip()} in the model")
            return None
        self.show_residue(index)
        return index

    def next_break(self) -> int | None:
        """Go to the next chain end or gap after the current residue (model order, wrapping),
        or the next place a chain begins with no end before it, and say in the status line
        where the nearest other piece of chain goes on (or which tool to reach for)."""
        from ..breaks import chain_breaks, describe_start, loose_starts

        s = self.session
        if s is None or not s.residues:
            notify_error("nothing built yet: no chains to look at")
            return None
        breaks = chain_breaks(s)
        stops = [(b.end, b.describe(s.residues)) for b in breaks]
        stops += [(k, describe_start(s.residues, k)) for k in loose_starts(s, breaks)]
        stops.sort()
        after = -1 if self.current is None else self.current
        k = next((k for k, (index, _) in enumerate(stops) if index > after), 0)
        index, text = stops[k]
        self.show_residue(index)
        self.widget.status.setText(f"Break {k + 1} of {len(stops)}: {text}")
        return index

    def close_gap(self):
        """Close the chain break at the current residue (:func:`~..gaps.close_gap`) off the GUI
        thread; the change lands in one undoable step unless the model changed meanwhile."""
        from ..breaks import chain_breaks
        from ..gaps import close_gap

        s = self.session
        if s is None or self.current is None:
            notify_error("go to a chain break first (Next chain break)")
            return None
        brk = next((b for b in chain_breaks(s) if self.current in (b.end, b.start)), None)
        if brk is None:
            notify_error(f"{s.residues[self.current].label} is not at a chain break: "
                         "Next chain break finds them (where a chain begins with no end "
                         "before it, Add residue builds on)")  # fmt: skip
            return None
        clf, _ = self.widget._load("classifier")
        refine = self.widget.refine_box.isChecked()
        return self._edit_job(
            "Close gap",
            lambda snap, i, dmap, progress: close_gap(snap, brk, dmap, clf, refine, progress),
            "gap not closed: the model changed while it was built",
            built=lambda closed: closed.built,
        )

    def add_residue(self):
        """Add a residue at the chain end the current residue is on
        (:func:`~..chain_extend.extend_chain`) off the GUI thread; the new residue becomes the
        current one, so pressing again goes on. One undoable step."""
        from ..chain_extend import extend_chain

        if self.session is None or self.current is None:
            notify_error("go to a chain end first (Next chain break)")
            return None
        clf, _ = self.widget._load("classifier")
        refine = self.widget.refine_box.isChecked()
        return self._edit_job(
            "Add residue",
            lambda snap, i, dmap, progress: extend_chain(snap, i, dmap, clf, refine, progress),
            "residue not added: the model changed meanwhile",
            built=lambda added: [added.built],
        )

    def _unchanged(self, s: Session, rows: list[ResidueState], refused: str) -> bool:
        """Whether session ``s`` is still the widget's and still holds ``rows`` (a job's result
        applies only then); else ``refused`` goes to the status bar and a notification."""
        if self.session is s and s.residues is rows:
            return True
        self.widget.status.setText(refused)
        notify_error(refused)
        return False

    def switch_peptide(self):
        """Switch the peptide before the current residue between cis and trans
        (:func:`~..peptide_switch.switch_peptide`) off the GUI thread; one undoable step."""
        from ..peptide_switch import switch_peptide

        refine = self.widget.refine_box.isChecked()
        return self._edit_job(
            "Cis/trans peptide", lambda snap, i, dmap, _: switch_peptide(snap, i, dmap, refine)
        )

    def flip_peptide(self):
        """Turn the peptide before the current residue over about its C-alpha axis
        (:func:`~..backbone_edit.flip_peptide`) off the GUI thread; one undoable step."""
        from ..backbone_edit import flip_peptide

        refine = self.widget.refine_box.isChecked()
        return self._edit_job(
            "Flip peptide", lambda snap, i, dmap, _: flip_peptide(snap, i, dmap, refine)
        )

    def refine_zone(self):
        """Refine the current residue and its chain neighbours against the map, the rest held
        (:func:`~..backbone_edit.refine_zone`), off the GUI thread; one undoable step."""
        from ..backbone_edit import refine_zone

        return self._edit_job("Refine zone", lambda snap, i, dmap, _: refine_zone(snap, i, dmap))

    def refine_all(self):
        """Refine the whole model against the map, its discrete choices kept
        (:func:`~..backbone_edit.refine_all`), off the GUI thread; one undoable step."""
        from ..backbone_edit import refine_all

        return self._edit_job("Refine all", lambda snap, _i, dmap, _p: refine_all(snap, dmap),
                              needs_current=False)  # fmt: skip

    def _edit_job(
        self, name: str, run: Callable, refused: str | None = None,
        built: Callable[[object], list[int]] | None = None, needs_current: bool = True,
        base: list | None = None, landed: Callable[[object, list, int], None] | None = None,
    ):  # fmt: skip
        """Run ``run(snapshot, current, dmap, progress)`` (a result with ``rows`` and ``text``)
        off the GUI thread on the rows ``base`` (default: the model as it is); its rows land in
        one undoable step unless the model changed meanwhile (``refused`` says so).
        ``built(result)``: the residues to make current and select after it (the first
        current); ``landed(result, base rows, current)``: told once it has landed.
        ``needs_current``: False for edits of the whole model (``current`` may be None)."""
        from ..session import Session

        s = self.session
        if s is None or not s.residues:
            notify_error("nothing built yet: no model to edit")
            return None
        if self.current is None and needs_current:
            notify_error("select a residue first: the edit starts from it")
            return None
        rows, index = s.residues, self.current
        start = rows if base is None else base
        refused = refused or f"{name.lower()}: not done, the model changed meanwhile"

        def job(progress: StageProgress, dmap: DensityMap):
            return run(Session(start, None, s.meta, autosave=False), index, dmap, progress)

        def done(edit: BackboneEdit | PeptideSwitch | GapClosure | Extension | SideChainEdit):
            if not self._unchanged(s, rows, refused):
                return
            s.replace(edit.rows)
            if landed is not None:
                landed(edit, start, index)
            new = None if built is None else built(edit)
            if new:
                self.current = new[0]
            self.widget.refresh()
            if new:
                self.widget.sync.select(new)
            self.widget.status.setText(edit.text)

        return self.widget._start(name, job, done)

    def flip_side_chain(self):
        """Turn the current ASN, GLN or HIS over (:func:`~..side_chain_edit.flip_side_chain`)
        off the GUI thread; one undoable step."""
        from ..side_chain_edit import flip_side_chain

        return self._side_chain_job("Flip side chain", flip_side_chain, {})

    def next_rotamer(self):
        """Put the current residue's side chain in the next library rotamer, best first
        (:func:`~..side_chain_edit.place_rotamer`), off the GUI thread; one undoable step. Each
        press on the model the last one left goes one rotamer further; the ranks are those of
        the side chain as it was before the first press."""
        from ..side_chain_edit import place_rotamer

        s = self.session
        walk = self._rotamers
        if walk is not None and s is not None and walk[3] is s.residues and walk[1] == self.current:
            base, rank = walk[0], walk[2] + 1
        else:
            base, rank = None if s is None else s.residues, 0
        return self._side_chain_job("Next rotamer", place_rotamer, {"rank": rank}, base)

    def _side_chain_job(
        self, name: str, fn: Callable[..., SideChainEdit], options: dict, base: list | None = None
    ):
        """:meth:`_edit_job` of ``fn(snapshot, current, dmap, refine=..., **options)`` on the
        rows ``base``; a rotamer it placed is where the next press of Next rotamer goes on."""
        refine = self.widget.refine_box.isChecked()

        def landed(edit: SideChainEdit, start: list, index: int) -> None:
            self._rotamers = (None if edit.rank is None
                              else (start, index, edit.rank, self.session.residues))  # fmt: skip

        return self._edit_job(
            name, lambda snap, i, dmap, _: fn(snap, i, dmap, refine=refine, **options),
            base=base, landed=landed,
        )  # fmt: skip

    def next_problem(self):
        """Go to the next residue after the current one that the model's checks flag
        (:func:`~..model_checks.check_session`, worked out off the GUI thread once per version
        of the model) and say in the status line what is wrong with it."""
        from ..session import Session

        s = self.session
        if s is None or not any(r.atoms for r in s.residues):
            notify_error("nothing built yet: no atoms to check")
            return None
        if self._problems is not None and self._problems_of is s.residues:
            return self._go_to_problem()
        rows = s.residues

        def job(progress: StageProgress, dmap: DensityMap):
            from ..model_checks import check_session

            return check_session(Session(rows, None, s.meta, autosave=False), dmap).problems()

        def done(problems: list[tuple[int, str]]):
            if not self._unchanged(s, rows, "model not checked: it changed meanwhile"):
                return
            self._problems, self._problems_of = problems, rows
            self._go_to_problem()

        return self.widget._start("Check model", job, done)

    def _go_to_problem(self) -> int | None:
        problems = self._problems or []
        if not problems:
            self.widget.status.setText(
                "No problem found: no Ramachandran outlier, twisted or cis peptide, impossible "
                "contact, residue in weak density, or amide or ring to turn over"
            )
            return None
        after = -1 if self.current is None else self.current
        k = next((k for k, (index, _) in enumerate(problems) if index > after), 0)
        index, what = problems[k]
        self.show_residue(index)
        r = self.session.residues[index]  # named with its chain, as info MAP MODEL names it
        label = f"{r.name} {r.chain}{r.seqid}{r.icode}"
        self.widget.status.setText(f"Problem {k + 1} of {len(problems)}: {label}: {what}")
        return index

    def next_blob(self):
        """Go to the next unmodelled blob (found first, or again after the model changed)."""
        s = self.session
        if s is None or not s.residues:
            notify_error("nothing built yet: no model to compare the map with")
            return None
        if self._blobs is not None and self._blobs_of is s.residues:
            return self._go_to_blob()
        residues = s.residues
        xyz = np.array([a[1:] for r in residues for a in r.atoms], dtype=float).reshape(-1, 3)

        def job(progress: StageProgress, dmap: DensityMap):
            from ..blobs import unmodelled_blobs

            return unmodelled_blobs(dmap, xyz)

        def done(blobs: list[Blob]):
            self._blobs, self._blobs_of, self._blob_index = blobs, residues, -1
            self.widget.sync.show_blobs(blobs)
            self._go_to_blob()

        return self.widget._start("Find blobs", job, done)

    def _go_to_blob(self) -> int | None:
        if not self._blobs:
            notify_error("no unmodelled blob: the model explains the map at 1.5 sigma")
            return None
        self._blob_index = (self._blob_index + 1) % len(self._blobs)
        b = self._blobs[self._blob_index]
        self.widget.sync.centre_at(b.centre)
        self.widget.controls.focus()
        self.widget.status.setText(f"Blob {self._blob_index + 1} of {len(self._blobs)}: "
                                   f"{b.volume:.0f} A^3, peak {b.peak:.1f} sigma")  # fmt: skip
        return self._blob_index
