"""Where a batch writes each map's model and report: one name per map, unique in the folder.

Examples
--------
>>> output_names(["a/x/map.mtz", "b/y/map.mtz", "z.mrc"])["b/y/map.mtz"]
'y_map'
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path


def map_stem(map_path: str | Path) -> str:
    """A map's file name less its suffixes: ``map.mtz`` and ``map.ccp4.gz`` give ``map``."""
    name = Path(map_path).name
    for suffix in (".gz", ".mtz", ".ccp4", ".map", ".mrc"):
        name = name.removesuffix(suffix)
    return name


def output_names(maps: list[str]) -> dict[str, str]:
    """A unique output name for each map: its :func:`map_stem` where no other map has it.

    Where stems collide, the names of the maps' folders go in front, one at a time, until they
    differ (``real/3sb3/map.mtz`` and ``real/1cbs/map.mtz``: ``3sb3_map`` and ``1cbs_map``);
    maps in one folder with one stem keep their suffix (``x.mtz``, ``x.ccp4``: ``x_mtz``,
    ``x_ccp4``). The names depend only on the maps given, not on their order, except that
    names still equal after that get ``_2``, ``_3``, ... in order.

    Examples
    --------
    >>> output_names(["a/x/map.mtz", "b/y/map.mtz", "z.mrc"])["b/y/map.mtz"]
    'y_map'
    """
    paths = {m: Path(os.path.abspath(m)) for m in maps}
    folders = {m: p.parent.parts[1:] for m, p in paths.items()}
    stems = {m: map_stem(p) for m, p in paths.items()}
    same_folder = Counter((p.parent, stems[m]) for m, p in paths.items())
    for m, p in paths.items():
        if same_folder[(p.parent, stems[m])] > 1:
            stems[m] = p.name.replace(".", "_")
    depth = dict.fromkeys(maps, 0)
    while True:
        names = {m: "_".join((*folders[m][len(folders[m]) - depth[m] :], stems[m])) for m in maps}
        counts = Counter(names.values())
        grow = [m for m in maps if counts[names[m]] > 1 and depth[m] < len(folders[m])]
        if not grow:
            break
        for m in grow:
            depth[m] += 1
    used = set(names.values()) | {"summary"}  # summary.json is the batch's own
    seen: set[str] = {"summary"}
    for m in maps:
        if names[m] in seen:
            k = 2
            while f"{names[m]}_{k}" in used:
                k += 1
            names[m] = f"{names[m]}_{k}"
            used.add(names[m])
        seen.add(names[m])
    return names


def output_paths(
    map_path: str | Path, out_dir: str | Path, name: str | None = None
) -> tuple[Path, Path]:
    """Where a map's model and report go: ``<out>/<name>.cif`` and ``.json``; the name is the
    map's :func:`map_stem` unless given (:func:`output_names`)."""
    name = name or map_stem(map_path)
    return Path(out_dir) / f"{name}.cif", Path(out_dir) / f"{name}.json"
