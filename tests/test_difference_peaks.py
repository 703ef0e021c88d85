"""Difference-map peaks near a model (difference_peaks): where a side chain is missing the
largest peak is positive and at its atoms; where atoms sit off, a negative peak is at them."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest
from test_model_maps import measured_mtz, side_chain, true_model

from napari_densitybuild.difference_peaks import difference_peaks
from napari_densitybuild.model_maps import fit_model, model_map
from napari_densitybuild.models import atom_table
from napari_densitybuild.xray_data import read_observed


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return read_observed(measured_mtz(true_model(), tmp_path_factory.mktemp("p") / "obs.mtz"))


def _peaks(st: gemmi.Structure, data):
    xyz = atom_table(st).xyz
    return difference_peaks(model_map(fit_model(st, data), difference=True), xyz), xyz


def test_the_true_model_leaves_no_large_peak(data):
    peaks, _ = _peaks(true_model(), data)
    # noise only (3 %): a few peaks just over 3.5 sigma (a sigmaA read low left 41, up to 5.1)
    assert len(peaks) < 20 and all(abs(p.height) < 4.5 for p in peaks)


def test_a_missing_side_chain_gives_the_largest_peak_at_its_atoms(data):
    st = true_model()
    res, gone = side_chain(st)
    lost = np.array([a.pos.tolist() for a in res if a.name in gone])
    for name in gone:
        res.remove_atom(name, " ")
    peaks, xyz = _peaks(st, data)
    top = peaks[0]
    assert top.height > 5.0
    assert np.min(np.linalg.norm(lost - top.xyz, axis=1)) < 1.0
    assert top.distance == pytest.approx(np.min(np.linalg.norm(xyz - top.xyz, axis=1)))
    assert [abs(p.height) for p in peaks] == sorted((abs(p.height) for p in peaks), reverse=True)
    assert all(p.distance <= 3.0 for p in peaks)


def test_atoms_placed_wrong_sit_in_a_negative_peak(data):
    st = true_model()
    res, moved = side_chain(st, "LYS")
    for a in res:
        if a.name in moved:
            a.pos = a.pos + gemmi.Position(1.6, 0.0, 0.0)
    peaks, xyz = _peaks(st, data)
    negative = [p for p in peaks if p.height < -3.5]
    names = atom_table(st)
    assert negative and names.resname[negative[0].atom] == "LYS"
    assert negative[0].distance < 1.0
    assert difference_peaks(model_map(fit_model(st, data), difference=True), xyz[:0]) == []


def test_a_missing_water_is_marked_and_walked_after_the_protein_peaks(tmp_path):
    """Data from the model with one water 2.8 A out from a surface O; the model without it."""
    st = true_model()
    xyz = atom_table(st).xyz
    centre = xyz.mean(0)
    spot = None
    for res in st[0][0]:
        o = np.array(res.find_atom("O", "*").pos.tolist())
        candidate = o + 2.8 * (o - centre) / np.linalg.norm(o - centre)
        if np.min(np.linalg.norm(xyz - candidate, axis=1)) > 2.7:
            spot = candidate
            break
    assert spot is not None
    wet = true_model()
    water = gemmi.Residue()
    water.name, water.seqid = "HOH", gemmi.SeqId(500, " ")
    atom = gemmi.Atom()
    atom.name, atom.element, atom.pos = "O", gemmi.Element("O"), gemmi.Position(*spot)
    atom.b_iso, atom.occ = 15.0, 1.0
    water.add_atom(atom)
    wet[0][0].add_residue(water)
    data = read_observed(measured_mtz(wet, tmp_path / "wet.mtz"))
    table = atom_table(true_model())
    diff = model_map(fit_model(true_model(), data), difference=True)
    peaks = difference_peaks(diff, table.xyz, polar=np.isin(table.element, ("N", "O")))
    marked = [p for p in peaks if p.water]
    assert marked and np.linalg.norm(np.array(marked[0].xyz) - spot) < 0.8
    assert marked[0].height > 4.0
    assert not any(p.water for p in peaks if p.height < 0)
    assert [p.water for p in peaks] == sorted(p.water for p in peaks)  # waters walked last


def test_in_a_crystal_every_peak_lies_beside_the_atom_it_names(tmp_path):
    """P 21 21 21, the molecule's copies in contact. A side chain is left out whose crystal
    copy lies inside the region searched: the copy's peak is nearest the copy's atoms, so it is
    named by the atom they copy, moved beside it, and not reported twice."""
    from scipy.spatial import cKDTree

    from napari_densitybuild.maps import read_map
    from napari_densitybuild.symmetry import Symmetry

    cell = (30.0, 35.0, 38.0, 90, 90, 90)
    path = measured_mtz(true_model("P 21 21 21", cell), tmp_path / "p212121.mtz")
    data, sym = read_observed(path), Symmetry.of_map(read_map(path))
    st = true_model("P 21 21 21", cell)
    table = atom_table(st)
    xyz = table.xyz
    lo, hi = xyz.min(0), xyz.max(0)
    copies = sym.images(xyz, box=(lo, hi), copies_only=True)  # copies inside the model's box
    inside = set(copies["src"][np.linalg.norm(copies["xyz"] - xyz[copies["src"]], axis=1) > 5])
    side = ~np.isin(table.atom, ("N", "CA", "C", "O", "CB"))

    def copied(r: gemmi.Residue) -> bool:
        return set(np.flatnonzero(side & (table.seqid == r.seqid.num))) <= inside

    res = next(r for r in st[0][0] if len(r) >= 9 and copied(r))
    for name in [a.name for a in res if a.name not in ("N", "CA", "C", "O", "CB")]:
        res.remove_atom(name, " ")
    table = atom_table(st)
    xyz = table.xyz
    peaks = difference_peaks(model_map(fit_model(st, data), difference=True), xyz,
                             polar=np.isin(table.element, ("N", "O")))  # fmt: skip
    assert any(table.seqid[p.atom] == res.seqid.num and p.height > 4 for p in peaks)
    every = cKDTree(sym.images(xyz, box=(xyz.min(0) - 10, xyz.max(0) + 10))["xyz"])
    for p in peaks:
        assert np.linalg.norm(xyz[p.atom] - p.xyz) == pytest.approx(p.distance, abs=0.01)
        assert every.query(p.xyz)[0] == pytest.approx(p.distance, abs=0.01)  # none nearer
    keys = [(p.atom, round(p.height, 1), round(p.distance, 1)) for p in peaks]
    assert len(keys) == len(set(keys))
