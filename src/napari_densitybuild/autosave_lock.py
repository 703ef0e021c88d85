"""A lock file beside an autosave file: which running session writes it.

A session takes ``<autosave>.lock`` before it first writes the autosave and keeps it until it
ends (:meth:`AutosaveLock.release`; also when the lock object is garbage collected or Python
exits). The lock holds the process id, the host name, the time it was written and a token of
its own: one process can run several sessions (two napari viewers), and the token tells its own
locks apart.

A lock is *held* while its process runs and, in this process, while its session has not
released it. A lock is *stale*, and taken over, when its process is gone: this host, and its pid
no longer running, or running a process that started after the lock was written (a pid used
again, after a reboot or later), or the lock written before this host booted. The last two are
told where the platform says when it booted and when a process started (Linux, from ``/proc``);
elsewhere a running pid holds its lock. A lock that cannot be read is held while it may still
be being written (for :data:`EMPTY_LOCK_GRACE_S`: a writer fills it within milliseconds), then
stale: a crash between making the file and writing it. A lock of another host (a shared network
folder) cannot be checked and counts as held: the worst a wrong "held" costs is an autosave
under another name, never an overwrite. A session checks before each save that the lock still
names it (:meth:`AutosaveLock.held`), so one whose lock was taken over meanwhile (two processes
taking one stale lock at once, a lock deleted by hand, or one wrongly thought stale after the
clock was set forward) claims another file instead of writing over the other's.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path

#: Tokens of the locks this process holds now.
_HELD: set[str] = set()
#: Seconds a lock file that cannot be read counts as held (it may be being written).
EMPTY_LOCK_GRACE_S = 60.0
#: Seconds a lock may seem to predate its process (or the boot) and still be its own: clock
#: steps and coarse file dates.
CLOCK_SLACK_S = 5.0


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock: ``pid`` -1 for a lock file that cannot be read."""

    pid: int
    host: str
    token: str
    #: When the lock was written (seconds since the epoch); None where not known.
    written: float | None = None

    @property
    def this_process(self) -> bool:
        """Whether the holder is this process (another session of this napari)."""
        return self.pid == os.getpid() and self.host == socket.gethostname()

    def __str__(self) -> str:
        if self.pid < 0:
            return "unknown (its lock file cannot be read)"
        return f"napari process {self.pid} on {self.host}"


def lock_path(autosave: str | Path) -> Path:
    """The lock file of an autosave file: ``<autosave>.lock``."""
    p = Path(autosave)
    return p.with_name(p.name + ".lock")


def holder_of(lock: Path) -> LockHolder | None:
    """The holder written in ``lock``; None if there is no lock file.

    Its ``written`` is the time in the lock, else (a lock of an older version) the file's date.
    """
    try:
        text = lock.read_text()
        date = lock.stat().st_mtime  # after reading: a lock filled since is not dated before
    except FileNotFoundError:
        return None
    except OSError:
        return LockHolder(-1, "", "")
    try:
        d = json.loads(text)
        written = float(d.get("time", date))
        holder = LockHolder(int(d["pid"]), str(d["host"]), str(d["token"]), written)
    except (ValueError, KeyError, TypeError, AttributeError):
        return LockHolder(-1, "", "", date)
    return holder if holder.pid > 0 else LockHolder(-1, "", "", date)


def boot_time() -> float | None:
    """When this host booted (seconds since the epoch; Linux), else None."""
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started, where the platform tells (Linux: ``/proc/<pid>/stat``).

    Returns
    -------
    float or None
        Seconds since the epoch, never later than the true start (the boot time is in whole
        seconds, rounded down); None where it cannot be told.
    """
    boot = boot_time()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        # Field 22, clock ticks since boot; the name (field 2) may hold spaces and ")".
        ticks = int(stat[stat.rindex(")") + 2 :].split()[19])
        per_second = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return None if boot is None or per_second <= 0 else boot + ticks / per_second


def written_before_process(holder: LockHolder) -> bool:
    """Whether ``holder``'s lock predates the process now running as its pid.

    Returns
    -------
    bool
        True if the lock was written (less :data:`CLOCK_SLACK_S`) before that process started,
        or before this host booted where the start cannot be told: not that process's lock.
        False where neither can be told.
    """
    if holder.written is None:
        return False
    started = process_start_time(holder.pid)
    if started is None:
        started = boot_time()
    return started is not None and holder.written < started - CLOCK_SLACK_S


def pid_running(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (True where that cannot be told)."""
    if os.name == "nt":  # os.kill(pid, 0) would end the process on Windows
        try:
            import psutil
        except ImportError:
            return True
        return bool(psutil.pid_exists(pid))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def is_held(holder: LockHolder) -> bool:
    """True unless ``holder``'s lock is stale (see module)."""
    if holder.pid < 0:
        return holder.written is None or time.time() - holder.written < EMPTY_LOCK_GRACE_S
    if holder.host != socket.gethostname():
        return True
    if holder.pid == os.getpid():
        return holder.token in _HELD
    return pid_running(holder.pid) and not written_before_process(holder)


def _release(lock: Path, token: str) -> None:
    """Remove ``lock`` if it still holds ``token`` (not one that took it over since)."""
    _HELD.discard(token)
    held = holder_of(lock)
    if held is not None and held.token == token:
        lock.unlink(missing_ok=True)


class AutosaveLock:
    """A lock this process holds on one autosave file (made by :meth:`take`)."""

    def __init__(self, lock: Path, token: str) -> None:
        self.path = lock
        self.token = token
        self._finalizer = weakref.finalize(self, _release, lock, token)

    @classmethod
    def take(cls, lock: Path) -> tuple[AutosaveLock | None, LockHolder | None]:
        """Take ``lock`` if it is free or stale.

        Returns
        -------
        tuple
            ``(lock, None)`` when taken, else ``(None, holder)`` with the holder keeping it.

        Raises
        ------
        OSError
            If the lock file cannot be made (a read-only folder).
        """
        token = uuid.uuid4().hex
        record = {"pid": os.getpid(), "host": socket.gethostname(), "token": token}
        record["time"] = time.time()
        for _ in range(3):  # free, or stale and removed: try to make it (again)
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = holder_of(lock)
                if holder is not None and is_held(holder):
                    return None, holder
                if holder is not None:  # stale: its process is gone, or it was never written
                    lock.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(record) + "\n")
            _HELD.add(token)
            return cls(lock, token), None
        return None, holder_of(lock) or LockHolder(-1, "", "")

    def held(self) -> bool:
        """Whether the lock file still names this lock (not released, not taken over)."""
        holder = holder_of(self.path)
        return self._finalizer.alive and holder is not None and holder.token == self.token

    def release(self) -> None:
        """Remove the lock file (if still ours); later calls do nothing."""
        self._finalizer()
