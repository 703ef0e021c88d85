"""Where the model-phased difference map's peaks point on builds of real maps with measured
amplitudes (1cbs, cdk2, rnasa: the maps of ../shared/data/real whose MTZ holds FP/SIGFP).

    .venv/bin/python scripts/difference_peak_check.py runs/ho_noseq [runs/other ...]

Each folder holds ``MAP.cif`` per map (``build_sweep.py --save``). Each build is set against
the measured amplitudes as the review panel's "Difference map" sets it
(:func:`~napari_densitybuild.model_maps.fit_model`, one B for every atom; peaks of
:func:`~napari_densitybuild.difference_peaks.difference_peaks`: over 3.5 sigma within 3 A of the
model), and its residues are compared with the deposited model as ``scripts/error_sources.py``
compares them. Prints R-work and R-free per build, then, for the residues nearest a negative
peak, nearest a positive peak, and the rest: how many are not matched with the right type, how
many of the matched ones are more than 1 A off, and their share of the squared error (peaks
that look like waters left out); and how many positive peaks lie within 1.5 A of a deposited
water, where the deposited model has waters, and how many of those marked water-like; and how
many residues of the lowest tenth by the mean mFo-DFc at their atoms (the review table's
"diff σ" column) are wrong or far, and of those the sequence strip colours red and green by it.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import gemmi
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

import error_sources  # noqa: E402
from check_flags import _tally, built_models  # noqa: E402

from napari_densitybuild._napari._sequence_strip import DIFFERENCE_RANGE  # noqa: E402
from napari_densitybuild.difference_peaks import difference_peaks  # noqa: E402
from napari_densitybuild.model_maps import fit_to_map_file, model_map  # noqa: E402
from napari_densitybuild.models import atom_table, read_structure  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    count: collections.Counter = collections.Counter()
    for cif in built_models(argv, __doc__):
        st = read_structure(str(cif))
        fit = fit_to_map_file(real_dir() / cif.stem / "map.mtz", st)
        if fit is None:
            continue
        table = atom_table(st)
        polar = np.isin(table.element, ("N", "O"))
        diff = model_map(fit, difference=True)
        peaks = difference_peaks(diff, table.xyz, polar=polar)
        print(f"{cif.parent.name}/{cif.name}: R-work {fit.r_work:.3f}, R-free {fit.r_free:.3f}, "
              f"{len(peaks)} peaks ({sum(q.height > 0 for q in peaks)} positive)")  # fmt: skip
        kept = read_structure(str(model_path(cif.stem)))
        for ch in kept[0]:
            for k in reversed(range(len(ch))):
                if not ch[k].is_water():
                    del ch[k]
        kept.cell, kept.spacegroup_hm = fit.data.cell, fit.data.spacegroup.hm
        near_water = gemmi.NeighborSearch(kept[0], kept.cell, 5).populate()
        rows = {r["built"]: r for r in error_sources.residue_rows(cif)[0]}
        label = [f"{c}{s}" for c, s in zip(table.chain, table.seqid)]
        hit = {"negative": set(), "positive": set()}
        for q in peaks:
            if not q.water:  # a water the build leaves out says nothing of the residue
                hit["positive" if q.height > 0 else "negative"].add(label[q.atom])
            if q.height > 0 and kept[0].count_atom_sites() >= 10:  # a model with waters
                marks = near_water.find_atoms(gemmi.Position(*q.xyz), "\0", radius=1.5)
                count["positive", "water"] += len(marks) > 0
                count["positive", "with waters"] += 1
                count["water-like", "water"] += q.water and len(marks) > 0
                count["water-like", "all"] += q.water
            count["peaks", "positive" if q.height > 0 else "negative"] += 1
        # the residue table's "diff σ" column: the map's mean at each residue's atoms
        at = diff.sample_points(table.xyz)
        names = list(dict.fromkeys(label))
        where = np.array(label)
        mean = {res: float(at[where == res].mean()) for res in names}
        lowest = sorted(names, key=mean.get)[: max(1, len(names) // 10)]
        for res in names:
            row = rows.get(res)
            wrong = row is None or row["err"] > 1
            count["tenth", "all"] += res in lowest
            count["tenth", "wrong"] += wrong and res in lowest
            count["every", "all"] += 1
            count["every", "wrong"] += wrong
            colour = ("red" if mean[res] <= DIFFERENCE_RANGE[0]
                      else "green" if mean[res] >= DIFFERENCE_RANGE[1] else "")  # fmt: skip
            count[colour, "all"] += 1
            count[colour, "wrong"] += wrong
        for res in dict.fromkeys(label):
            key = ("negative" if res in hit["negative"]
                   else "positive" if res in hit["positive"] else "the rest")  # fmt: skip
            _tally(count, key, rows.get(res))
    total = sum(count[k, "sq"] for k in ("negative", "positive", "the rest"))
    print("| residues | count | not matched with the right type | matched, > 1 A off | "
          "share of squared error |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for key in ("negative", "positive", "the rest"):
        name = key if key == "the rest" else f"nearest a {key} peak"
        print(f"| {name} | {count[key, 'residues']} | {count[key, 'unmatched']} | "
              f"{count[key, 'far']} | {count[key, 'sq'] / max(total, 1e-9):.2f} |")  # fmt: skip
    tenth, every = (count[k, "wrong"] for k in ("tenth", "every"))
    print(f"lowest tenth of each build by the mean mFo-DFc at a residue's atoms: {tenth} of "
          f"{count['tenth', 'all']} not matched with the right type or over 1 A off, against "
          f"{every} of {count['every', 'all']} in all")  # fmt: skip
    print("the sequence strip coloured by the difference map: "
          + ", ".join(f"{count[c, 'wrong']} of {count[c, 'all']} {c} residues wrong or far"
                      for c in ("red", "green")))  # fmt: skip
    water, of = count["positive", "water"], count["positive", "with waters"]
    print(f"positive peaks within 1.5 A of a deposited water, where the deposited model has "
          f"waters: {water} of {of}; of those marked water-like, "
          f"{count['water-like', 'water']} of {count['water-like', 'all']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
