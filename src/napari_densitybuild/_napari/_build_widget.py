"""The model-building dock widget: Auto-place, Classify, Predict poses, Auto-build, Review
model; review and correct residues by hand (see :mod:`._review_panel`).

The widget holds a :class:`~napari_densitybuild.session.Session` and shows it as layers
(:mod:`._build_layers`): residue boxes (labelled points), atoms and bonds, and the outline of
the selected box. Every job runs off the GUI thread through :class:`._tasks.TaskRunner`, with
progress and Cancel. Boxes added by clicking in the boxes layer (its "add points" mode, in a 2-D
slice or on a plane) snap to the nearest C-alpha the detector finds there and are classified;
deleted points delete residues; moved points are placed again where they were dropped. A stage
whose weights are missing is disabled with the reason in its tooltip.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import DensityBuildError
from ..session import Session, autosave_path
from ._docking import ReleasedWithDock
from ._layer_sync import LayerSync
from ._reader import notify_error, notify_warning
from ._review_panel import ReviewPanel
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

BUTTONS = ("Auto-place", "Classify", "Predict poses", "Auto-build", "Review model...")


class BuildWidget(ReleasedWithDock, QWidget):
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
        self._dmaps: dict[str, object] = {}
        self.runner = TaskRunner(self)
        self.controls = DensityControls(napari_viewer)
        self.sync = LayerSync(napari_viewer, self)
        self.buttons = {name: QPushButton(name) for name in BUTTONS}
        self.refine_box = QCheckBox("refine atoms against the map")
        self.refine_box.setChecked(True)
        self.selected_only = QCheckBox("selected boxes only")
        self.keep_weak = QCheckBox("Auto-build: keep short fragments of low confidence")
        self.keep_weak.setToolTip("By default fragments of up to 10 residues with mean "
                                  "confidence under 50 are left out (mostly ligand or glycan "
                                  "density)")  # fmt: skip
        self.sequence_button = QPushButton("Sequence...")
        self.sequence_path: str | None = None
        self.progress = ProgressPanel(self.runner)
        self.review = ReviewPanel(self)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        grid = QGridLayout()
        for k, name in enumerate(BUTTONS):
            grid.addWidget(self.buttons[name], k // 2, k % 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.sequence_button)
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
        self.sequence_button.clicked.connect(self._choose_sequence)
        self.runner.started.connect(lambda _: self._enable(False))
        self.runner.stopped.connect(lambda *_: self._enable(True))
        self._move_timer = QTimer(self)
        self._move_timer.setSingleShot(True)
        self._move_timer.setInterval(400)
        self._move_timer.timeout.connect(self._commit_moves)
        self._moved: set[int] = set()
        self._enable(True)

    # -- the dock closing and opening ------------------------------------------------------------
    def release(self) -> None:
        """The dock closed: stop the running job (at its next progress report), give the map
        back whole and shown, and leave the model's layers as they are, no longer tied to the
        widget (edits made to them afterwards start no job; the session is in its autosave)."""
        self.runner.cancel()
        self.review.corrections.cancel()
        self._move_timer.stop()
        self._moved.clear()
        self.controls.release()
        self.sync.release()

    def attach(self) -> None:
        """Docked again: control the map and follow the boxes layer again."""
        self.controls.attach()
        self.sync.attach()

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
        }
        for name, button in self.buttons.items():
            button.setEnabled(idle and not reasons[name])
            button.setToolTip(reasons[name] or f"{name} (runs in the background)")
        self.review.setEnabled(idle)

    def dmap(self):
        """The DensityMap behind the chosen map layer (read once per file).

        Raises
        ------
        DensityBuildError
            If no map layer of this plugin is open.
        """
        from ..maps import read_map

        layer = self.controls.layer
        source = layer.metadata.get("source") if layer is not None else None
        if not source or not Path(str(source)).is_file():
            raise DensityBuildError("open a map first (File > Open, or the Open button above)")
        if source not in self._dmaps:
            self._dmaps = {source: read_map(source)}
        return self._dmaps[source]

    def map_path(self) -> str | None:
        layer = self.controls.layer
        return layer.metadata.get("source") if layer is not None else None

    # -- session ---------------------------------------------------------------------------------
    def set_session(self, session: Session) -> None:
        """Show ``session`` (replacing any other) and make it the one edits go to."""
        self.session = session
        self.refresh()

    def refresh(self) -> None:
        """Redraw the layers and the review table from the session."""
        if self.session is None:
            return
        self.sync.show(self.session)
        self.review.refresh()
        n = len(self.session.residues)
        self.status.setText(f"{n} residues; autosaved to {autosave_path(self.session.map_path)}"
                            if self.session.map_path else f"{n} residues")  # fmt: skip

    def restore_autosave(self) -> bool:
        """Open the autosaved session of the current map, if there is one."""
        path = self.map_path()
        if not path or not autosave_path(path).is_file():
            return False
        session = Session.load(autosave_path(path))
        session.map_path = path
        self.set_session(session)
        from napari.utils.notifications import show_info

        show_info(f"restored {len(session.residues)} residues from {autosave_path(path)}")
        return True

    def selected_indices(self) -> list[int] | None:
        """Residues chosen in the boxes layer (None: all)."""
        if not self.selected_only.isChecked() or self.sync.boxes is None:
            return None
        return sorted(int(i) for i in self.sync.boxes.selected_data)

    # -- the four buttons ------------------------------------------------------------------------
    def _start(
        self,
        name: str,
        fn: Callable[[StageProgress, DensityMap], Any],
        on_done: Callable[[Any], None],
    ):
        try:
            dmap = self.dmap()
        except DensityBuildError as e:
            notify_error(str(e))
            return None
        return self.runner.start(name, fn, dmap, on_done=on_done)

    def auto_place(self):
        """Run placement; the boxes replace the current session."""
        placer, _ = self._load("placer")

        def job(progress: StageProgress, dmap: DensityMap):
            return placer.place(dmap, progress=lambda d, n: progress("place", d, n))

        def done(trace: Trace):
            self.set_session(Session.from_trace(trace, self.map_path(), self._dmaps.get(
                self.map_path())))  # fmt: skip

        return self._start("Auto-place", job, done)

    def classify(self, poses: bool = False):
        """Classify all (or the selected) boxes; with ``poses`` also predict their atoms."""
        from ..review import classify_residues, refine_updates

        if self.session is None or not self.session.residues:
            notify_error("no boxes: run Auto-place or add boxes first")
            return None
        clf, _ = self._load("classifier")
        session, indices = self.session, self.selected_indices()
        refine_atoms = poses and self.refine_box.isChecked()

        def job(progress: StageProgress, dmap: DensityMap):
            report = lambda d, n: progress("classify", d, n)  # noqa: E731
            updates = classify_residues(session, dmap, clf, indices, poses=poses, progress=report)
            if refine_atoms:
                updates = refine_updates(session, updates, dmap, progress)
            return updates

        def done(updates: dict[int, ResidueState]):
            session.apply(updates)
            self.refresh()

        return self._start("Predict poses" if poses else "Classify", job, done)

    def predict_poses(self):
        """Atoms for every (or every selected) box, for the type it has."""
        return self.classify(poses=True)

    def auto_build(self):
        """The whole pipeline (place, classify, poses, sequence, refine) in one job."""
        from ..build import build
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

        def job(progress: StageProgress, dmap: DensityMap):
            return build(dmap, placer, clf, seqs, do_refine=refine_atoms, progress=progress,
                         weak_fragments=weak)  # fmt: skip

        def done(result: BuildResult):
            self.set_session(Session.from_build(result, self.map_path()))
            self.status.setText(f"Built: {result.summary()}")

        return self._start("Auto-build", job, done)

    def review_model(self, path: str | None = None):
        """Open a model file as the session to review (:func:`._model_review.review_model`)."""
        from ._model_review import review_model

        return review_model(self, path)

    def _choose_sequence(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Sequence", "", "FASTA (*.fa *.fasta *.seq"
                                              " *.txt);;All files (*)")  # fmt: skip
        if path:
            self.sequence_path = path
            self.sequence_button.setText(f"Sequence: {Path(path).name}")

    # -- boxes edited in the layer ---------------------------------------------------------------
    def on_boxes_added(self, points_zyx: np.ndarray) -> None:
        """New points in the boxes layer: snap each to a C-alpha, classify and pose it."""
        from ..review import residue_at

        placer, _ = self._load("placer")
        if self.session is None:
            self.session = Session(map_path=self.map_path())
        session = self.session
        chain = "Z"
        used = [r.seqid for r in session.residues if r.chain == chain]
        first = max(used, default=0) + 1

        def job(progress: StageProgress, dmap: DensityMap):
            made = []
            for k, p in enumerate(points_zyx):
                made.append(residue_at(np.asarray(p)[::-1], dmap, placer, chain, first + k))
                progress("place box", k + 1, len(points_zyx))
            return made

        def done(residues: list[ResidueState]):
            start = len(session.residues)
            for r in residues:
                session.insert(r)
            self.refresh()
            self.sync.select(list(range(start, start + len(residues))))
            if self._load("classifier")[0] is not None:
                self.selected_only.setChecked(True)
                self.classify(poses=True)

        self.refresh()
        return self._start("Add box", job, done)

    def on_boxes_removed(self, indices: list[int]) -> None:
        """Points deleted in the boxes layer: delete those residues (one undo step each)."""
        if self.session is None:
            return
        for i in sorted(indices, reverse=True):
            if 0 <= i < len(self.session.residues):
                self.session.delete(i)
        self.refresh()

    def on_boxes_moved(self, indices: list[int]) -> None:
        """Points dragged in the boxes layer: place them again once the drag stops."""
        self._moved.update(indices)
        self._move_timer.start()

    def _commit_moves(self) -> None:
        from dataclasses import replace

        from ..review import residue_at

        if self.session is None or not self._moved or self.runner.busy:
            return
        indices, self._moved = sorted(self._moved), set()
        data = np.asarray(self.sync.boxes.data)
        placer, _ = self._load("placer")
        session = self.session

        def job(progress: StageProgress, dmap: DensityMap):
            out = {}
            for k, i in enumerate(indices):
                old = session.residues[i]
                new = residue_at(data[i][::-1], dmap, placer, old.chain, old.seqid)
                out[i] = replace(new, icode=old.icode)
                progress("place box", k + 1, len(indices))
            return out

        def done(updates: dict[int, ResidueState]):
            session.apply(updates)
            self.refresh()

        return self._start("Move box", job, done)

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
            return None
