"""Two sessions on one map never write one autosave file: a second napari process (here a real
second Python process) or a second session of this one autosaves under another name and says
so; a lock left by a process that died is taken over (also one left empty by a crash, or one
whose pid a later process has now); restoring offers the newest file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_session import residue

from napari_densitybuild import autosave_lock
from napari_densitybuild.autosave import autosave_path, claim_autosave, newest_autosave
from napari_densitybuild.autosave_lock import lock_path
from napari_densitybuild.session import Session

#: A second process: its own session on the map (a TRP at residue 1, autosaved), kept open
#: until a line arrives on its stdin, then an ordinary exit.
SECOND_NAPARI = """
import sys
from napari_densitybuild.session import Session
s = Session.load(sys.argv[1])
s.map_path = sys.argv[2]
s.set_type(1, "W")
print(s.autosave_claim.path, flush=True)
sys.stdin.readline()
"""
#: A second process that takes the map's autosave lock and waits to be killed.
HOLDER = """
import sys
from napari_densitybuild.autosave import claim_autosave
claim = claim_autosave(sys.argv[1])
print(claim.path, flush=True)
sys.stdin.readline()
"""
#: A process that only waits (a program that got the pid of a dead session).
WAITER = "import sys; print('ready', flush=True); sys.stdin.readline()"
#: Linux tells when a process started (/proc/<pid>/stat) and when it booted (/proc/stat).
needs_proc = pytest.mark.skipif(
    not Path("/proc/self/stat").is_file(), reason="process start times are read from /proc"
)


def _map(tmp_path: Path) -> Path:
    m = tmp_path / "map.mtz"
    m.write_bytes(b"")
    return m


def _session(m: Path) -> Session:
    return Session([residue(k) for k in range(3)], str(m), {})


def _start(code: str, *args: str) -> tuple[subprocess.Popen, str]:
    """A second Python process running ``code``, and the first line it printed."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        proc.wait(60)
        pytest.fail("the second process ended before it autosaved")
    return proc, line


def _names(path: Path) -> list[str]:
    return [r["type"] for r in json.loads(path.read_text())["residues"]]


def test_a_second_process_on_the_map_autosaves_apart_and_never_overwrites_the_first(tmp_path):
    m = _map(tmp_path)
    start = _session(m).save(tmp_path / "start.json")
    proc, theirs = _start(SECOND_NAPARI, str(start), str(m))
    try:
        assert Path(theirs) == autosave_path(m)  # the first one on the map: the usual file
        assert _names(autosave_path(m)) == ["LEU", "TRP", "LEU"]
        ours = _session(m)
        ours.set_type(2, "G")  # our own work on the same map, at the same time
        assert _names(autosave_path(m)) == ["LEU", "TRP", "LEU"]  # theirs is intact
        mine = ours.autosave_claim.path
        assert mine != autosave_path(m) and _names(mine) == ["LEU", "LEU", "GLY"]
        said = ours.autosave_claim.note  # and it is said why
        assert f"in use by another session: napari process {proc.pid} on" in said
        assert newest_autosave(m) == mine  # restoring offers the newest
    finally:
        proc.communicate("\n", timeout=60)  # it closes
    assert proc.returncode == 0
    assert not lock_path(autosave_path(m)).exists()  # its lock went with it
    again = _session(m)
    again.set_type(0, "A")
    assert again.autosave_claim.path == autosave_path(m)  # the usual file is free again
    assert _names(mine) == ["LEU", "LEU", "GLY"]


def test_a_lock_left_by_a_process_that_died_is_taken_over(tmp_path):
    m = _map(tmp_path)
    proc, _ = _start(HOLDER, str(m))
    s = _session(m)
    s.set_type(0, "W")
    assert s.autosave_claim.path != autosave_path(m)  # held by a live process
    proc.kill()  # a crash: no clean exit, the lock file stays
    proc.communicate(timeout=60)
    lock = json.loads(lock_path(autosave_path(m)).read_text())
    assert lock["pid"] == proc.pid
    later = _session(m)
    later.set_type(1, "W")
    assert later.autosave_claim.path == autosave_path(m) and not later.autosave_claim.note
    assert json.loads(lock_path(autosave_path(m)).read_text())["pid"] == os.getpid()


