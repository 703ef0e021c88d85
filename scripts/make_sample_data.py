"""Make the plugin's sample data: a simulated 1.5 A crystal map of a small protein and its model.

Source: ubiquitin (one chain), file ``1S1Q_l_u.pdb.gz`` of the structures; complex 1S1Q is in the
TEST split (``training/split.json``), so no network was trained on it or on anything more than 30 %
identical to it, and the demo's figures are honest. The map is a
realistic simulated 2mFo-DFc-like map (crystal packing, waters, bulk solvent, blur, phase errors,
noise; :mod:`napari_densitybuild.training.simulate`), written as map coefficients FWT/PHWT in a
P 1 cell; the model is written in the map's frame. Deterministic (fixed seed).

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
from napari_densitybuild.models import atom_table, write_model
from napari_densitybuild.sequence import model_fasta
from napari_densitybuild.training import structures_dir
from napari_densitybuild.training.simulate import SimulationSettings, simulate_file

SOURCE = "1S1Q_l_u.pdb.gz"
D_MIN = 1.5
SEED = 1
SETTINGS = SimulationSettings(packing="contact", random_scale=False).with_d_min(D_MIN)


def write_map_coefficients(grid: gemmi.FloatGrid, d_min: float, path: Path) -> int:
    """Write the structure factors of a P 1 map (to ``d_min``) as an MTZ with H K L FWT PHWT.

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
    sim = simulate_file(structures_dir() / SOURCE, SETTINGS, seed=SEED)
    n_refl = write_map_coefficients(sim.dmap.grid, D_MIN, out / "sample_map.mtz")
    atoms = atom_table(sim.structure)
    write_model(atoms, out / "sample_model.cif")
    (out / "sample_sequence.fasta").write_text(model_fasta(sim.structure, f"sample {SOURCE[:4]}"))
    # Check what a user gets: the map read back puts the model atoms in density.
    dmap = read_map(out / "sample_map.mtz")
    at_atoms = float(dmap.sample_points(atoms.xyz).mean())
    if at_atoms < 2.5:
        raise SystemExit(f"sample map check failed: mean density at atoms {at_atoms:.2f} sigma")
    params = {k: v for k, v in sim.params.items() if k not in ("rotation", "seconds")}
    info = {"source": SOURCE, "seed": SEED, "reflections": n_refl, "atoms": len(atoms),
            "mean_sigma_at_atoms": round(at_atoms, 3), "params": params,
            "settings": SETTINGS.to_dict()}  # fmt: skip
    (out / "sample_info.json").write_text(json.dumps(info, indent=1, default=float) + "\n")
    print(f"{dmap.summary()}\n{len(atoms)} atoms, mean {at_atoms:.2f} sigma at atoms, "
          f"{n_refl} reflections")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
