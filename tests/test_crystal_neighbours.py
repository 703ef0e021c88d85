"""Crystal neighbours: the residues of a model's crystal copies at its surface (no Qt), checked
against gemmi's own symmetry images on deposited models; and in napari, the panel's box that
draws them, kept up to date with edits and taken away with the box or the dock."""

from __future__ import annotations

from dataclasses import replace

import gemmi
import numpy as np
import pytest
from conftest import backbone_state, open_widget, real_model_path
from scipy.spatial import cKDTree

from napari_densitybuild.crystal_neighbours import REACH, neighbour_residues
from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.session import Session


def _pair(cell: list[float] | None, spacegroup: str = "P 1") -> Session:
    """Two residues 16 A apart along x: in a 20 A cell each meets the other's lattice copy."""
    rows = [backbone_state("A", 1, [1.5, 20.0, 20.0]), backbone_state("A", 2, [17.5, 20.0, 20.0])]
    meta = {"cell": cell, "spacegroup": spacegroup} if cell else {}
    return Session(rows, None, meta, autosave=False)


def test_a_lattice_copy_at_the_cell_face_is_a_neighbour():
    s = _pair([20.0, 40.0, 40.0, 90.0, 90.0, 90.0])
    got = neighbour_residues(s)
    assert [(r.chain, r.seqid) for r in got] == [("A", 2), ("A", 1)]  # copy at -a, then at +a
    for r, k, dx in ((got[0], 1, -20.0), (got[1], 0, 20.0)):
        shift = np.array([dx, 0.0, 0.0])
        want = np.array([a[1:] for a in s.residues[k].atoms]) + shift
        np.testing.assert_allclose([a[1:] for a in r.atoms], want, atol=1e-9)
        np.testing.assert_allclose(r.centre, np.array(s.residues[k].centre) + shift)
        np.testing.assert_allclose(r.rotation, s.residues[k].rotation, atol=1e-12)
    assert neighbour_residues(s, reach=0.5) == []  # nothing that close
    assert neighbour_residues(_pair([60.0, 40.0, 40.0, 90.0, 90.0, 90.0])) == []  # a big cell
    assert neighbour_residues(_pair(None)) == []  # no crystal: a cryo-EM box
    empty = Session([replace(r, atoms=()) for r in s.residues], None, s.meta, autosave=False)
    assert neighbour_residues(empty) == []


def test_a_model_that_overlaps_its_copies_is_refused(monkeypatch):
    import napari_densitybuild.crystal_neighbours as module

    s = _pair([6.0, 6.0, 6.0, 90.0, 90.0, 90.0])  # a model 18 A long in a 6 A cell
    monkeypatch.setattr(module, "MAX_ALWAYS", 0)
    with pytest.raises(DensityBuildError, match=r"meets its own crystal copies at [0-9]+ residues"):
        neighbour_residues(s)
    monkeypatch.setattr(module, "MAX_ALWAYS", 2000)  # a model of 2 residues: up to 2,000 drawn
    assert 6 < len(neighbour_residues(s)) <= 2000


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["1cbs", "1t48", "gere"])  # P 21 21 21, P 31 2 1, C 1 2 1
def test_neighbours_are_gemmis_symmetry_images_and_do_not_clash(real_dir, name):
    st = gemmi.read_structure(str(real_model_path(real_dir / name)))
    st.setup_entities()
    st.remove_ligands_and_waters()
    s = Session.from_structure(st)
    s.meta.update(cell=list(st.cell.parameters), spacegroup=st.spacegroup_hm)
    got = neighbour_residues(s)
    assert len(got) > 20
    model = np.array([a[1:] for r in s.residues for a in r.atoms])
    tree = cKDTree(model)
    ns = gemmi.NeighborSearch(st[0], st.cell, 5).populate()
    for r in got:
        xyz = np.array([a[1:] for a in r.atoms])
        d = tree.query(xyz)[0]
        assert d.min() <= REACH  # the residue reaches the model
        assert d.min() > 2.2  # a copy never overlaps the model (no clash at a contact)
        for name_, p in zip((a[0] for a in r.atoms), xyz):  # the same atom of an image
            marks = ns.find_atoms(gemmi.Position(*p), "\0", radius=0.01)
            cras = [m.to_cra(st[0]) for m in marks]
            assert any(c.atom.name == name_ and c.residue.seqid.num == r.seqid
                       and c.chain.name == r.chain for c in cras)  # fmt: skip


@pytest.mark.gui
def test_the_panel_box_draws_them_follows_edits_and_takes_them_away(make_napari_viewer, qtbot,
                                                                    sample_map):  # fmt: skip
    viewer = make_napari_viewer()
    w = open_widget(viewer, qtbot, sample_map)
    s = _pair([20.0, 40.0, 40.0, 90.0, 90.0, 90.0])
    w.set_session(s)
    active = viewer.layers.selection.active
    names = ("crystal neighbours", "crystal neighbour bonds")
    assert not any(n in viewer.layers for n in names)
    w.review.neighbours_box.setChecked(True)
    atoms, bonds = (viewer.layers[n] for n in names)
    assert len(atoms.data) == 6 and len(bonds.data) == 4  # two residues, two bonds each
    assert w.status.text().startswith("Crystal neighbours: 2 residues of the model's crystal")
    np.testing.assert_allclose(
        atoms.data[0][::-1], np.array(s.residues[1].atoms[0][1:]) - [20, 0, 0]
    )
    assert list(atoms.features["seqid"][:1]) == [2]  # named as the residue it copies
    assert viewer.layers.selection.active is active  # the user's layer stays the active one
    # an edit moves residue 2 8 A along y: the two no longer meet each other's copies
    r = s.residues[1]
    s.apply({1: replace(r, atoms=tuple((a[0], a[1], a[2] + 8.0, a[3]) for a in r.atoms))})
    w.refresh()
    assert len(atoms.data) == 0 and atoms in viewer.layers  # the same layer, brought up to date
    assert w.review.undo() and len(atoms.data) == 6
    w.review.neighbours_box.setChecked(False)
    assert not any(n in viewer.layers for n in names)
    w.review.neighbours_box.setChecked(True)
    assert all(n in viewer.layers for n in names)
    w.set_session(_pair(None))  # a model on a cryo-EM box: none, and the status says why
    assert len(viewer.layers["crystal neighbours"].data) == 0
    w.review.neighbours_box.setChecked(False)
    w.review.neighbours_box.setChecked(True)
    assert "none, the map has no crystal symmetry" in w.status.text()
    viewer.window.remove_dock_widget(w)  # the panel's dock closes: they go with it
    assert not any(n in viewer.layers for n in names)


@pytest.mark.gui
def test_a_model_overlapping_its_copies_is_said_and_the_box_cleared(
    make_napari_viewer, qtbot, sample_map, monkeypatch
):
    import napari_densitybuild.crystal_neighbours as module
    from napari_densitybuild._napari import _neighbour_view

    said = []
    monkeypatch.setattr(_neighbour_view, "notify_error", said.append)
    monkeypatch.setattr(module, "MAX_ALWAYS", 0)
    viewer = make_napari_viewer()
    w = open_widget(viewer, qtbot, sample_map)
    w.set_session(_pair([6.0, 6.0, 6.0, 90.0, 90.0, 90.0]))
    w.review.neighbours_box.setChecked(True)
    assert len(said) == 1 and "overlaps them" in said[0]
    assert not w.review.neighbours_box.isChecked() and "crystal neighbours" not in viewer.layers
