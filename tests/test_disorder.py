"""Side chains in simulations as real maps show them: alternative rotamers, real B-factors."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from scipy.spatial import cKDTree

from napari_densitybuild.models import read_structure
from napari_densitybuild.residues import HEAVY_ATOMS
from napari_densitybuild.training import structures_dir
from napari_densitybuild.training.disorder import MIN_CLEARANCE, MIN_SHIFT, add_disorder
from napari_densitybuild.training.model_prep import prepare_structure
from napari_densitybuild.training.simulate import SimulationSettings, simulate

SMALL = structures_dir() / "2SNI_l_u.pdb.gz"  # chymotrypsin inhibitor 2, 65 residues
pytestmark = pytest.mark.skipif(not SMALL.is_file(), reason="needs ../shared/data")
BEYOND_CB = {"N", "CA", "C", "O", "CB"}


@pytest.fixture(scope="module")
def model():
    return prepare_structure(read_structure(SMALL))


def _side_chain_density(sim) -> np.ndarray:
    """Mean map value at the side-chain atoms beyond CB, per residue of the simulated model."""
    out = []
    for res in (r for ch in sim.structure[0] for r in ch):
        xyz = [a.pos.tolist() for a in res if a.name not in BEYOND_CB]
        if xyz:
            out.append(sim.dmap.sample_points(np.array(xyz)).mean())
    return np.array(out)


def test_alternatives_share_the_occupancy_and_keep_clear(model):
    st = model.clone()
    before = {(r.seqid.num, a.name): a.pos.tolist() for ch in st[0] for r in ch for a in r}
    n = add_disorder(st, np.random.default_rng(0), fraction=0.3)
    assert n >= 5
    residues = [r for ch in st[0] for r in ch]
    others = {}  # residue index -> atoms of the other residues (their major conformers)
    for i, res in enumerate(residues):
        if any(a.altloc == "B" for a in res):
            others[i] = [a.pos.tolist() for j, r in enumerate(residues) if j != i for a in r
                         if a.altloc in ("\0", "A")]  # fmt: skip
    assert len(others) == n
    for i, xyz in others.items():
        res = residues[i]
        occ = defaultdict(float)
        for a in res:
            occ[a.name] += a.occ
        assert all(abs(v - 1.0) < 1e-6 for v in occ.values()), occ
        major = {a.name: a.pos.tolist() for a in res if a.altloc in ("\0", "A")}
        assert set(major) == set(HEAVY_ATOMS[res.name])
        assert all(np.allclose(major[k], before[(res.seqid.num, k)]) for k in major)
        assert all(a.occ > 0.5 for a in res if a.altloc == "A")
        tree = cKDTree(np.array(xyz))
        for alt in "BC":
            alt_xyz = np.array([a.pos.tolist() for a in res if a.altloc == alt])
            if not len(alt_xyz):
                continue
            dep = np.array([major[a.name] for a in res if a.altloc == alt])
            assert np.sqrt(((alt_xyz - dep) ** 2).sum(1).mean()) > MIN_SHIFT
            assert tree.query(alt_xyz)[0].min() >= MIN_CLEARANCE


def test_disorder_weakens_side_chains_and_keeps_the_labels(model):
    plain = SimulationSettings.clean(1.8)
    on = SimulationSettings.clean(1.8, disorder=True, disorder_fraction=(0.5, 0.5))
    a, b = simulate(model, plain, seed=1), simulate(model, on, seed=1)
    assert a.params["disordered"] == 0 and b.params["disordered"] >= 10
    # the model handed on (labels, pose targets) is the deposited one, without alternatives
    assert all(r.atom.altloc == "\0" for r in b.structure[0].all())
    assert [r.atom.name for r in b.structure[0].all()] == [
        r.atom.name for r in a.structure[0].all()
    ]
    da, db = _side_chain_density(a), _side_chain_density(b)
    assert np.median(db) < np.median(da) - 0.2
    assert (db < 1.0).mean() > (da < 1.0).mean()


def test_b_median_sets_the_median_and_keeps_the_profile(model):
    b0 = np.array([r.atom.b_iso for r in model[0].all()])
    sim = simulate(model, SimulationSettings.clean(1.8, b_median=(15.0, 15.0)), seed=0)
    b1 = np.array([r.atom.b_iso for r in sim.structure[0].all()])
    assert np.median(b1) == pytest.approx(15.0, rel=1e-4)
    assert np.allclose(b1 / b0, b1[0] / b0[0], rtol=1e-4)  # one factor for every atom


def test_defaults_draw_as_before(model):
    """Switched off, neither option draws a random number, so the caches built before they
    existed are rebuilt the same: the values drawn are those the code drew without them."""
    a = simulate(model, SimulationSettings(disorder_fraction=(0.3, 0.4)).with_d_min(1.8), seed=5)
    before = {"k_sol": 0.449523, "b_sol": 69.63625, "blur_b": 3.695782, "waters": 42,
              "phase_error_deg": 12.856255, "correlation_target": 0.815034,
              "scale": 0.984783}  # fmt: skip
    assert {k: a.params[k] for k in before} == pytest.approx(before, rel=1e-5)
    assert a.params["disordered"] == 0
