"""The model-building dock widget: Auto-place, Classify, Predict poses, Auto-build, Review
model; review and correct residues by hand (see :mod:`._review_panel`).

The widget holds a :class:`~napari_densitybuild.session.Session` and shows it as layers
(:mod:`._build_layers`): residue boxes (labelled points), atoms and bonds, and the outline of
the selected box. Every job runs off the GUI thread through :class:`._tasks.TaskRunner`, with
progress and Cancel. Boxes added by clicking in the boxes layer (its "add points" mode, in a 2-D
slice or on a plane) snap to the nearest C-alpha the detector finds there and are classified;
deleted points delete residues; moved points are placed again where they were dropped
(:mod:`._box_edits`). A stage whose weights are missing is disabled with the reason in its
tooltip.

A model stays on the map it was built into, and a new model replaces one as an undoable step
(:mod:`._model_on_map`). A panel opened again on a viewer (its dock was closed) carries on with
the model on screen; one panel at a time works on a viewer's model (:mod:`._live_session`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from ..errors import DensityBuildError
from ..session import Session
from ._box_edits import BoxEdits
from ._docking import ReleasedWithDock, scrolled_layout
from ._layer_sync import LayerSync
from ._live_session import REFUSAL, join, watch
from ._map_cache import kept_map
from ._model_on_map import ModelOnMap, in_job
from ._reader import notify_error, notify_warning
from ._review_keys import ReviewKeys
from ._review_panel import ReviewPanel
from ._sequence_edit import ask_sequence_file
from ._tasks import ProgressPanel, TaskRunner
from ._widgets import DensityControls

if TYPE_CHECKING:
    import napari

    from ..build import StageProgress
    from ..build_result import BuildResult
    from ..classify import Classifier
    from ..maps import DensityMap
    from ..place import Placer
    from ..residue_state import ResidueState
    from ..trace import Trace

BUTTONS = (
    "Auto-place",
    "Classify",
    "Predict poses",
    "Auto-build",
    "Review model...",
    "Restore autosave",
)


class BuildWidget(ModelOnMap, ReleasedWithDock, QWidget):
    """Open a map, build a model into it, review and correct it, export it.

    Parameters
    ----------
    napari_viewer
        The viewer.
    placer, classifier
        Stage 1 and stages 2-3 (default: the shipped weights, loaded on first use).
    """

    def __init__(self, napari_viewer: napari.viewer.Viewer, placer: Placer | None = None,
                 classifier: Classifier | None = None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.viewer = napari_viewer
        self._placer, self._classifier = placer, classifier
        self.session: Session | None = None
        self.runner = TaskRunner(self)
        self.controls = DensityControls(napari_viewer)
        live = join(napari_viewer, self)  # the viewer's model on screen, taken over
        #: Whether the panel is off: another open panel works on the viewer's model.
        self.refused = False
        self.sync = live or LayerSync(napari_viewer, self)
        self.buttons = {name: QPushButton(name) for name in BUTTONS}
        self.refine_box = QCheckBox("refine atoms against the map")
        self.refine_box.setChecked(True)
        self.selected_only = QCheckBox("selected boxes only")
        self.keep_weak = QCheckBox("Auto-build: keep short fragments of low confidence")
        self.keep_weak.setToolTip("By default fragments of up to 10 residues with mean "
                                  "confidence under 50 are left out (mostly ligand or glycan "
                                  "density)")  # fmt: skip
        self.sequence_button = QPushButton("Sequence...")
        self.clear_sequence_button = QPushButton("No sequence")
        self.clear_sequence_button.setEnabled(False)
        self.sequence_path: str | None = None
        self.progress = ProgressPanel(self.runner)
        self.review = ReviewPanel(self)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        grid = QGridLayout()
        for k, name in enumerate(BUTTONS):
            grid.addWidget(self.buttons[name], k // 2, k % 2)
        layout = scrolled_layout(self)  # a short screen scrolls the panel
        layout.addWidget(self.controls)
        row = QHBoxLayout()
        row.addWidget(self.sequence_button, 3)
        row.addWidget(self.clear_sequence_button, 1)
        layout.addLayout(row)
        layout.addLayout(grid)
        layout.addWidget(self.refine_box)
        layout.addWidget(self.selected_only)
        layout.addWidget(self.keep_weak)
        layout.addWidget(self.progress)
        layout.addWidget(self.review)
        layout.addWidget(self.status)

        self.buttons["Auto-place"].clicked.connect(self.auto_place)
        self.buttons["Classify"].clicked.connect(self.classify)
        self.buttons["Predict poses"].clicked.connect(self.predict_poses)
        self.buttons["Auto-build"].clicked.connect(self.auto_build)
        self.buttons["Review model..."].clicked.connect(lambda: self.review_model())
        self.buttons["Restore autosave"].clicked.connect(lambda: self.restore_autosave())
        self.sequence_button.clicked.connect(self._choose_sequence)
        self.clear_sequence_button.clicked.connect(lambda: self._set_sequence(None))
        self.runner.started.connect(lambda _: self._enable(False))
        self.runner.stopped.connect(lambda *_: self._enable(True))
        # a map chosen while a job ran is looked at once it is done
        self.runner.stopped.connect(lambda *_: self._map_changed_later())
        self.boxes = BoxEdits(self)
        self._enable(True)
        watch(self)
        self.keys = ReviewKeys(self.viewer, self.review)
        if live is None:
            self._refuse()
            return
        self._follow_maps(True)
        self._carry_on()
        self._on_map_changed()
        self.keys.bind()

    # -- the dock closing and opening ------------------------------------------------------------
    def release(self) -> None:
        """The dock closed: stop the running job (at its next progress report), give the map
        back whole and shown, and leave the model's layers as they are, no longer tied to the
        widget (edits made to them afterwards start no job; the session is in its autosave, and
        a panel opened again takes it up). Type corrections whose atoms were not ready are
        dropped, and named: the model carries on without them."""
        if self.refused:
            return  # (it let go of the viewer when it was refused)
        self.runner.cancel()
        dropped = self.review.corrections.cancel()
        if dropped:
            notify_warning("Not applied, the Model building panel closed before their atoms "
                           f"were ready: {', '.join(dropped)}; make them again")  # fmt: skip
        self.boxes.stop()
        self._follow_maps(False)
        self.controls.release()
        self.sync.release()
        self.keys.unbind()
        self.review.close_views()

    def attach(self) -> None:
        """Docked again: control the map and follow the boxes layer again, carrying on with the
        model on screen (another panel may have changed it meanwhile); refused where another
        open panel works on it."""
        live = join(self.viewer, self)
        if live is None:
            self._refuse()
            return
        if self.refused:
            self.refused = False
            self.setEnabled(True)
            self.status.setText("")
        self.sync = live
        self.controls.attach()
        self.sync.attach()
        self._follow_maps(True)
        self._carry_on()
        self.keys.bind()

    def _refuse(self) -> None:
        """Switch this panel off, saying why: another open panel works on the viewer's model.
        It lets go of the viewer's maps, and its own layer set (never drawn) keeps it away from
        the other panel's."""
        self.refused, self.session = True, None
        self.keys.unbind()
        self.sync = LayerSync(self.viewer, self)
        self._follow_maps(False)
        self.controls.release()
        self.setEnabled(False)
        self.status.setText(REFUSAL)

    def _carry_on(self) -> None:
        """Take up the model on screen (left by a panel whose dock was closed), with the
        residue selected in its boxes layer under review. Shown afresh even where it is this
        panel's own model: another panel may have changed it since (rows and the residue under
        review as they were would send a correction to another residue)."""
        s = self.sync.session
        if s is None:
            return
        self.session = s
        self.controls.choose(s.map_path)
        self.sync.attach()
        self.refresh()
        self.review.follow_selection(self.sync.selected())
        self.status.setText(f"Carrying on with the model on screen: {self.status.text()}")

    # -- weights and map -------------------------------------------------------------------------
    def _load(self, what: str):
        """The placer or classifier (shipped weights on first use); None with a reason."""
        from ..classify import Classifier
        from ..place import Placer

        attr = "_placer" if what == "placer" else "_classifier"
        if getattr(self, attr) is None:
            try:
                setattr(self, attr, (Placer if what == "placer" else Classifier).from_path())
            except DensityBuildError as e:
                return None, str(e)
        return getattr(self, attr), ""

    def _enable(self, idle: bool) -> None:
        _, why_p = self._load("placer")
        clf, why_c = self._load("classifier")
        poses = clf is not None and clf.has_poses
        reasons = {
            "Auto-place": why_p,
            "Classify": why_c,
            "Predict poses": why_c or ("" if poses else "the classifier has no pose head"),
            "Auto-build": why_p or why_c or ("" if poses else "the classifier has no pose head"),
            "Review model...": why_c,
            "Restore autosave": "",
        }
        for name, button in self.buttons.items():
            button.setEnabled(idle and not reasons[name])
            tip = f"{name} (runs in the background)"
            if name == "Restore autosave":
                tip = "the chosen map's newest autosaved model (one shown stays one Undo away)"
            button.setToolTip(reasons[name] or tip)
        self.review.setEnabled(idle)

    def selected_indices(self) -> list[int] | None:
        """Residues chosen in the boxes layer (None: all; none if the layer was deleted)."""
        return self.sync.selected() if self.selected_only.isChecked() else None

    # -- the four buttons ------------------------------------------------------------------------
    def _start(
        self,
        name: str,
        fn: Callable[[StageProgress, DensityMap], Any],
        on_done: Callable[[Any], None],
        chosen: bool = False,
    ):
        """Run ``fn(progress, dmap)`` on the model's map (``chosen``: the chosen map's), read
        in the job."""
        try:
            source = self.map_file(chosen)
        except DensityBuildError as e:
            notify_error(str(e))
            return None
        return self.runner.start(name, in_job(fn), source, on_done=on_done)

    def auto_place(self):
        """Run placement; the boxes replace the current session."""
        placer, _ = self._load("placer")
        path = self.map_path(chosen=True)

        def job(progress: StageProgress, dmap: DensityMap):
            return placer.place(dmap, progress=lambda d, n: progress("place", d, n))

        def done(trace: Trace):
            self.set_session(Session.from_trace(trace, path, kept_map(path)))

        return self._start("Auto-place", job, done, chosen=True)

    def classify(self, poses: bool = False, indices: list[int] | None = None):
        """Classify the boxes ``indices`` (default all, or the selected ones where "selected
        boxes only" is ticked); with ``poses`` also predict their atoms."""
        from ..review import classify_residues, predicted_poses

        if self.session is None or not self.session.residues:
            notify_error("no boxes: run Auto-place or add boxes first")
            return None
        indices = self.selected_indices() if indices is None else indices
        if indices is not None and not indices:
            notify_error("no boxes selected: select some, or untick 'selected boxes only'")
            return None
        clf, _ = self._load("classifier")
        session, rows = self.session, self.session.residues
        snapshot = Session(rows, None, session.meta, autosave=False)  # edits go on meanwhile
        refine_atoms = poses and self.refine_box.isChecked()

        def job(progress: StageProgress, dmap: DensityMap):
            if poses:
                return predicted_poses(snapshot, dmap, clf, indices, refine_atoms, progress)
            report = lambda d, n: progress("classify", d, n)  # noqa: E731
            return classify_residues(snapshot, dmap, clf, indices, poses=False, progress=report)

        def done(updates: dict[int, ResidueState]):
            self.apply_result(session, rows, updates, "posed" if poses else "classified")

        return self._start("Predict poses" if poses else "Classify", job, done)

    def predict_poses(self):
        """Atoms for every (or every selected) box, for the type it has."""
        return self.classify(poses=True)

    def auto_build(self):
        """The whole pipeline (place, classify, poses, sequence, refine) in one job."""
        from ..build import build
        from ..build_result import sequence_note
        from ..sequence import protein_sequences
        from ..settings import weak_fragments_rule

        placer, _ = self._load("placer")
        clf, _ = self._load("classifier")
        try:
            path = self.sequence_path
            seqs = protein_sequences(path, notify_warning) if path else None
        except DensityBuildError as e:
            notify_error(str(e))
            return None
        refine_atoms = self.refine_box.isChecked()
        weak = weak_fragments_rule(self.keep_weak.isChecked())
        path = self.map_path(chosen=True)

        def job(progress: StageProgress, dmap: DensityMap):
            return build(dmap, placer, clf, seqs, do_refine=refine_atoms, progress=progress,
                         weak_fragments=weak)  # fmt: skip

        def done(result: BuildResult):
            self.set_session(Session.from_build(result, path))
            self.status.setText(f"Built: {result.summary()}")
            note = sequence_note(result.report, seqs) if seqs else None
            if note:
                notify_warning(note)

        return self._start("Auto-build", job, done, chosen=True)

    def review_model(self, path: str | None = None):
        """Open a model file as the session to review (:func:`._model_review.review_model`)."""
        from ._model_review import review_model

        return review_model(self, path)

    def _choose_sequence(self) -> None:
        path = ask_sequence_file(self)
        if path:
            self._set_sequence(path)

    def _set_sequence(self, path: str | None) -> None:
        """Build with the sequence in ``path`` from now on (None: without one)."""
        self.sequence_path = path
        self.sequence_button.setText(f"Sequence: {Path(path).name}" if path else "Sequence...")
        self.clear_sequence_button.setEnabled(path is not None)

    # -- boxes edited in the layer (:mod:`._box_edits`) ------------------------------------------
    def on_boxes_added(self, points_zyx: np.ndarray) -> None:
        """New points in the boxes layer: snap each to a C-alpha, classify and pose it."""
        self.boxes.added(points_zyx)

    def on_boxes_removed(self, indices: list[int]) -> None:
        """Points deleted in the boxes layer: delete those residues."""
        self.boxes.removed(indices)

    def on_boxes_moved(self, indices: list[int]) -> None:
        """Points dragged in the boxes layer: place them again once the drag stops."""
        self.boxes.dragged(indices)

    def export(self, path: str | None = None) -> str | None:
        """Write the corrected model through the plugin's writer (.cif or .pdb)."""
        if self.session is None or not self.session.residues:
            notify_error("nothing to export: build or place residues first")
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export model", "model.cif",
                                                  "mmCIF (*.cif);;PDB (*.pdb)")  # fmt: skip
            if not path:
                return None
        try:
            return self.sync.export(path)
        except DensityBuildError as e:
            notify_error(str(e))
        except (OSError, RuntimeError) as e:  # gemmi says RuntimeError where it cannot write
            notify_error(f"{path}: cannot write the model ({e})")
        return None
