"""Fragment termini: the first residue's N and the last one's C turned back into the density."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.geometry import rotate_about
from napari_densitybuild.models import read_structure
from napari_densitybuild.refine import atom_model, refine
from napari_densitybuild.termini import fragment_ends, fragment_starts, turn_fragment_termini

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


def _first(model, ends: bool):
    """The first unit (axis from, axis to, scored atoms, turned atoms) of starts or ends."""
    return (fragment_ends if ends else fragment_starts)(model)[0]


def test_fragment_starts_are_unlinked_residues_followed_by_linked_ones():
    model = _model()
    starts = fragment_starts(model)
    first = [int(model.residue[a]) for a, *_ in starts]
    expect = [r for r in range(len(model.resname) - 1)
              if not model.linked[r] and model.linked[r + 1]]  # fmt: skip
    assert first == expect and len(first) >= 1
    ca, c, probe, moving = starts[0]
    assert [str(model.atom[i]) for i in (ca, c)] == ["CA", "C"]
    assert [str(model.atom[i]) for i in probe] == ["N", "CB"][: len(probe)]
    names = {str(model.atom[i]) for i in moving}
    assert "N" in names and not names & {"CA", "C", "O"} and set(probe) <= set(moving)


def test_fragment_ends_are_linked_residues_not_followed_by_linked_ones():
    model = _model()
    ends = fragment_ends(model)
    last = [int(model.residue[a]) for a, *_ in ends]
    n_res = len(model.resname)
    expect = [r for r in range(1, n_res)
              if model.linked[r] and (r + 1 == n_res or not model.linked[r + 1])]  # fmt: skip
    assert last == expect and len(last) >= 1
    n, ca, probe, moving = ends[0]
    assert [str(model.atom[i]) for i in (n, ca)] == ["N", "CA"]
    assert [str(model.atom[i]) for i in probe] == ["C", "O", "CB"][: len(probe)]
    names = {str(model.atom[i]) for i in moving}
    assert {"C", "O"} <= names and not names & {"N", "CA"} and set(probe) <= set(moving)


def test_rotate_about_keeps_distances_to_the_axis_atoms():
    rng = np.random.default_rng(0)
    pts, origin, axis = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=3)
    out = rotate_about(pts, origin, axis, 123.0)
    on_axis = origin + 2.0 * axis
    for p in (origin, on_axis):
        assert np.allclose(np.linalg.norm(out - p, axis=1), np.linalg.norm(pts - p, axis=1))
    assert np.allclose(rotate_about(pts, origin, axis, [0.0, 360.0]), pts[None])


@pytest.mark.parametrize("ends", [False, True], ids=["start", "end"])
def test_a_turned_terminus_is_turned_back_and_a_right_one_left_alone(ends):
    model = _model()
    truth = model.xyz.copy()
    density = _blobs(truth)
    a, b, probe, moving = _first(model, ends)
    wrong = truth.copy()
    wrong[moving] = rotate_about(truth[moving], truth[a], truth[b] - truth[a], 150.0)
    assert np.linalg.norm(wrong[probe[0]] - truth[probe[0]]) > 2.0
    fixed, turned = turn_fragment_termini(wrong, model, density, ends=ends)
    assert turned.tolist() == [int(model.residue[a])]
    assert np.linalg.norm(fixed[moving] - truth[moving], axis=1).max() < 0.5
    others = np.setdiff1d(np.arange(len(truth)), moving)
    assert np.array_equal(fixed[others], wrong[others])
    # bond lengths to the axis atoms are kept
    for i in probe:
        for j in (a, b):
            assert np.isclose(
                np.linalg.norm(fixed[i] - fixed[j]), np.linalg.norm(truth[i] - truth[j])
            )
    again, none = turn_fragment_termini(truth, model, density, ends=ends)
    assert len(none) == 0 and np.array_equal(again, truth)
    # a turn that gains less than the margin is not made
    _, small = turn_fragment_termini(wrong, model, density, ends=ends, margin=1e6)
    assert len(small) == 0


@pytest.mark.parametrize("ends", [False, True], ids=["start", "end"])
def test_refine_turns_termini_and_reports_them(ends):
    from napari_densitybuild.maps import read_map

    model = _model()
    dmap = read_map(MAP)
    a, b, probe, moving = _first(model, ends)
    model.xyz = model.xyz.copy()
    true_probe = model.xyz[probe[0]].copy()
    model.xyz[moving] = rotate_about(model.xyz[moving], model.xyz[a],
                                     model.xyz[b] - model.xyz[a], 150.0)  # fmt: skip
    key = "end_turns" if ends else "start_turns"
    info: dict = {}
    out = refine(model, dmap, rounds=2, iterations=10, info=info, **{key: True})
    assert info[key] >= 1
    assert np.linalg.norm(out[probe[0]] - true_probe) < 1.0
    info = {}
    off = {} if ends else {key: False}  # end turns are off by default, start turns on
    stuck = refine(model, dmap, rounds=2, iterations=10, info=info, **off)
    assert info[key] == 0
    # refinement alone cannot turn it back
    assert np.linalg.norm(stuck[probe[0]] - true_probe) > 1.5
