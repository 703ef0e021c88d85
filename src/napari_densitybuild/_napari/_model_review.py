"""Review model...: a model from a file (another program's, or a deposited one) opened as the
session to review, its residue types checked against the map.

Each residue is classified at its own frame for probabilities only; types and atoms stay as
modelled (:func:`~..review.model_session`). The review table then shows the classifier's
probability of each modelled type as its confidence, with the runner-up, and "Next doubtful
residue" walks the residues whose type the map disputes most: a register shift or a
misidentified residue shows up there, as at the start of a build's review.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtWidgets import QFileDialog

from ..model_checks import off_map_note
from ._reader import notify_error, notify_warning
from ._widgets import MODEL_FILTER

if TYPE_CHECKING:
    from ..build import StageProgress
    from ..maps import DensityMap
    from ..session import Session
    from ._build_widget import BuildWidget


def review_model(widget: BuildWidget, path: str | None = None):
    """Open ``path`` (asked for if None) as ``widget``'s session, off the GUI thread; the
    job's handle, or None where there is no map or no file was chosen."""
    from ..models import read_structure
    from ..review import model_session

    if widget.map_path(chosen=True) is None:
        notify_error("open a map first: the model is checked against it")
        return None
    if path is None:
        start = widget.controls.model_path.text().strip()
        path, _ = QFileDialog.getOpenFileName(widget, "Model to review", start, MODEL_FILTER)
        if not path:
            return None
    clf, map_path = widget._load("classifier")[0], widget.map_path(chosen=True)

    def job(progress: StageProgress, dmap: DensityMap) -> tuple[Session, float]:
        session = model_session(read_structure(path), dmap, clf, map_path,
                                lambda d, n: progress("classify", d, n))  # fmt: skip
        ca = np.array([r.ca for r in session.residues])
        return session, float(dmap.sample_points(ca).mean())

    def done(got: tuple[Session, float]):
        session, at_ca = got
        widget.set_session(session)
        from ..kept_parts import kept_summary

        kept = kept_summary(session.meta)
        widget.status.setText(f"Reviewing {Path(path).name}: {len(session.residues)} residues"
                              f"{'; ' + kept if kept else ''}; Next doubtful residue goes to "
                              "the least confident")  # fmt: skip
        note = off_map_note(at_ca)
        if note:
            notify_warning(f"{Path(path).name}: {note}")

    return widget._start("Review model", job, done, chosen=True)
