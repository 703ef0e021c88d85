"""Output paths checked before any work: a bad ``--out`` or ``--report`` is a one-line error at
once, not a traceback after the build."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import DensityBuildError


def _writable(folder: Path) -> bool:
    """True if a file can be made in ``folder`` (tried: permission bits say nothing to root)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def check_output_file(path: str | Path, suffixes: tuple[str, ...] = ()) -> Path:
    """Check that a file can be written at ``path``; return it as a Path.

    Parameters
    ----------
    path
        The file the command will write.
    suffixes
        If given, the file name must end in one of these (any case), e.g. the model
        writer's :data:`~napari_densitybuild.models.WRITE_SUFFIXES`.

    Raises
    ------
    DensityBuildError
        Wrong suffix, a folder at ``path``, or a parent folder that is missing or not writable.
    """
    path = Path(path)
    if suffixes and not path.name.lower().endswith(suffixes):
        names = ", ".join(suffixes[:-1])
        names = f"{names} or {suffixes[-1]}" if names else suffixes[-1]
        raise DensityBuildError(f"{path}: write {names}")
    if path.is_dir():
        raise DensityBuildError(f"{path} is a folder: give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise DensityBuildError(f"{path}: the output folder {folder} does not exist")
    if not _writable(folder):
        raise DensityBuildError(f"{path}: the output folder {folder} is not writable")
    return path


def check_output_folder(path: str | Path) -> Path:
    """Check that ``path`` is a writable folder or can be made as one (nothing is made here).

    Raises
    ------
    DensityBuildError
        ``path`` (or a folder above it) is a file, or the nearest existing folder is not writable.
    """
    path = Path(path)
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not existing.is_dir():
        where = "" if existing == path else f" ({existing} is a file)"
        raise DensityBuildError(f"{path}: not a folder{where}")
    if not _writable(existing):
        raise DensityBuildError(f"{path}: the folder {existing} is not writable")
    return path
