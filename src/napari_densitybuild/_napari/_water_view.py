"""Waters in review: "Find waters" and "Remove waters".

"Find waters" looks for ordered waters beside the model as it stands, off the GUI thread
(:mod:`~..waters`: round peaks of the map at 1.5 sigma or more, 2.4-3.4 A from N and O, clear
of the atoms; where the map's MTZ holds measured amplitudes, kept only if they lower R-work),
puts them with the atoms kept aside (drawn as ``waters and ligands (kept as they are)`` and
written by Export), and says how many and, with amplitudes, R-work and R-free without and with
them. Pressing it again after edits finds them again in place of the last ones; "Remove
waters" takes out those it found (a reviewed model's own waters stay).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._reader import notify_error

if TYPE_CHECKING:
    from ..build import StageProgress
    from ..maps import DensityMap
    from ..waters import WaterSearch
    from ._build_widget import BuildWidget


class WaterView:
    """Mixed into :class:`~._review_panel.ReviewPanel` (``widget``, ``session``)."""

    widget: BuildWidget

    def find_waters(self):
        """Find waters beside the model as it stands and keep them with its kept atoms."""
        from ..session import Session
        from ..waters import FOUND_CHAIN, session_waters

        s = self.session
        if s is None or not any(r.atoms for r in s.residues):
            notify_error("nothing built yet: no atoms to put waters beside")
            return None
        rows, meta = s.residues, dict(s.meta)
        meta.update(session_waters(meta, set(), []))  # the last ones found: not partners now
        snapshot = Session(rows, None, meta, autosave=False)

        def job(progress: StageProgress, dmap: DensityMap):
            from ..kept_parts import export_table
            from ..models import to_structure
            from ..waters import model_waters

            return model_waters(dmap, to_structure(export_table(snapshot)), dmap.source)

        def done(search: WaterSearch) -> None:
            found, note = search.waters, search.note
            if self.session is not s:  # another model (or map) since
                return
            s.meta.update(session_waters(s.meta, {r.chain for r in s.residues}, found))
            s.save_autosave()
            self.widget.refresh()
            where = f" in chain {s.meta[FOUND_CHAIN]}" if len(found) else ""
            self.widget.status.setText(
                f"{len(found)} waters found{where} (round peaks at 1.5 sigma or more beside N and "
                "O; written by Export)" + (f"; {note}" if note else "")
            )

        return self.widget._start("Find waters", job, done)

    def remove_waters(self) -> int:
        """Take out the waters "Find waters" put in; returns how many."""
        from ..kept_parts import KEPT
        from ..waters import session_waters

        s = self.session
        if s is None:
            return 0
        before = len(s.meta.get(KEPT) or [])
        s.meta.update(session_waters(s.meta, set(), []))
        removed = before - len(s.meta.get(KEPT) or [])
        s.save_autosave()
        self.widget.refresh()
        self.widget.status.setText(f"{removed} waters found before taken out")
        return removed
