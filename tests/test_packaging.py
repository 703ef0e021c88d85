"""Packaging: the plugin is found by napari (npe2) both as an editable install and from a wheel.

The wheel test builds a wheel, installs it with ``--no-deps`` into a fresh virtual environment
that borrows the development environment's dependencies (torch, napari...) through a folder of
links (so nothing is downloaded), hides the editable install, and checks there that
``npe2 validate`` passes, the manifest and sample files come from inside the installed package,
and the sample opens through the sample-data function.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import napari_densitybuild
from napari_densitybuild import _resources

REPO = Path(__file__).resolve().parents[1]
EDITABLE_MARKERS = ("napari_densitybuild", "_editable_impl_napari_densitybuild", "__editable__")


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))}\n{out.stdout}\n{out.stderr}"
    return out


def test_editable_install_is_discovered():
    """In the development checkout the manifest and the sample data resolve to the repository."""
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("napari-densitybuild")
    assert manifest.name == "napari-densitybuild"
    assert _resources.manifest_path().is_file()
    assert (REPO / "napari.yaml").resolve() == _resources.manifest_path().resolve()
    if _resources.repo_root() is not None:  # an editable install of this checkout
        assert _resources.sample_data_dir() == REPO / "sample_data"
    assert _resources.sample_file("sample_map.mtz").is_file()
    run([sys.executable, "-m", "npe2", "validate", "napari-densitybuild", "--imports"])


def test_module_runs_the_command_line():
    """``python -m napari_densitybuild`` is the ``densitybuild`` command (used where no console
    script is installed, e.g. with the package on PYTHONPATH)."""
    out = run([sys.executable, "-m", "napari_densitybuild", "train", "--help"])
    assert "--stream-splits" in out.stdout and "--minutes" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "napari_densitybuild", "no-such-command"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 2


def test_command_line_parser_is_light():
    """Building the parser (``--help``, and the start of every command) imports neither torch nor
    the simulation's scipy: each costs a fresh process a second or more before any work."""
    code = (
        "import sys\n"
        "from napari_densitybuild.cli import build_parser\n"
        "build_parser()\n"
        "heavy = sorted(m for m in ('torch', 'scipy', 'gemmi') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    run([sys.executable, "-c", code])
    from napari_densitybuild.training import DEFAULT_CACHES
    from napari_densitybuild.training.cache import CACHES

    assert set(DEFAULT_CACHES) <= set(CACHES)


CHECK_INSTALLED = r"""
import json, sys
from importlib import metadata
import napari_densitybuild as pkg
from napari_densitybuild import _resources
from napari_densitybuild._napari._sample_data import make_sample_data
layers = make_sample_data()
print(json.dumps({
    "package": pkg.__file__,
    "dists": [d.metadata["Name"] for d in metadata.distributions()
              if d.metadata["Name"] == "napari-densitybuild"],
    "repo_root": str(_resources.repo_root()),
    "manifest": str(_resources.manifest_path()),
    "sample_dir": str(_resources.sample_data_dir()),
    "layers": [[kind, list(data.shape)] for data, meta, kind in layers],
    "translate": list(layers[1][1]["translate"]),
}))
"""


@pytest.mark.slow
def test_wheel_installs_and_works(tmp_path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist),
         str(REPO)])  # fmt: skip
    (wheel,) = dist.glob("napari_densitybuild-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    napari_modules = ("__init__", "_layers", "_reader", "_writer", "_sample_data", "_widgets")
    required = [f"napari_densitybuild/_napari/{m}.py" for m in napari_modules] + [
        "napari_densitybuild/napari.yaml",
        "napari_densitybuild/_resources.py",
        "napari_densitybuild/sample_data/sample_map.mtz",
        "napari_densitybuild/sample_data/sample_model.cif",
    ]
    for path in required:
        assert path in names, path
    assert not any(n.startswith("tests/") for n in names)

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    # install first (pip sees only the fresh environment), then lend it the dependencies
    run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
         "--no-cache-dir", str(wheel)])  # fmt: skip
    site = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                .stdout.strip())  # fmt: skip
    deps = tmp_path / "deps"
    deps.mkdir()
    dev_site = Path(sysconfig.get_path("purelib"))
    for entry in dev_site.iterdir():
        if not entry.name.startswith(EDITABLE_MARKERS) and not entry.name.endswith(".pth"):
            (deps / entry.name).symlink_to(entry)
    (site / "zz_dev_dependencies.pth").write_text(f"{deps}\n")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    cwd = tmp_path  # not the repository: nothing may come from the source tree
    run([str(py), "-m", "npe2", "validate", "napari-densitybuild", "--imports"], env=env, cwd=cwd)
    info = json.loads(run([str(py), "-c", CHECK_INSTALLED], env=env, cwd=cwd).stdout)
    pkg_dir = Path(info["package"]).parent
    assert pkg_dir == site / "napari_densitybuild", info
    assert info["repo_root"] == "None"
    assert info["dists"] == ["napari-densitybuild"]  # the editable install is hidden
    assert Path(info["manifest"]) == pkg_dir / "napari.yaml"
    assert Path(info["sample_dir"]) == pkg_dir / "sample_data"
    assert [k for k, _ in info["layers"]] == ["points", "image"]
    assert len(info["layers"][1][1]) == 3
    out = run([str(venv / "bin" / "densitybuild"), "info", str(pkg_dir / "sample_data" /
               "sample_map.mtz")], env=env, cwd=cwd)  # fmt: skip
    assert "sample_map.mtz: xray map" in out.stdout
    assert napari_densitybuild.__file__ != info["package"]
