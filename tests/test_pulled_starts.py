"""Fragment starts that pull the next residue's N out of density are left out, and the new
first residue's N turns back into its density; fragment ends that pull the C and O before them
out likewise; right starts and ends stay."""

from __future__ import annotations

import numpy as np
import pytest
from test_joins import _chain, _result

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.geometry import rotate_about
from napari_densitybuild.maps import read_map
from napari_densitybuild.pulled_starts import (
    pulled_ends,
    pulled_starts,
    without_pulled,
)

N = 12


@pytest.fixture(scope="module")
def dmap():
    return read_map(sample_paths()[0])


def _n_of(result, r: int, atom: str = "N") -> np.ndarray:
    m = result.model
    return m.xyz[(m.residue == r) & (m.atom == atom)][0]


def _pulled(model, residue: int, degrees: float):
    """A build of ``model`` (two fragments, 0-5 and 6-11) whose residue ``residue`` has its N
    turned about its CA-C axis (as the peptide of a wrong residue before it would hold it)."""
    result = _result(model, np.r_[np.zeros(6, int), np.ones(N - 6, int)], np.arange(1, N + 1))
    m = result.model
    atoms = m.residue_atoms(residue)
    ca, c = m.xyz[atoms["CA"]], m.xyz[atoms["C"]]
    m.xyz[atoms["N"]] = rotate_about(m.xyz[atoms["N"]][None], ca, c - ca, degrees)[0]
    return result


def test_right_starts_stay(dmap):
    result = _result(_chain(N), np.r_[np.zeros(6, int), np.ones(N - 6, int)],
                     np.arange(1, N + 1))  # fmt: skip
    assert not pulled_starts(result, dmap).any() and not pulled_ends(result, dmap).any()
    out, kept = without_pulled(result, np.ones(N, bool), dmap)
    assert out is result and kept.all() and result.report["pulled_starts_left_out"] == 0
    out, kept = without_pulled(result, np.ones(N, bool), dmap, ends=True)
    assert out is result and kept.all() and result.report["pulled_ends_left_out"] == 0


def test_a_start_that_pulls_the_next_n_out_of_density_goes_and_the_n_comes_back(dmap):
    model = _chain(N)
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    result = _pulled(model, 7, 120.0)  # the second residue of the second fragment
    flagged = pulled_starts(result, dmap)
    assert np.flatnonzero(flagged).tolist() == [6]
    assert np.linalg.norm(_n_of(result, 7) - _n_of(truth, 7)) > 1.5
    out, kept = without_pulled(result, np.ones(N, bool), dmap)
    assert len(out) == N - 1 and not kept[6] and out.report["pulled_starts_left_out"] == 1
    assert "1 fragment start pulling a neighbour out of density left out" in out.summary()
    assert not out.model.linked[6]  # now the fragment's first residue
    assert np.linalg.norm(_n_of(out, 6) - _n_of(truth, 7)) < 0.6  # turned back into density
    for r in range(6):  # the first fragment is untouched
        np.testing.assert_allclose(_n_of(out, r), _n_of(truth, r), atol=1e-9)


def test_an_end_that_pulls_the_c_and_o_before_it_out_of_density_goes_and_they_come_back(dmap):
    model = _chain(N)
    truth = _result(model, np.zeros(N, int), np.arange(1, N + 1))
    result = _result(model, np.r_[np.zeros(6, int), np.ones(N - 6, int)], np.arange(1, N + 1))
    m = result.model
    atoms = m.residue_atoms(4)  # the residue before the first fragment's last (5)
    n, ca = m.xyz[atoms["N"]], m.xyz[atoms["CA"]]
    turned = [i for name, i in atoms.items() if name not in ("N", "CA")]
    m.xyz[turned] = rotate_about(m.xyz[turned], n, ca - n, 120.0)
    assert np.linalg.norm(_n_of(result, 4, "O") - _n_of(truth, 4, "O")) > 1.5
    assert np.flatnonzero(pulled_ends(result, dmap)).tolist() == [5]
    assert not pulled_starts(result, dmap).any()
    out, kept = without_pulled(result, np.ones(N, bool), dmap, ends=True)
    assert len(out) == N - 1 and not kept[5] and out.report["pulled_ends_left_out"] == 1
    assert "1 fragment end pulling a neighbour out of density left out" in out.summary()
    assert not out.model.linked[5]  # residue 6 now follows the new end, 4
    for atom in ("C", "O"):  # turned back into density by the end turn
        assert np.linalg.norm(_n_of(out, 4, atom) - _n_of(truth, 4, atom)) < 0.6
    for r in range(6, N - 1):  # the second fragment is untouched
        np.testing.assert_allclose(_n_of(out, r), _n_of(truth, r + 1), atol=1e-9)
    kept_too, _ = without_pulled(result, np.ones(N, bool), dmap, refine=False, ends=True)
    assert np.linalg.norm(_n_of(kept_too, 4, "O") - _n_of(truth, 4, "O")) > 1.5  # not refined


def test_builds_leave_pulled_starts_out_by_default_with_trim_links():
    import inspect

    from napari_densitybuild.build import build
    from napari_densitybuild.settings import (
        DEFAULT_PULLED_ENDS,
        DEFAULT_PULLED_STARTS,
        DEFAULT_TRIM_LINKS,
    )

    params = inspect.signature(build).parameters
    assert params["pulled_starts"].default is DEFAULT_PULLED_STARTS is True
    assert params["pulled_ends"].default is DEFAULT_PULLED_ENDS
    assert params["trim_links"].default is DEFAULT_TRIM_LINKS is True  # --no-trim-links: off
