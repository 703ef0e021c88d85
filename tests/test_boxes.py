"""Box frames and the one sampler: conventions that the classifier and placement share."""

import gemmi
import numpy as np
import pytest

from napari_densitybuild.boxes import (
    CENTRE_SHIFT,
    BoxSpec,
    backbone_frames,
    cut_boxes,
    ideal_cb,
    jitter_frames,
    normalise_boxes,
    poster_frames,
    random_rotations,
)
from napari_densitybuild.maps import DensityMap

# One alanine-like backbone (Angstrom).
N = np.array([1.458, 0.0, 0.0])
CA = np.array([0.0, 0.0, 0.0])
C = np.array([-0.551, 1.420, 0.0])


def blob_map(centre_xyz, cell=(40.0, 40.0, 40.0, 90.0, 90.0, 90.0), sg="P 1", spacing=0.4):
    """A map with one Gaussian blob (sd 0.6 A) at ``centre_xyz``, through gemmi's grid."""
    uc = gemmi.UnitCell(*cell)
    grid = gemmi.FloatGrid()
    grid.set_unit_cell(uc)
    grid.spacegroup = gemmi.SpaceGroup(sg)
    grid.set_size_from_spacing(spacing, gemmi.GridSizeRounding.Up)
    pts = np.array(
        [grid.point_to_position(grid.get_point(i, j, k)).tolist()
         for i in range(grid.nu) for j in range(grid.nv) for k in range(grid.nw)]
    )  # fmt: skip
    # distance with periodic images via fractional coordinates
    frac_mat = np.array(uc.frac.mat.tolist())
    orth_mat = np.array(uc.orth.mat.tolist())
    d = (pts - centre_xyz) @ frac_mat.T
    d -= np.round(d)
    r2 = ((d @ orth_mat.T) ** 2).sum(1)
    grid.array[...] = np.exp(-r2 / (2 * 0.6**2)).reshape(grid.nu, grid.nv, grid.nw)
    return DensityMap(grid=grid, source="blob")


def test_backbone_frame_is_right_handed_and_follows_convention():
    centre, rot = backbone_frames(N, CA, C)
    r = rot[0]
    np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    x, y, _ = r.T
    np.testing.assert_allclose(x, (C - CA) / np.linalg.norm(C - CA))
    assert np.dot(y, N - CA) > 0  # y points to the N side
    cb = ideal_cb(N, CA, C)
    assert np.linalg.norm(cb - CA) == pytest.approx(1.53, abs=0.03)
    np.testing.assert_allclose(np.linalg.norm(centre[0] - CA), CENTRE_SHIFT)
    assert np.dot(centre[0] - CA, cb - CA) > 0


def test_frames_move_with_the_residue():
    """A rigidly moved residue has the moved frame: frames are equivariant."""
    rng = np.random.default_rng(0)
    q = random_rotations(1, 180, rng)[0]
    t = np.array([3.0, -2.0, 7.0])
    c0, r0 = backbone_frames(N, CA, C)
    c1, r1 = backbone_frames(q @ N + t, q @ CA + t, q @ C + t)
    np.testing.assert_allclose(c1[0], q @ c0[0] + t, atol=1e-9)
    np.testing.assert_allclose(r1[0], q @ r0[0], atol=1e-9)


@pytest.mark.parametrize(
    "cell", [(40, 40, 40, 90, 90, 90), (38, 42, 45, 90, 110, 90), (40, 40, 44, 90, 90, 120)]
)
def test_cut_box_indexes_z_y_x_in_the_frame(cell):
    """A blob at frame position (x, y, z) lands at crop index (z, y, x), in any cell."""
    rng = np.random.default_rng(1)
    rot = random_rotations(1, 180, rng)
    centre = np.array([[15.0, 18.0, 20.0]])
    local = np.array([2.0, -1.0, 3.0])  # frame coordinates of the blob
    dmap = blob_map(centre[0] + rot[0] @ local, cell=cell)
    spec = BoxSpec(size=22, spacing=0.5)
    box = cut_boxes(dmap, centre, rot, spec)[0]
    idx = np.unravel_index(np.argmax(box), box.shape)
    expected = np.round(local[::-1] / spec.spacing + (spec.size - 1) / 2)
    np.testing.assert_allclose(idx, expected, atol=1)


