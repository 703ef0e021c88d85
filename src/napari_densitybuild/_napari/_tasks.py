"""Long jobs off the GUI thread: one runner with progress, cancel and a stale-result guard.

:class:`TaskRunner` starts a function in napari's worker thread pool. The function gets a
``progress(stage, done, total)`` callback as its first argument; the callback forwards to the
GUI through a queued Qt signal and raises :class:`Cancelled` once the user pressed Cancel, so
the job stops at its next progress report; a job cancelled after its last report finishes, but
its result is dropped. A job that a newer job supersedes is cancelled the same way and its
result dropped. Errors become napari notifications with the exception's message. ``stopped``
comes once the worker is done, so the runner is no longer ``busy`` when it does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


class Cancelled(Exception):
    """Raised inside a job when the user cancelled it."""


class TaskRunner(QObject):
    """Runs one job at a time; ``progress``, ``started`` and ``stopped`` signals for the GUI."""

    progress = Signal(str, int, int)
    started = Signal(str)
    stopped = Signal(str, str)  # name, outcome: "done", "cancelled" or "failed"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._request = 0
        self._cancel = threading.Event()
        self._gone = gone = threading.Event()  # set when Qt deletes the runner (its viewer closed)
        self.destroyed.connect(gone.set)
        self.worker = None
        self.name = ""

    @property
    def busy(self) -> bool:
        """Whether a job is running."""
        return self.worker is not None

    def cancel(self) -> None:
        """Ask the running job to stop at its next progress report."""
        self._cancel.set()

    def start(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ):
        """Run ``fn(progress, *args)`` in a worker thread; ``on_done(result)`` in the GUI thread.

        Returns the napari worker (its ``finished`` signal fires after ``on_done``).
        """
        from napari.qt.threading import create_worker

        self._cancel.set()  # a job this one supersedes stops at its next report
        self._request += 1
        request = self._request
        self._cancel = cancel = threading.Event()
        gone = self._gone
        self.name = name

        def report(stage: str, done: int, total: int) -> None:
            if cancel.is_set() or gone.is_set():
                raise Cancelled(name)
            try:
                self.progress.emit(stage, int(done), int(total))
            except RuntimeError:  # the runner is gone (the viewer closed): stop quietly
                raise Cancelled(name) from None

        outcome = []  # "cancelled" or "failed"; stopped is emitted once the worker is done

        def returned(result: Any) -> None:
            if request != self._request:
                return
            if cancel.is_set() or gone.is_set():  # cancelled after its last report: dropped
                outcome.append("cancelled")
            elif on_done is not None:
                on_done(result)

        def errored(err: Exception) -> None:
            if request != self._request:
                return
            if isinstance(err, Cancelled) or cancel.is_set() or gone.is_set():  # moot now
                outcome.append("cancelled")
                return
            outcome.append("failed")
            _notify(err)
            if on_error is not None:
                on_error(err)

        def finished() -> None:
            if request == self._request:
                self.worker = None
                try:
                    self.stopped.emit(name, outcome[0] if outcome else "done")
                except RuntimeError:  # the runner was deleted with its viewer
                    pass

        # errors are ours to report (_notify); napari would re-raise them in the event loop
        worker = create_worker(fn, report, *args, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(returned)
        worker.errored.connect(errored)
        worker.finished.connect(finished)
        self.worker = worker
        self.started.emit(name)
        worker.start()
        return worker


def _notify(err: Exception) -> None:
    from napari.utils.notifications import show_error

    from ..errors import DensityBuildError

    show_error(str(err) if isinstance(err, DensityBuildError) else f"{type(err).__name__}: {err}")


class ProgressPanel(QWidget):
    """A progress bar, the stage it is in, and a Cancel button, following a :class:`TaskRunner`."""

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.label = QLabel("idle")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.bar, 2)
        row.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(runner.cancel)
        runner.progress.connect(self._on_progress)
        runner.started.connect(self._on_started)
        runner.stopped.connect(self._on_stopped)

    def _on_started(self, name: str) -> None:
        self.label.setText(f"{name} ...")
        self.bar.setRange(0, 0)  # busy until the first report
        self.cancel_button.setEnabled(True)

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.label.setText(f"{self.runner.name}: {stage}")
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(min(done, max(total, 1)))

    def _on_stopped(self, name: str, outcome: str) -> None:
        self.label.setText(f"{name}: {outcome}")
        self.bar.setRange(0, 1)
        self.bar.setValue(1 if outcome == "done" else 0)
        self.cancel_button.setEnabled(False)
