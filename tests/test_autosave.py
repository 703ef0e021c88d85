"""Autosaves go next to the map where its folder takes them, else to a per-user folder: never
into the installed package or the shared sample data, and two maps never share one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_session import residue

from napari_densitybuild import autosave
from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.autosave import (
    SUFFIX,
    autosave_files,
    autosave_path,
    newest_autosave,
    user_autosave_dir,
)
from napari_densitybuild.session import Session


def _session(map_path: Path | str) -> Session:
    return Session([residue(k) for k in range(3)], str(map_path), {})


def test_beside_a_map_in_a_writable_folder(tmp_path):
    m = tmp_path / "map.mtz"
    m.write_bytes(b"")
    assert autosave_path(m) == tmp_path / ("map.mtz" + SUFFIX)
    s = _session(m)
    s.set_type(1, "W")
    assert (tmp_path / ("map.mtz" + SUFFIX)).is_file() and not s.autosave_error


def test_the_sample_map_autosaves_in_the_user_folder_not_beside_it():
    sample = Path(sample_paths()[0])
    before = set(sample.parent.iterdir())
    path = autosave_path(sample)
    assert path.parent == user_autosave_dir() and path.name.startswith(sample.name + ".")
    s = _session(sample)
    s.set_type(1, "W")
    assert not s.autosave_error and path.is_file()
    assert set(sample.parent.iterdir()) == before  # nothing written into the sample folder
    assert Session.load(autosave_path(sample)).residues[1].name == "TRP"  # found again


def test_a_read_only_folder_autosaves_in_the_user_folder(tmp_path, monkeypatch):
    m = tmp_path / "ro" / "map.mtz"
    m.parent.mkdir()
    m.write_bytes(b"")
    monkeypatch.setattr(autosave.os, "access", lambda *a, **k: False)  # root writes anywhere
    path = autosave_path(m)
    assert path.parent == user_autosave_dir() and not path.parent.exists()
    s = _session(m)
    s.set_type(0, "W")  # the per-user folder is made on the first save
    assert path.is_file() and not s.autosave_error and list(m.parent.iterdir()) == [m]
    other = tmp_path / "ro2" / "map.mtz"  # same name, other folder: another file
    assert autosave_path(other) != path and autosave_path(other).name.endswith(SUFFIX)


def test_an_autosave_already_beside_the_map_is_used(tmp_path, monkeypatch):
    m = tmp_path / "map.mtz"
    m.write_bytes(b"")
    _session(m).save(tmp_path / ("map.mtz" + SUFFIX))
    monkeypatch.setattr(autosave, "beside_map_allowed", lambda *a: False)  # e.g. shared data
    assert autosave_path(m) == tmp_path / ("map.mtz" + SUFFIX)


@pytest.mark.parametrize("unwritable", ["folder", "file"])
def test_an_autosave_beside_an_unwritable_map_moves_to_the_user_folder(
    tmp_path, monkeypatch, unwritable
):
    """An autosave beside a map whose folder (or that file) cannot be written was still chosen,
    so the session never autosaved; now it autosaves in the per-user folder, and restoring
    offers the newer of the two."""
    m = tmp_path / "map.mtz"
    m.write_bytes(b"")
    beside = _session(m).save(tmp_path / ("map.mtz" + SUFFIX))
    os.utime(beside, (1e9, 1e9))  # an old one
    blocked = tmp_path if unwritable == "folder" else beside
    real_access = os.access
    monkeypatch.setattr(
        autosave.os, "access", lambda p, mode: Path(p) != blocked and real_access(p, mode)
    )
    path = autosave_path(m)
    assert path.parent == user_autosave_dir() and path.name.startswith("map.mtz.")
    s = _session(m)
    s.set_type(0, "W")
    assert not s.autosave_error and path.is_file() and s.autosave_claim.path == path
    assert newest_autosave(m) == path and set(autosave_files(m)) == {path, beside}
    later = path.stat().st_mtime + 10  # the file beside written later (by hand): it is offered
    os.utime(beside, (later, later))
    assert newest_autosave(m) == beside


def test_the_user_folder_follows_xdg_state_home(tmp_path, monkeypatch):
    monkeypatch.delenv(autosave.ENV_DIR, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert user_autosave_dir() == tmp_path / "napari-densitybuild" / "autosave"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert (
        user_autosave_dir() == Path.home() / ".local" / "state" / "napari-densitybuild" / "autosave"
    )


def test_an_unwritable_user_folder_is_reported_not_raised(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(autosave.ENV_DIR, str(blocker / "autosave"))  # under a file: cannot be
    monkeypatch.setattr(autosave.os, "access", lambda *a, **k: False)
    m = tmp_path / "map.mtz"
    m.write_bytes(b"")
    s = _session(m)
    s.set_type(0, "W")
    assert "autosave" in s.autosave_error and s.residues[0].name == "TRP"
