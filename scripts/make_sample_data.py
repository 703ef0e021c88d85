"""Make the plugin's sample data: a simulated 1.5 A crystal map of a small protein and its model.

Source: ubiquitin (one chain), file ``1S1Q_l_u.pdb.gz`` of the structures; complex 1S1Q is in the
TEST split (``training/split.json``), so no network was trained on it or on anything more than 30 %
identical to it, and the demo's figures are honest. The map is a
realistic simulated 2mFo-DFc-like map (crystal packing, waters, bulk solvent, blur, phase errors,
noise; :mod:`napari_densitybuild.training.simulate`), written as map coefficients FWT/PHWT in a
P 1 cell; the model is written in the map's frame. Deterministic (fixed seed).

The MTZ also holds "measured" amplitudes, as a refinement program's MTZ does, for the same
reflections: FP, the amplitudes of the simulated crystal itself (model, waters, bulk solvent and
overall blur: the simulation's clean map, before its phase errors and its complex map noise, on
the scale of the FWT column), SIGFP = 3 % of FP plus 2 % of the mean FP (nominal: FP carries no
measurement noise), and FREE, CCP4 free-set flags 0-19 (the free set is flag 0, about 5 %) drawn
from a generator of their own (:data:`FREE_SEED`), so the map's random streams are untouched.
With them ``densitybuild info`` and the demo print R-work and R-free.

Reproducibility: PHWT comes from numpy's float32 ``arctan2``, whose SIMD code differs in the last
bit between AVX-512 and AVX2 CPUs. The committed file was written on the AVX2 path; on an
AVX-512 machine ``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"`` (numpy 2.4 names)
reproduces it byte for byte.

The sequence of the model goes to ``sample_sequence.fasta`` (for ``build --sequence``).

Run from the repository root::

    python scripts/make_sample_data.py [--out sample_data]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import gemmi
import numpy as np

from napari_densitybuild.maps import read_map
from napari_densitybuild.model_maps import fit_model
from napari_densitybuild.models import atom_table, write_model
from napari_densitybuild.sequence import model_fasta
from napari_densitybuild.training import structures_dir
from napari_densitybuild.training.simulate import SimulationSettings, simulate_file
from napari_densitybuild.xray_data import read_observed

SOURCE = "1S1Q_l_u.pdb.gz"
D_MIN = 1.5
SEED = 1
SETTINGS = SimulationSettings(packing="contact", random_scale=False).with_d_min(D_MIN)
#: Seed of the free-set flags' own generator (the map's streams stay as they were).
FREE_SEED = 20
#: CCP4 free-set flags run 0 to FREE_FLAGS - 1; flag 0 is the free set (1 / FREE_FLAGS of all).
FREE_FLAGS = 20
#: SIGFP = SIG_RELATIVE * FP + SIG_CONSTANT * mean(FP).
SIG_RELATIVE, SIG_CONSTANT = 0.03, 0.02


def measured_columns(crystal: gemmi.FloatGrid, hkl: np.ndarray) -> np.ndarray:
    """(N, 3) FP, SIGFP and FREE at ``hkl``: the amplitudes of the map ``crystal`` (the
    simulation's clean map), their nominal sigmas and CCP4 free-set flags (module docstring)."""
    f = gemmi.transform_map_to_f_phi(crystal, half_l=True)
    fp = np.abs(f.get_value_by_hkl(np.ascontiguousarray(hkl, dtype=np.int32))).astype(np.float64)
    sigfp = SIG_RELATIVE * fp + SIG_CONSTANT * fp.mean()
    free = np.random.default_rng(FREE_SEED).integers(0, FREE_FLAGS, size=len(hkl))
    return np.column_stack([fp, sigfp, free])


def write_map_coefficients(
    grid: gemmi.FloatGrid, d_min: float, path: Path, crystal: gemmi.FloatGrid | None = None
) -> int:
    """Write the structure factors of a P 1 map (to ``d_min``) as an MTZ with H K L FWT PHWT,
    and, given the ``crystal`` map, the "measured" FP SIGFP FREE (:func:`measured_columns`).

    Returns the number of reflections written.
    """
    asu = gemmi.transform_map_to_f_phi(grid, half_l=True).prepare_asu_data(dmin=d_min)
    hkl = np.asarray(asu.miller_array)
    values = np.asarray(asu.value_array)
    mtz = gemmi.Mtz(with_base=True)
    mtz.title = "napari-densitybuild sample: simulated 2mFo-DFc-like map"
    mtz.spacegroup = grid.spacegroup
    mtz.set_cell_for_all(grid.unit_cell)
    mtz.add_dataset("simulated")
    mtz.add_column("FWT", "F")
    mtz.add_column("PHWT", "P")
    data = np.column_stack([hkl, np.abs(values), np.angle(values, deg=True)]).astype(np.float32)
    if crystal is not None:
        for label, kind in (("FP", "F"), ("SIGFP", "Q"), ("FREE", "I")):
            mtz.add_column(label, kind)
        data = np.column_stack([data, measured_columns(crystal, hkl).astype(np.float32)])
    mtz.set_data(data)
    mtz.history = [f"napari-densitybuild scripts/make_sample_data.py from {SOURCE}, seed {SEED}"]
    mtz.write_to_file(str(path))
    return len(data)


def main(argv: list[str] | None = None) -> int:
    """Write the sample map, model and info; check that the model sits in density."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="sample_data", help="output folder (default sample_data)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # keep_clean draws nothing: the map is the same with it
    sim = simulate_file(structures_dir() / SOURCE, SETTINGS, seed=SEED, keep_clean=True)
    n_refl = write_map_coefficients(sim.dmap.grid, D_MIN, out / "sample_map.mtz", sim.clean.grid)
    atoms = atom_table(sim.structure)
    write_model(atoms, out / "sample_model.cif")
    (out / "sample_sequence.fasta").write_text(model_fasta(sim.structure, f"sample {SOURCE[:4]}"))
    # Check what a user gets: the map read back puts the model atoms in density.
    dmap = read_map(out / "sample_map.mtz")
    at_atoms = float(dmap.sample_points(atoms.xyz).mean())
    if at_atoms < 2.5:
        raise SystemExit(f"sample map check failed: mean density at atoms {at_atoms:.2f} sigma")
    # ... and its measured amplitudes give the true model a low R
    fit = fit_model(sim.structure, read_observed(out / "sample_map.mtz"))
    if fit.r_work > 0.25:
        raise SystemExit(f"sample data check failed: the true model's R-work {fit.r_work:.3f}")
    params = {k: v for k, v in sim.params.items() if k not in ("rotation", "seconds")}
    measured = {
        "columns": {"FP": "F", "SIGFP": "Q", "FREE": "I"},
        "fp": "amplitudes of the simulated crystal (model, waters, bulk solvent, blur) before "
        "its phase errors and map noise, on the scale of FWT; no measurement noise",
        "sigfp": f"{SIG_RELATIVE} * FP + {SIG_CONSTANT} * mean(FP) (nominal)",
        "free": f"CCP4 flags 0-{FREE_FLAGS - 1}, free set flag 0, "
        f"np.random.default_rng({FREE_SEED}).integers(0, {FREE_FLAGS})",
        "free_seed": FREE_SEED,
        "free_reflections": fit.n_free,
        "free_fraction": round(fit.n_free / n_refl, 4),
        "true_model_r_work": round(fit.r_work, 4),
        "true_model_r_free": round(fit.r_free, 4),
    }
    info = {"source": SOURCE, "seed": SEED, "reflections": n_refl, "atoms": len(atoms),
            "mean_sigma_at_atoms": round(at_atoms, 3), "measured": measured, "params": params,
            "settings": SETTINGS.to_dict()}  # fmt: skip
    (out / "sample_info.json").write_text(json.dumps(info, indent=1, default=float) + "\n")
    print(f"{dmap.summary()}\n{len(atoms)} atoms, mean {at_atoms:.2f} sigma at atoms, "
          f"{n_refl} reflections\nthe true model: {fit.summary()}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
