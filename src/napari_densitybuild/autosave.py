"""Where a review session of a map is autosaved.

Next to the map (``<map>.densitybuild.autosave.json``), where a crystallographer keeps a
project's files and finds them again, unless that folder cannot take it: a folder the user may
not write to, or the bundled sample data's (inside the installed package, which an upgrade
would wipe and which every user of the installation shares; in a source checkout, the
repository's). Those maps are autosaved in a per-user folder instead
(:func:`user_autosave_dir`), under the map's name and a digest of its full path, so two maps of
one name in different folders do not share a file. An autosave already next to the map is
the one used while it can be written again (its folder and the file writable); else the session
autosaves in the per-user folder, and restoring offers the newer of the two.

Two sessions on one map (two napari processes, or two viewers of one) never share a file: a
session claims its autosave file before it first writes it (:func:`claim_autosave`), taking the
lock file beside it (:mod:`.autosave_lock`). Where another running session holds the usual file,
it writes a numbered one next to it (``<map>.densitybuild.autosave.2.json``, ...) and says so
(:attr:`AutosaveClaim.note`). Restoring offers the newest of them (:func:`newest_autosave`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from ._resources import PACKAGE_DIR, sample_data_dir
from .autosave_lock import AutosaveLock, lock_path

#: Appended to the map's file name.
SUFFIX = ".densitybuild.autosave.json"
#: Environment variable naming the per-user autosave folder (default: see
#: :func:`user_autosave_dir`).
ENV_DIR = "DENSITYBUILD_AUTOSAVE_DIR"


def user_autosave_dir() -> Path:
    """``$DENSITYBUILD_AUTOSAVE_DIR``, else ``$XDG_STATE_HOME/napari-densitybuild/autosave``
    (``~/.local/state/...`` where XDG_STATE_HOME is unset)."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "napari-densitybuild" / "autosave"


def beside_map_allowed(map_path: str | Path) -> bool:
    """True if an autosave of ``map_path`` may be written next to it: its folder exists and is
    writable, and is neither inside the installed package nor the sample-data folder."""
    folder = Path(map_path).resolve().parent
    shared = folder.is_relative_to(PACKAGE_DIR) or folder == sample_data_dir().resolve()
    return folder.is_dir() and os.access(folder, os.W_OK) and not shared


def autosave_path(map_path: str | Path) -> Path:
    """The autosave file of a session on ``map_path`` (see module).

    Examples
    --------
    >>> autosave_path("/data/1abc/map.mtz").name  # doctest: +SKIP
    'map.mtz.densitybuild.autosave.json'
    """
    beside, per_user = _usual_paths(map_path)
    if (beside.is_file() or beside_map_allowed(map_path)) and _writable(beside):
        return beside
    return per_user


def _writable(path: Path) -> bool:
    """Whether an autosave could be written at ``path``: its folder and ``path`` (if it is
    there) may be written to (a session saves through a file beside it, and locks it)."""
    folder = path.parent
    ok = folder.is_dir() and os.access(folder, os.W_OK)
    return ok and (not path.exists() or os.access(path, os.W_OK))


def _usual_paths(map_path: str | Path) -> tuple[Path, Path]:
    """The usual autosave files of ``map_path``: ``(beside the map, in the per-user folder)``."""
    p = Path(map_path)
    digest = hashlib.sha256(str(p.resolve()).encode()).hexdigest()[:12]
    return p.with_name(p.name + SUFFIX), user_autosave_dir() / f"{p.name}.{digest}{SUFFIX}"


def numbered_path(usual: Path, k: int) -> Path:
    """The ``k``-th autosave file of a map whose usual one is ``usual`` (``k`` = 1: itself)."""
    return usual if k == 1 else usual.with_name(f"{usual.name[: -len('.json')]}.{k}.json")


def autosave_files(map_path: str | Path) -> list[Path]:
    """Every autosave file of ``map_path`` there is, the usual ones (beside the map and in the
    per-user folder) and the numbered ones, newest first."""
    found: set[Path] = set()
    for usual in _usual_paths(map_path):
        stem = usual.name[: -len(".json")] + "."
        if usual.is_file():
            found.add(usual)
        try:
            names = list(usual.parent.iterdir()) if usual.parent.is_dir() else []
        except OSError:  # a folder that cannot be listed
            names = []
        for p in names:
            k = p.name[len(stem) : -len(".json")]
            if p.name.startswith(stem) and p.name.endswith(".json") and k.isdigit():
                found.add(p)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def newest_autosave(map_path: str | Path) -> Path | None:
    """The most recently written autosave file of ``map_path`` (None: there is none)."""
    found = autosave_files(map_path)
    return found[0] if found else None


@dataclass
class AutosaveClaim:
    """One session's right to write an autosave file of a map, until :meth:`release`."""

    #: The map the session is on.
    map_path: str
    #: The autosave file it writes.
    path: Path
    lock: AutosaveLock = field(repr=False)
    #: Why it is not the map's usual file ("" when it is).
    note: str = ""

    def held(self) -> bool:
        """Whether the claim still holds (not released; its lock not taken over)."""
        return self.lock.held()

    def release(self) -> None:
        """Give the file up for other sessions (the session ended)."""
        self.lock.release()


def claim_autosave(map_path: str | Path) -> AutosaveClaim:
    """Claim the first autosave file of ``map_path`` no running session holds: the usual one
    (:func:`autosave_path`) unless another session has it, else the next numbered one.

    Raises
    ------
    OSError
        If its folder cannot be made or written (the lock file cannot be made).
    """
    usual = autosave_path(map_path)
    usual.parent.mkdir(parents=True, exist_ok=True)  # the per-user folder, first time
    note = ""
    for k in range(1, 1000):
        path = numbered_path(usual, k)
        lock, holder = AutosaveLock.take(lock_path(path))
        if lock is not None:
            return AutosaveClaim(str(map_path), path, lock, note)
        if k == 1:  # say why: another napari, or this one's other window (viewer)
            mine = holder is not None and holder.this_process
            who = "another window of this napari" if mine else f"another session: {holder}"
            note = f"{usual.name} is in use by {who}"
    raise OSError(f"{usual.parent}: no free autosave file name for {Path(map_path).name}")


def renew_claim(claim: AutosaveClaim | None, map_path: str | Path) -> AutosaveClaim:
    """``claim`` if it still holds for ``map_path``, else a new claim (the old one released)."""
    if claim is not None and claim.map_path == str(map_path) and claim.held():
        return claim
    if claim is not None:
        claim.release()
    return claim_autosave(map_path)
