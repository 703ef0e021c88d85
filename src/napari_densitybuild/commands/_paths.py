"""Output paths checked before any work: a bad ``--out`` or ``--report`` is a one-line error at
once, not a traceback after the build."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ..errors import DensityBuildError


def _writable(folder: Path) -> bool:
    """True if a file can be made in ``folder`` (tried: permission bits say nothing to root)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _same_file(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` name one file (through links too), whether or not it exists."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def check_output_file(
    path: str | Path,
    suffixes: tuple[str, ...] = (),
    inputs: Mapping[str, str | Path | None] | None = None,
) -> Path:
    """Check that a file can be written at ``path``; return it as a Path.

    Parameters
    ----------
    path
        The file the command will write.
    suffixes
        If given, the file name must end in one of these (any case), e.g. the model
        writer's :data:`~napari_densitybuild.models.WRITE_SUFFIXES`.
    inputs
        What the command reads or writes first (``{"the map": ..., "the --sequence": ...}``;
        None values are skipped): ``path`` must be none of them.

    Raises
    ------
    DensityBuildError
        Wrong suffix, a folder at ``path``, a parent folder that is missing or not writable, or
        ``path`` one of ``inputs``.
    """
    path = Path(path)
    for what, other in (inputs or {}).items():
        if other is not None and _same_file(path, Path(other)):
            raise DensityBuildError(
                f"{path} is {what}: writing there would overwrite it; give another file name"
            )
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