def test_cut_box_wraps_across_the_cell_edge():
    """A box straddling the unit-cell edge reads the periodic density (symmetry)."""
    dmap = blob_map(np.array([0.5, 0.5, 0.5]))
    inside = cut_boxes(dmap, np.array([[0.5, 0.5, 0.5]]), np.eye(3)[None])
    shifted = cut_boxes(dmap, np.array([[40.5, 0.5, -39.5]]), np.eye(3)[None])
    np.testing.assert_allclose(inside, shifted, atol=1e-4)
    assert inside.max() > 0.6  # box centre falls between voxels


def test_poster_frames_and_spec():
    c, r = poster_frames(np.zeros((4, 3)))
    assert c.shape == (4, 3) and np.all(r == np.eye(3))
    spec = BoxSpec.poster()
    assert (spec.size, spec.spacing) == (44, 0.25)
    assert spec.size * spec.spacing == pytest.approx(11.0)


def test_jitter_is_small_and_random():
    rng = np.random.default_rng(2)
    c, r = backbone_frames(np.tile(N, (200, 1)), np.tile(CA, (200, 1)), np.tile(C, (200, 1)))
    c2, r2 = jitter_frames(c, r, rng, max_angle_deg=10, shift_sd=0.3)
    shift = np.linalg.norm(c2 - c, axis=1)
    assert 0.2 < shift.mean() < 0.7
    cosang = (np.trace(r2.transpose(0, 2, 1) @ r, axis1=1, axis2=2) - 1) / 2
    angle = np.degrees(np.arccos(np.clip(cosang, -1, 1)))
    assert angle.max() <= 10.0 + 1e-6 and angle.mean() > 2


def test_normalise_boxes():
    rng = np.random.default_rng(3)
    boxes = rng.normal(5.0, 3.0, size=(4, 6, 6, 6)).astype(np.float32)
    out = normalise_boxes(boxes)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1, atol=1e-4)
    flat = normalise_boxes(np.full((1, 4, 4, 4), 2.0))
    assert np.all(np.isfinite(flat)) and np.abs(flat).max() == 0


def test_cache_frames_follow_the_cache_jitter():
    """A cache's jitter size reaches its frames: the wide caches turn boxes up to 25 degrees and
    move them further; axis-aligned boxes are never turned."""
    from types import SimpleNamespace

    from napari_densitybuild.training.cache import CACHES, frames_for

    bb = SimpleNamespace(n=np.tile(N, (400, 1)), ca=np.tile(CA, (400, 1)), c=np.tile(C, (400, 1)))
    c0, r0 = backbone_frames(bb.n, bb.ca, bb.c)

    def spread(spec_name: str, frame: str = "backbone"):
        spec = CACHES[spec_name]
        box = BoxSpec(frame=frame)
        c, r = frames_for(bb, box, np.random.default_rng(0), spec.jitter_angle, spec.jitter_shift)
        ref = poster_frames(bb.ca)[1] if frame == "axis" else r0
        cosang = (np.trace(r.transpose(0, 2, 1) @ ref, axis1=1, axis2=2) - 1) / 2
        return np.degrees(np.arccos(np.clip(cosang, -1, 1))), np.linalg.norm(c - c0, axis=1)

    narrow, shift_narrow = spread("train")
    wide, shift_wide = spread("train_wide")
    assert narrow.max() <= 10.0 + 1e-6 and 10.0 < wide.max() <= 25.0 + 1e-6
    assert shift_wide.mean() > 1.3 * shift_narrow.mean()
    axis, _ = spread("train_wide", frame="axis")
    assert axis.max() < 1e-6


def test_plain_caches_are_the_poster_maps_of_their_split():
    """The plain caches simulate the molecule alone (no solvent, waters, noise, phase error) at
    1.4-1.6 A (1.5 A for the test maps), each from its own split, so plain validation figures
    never touch training structures."""
    from napari_densitybuild.training.cache import CACHES

    for name, split, d_min in [
        ("train_plain", "train", (1.4, 1.6)),
        ("val_plain", "val", (1.4, 1.6)),
        ("test_plain", "test", (1.5, 1.5)),
    ]:
        spec = CACHES[name]
        s = spec.settings
        assert spec.split == split and s.d_min == d_min
        assert s.packing == "box"
        assert not (s.waters or s.solvent or s.noise or s.phase_error or s.blur or s.b_jitter)
    assert CACHES["val_plain"].seed == CACHES["val"].seed
