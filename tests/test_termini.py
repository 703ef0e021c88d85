"""Fragment ends: the first residue's N and the last one's C turned back into the density."""

from __future__ import annotations

import numpy as np
import torch

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.geometry import rotate_about
from napari_densitybuild.models import read_structure
from napari_densitybuild.refine import atom_model, refine
from napari_densitybuild.termini import (
    fragment_ends,
    fragment_starts,
    turn_fragment_ends,
    turn_fragment_starts,
)

MAP, MODEL = sample_paths()


def _blobs(xyz: np.ndarray, width: float = 0.6):
    """A map (sigma-like units) of Gaussian blobs at ``xyz``: a callable like ``DensityField``."""
    centres = torch.as_tensor(xyz, dtype=torch.float64)

    def density(points: torch.Tensor) -> torch.Tensor:
        d2 = ((points[:, None, :] - centres[None]) ** 2).sum(-1)
        return 3.0 * torch.exp(-d2 / (2 * width**2)).sum(1)

    return density


def _model():
    return atom_model(read_structure(MODEL))


def test_fragment_starts_are_unlinked_residues_followed_by_linked_ones():
    model = _model()
    starts = fragment_starts(model)
    first = [int(model.residue[n]) for n, *_ in starts]
    expect = [r for r in range(len(model.resname) - 1)
              if not model.linked[r] and model.linked[r + 1]]  # fmt: skip
    assert first == expect and len(first) >= 1
    _, _, _, cb, moving = starts[0]
    names = {str(model.atom[i]) for i in moving}
    assert "N" in names and not names & {"CA", "C", "O"}
    assert (cb >= 0) == ("CB" in names)


def test_rotate_about_keeps_distances_to_the_axis_atoms():
    rng = np.random.default_rng(0)
    pts, origin, axis = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=3)
    out = rotate_about(pts, origin, axis, 123.0)
    on_axis = origin + 2.0 * axis
    for p in (origin, on_axis):
        assert np.allclose(np.linalg.norm(out - p, axis=1), np.linalg.norm(pts - p, axis=1))
    assert np.allclose(rotate_about(pts, origin, axis, [0.0, 360.0]), pts[None])


def test_a_turned_start_is_turned_back_and_a_right_one_left_alone():
    model = _model()
    truth = model.xyz.copy()
    density = _blobs(truth)
    n, ca, c, cb, moving = fragment_starts(model)[0]
    wrong = truth.copy()
    wrong[moving] = rotate_about(truth[moving], truth[ca], truth[c] - truth[ca], 150.0)
    assert np.linalg.norm(wrong[n] - truth[n]) > 2.0
    fixed, turned = turn_fragment_starts(wrong, model, density)
    assert turned.tolist() == [int(model.residue[n])]
    assert np.linalg.norm(fixed[moving] - truth[moving], axis=1).max() < 0.5
    others = np.setdiff1d(np.arange(len(truth)), moving)
    assert np.array_equal(fixed[others], wrong[others])
    # bond lengths at CA are kept
    for i in (n, cb):
        assert np.isclose(
            np.linalg.norm(fixed[i] - fixed[ca]), np.linalg.norm(truth[i] - truth[ca])
        )
    again, none = turn_fragment_starts(truth, model, density)
    assert len(none) == 0 and np.array_equal(again, truth)


def test_refine_turns_fragment_starts_and_reports_them():
    from napari_densitybuild.maps import read_map

    model = _model()
    dmap = read_map(MAP)
    n, ca, c, _, moving = fragment_starts(model)[0]
    model.xyz = model.xyz.copy()
    true_n = model.xyz[n].copy()
    model.xyz[moving] = rotate_about(model.xyz[moving], model.xyz[ca],
                                     model.xyz[c] - model.xyz[ca], 150.0)  # fmt: skip
    info: dict = {}
    out = refine(model, dmap, rounds=2, iterations=10, info=info)
    assert info["start_turns"] >= 1
    assert np.linalg.norm(out[n] - true_n) < 1.0
    info = {}
    stuck = refine(model, dmap, rounds=2, iterations=10, start_turns=False, info=info)
    assert info["start_turns"] == 0
    assert np.linalg.norm(stuck[n] - true_n) > 1.5  # refinement alone cannot turn it back


def test_fragment_ends_are_linked_residues_not_followed_by_linked_ones():
    model = _model()
    ends = fragment_ends(model)
    last = [int(model.residue[n]) for n, *_ in ends]
    n_res = len(model.resname)
    expect = [r for r in range(1, n_res)
              if model.linked[r] and (r + 1 == n_res or not model.linked[r + 1])]  # fmt: skip
    assert last == expect and len(last) >= 1
    _, _, probe, moving = ends[0]
    names = {str(model.atom[i]) for i in moving}
    assert {"C", "O"} <= names and not names & {"N", "CA"}
    assert [str(model.atom[i]) for i in probe] == ["C", "O", "CB"][: len(probe)]
    assert set(probe) <= set(moving)


def test_a_turned_end_is_turned_back_and_a_right_one_left_alone():
    model = _model()
    truth = model.xyz.copy()
    density = _blobs(truth)
    n, ca, probe, moving = fragment_ends(model)[0]
    c = probe[0]
    wrong = truth.copy()
    wrong[moving] = rotate_about(truth[moving], truth[n], truth[ca] - truth[n], 150.0)
    assert np.linalg.norm(wrong[c] - truth[c]) > 2.0
    fixed, turned = turn_fragment_ends(wrong, model, density)
    assert turned.tolist() == [int(model.residue[n])]
    assert np.linalg.norm(fixed[moving] - truth[moving], axis=1).max() < 0.5
    others = np.setdiff1d(np.arange(len(truth)), moving)
    assert np.array_equal(fixed[others], wrong[others])
    assert np.isclose(np.linalg.norm(fixed[c] - fixed[ca]), np.linalg.norm(truth[c] - truth[ca]))
    again, none = turn_fragment_ends(truth, model, density)
    assert len(none) == 0 and np.array_equal(again, truth)
    # a turn that gains less than the margin is not made
    _, small = turn_fragment_ends(wrong, model, density, margin=1e6)
    assert len(small) == 0


def test_refine_turns_fragment_ends_when_asked():
    from napari_densitybuild.maps import read_map

    model = _model()
    dmap = read_map(MAP)
    n, ca, probe, moving = fragment_ends(model)[0]
    model.xyz = model.xyz.copy()
    true_c = model.xyz[probe[0]].copy()
    model.xyz[moving] = rotate_about(model.xyz[moving], model.xyz[n],
                                     model.xyz[ca] - model.xyz[n], 150.0)  # fmt: skip
    info: dict = {}
    out = refine(model, dmap, rounds=2, iterations=10, end_turns=True, info=info)
    assert info["end_turns"] >= 1
    assert np.linalg.norm(out[probe[0]] - true_c) < 1.0
    info = {}
    stuck = refine(model, dmap, rounds=2, iterations=10, info=info)  # off by default
    assert info["end_turns"] == 0
    assert np.linalg.norm(stuck[probe[0]] - true_c) > 1.5  # refinement alone cannot turn it back
