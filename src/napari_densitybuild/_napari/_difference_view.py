"""The model against the data in review: "Difference map" and "Next difference peak".

Where the model's map is an MTZ file that also holds measured amplitudes (FP/SIGFP with free
flags, as refinement programs write it), "Difference map" computes the model as it stands
against them off the GUI thread (:mod:`~..model_maps`: R-work, R-free, and the model-phased
sigmaA-weighted mFo-DFc map), draws that map as two layers, +3 sigma green and -3 sigma red
(``model mFo-DFc ...``, replacing the last ones), says R-work and R-free in the status line, and
fills the residue table's "diff σ" column (the map's mean at each residue's atoms).
"Next difference peak" walks that map's peaks near the model, largest first, those that look
like waters last (:mod:`~..difference_peaks`), and names the nearest atom; after an edit it
computes the map again first. A reviewed model is computed with what its export writes (its
waters, ligands and own B-factors); a build, whose B column is its confidence, with one B for
every atom.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from ._reader import notify_error

if TYPE_CHECKING:
    from ..build import StageProgress
    from ..maps import DensityMap
    from ._build_widget import BuildWidget
    from ._residue_table import ResidueTable

#: Start of the names of the model's difference-map layers.
LAYER_NAME = "model"


class DifferenceView:
    """Mixed into :class:`~._review_panel.ReviewPanel` (``widget``, ``session``,
    :meth:`show_residue`)."""

    widget: BuildWidget
    table: ResidueTable
    _peaks: list | None = None
    _peaks_of: list | None = None  # the residue list the map was computed for
    _peak_index = -1
    _peak_atoms: tuple | None = None  # (residue index of each atom or -1, atom labels)
    _difference_layers: tuple = ()
    _difference_of = None  # the session they were computed for

    def difference_map(self, then_walk: bool = False):
        """Compute the model's R factors and mFo-DFc map against the measured amplitudes of
        its map file, draw the map and find its peaks (off the GUI thread)."""
        from ..session import Session

        s = self.session
        if s is None or not any(r.atoms for r in s.residues):
            notify_error("nothing built yet: no atoms to compute a difference map from")
            return None
        rows = s.residues
        snapshot = Session(rows, None, s.meta, autosave=False)

        def job(progress: StageProgress, dmap: DensityMap):
            from ..difference_peaks import difference_peaks
            from ..kept_parts import export_table
            from ..model_maps import fit_model, model_map
            from ..models import to_structure
            from ..xray_data import read_observed
            from ._layers import difference_layers

            table = export_table(snapshot)
            # read_observed and fit_model say why where they cannot (a map file, the MTZ's
            # columns, too few reflections, a cell too large)
            fit = fit_model(to_structure(table), read_observed(dmap.source))
            diff = model_map(fit, difference=True, source=f"{LAYER_NAME} mFo-DFc")
            counts = [len(r.atoms) for r in rows]
            residue = np.repeat(np.arange(len(rows)), counts)
            residue = np.concatenate([residue, np.full(len(table) - len(residue), -1)])
            t = table
            labels = [f"{n} {c}{q}{i.strip()} {a}" for n, c, q, i, a in
                      zip(t.resname, t.chain, t.seqid, t.icode, t.atom)]  # fmt: skip
            layers = difference_layers(diff, around=table.xyz, name=LAYER_NAME)
            polar = np.isin(table.element, ("N", "O"))
            peaks = difference_peaks(diff, table.xyz, polar=polar)
            at = diff.sample_points(table.xyz)
            own = residue >= 0
            per_residue = np.bincount(residue[own], at[own], len(rows)) / np.maximum(counts, 1)
            per_residue[np.asarray(counts) == 0] = np.nan
            return fit, layers, peaks, (residue, labels), per_residue

        def done(result: tuple) -> None:
            fit, layers, peaks, atoms, per_residue = result
            if self.session is not s:  # another model (or map) since: nothing of it to show
                return
            self._show_difference_layers(layers)
            self._difference_of = s
            self.table.set_difference(rows, per_residue)  # blank where residues changed since
            self.sequence.show_session(s, None, self.table.difference(s.residues))
            if self.session is not s or s.residues is not rows:
                self.widget.status.setText("difference map of the model as it was: it changed "
                                           "meanwhile; press again")  # fmt: skip
                return
            self._peaks, self._peaks_of, self._peak_index = peaks, rows, -1
            self._peak_atoms = atoms
            positive = sum(p.height > 0 for p in peaks)
            waters = sum(p.water for p in peaks)
            free = f", R-free {fit.r_free:.3f}" if fit.r_free is not None else ""
            how = "one B for every atom" if fit.b_factors == "flat" else "its own B-factors"
            self.widget.status.setText(
                f"Model against {'/'.join(fit.data.columns)}: R-work {fit.r_work:.3f}{free} "
                f"({how}, nothing refined); {len(peaks)} difference peaks near the model "
                f"({positive} positive, {len(peaks) - positive} negative; {waters} of them look "
                "like waters, walked last)" + "".join(f"; NOTE: {n}" for n in fit.notes)
            )
            if then_walk:
                self._go_to_peak()

        return self.widget._start("Difference map", job, done)

    def _show_difference_layers(self, layers: list) -> None:
        viewer = self.widget.viewer
        active = viewer.layers.selection.active
        names = {meta["name"] for _, meta, _ in layers}
        self._remove_difference_layers(ly for ly in viewer.layers if ly.name in names)
        self._difference_layers = tuple(viewer.add_image(data, **meta) for data, meta, _ in layers)
        if active is not None and active in viewer.layers:
            viewer.layers.selection.active = active

    def next_peak(self):
        """Go to the next peak of the model's difference map (computed first, or again after
        the model changed), and say its height and the nearest atom."""
        s = self.session
        if s is None or not s.residues:
            notify_error("nothing built yet: no model to compare with the data")
            return None
        if self._peaks is not None and self._peaks_of is s.residues:
            return self._go_to_peak()
        return self.difference_map(then_walk=True)

    def _go_to_peak(self) -> int | None:
        if not self._peaks:
            self.widget.status.setText("No difference peak over 3.5 sigma near the model")
            return None
        self._peak_index = (self._peak_index + 1) % len(self._peaks)
        p = self._peaks[self._peak_index]
        residue, labels = self._peak_atoms
        if residue[p.atom] >= 0:
            self.show_residue(int(residue[p.atom]))
        self.widget.sync.centre_at(p.xyz)
        self.widget.controls.focus()
        kind = ("positive, where a water would H-bond: a water?" if p.water
                else "positive: the data want more here" if p.height > 0
                else "negative: the data do not support the model here")  # fmt: skip
        self.widget.status.setText(
            f"Peak {self._peak_index + 1} of {len(self._peaks)}: {p.height:+.1f} sigma, "
            f"{p.distance:.1f} A from {labels[p.atom]} ({kind})"
        )
        return self._peak_index

    def stale_peaks(self) -> None:
        """Forget the peaks once the model changed (the layers stay until computed again); take
        the layers and the table's column away once the panel holds another model or map."""
        s = self.session
        if self._peaks is not None and (s is None or self._peaks_of is not s.residues):
            self._peaks = self._peaks_of = None
        if self._difference_of is not None and s is not self._difference_of:
            self._remove_difference_layers()
            self._difference_layers, self._difference_of = (), None
            self.table.clear_difference()

    def _remove_difference_layers(self, others: Iterable = ()) -> None:
        """Take this panel's last difference layers (and ``others``) out of the viewer."""
        viewer = self.widget.viewer
        for layer in [*self._difference_layers, *others]:
            if layer in viewer.layers:  # a panel opened before this one may have left some
                viewer.layers.remove(layer)
