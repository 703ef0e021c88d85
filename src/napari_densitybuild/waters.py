"""Ordered waters where the map has round peaks the model leaves unexplained (as Coot's Find
Waters does).

An ordered water shows as a round peak of density 2.4-3.4 A from the N or O atoms it H-bonds
(:data:`~.difference_peaks.WATER_RANGE`), no nearer than that to any atom and at least
:data:`CARBON_DISTANCE` from carbon. :func:`find_waters` takes the peaks of the map at or above
``level`` sigma that look so (:func:`~.difference_peaks.difference_peaks`, the model's crystal
copies included), highest first, each at least :data:`MIN_SEPARATION` from the waters already
taken and their crystal copies; a second round lets the waters taken hold a second shell.
:func:`with_waters` adds them to a structure as HOH residues in a chain of their own, with
B = :data:`WATER_B` (a start for refinement: a build's B column otherwise holds confidence).
Where the map's MTZ file holds measured amplitudes, :func:`checked_by_data` keeps the waters
only if they lower the model's R-work.

On the 2mFo-DFc maps of the eleven real maps outside the held-out set whose deposited models
hold their waters (deposited protein and ligands, the waters removed), this put 2,356 waters,
93 % of them within 1 A of a deposited water, and found 76 % of the 2,881 deposited ones
(``scripts/water_check.py``; docs/build.md, "Waters"). Those maps were phased with the deposited
models, waters included, which favours the waters; on the held-out maps the waters lower the
builds' R-free against the measured amplitudes by 0.012-0.017.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from .difference_peaks import WATER_RANGE, difference_peaks
from .settings import WATER_LEVEL
from .symmetry import Symmetry

if TYPE_CHECKING:
    from pathlib import Path

    import gemmi

    from .maps import DensityMap
    from .model_maps import ModelFit

#: Peak height (sigma) of the map for a water (Coot's Find Waters: 1.4 in a 2mFo-DFc map).
LEVEL = WATER_LEVEL
#: Nearest a water may be to a carbon atom (A): nearer, it would be in van der Waals contact.
CARBON_DISTANCE = 3.0
#: Nearest two waters may be (A).
MIN_SEPARATION = 2.4
#: Rounds: the waters of one round are H-bond partners for the next (a second shell).
ROUNDS = 2
#: B-factor written for a new water (A^2).
WATER_B = 30.0


def find_waters(
    dmap: DensityMap,
    xyz: np.ndarray,
    element: np.ndarray,
    level: float = LEVEL,
    rounds: int = ROUNDS,
) -> np.ndarray:
    """Positions (K, 3) of new waters at the map's peaks beside the model (module docstring).

    Parameters
    ----------
    dmap
        The map (sigma units): a 2mFo-DFc map, or the map a model was built into.
    xyz, element
        The model's atoms (waters it holds already count as partners).
    level
        Lowest peak height (sigma).
    rounds
        Rounds of search, each with the waters of the ones before as partners.
    """
    xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
    element = np.asarray(element, dtype=object)
    placed = np.zeros((0, 3))
    if not len(xyz):
        return placed
    sym = Symmetry.of_map(dmap)
    carbon = np.array([str(e).upper() == "C" for e in element])
    lo, hi = xyz.min(0) - 2 * WATER_RANGE[1], xyz.max(0) + 2 * WATER_RANGE[1]
    carbons = sym.images(xyz[carbon], box=(lo, hi))["xyz"] if carbon.any() else np.zeros((0, 3))
    carbon_tree = cKDTree(carbons) if len(carbons) else None
    for _ in range(rounds):
        atoms = np.concatenate([xyz, placed])
        polar = np.r_[[str(e).upper() in ("N", "O") for e in element], np.ones(len(placed), bool)]
        peaks = [p for p in difference_peaks(dmap, atoms, level=level, within=0.0, polar=polar)
                 if p.water and p.height >= level]  # fmt: skip
        peaks.sort(key=lambda p: -p.height)
        taken: list[np.ndarray] = []
        for p in peaks:
            q = np.array(p.xyz)
            if carbon_tree is not None and carbon_tree.query(q)[0] < CARBON_DISTANCE:
                continue
            if _near(q, np.concatenate([placed, np.array(taken).reshape(-1, 3)]), sym):
                continue
            taken.append(q)
        if not taken:
            break
        placed = np.concatenate([placed, np.array(taken)])
    return placed


def _near(q: np.ndarray, waters: np.ndarray, sym: Symmetry) -> bool:
    """Whether ``q`` lies within :data:`MIN_SEPARATION` of a water or a crystal copy of one."""
    if not len(waters):
        return False
    box = (q - MIN_SEPARATION - 1.0, q + MIN_SEPARATION + 1.0)
    copies = sym.images(waters, box=box)["xyz"]
    return bool(len(copies)) and float(np.linalg.norm(copies - q, axis=1).min()) < MIN_SEPARATION


@dataclass(frozen=True)
class WaterSearch:
    """What :func:`model_waters` found: the waters to add (``waters``, (K, 3)), how many peaks
    looked like waters (``found``), the note on R-work and R-free without and with them (None
    without measured amplitudes) and the fit of the model with the waters added to the data
    (``fit``, a :class:`~.model_maps.ModelFit`; None without amplitudes or peaks)."""

    waters: np.ndarray
    found: int
    note: str | None = None
    fit: ModelFit | None = None


def model_waters(
    dmap: DensityMap, st: gemmi.Structure, path: str | Path | None = None, level: float = LEVEL
) -> WaterSearch:
    """The waters :func:`find_waters` finds beside the first model of ``st`` in ``dmap``,
    checked against the measured amplitudes of the MTZ file ``path`` where it has them
    (:func:`checked_by_data`); the one call of ``build``, ``batch``, ``waters``, ``info`` and
    the review panel."""
    from .models import atom_table

    atoms = atom_table(st)
    found = find_waters(dmap, atoms.xyz, atoms.element, level=level)
    if path is None:
        return WaterSearch(found, len(found))
    kept, note, fit = checked_by_data(path, st, found)
    return WaterSearch(kept, len(found), note, fit)


def checked_by_data(
    path: str | Path, st: gemmi.Structure, waters: np.ndarray
) -> tuple[np.ndarray, str | None, ModelFit | None]:
    """``waters`` kept where the MTZ file ``path`` has measured amplitudes and the waters lower
    the model's R-work (the free set stays out of the choice), or where it has none; a note on
    R-work and R-free without and with them, and the fit of the model with the waters it keeps
    (both None without amplitudes; the data are read once).

    A noisy map has round peaks in its solvent too: on the sample's simulated map (24 degrees
    of phase error, correlated noise) the 46 waters at 1.5 sigma raise R-work from 0.206 to
    0.259, and are dropped.
    """
    from .errors import DensityBuildError
    from .model_maps import fit_model
    from .xray_data import read_observed

    if not len(waters):
        return waters, None, None
    try:
        data = read_observed(path)
        before = fit_model(st, data)
        after = fit_model(with_waters(st, waters), data, before.b_factors)
    except DensityBuildError:  # no measured amplitudes, or a model the data cannot take
        return waters, None, None

    def r(fit: ModelFit) -> str:
        free = "no free set" if fit.r_free is None else f"{fit.r_free:.3f}"
        return f"{fit.r_work:.3f} / {free}"

    text = f"R-work / R-free {r(before)} without the {len(waters)} waters, {r(after)} with them"
    text += "".join(f"; NOTE: {n}" for n in before.notes)  # another crystal's model, say
    if after.r_work < before.r_work:
        return waters, text, after
    return np.zeros((0, 3)), f"waters not added: {text} ({before.b_factors} B)", before


def _free_chain(used: set[str]) -> str | None:
    """The first chain name for waters not in ``used``: W, then the other letters."""
    return next((c for c in "WXYZVUTSRQPONMLKJIHGFEDCBA" + "wxyz" if c not in used), None)


def with_waters(st: gemmi.Structure, waters: np.ndarray, b: float = WATER_B) -> gemmi.Structure:
    """A copy of ``st`` with ``waters`` (K, 3) as HOH residues (atom O, occupancy 1, B ``b``)
    in a new chain (W, or the first free letter after it), numbered from 1."""
    import gemmi

    from .assemble import number_entities

    out = st.clone()
    if not len(waters):
        return out
    chain = gemmi.Chain(_free_chain({ch.name for ch in out[0]}) or "WAT")
    for k, p in enumerate(np.asarray(waters, dtype=float)):
        res = gemmi.Residue()
        res.name, res.seqid, res.het_flag = "HOH", gemmi.SeqId(k + 1, " "), "H"
        atom = gemmi.Atom()
        atom.name, atom.element, atom.pos = "O", gemmi.Element("O"), gemmi.Position(*p)
        atom.occ, atom.b_iso = 1.0, float(b)
        res.add_atom(atom)
        chain.add_residue(res)
    out[0].add_chain(chain)
    out.setup_entities()
    number_entities(out)  # the water entity too
    return out


#: ``Session.meta`` key of the chain the waters a review found were put in (their rows are in
#: :data:`~.kept_parts.KEPT`, written with the model as the kept atoms are).
FOUND_CHAIN = "found_water_chain"


def session_waters(meta: dict, taken: set[str], waters: np.ndarray) -> dict:
    """``meta`` entries for a review session whose waters found before are replaced by
    ``waters`` (K, 3): the kept rows (:data:`~.kept_parts.KEPT`) without the old ones and with
    the new ones as HOH in a chain not in ``taken`` (the session's chains) nor among the other
    kept rows, and that chain's name (:data:`FOUND_CHAIN`; None when there are none)."""
    from .kept_parts import KEPT

    old = meta.get(FOUND_CHAIN)
    rows = [list(r) for r in meta.get(KEPT) or [] if not (old and r[3] == old and r[6] == "HOH")]
    name = _free_chain(taken | {str(r[3]) for r in rows})
    if name is None or not len(waters):
        return {KEPT: rows, FOUND_CHAIN: None}
    new = [[*map(float, p), name, k + 1, "", "HOH", "O", "O", WATER_B, 1.0]
           for k, p in enumerate(np.asarray(waters, dtype=float))]  # fmt: skip
    return {KEPT: rows + new, FOUND_CHAIN: name}
