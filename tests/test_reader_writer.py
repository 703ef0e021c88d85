"""Reader -> layer -> writer round trips, the sample data, and opening files in a napari viewer."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_atoms_in_density, real_model_path

from napari_densitybuild._napari._layers import atoms_from_layer, atoms_layer, element_colours
from napari_densitybuild._napari._reader import get_reader
from napari_densitybuild._napari._sample_data import make_sample_data, sample_paths
from napari_densitybuild._napari._writer import write_atoms
from napari_densitybuild.errors import ModelReadError
from napari_densitybuild.models import read_model

PLUGIN = "napari-densitybuild"


def assert_same_atoms(a, b):
    assert len(a) == len(b)
    np.testing.assert_allclose(a.xyz, b.xyz, atol=1e-3)
    for col in ("chain", "seqid", "icode", "resname", "atom", "element"):
        assert list(map(str, getattr(a, col))) == list(map(str, getattr(b, col))), col
    np.testing.assert_allclose(a.b_iso, b.b_iso, atol=0.01)
    np.testing.assert_allclose(a.occupancy, b.occupancy, atol=0.01)


def points_layer_from_file(path):
    """A napari Points layer made from what the reader returns for ``path``."""
    from napari.layers import Points

    ((data, meta, kind),) = get_reader(str(path))(str(path))
    assert kind == "points"
    return Points(data, **meta)


@pytest.fixture
def plugins():
    """npe2's plugin manager with the installed plugins discovered (napari does it in Viewer)."""
    from npe2 import PluginManager

    pm = PluginManager.instance()
    pm.discover()
    return pm


@pytest.mark.parametrize("ext", [".cif", ".pdb"])
def test_sample_model_round_trip_through_napari_writer(tmp_path, ext, plugins):
    """read -> Points layer -> napari.save_layers (npe2 picks our writer) -> read back."""
    from napari.plugins.io import save_layers

    model = sample_paths()[1]
    layer = points_layer_from_file(model)
    out = tmp_path / f"out{ext}"
    written = save_layers(str(out), [layer], plugin=PLUGIN)
    assert written == [str(out)]
    assert_same_atoms(read_model(model), read_model(out))


@pytest.mark.realdata
def test_real_model_round_trip(real_dir, tmp_path):
    model = real_model_path(real_dir / "cdk2")  # PDB input with waters and ligands
    layer = points_layer_from_file(model)
    data, meta, _ = layer.as_layer_data_tuple()
    for ext in (".cif", ".pdb"):
        write_atoms(str(tmp_path / f"m{ext}"), data, meta)
        assert_same_atoms(read_model(model), read_model(tmp_path / f"m{ext}"))


def test_points_layer_frame_and_colours():
    atoms = read_model(sample_paths()[1])
    data, meta, kind = atoms_layer(atoms)
    assert kind == "points"
    np.testing.assert_allclose(data, atoms.xyz[:, ::-1])  # napari (z, y, x)
    colours = meta["face_color"]
    el = np.asarray(atoms.element, dtype=str)
    assert np.allclose(colours[el == "O"][:, :3], (1.0, 0.15, 0.15))
    assert np.allclose(colours[el == "N"][:, :3], (0.2, 0.35, 1.0))
    assert 0.6 <= meta["size"] <= 1.0
    assert set(meta["features"]) >= {"chain", "seqid", "resname", "atom", "element", "b_iso"}
    assert element_colours(np.array(["XX"]))[0, 3] == 1.0


def test_hand_drawn_points_are_written_as_ca_atoms(tmp_path):
    pts = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.5]])  # (z, y, x)
    write_atoms(str(tmp_path / "ca.pdb"), pts, {"features": {}, "metadata": {}})
    back = read_model(tmp_path / "ca.pdb")
    np.testing.assert_allclose(back.xyz, pts[:, ::-1], atol=1e-3)
    assert list(back.atom) == ["CA"] * 3 and list(back.seqid) == [1, 2, 3]
    assert len(atoms_from_layer(pts, {})) == 3


def test_empty_points_layer_is_refused(tmp_path):
    with pytest.raises(ModelReadError, match="no atoms"):
        write_atoms(str(tmp_path / "e.cif"), np.zeros((0, 3)), {"features": {}})


def test_sample_data_opens_map_around_model():
    layers = make_sample_data()
    assert [ly[2] for ly in layers] == ["points", "image"]  # atoms drawn under the map
    (points, image) = layers
    assert image[1]["rendering"] == "iso" and image[1]["iso_threshold"] == pytest.approx(1.5)
    md = image[1]["metadata"]
    assert md["resolution"] == pytest.approx(1.5, abs=0.05) and md["units"] == "sigma"
    assert "FWT" in md["info"]["columns"]
    assert_atoms_in_density(image, points[0][:, ::-1])


@pytest.mark.gui
def test_viewer_opens_files_and_bad_files_notify(make_napari_viewer, tmp_path):
    """viewer.open uses our reader; a bad file adds nothing, raises nothing, notifies clearly."""
    from napari.utils.notifications import notification_manager

    viewer = make_napari_viewer()
    map_path, model_path = sample_paths()
    viewer.open(map_path, plugin=PLUGIN)
    viewer.open(model_path, plugin=None)  # the only reader for .cif: chosen without asking
    assert [type(ly).__name__ for ly in viewer.layers] == ["Image", "Points"]
    assert viewer.layers[0].rendering == "iso"

    bad = tmp_path / "broken.mrc"
    bad.write_text("definitely not a map")
    before = len(notification_manager.records)
    assert viewer.open(str(bad), plugin=None) == []
    # the GUI path (File > Open, drag and drop) must not pop up a reader-choice dialog either
    viewer.window._qt_viewer._qt_open([str(bad)], stack=False)
    messages = [str(n.message) for n in notification_manager.records[before:]]
    assert len(messages) == 2 and all("broken.mrc: not a readable MRC" in m for m in messages)
    assert len(viewer.layers) == 2


@pytest.mark.gui
def test_viewer_open_empty_cif_notifies_no_atoms(make_napari_viewer, tmp_path):
    """An empty .cif / .cif.gz: the clear "no atoms" message, not gemmi's C++ IndexError."""
    import gzip

    from napari.utils.notifications import notification_manager

    viewer = make_napari_viewer()
    (tmp_path / "empty.cif").write_bytes(b"")
    (tmp_path / "empty.cif.gz").write_bytes(gzip.compress(b""))
    for name in ("empty.cif", "empty.cif.gz"):
        before = len(notification_manager.records)
        assert viewer.open(str(tmp_path / name), plugin=None) == []
        messages = [str(n.message) for n in notification_manager.records[before:]]
        assert len(messages) == 1 and f"{name}: the model has no atoms" in messages[0], messages
    assert len(viewer.layers) == 0


@pytest.mark.gui
def test_viewer_open_sample(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "sample")
    assert [type(ly).__name__ for ly in viewer.layers] == ["Points", "Image"]
