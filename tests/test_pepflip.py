"""Peptide flips on the bundled sample: carbonyls turned the wrong way (a full flip, or the
90-165 degrees built models most often have them off) are turned back, right ones kept."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from napari_densitybuild.maps import read_map
from napari_densitybuild.models import read_structure
from napari_densitybuild.pepflip import (
    TURN_ANGLES,
    flip_peptides,
    peptide_units,
    turned_positions,
)
from napari_densitybuild.refine import DensityField, atom_model, refine

SAMPLE = Path(__file__).parents[1] / "sample_data"


@pytest.fixture(scope="module")
def sample():
    model = atom_model(read_structure(SAMPLE / "sample_model.cif"))
    dmap = read_map(SAMPLE / "sample_map.mtz")
    return model, dmap, DensityField(dmap, model.xyz)


def test_units_and_geometry_of_a_flip(sample):
    model, _, _ = sample
    units = peptide_units(model)
    assert len(units) == int(model.linked.sum())  # the sample has no cis peptides
    assert set(model.atom[units[:, 2]]) == {"O"} and set(model.atom[units[:, 3]]) == {"N"}
    turned = turned_positions(model.xyz, units, 180.0)
    move = np.linalg.norm(turned - model.xyz[units[:, 1:4]], axis=-1)
    assert np.all(move[:, 1] > 2.3) and np.all(move[:, 1] < 3.8)  # O crosses over
    assert np.all(move[:, [0, 2]] < 1.2)  # C and N stay near the CA-CA axis
    again = model.xyz.copy()
    again[units[:, 1:4].ravel()] = turned.reshape(-1, 3)
    back = turned_positions(again, units, 180.0)
    np.testing.assert_allclose(back, model.xyz[units[:, 1:4]], atol=1e-9)


def test_wrong_side_carbonyls_are_turned_back(sample):
    model, _, field = sample
    units = peptide_units(model)
    out, flipped = flip_peptides(model.xyz, units, field)
    assert not flipped.any()  # the true model is left alone
    np.testing.assert_array_equal(out, model.xyz)
    pick = np.random.default_rng(0).choice(len(units), size=6, replace=False)
    bad = model.xyz.copy()
    bad[units[pick, 1:4].ravel()] = turned_positions(model.xyz, units[pick], 180.0).reshape(-1, 3)
    out, flipped = flip_peptides(bad, units, field)
    assert set(np.flatnonzero(flipped)) == set(pick)
    np.testing.assert_allclose(out, model.xyz, atol=1e-6)


def test_turns_keep_the_unit_rigid_and_undo_each_other(sample):
    model, _, _ = sample
    units = peptide_units(model)[:20]
    ca0, ca1 = model.xyz[units[:, 0]], model.xyz[units[:, 4]]
    turned = turned_positions(model.xyz, units, TURN_ANGLES)
    assert turned.shape == (len(units), len(TURN_ANGLES), 3, 3)
    for k, deg in enumerate(TURN_ANGLES):
        t = turned[:, k]
        for i, j in ((0, 1), (0, 2), (1, 2)):  # C-O, C-N, O-N: a rigid turn
            np.testing.assert_allclose(np.linalg.norm(t[:, i] - t[:, j], axis=1),
                                       np.linalg.norm(model.xyz[units[:, 1 + i]]
                                                      - model.xyz[units[:, 1 + j]], axis=1),
                                       atol=1e-9)  # fmt: skip
        for end in (ca0, ca1):  # every atom keeps its distance to both C-alphas
            np.testing.assert_allclose(np.linalg.norm(t - end[:, None], axis=-1),
                                       np.linalg.norm(model.xyz[units[:, 1:4]] - end[:, None],
                                                      axis=-1), atol=1e-9)  # fmt: skip
        again = model.xyz.copy()
        again[units[:, 1:4].ravel()] = t.reshape(-1, 3)
        back = turned_positions(again, units, 360.0 - deg)
        np.testing.assert_allclose(back, model.xyz[units[:, 1:4]], atol=1e-9)
    np.testing.assert_allclose(turned[:, list(TURN_ANGLES).index(180.0)],
                               turned_positions(model.xyz, units, 180.0), atol=1e-12)  # fmt: skip
    # the full flip is the mirror image through the axis to the last bit (builds unchanged)
    a, b = model.xyz[units[:, 0]], model.xyz[units[:, 4]]
    u = (b - a) / np.linalg.norm(b - a, axis=1, keepdims=True)
    v = model.xyz[units[:, 1:4]] - a[:, None]
    par = (v * u[:, None]).sum(-1, keepdims=True) * u[:, None]
    np.testing.assert_array_equal(
        turned_positions(model.xyz, units, 180.0), a[:, None] + par - (v - par)
    )


@pytest.mark.parametrize("degrees", [105.0, 135.0, 255.0])
def test_carbonyls_turned_part_way_are_turned_back(sample, degrees):
    """Turned by an angle other than 180 degrees (what a full flip alone would miss), six
    carbonyls are found and put back; the rest stay."""
    model, _, field = sample
    units = peptide_units(model)
    pick = np.random.default_rng(1).choice(len(units), size=6, replace=False)
    bad = model.xyz.copy()
    bad[units[pick, 1:4].ravel()] = turned_positions(model.xyz, units[pick], degrees).reshape(-1, 3)
    assert np.all(np.linalg.norm(bad[units[pick, 2]] - model.xyz[units[pick, 2]], axis=1) > 2.0)
    old = flip_peptides(bad, units, field)[1]  # the default: the full flip alone
    assert not old[pick].all()  # leaves some of them
    out, flipped = flip_peptides(bad, units, field, angles=TURN_ANGLES)
    assert set(np.flatnonzero(flipped)) == set(pick)
    np.testing.assert_allclose(out, model.xyz, atol=1e-6)


def test_refine_reports_and_fixes_flips(sample):
    model, dmap, field = sample
    units = peptide_units(model)
    pick = np.arange(2, len(units), 9)[:5]
    truth = model.xyz
    model = dataclasses.replace(model, xyz=truth.copy())
    model.xyz[units[pick, 1:4].ravel()] = turned_positions(truth, units[pick], 180.0).reshape(-1, 3)
    info: dict = {}
    out = refine(model, dmap, field=field, info=info)
    assert info["peptide_flips"] >= len(pick)
    o_err = np.linalg.norm(out[units[pick, 2]] - truth[units[pick, 2]], axis=1)
    assert np.all(o_err < 0.6), o_err
    kept = refine(model, dmap, field=field, peptide_flips=False, info=info)
    assert info["peptide_flips"] == 0
    assert np.all(np.linalg.norm(kept[units[pick, 2]] - truth[units[pick, 2]], axis=1) > 1.5)


def test_refine_turns_peptides_part_way_only_when_asked(sample):
    """Carbonyls 120 degrees off: the full flip leaves them (refinement alone cannot bring them
    back), turns put them within 0.6 A of the truth."""
    model, dmap, field = sample
    units = peptide_units(model)
    pick = np.arange(4, len(units), 11)[:5]
    truth = model.xyz
    model = dataclasses.replace(model, xyz=truth.copy())
    turned = turned_positions(truth, units[pick], 120.0)
    model.xyz[units[pick, 1:4].ravel()] = turned.reshape(-1, 3)

    def o_error(xyz):
        return np.linalg.norm(xyz[units[pick, 2]] - truth[units[pick, 2]], axis=1)

    info: dict = {}
    flipped_only = refine(model, dmap, field=field, info=info)
    assert np.sum(o_error(flipped_only) > 1.5) >= 3, o_error(flipped_only)
    turned_back = refine(model, dmap, field=field, peptide_turns=True, info=info)
    assert info["peptide_flips"] >= len(pick)
    assert np.all(o_error(turned_back) < 0.6), o_error(turned_back)


def test_density_field_reads_the_map_once_converted(sample):
    import torch

    model, dmap, field = sample
    xyz = model.xyz[:50]
    want = dmap.sample_points(xyz)  # gemmi's trilinear interpolation of the map itself
    got64 = field(torch.as_tensor(xyz, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got64, want, atol=0.1 * np.abs(want).max())
    grid64 = field._as[torch.float64]
    field(torch.as_tensor(xyz, dtype=torch.float64))
    assert field._as[torch.float64] is grid64  # converted once, not at every call
