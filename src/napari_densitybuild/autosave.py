"""Where a review session of a map is autosaved.

Next to the map (``<map>.densitybuild.autosave.json``), where a crystallographer keeps a
project's files and finds them again, unless that folder cannot take it: a folder the user may
not write to, or the bundled sample data's (inside the installed package, which an upgrade
would wipe and which every user of the installation shares; in a source checkout, the
repository's). Those maps are autosaved in a per-user folder instead
(:func:`user_autosave_dir`), under the map's name and a digest of its full path, so two maps of
one name in different folders do not share a file. An autosave already next to the map is
always the one used.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ._resources import PACKAGE_DIR, sample_data_dir

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
    p = Path(map_path)
    beside = p.with_name(p.name + SUFFIX)
    if beside.is_file() or beside_map_allowed(p):
        return beside
    digest = hashlib.sha256(str(p.resolve()).encode()).hexdigest()[:12]
    return user_autosave_dir() / f"{p.name}.{digest}{SUFFIX}"