def _age(path: Path, seconds: float) -> None:
    """Date ``path`` back by ``seconds`` (as if written that long ago)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


ANOTHER_HOST = '{"pid": 1, "host": "another-host.example", "token": "x"}\n'


@pytest.mark.parametrize(
    ("lock_text", "age"),
    [(ANOTHER_HOST, 0), (ANOTHER_HOST, 3600), ("", 0), ("not json", 0)],
    ids=["another host", "another host, long ago", "empty (being written)", "damaged, just now"],
)
def test_a_lock_that_cannot_be_checked_counts_as_held(tmp_path, lock_text, age):
    m = _map(tmp_path)
    lock = lock_path(autosave_path(m))
    lock.write_text(lock_text)
    _age(lock, age)
    s = _session(m)
    s.set_type(0, "W")
    assert s.autosave_claim.path != autosave_path(m) and not s.autosave_error
    assert lock.read_text() == lock_text  # left as it was


@pytest.mark.parametrize("lock_text", ["", '{"pid": 12'], ids=["empty", "cut short"])
def test_a_lock_left_empty_or_damaged_by_a_crash_is_taken_over_once_it_is_old(tmp_path, lock_text):
    """A crash between making the lock file and writing it: held while it may still be being
    written (a writer fills it within milliseconds), stale once older than a short grace."""
    m = _map(tmp_path)
    lock = lock_path(autosave_path(m))
    lock.write_text(lock_text)
    s = _session(m)
    s.set_type(0, "W")
    assert s.autosave_claim.path != autosave_path(m)  # just made: maybe being written
    s.autosave_claim.release()
    _age(lock, 2 * autosave_lock.EMPTY_LOCK_GRACE_S)
    later = _session(m)
    later.set_type(1, "W")
    assert later.autosave_claim.path == autosave_path(m) and not later.autosave_claim.note
    assert json.loads(lock.read_text())["pid"] == os.getpid()


def _lock_of(pid: int, written: float | None) -> str:
    """A lock of process ``pid`` on this host, written at ``written`` (None: an older lock
    without the time in it, dated by the file)."""
    record = {"pid": pid, "host": socket.gethostname(), "token": "theirs"}
    if written is not None:
        record["time"] = written
    return json.dumps(record) + "\n"


@needs_proc
@pytest.mark.parametrize("recorded", [True, False], ids=["time in the lock", "file date"])
def test_a_lock_older_than_the_process_now_at_its_pid_is_taken_over(tmp_path, recorded):
    """After a reboot (or just later) the dead session's pid may run another program: a lock
    written before that process started is not its lock."""
    m = _map(tmp_path)
    written = time.time() - 30  # after the boot: only the process's start tells
    if autosave_lock.boot_time() > written - 60:
        pytest.skip("this host booted a moment ago")
    proc, _ = _start(WAITER)  # started now, after the lock below was written
    try:
        lock = lock_path(autosave_path(m))
        lock.write_text(_lock_of(proc.pid, written if recorded else None))
        _age(lock, 30)
        s = _session(m)
        s.set_type(0, "W")
        assert s.autosave_claim.path == autosave_path(m) and not s.autosave_claim.note
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    finally:
        proc.communicate("\n", timeout=60)


@needs_proc
def test_a_lock_written_before_the_boot_is_taken_over(tmp_path, monkeypatch):
    """Where the process's start cannot be read (another user's, /proc mounted hidepid), the
    boot time alone tells a lock of the previous boot."""
    monkeypatch.setattr(autosave_lock, "process_start_time", lambda pid: None)
    m = _map(tmp_path)
    proc, _ = _start(WAITER)
    try:
        lock = lock_path(autosave_path(m))
        lock.write_text(_lock_of(proc.pid, autosave_lock.boot_time() - 60))
        s = _session(m)
        s.set_type(0, "W")
        assert s.autosave_claim.path == autosave_path(m) and not s.autosave_claim.note
    finally:
        proc.communicate("\n", timeout=60)


def test_where_start_and_boot_times_cannot_be_told_a_running_pid_holds(tmp_path, monkeypatch):
    """Elsewhere (no /proc) a lock of a running process counts as held, however old."""
    monkeypatch.setattr(autosave_lock, "process_start_time", lambda pid: None)
    monkeypatch.setattr(autosave_lock, "boot_time", lambda: None)
    m = _map(tmp_path)
    proc, _ = _start(WAITER)
    try:
        lock = lock_path(autosave_path(m))
        lock.write_text(_lock_of(proc.pid, 0.0))  # written in 1970
        s = _session(m)
        s.set_type(0, "W")
        assert s.autosave_claim.path != autosave_path(m)
        assert f"another session: napari process {proc.pid}" in s.autosave_claim.note
    finally:
        proc.communicate("\n", timeout=60)


def test_two_sessions_of_one_process_write_apart_until_one_ends(tmp_path):
    """Two viewers of one napari, one map: the second session writes its own file; once the
    first has ended (its panel closed with its viewer), a new session has the usual one."""
    m = _map(tmp_path)
    first, second = _session(m), _session(m)
    first.set_type(0, "W")
    second.set_type(1, "W")
    assert first.autosave_claim.path == autosave_path(m)
    assert second.autosave_claim.path != autosave_path(m)
    name = autosave_path(m).name
    assert second.autosave_claim.note == f"{name} is in use by another window of this napari"
    assert _names(autosave_path(m)) == ["TRP", "LEU", "LEU"]
    assert newest_autosave(m) == second.autosave_claim.path
    first.autosave_claim.release()
    assert not lock_path(autosave_path(m)).exists()
    second.set_type(2, "W")  # the second keeps its own file
    assert _names(second.autosave_claim.path) == ["LEU", "TRP", "TRP"]
    third = _session(m)
    third.set_type(2, "A")
    assert third.autosave_claim.path == autosave_path(m)


def test_a_session_whose_lock_was_taken_over_claims_another_file(tmp_path):
    """Its lock file replaced meanwhile (removed by hand, or taken over by another process
    that thought it stale): the next save claims afresh instead of writing over the other."""
    m = _map(tmp_path)
    s = _session(m)
    s.set_type(0, "W")
    lock = lock_path(autosave_path(m))
    lock.write_text('{"pid": 1, "host": "another-host.example", "token": "y"}\n')
    s.set_type(1, "W")
    assert s.autosave_claim.path != autosave_path(m)
    assert _names(s.autosave_claim.path) == ["TRP", "TRP", "LEU"]


def test_a_claim_is_released_when_it_is_dropped(tmp_path):
    m = _map(tmp_path)
    claim = claim_autosave(m)
    assert lock_path(claim.path).exists()
    del claim  # a session dropped without closing (garbage): its lock goes too
    assert not lock_path(autosave_path(m)).exists()
