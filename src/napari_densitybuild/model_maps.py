"""A model against the measured data: R-work, R-free and model-phased maps.

The model's structure factors (:func:`fit_model`) are computed from its atoms (gemmi's
DensityCalculatorX and an FFT, to the data's resolution), with a flat bulk-solvent model (the
mask of gemmi's SolventMasker, Refmac radii) and an overall anisotropic scale, fitted to the
work-set amplitudes by gemmi's ``Scaling``. Nothing about the model is refined: its
coordinates, occupancies and B-factors are taken as they are.

B-factors: a build's B column holds its per-residue confidence (0-100), not atomic
displacement, so ``b_factors="auto"`` gives every atom one B (:data:`FLAT_B`, the overall
anisotropic scale then fits the crystal's own) when each residue has one B value for all of
its atoms, and keeps the model's B values otherwise.

Maps (:func:`map_coefficients`): sigmaA-weighted 2mFo-DFc and mFo-DFc coefficients with the
model's phases; sigmaA is estimated in resolution bins from the normalised amplitudes, on the
free set where it holds enough reflections (:mod:`~.sigmaa`: maximum likelihood). Unmeasured
reflections are left out, not filled with DFc; the free set's reflections enter the 2mFo-DFc
map as DFc and the mFo-DFc map not at all, as refinement programs write them, so that a model
rebuilt into these maps keeps R-free free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import gemmi
import numpy as np
from scipy.special import i0e, i1e

from .errors import DensityBuildError
from .sigmaa import BIN_REFLECTIONS, bins_of, normalised, sigmaa_curve
from .xray_data import ObservedData

if TYPE_CHECKING:
    from .density_map import DensityMap

#: The B (A^2) every atom gets when a model's B column is not atomic displacement.
FLAT_B = 20.0
#: Grid spacing (A) of the bulk-solvent mask.
MASK_SPACING = 0.5
#: Work-set reflections needed to scale a model to the data (bulk solvent and an anisotropic
#: scale are fitted).
MIN_WORK = 200
#: Free-set reflections needed for sigmaA to be estimated on them alone.
MIN_FREE = 200
#: Labels of the model-phased map coefficients written by :func:`coefficients_mtz`.
MAP_LABELS = ("FWT", "PHWT", "DELFWT", "PHDELWT")


@dataclass
class ModelFit:
    """A model's structure factors scaled to the measured amplitudes.

    Attributes
    ----------
    data
        The measured data.
    fmodel
        (N,) complex structure factors of model and bulk solvent, scaled, at ``data.hkl``.
    r_work, r_free
        R factors on the work and the free set (r_free None without a free set; r_work is then
        over all reflections).
    b_factors
        "model" (the model's B values) or "flat" (one B for every atom, :data:`FLAT_B`).
    k_sol, b_sol
        Bulk-solvent level (e/A^3) and B (A^2) fitted.
    atoms
        Heavy atoms that contributed.
    """

    data: ObservedData
    fmodel: np.ndarray
    r_work: float
    r_free: float | None
    b_factors: str
    k_sol: float
    b_sol: float
    atoms: int
    #: What to know before trusting the figures (a model from another crystal form, ...).
    notes: list[str] = field(default_factory=list)

    @property
    def n_work(self) -> int:
        """Reflections in the work set."""
        return int(np.count_nonzero(~self.data.free))

    @property
    def n_free(self) -> int:
        """Reflections in the free set."""
        return int(np.count_nonzero(self.data.free))

    def summary(self) -> str:
        """One line: R-work, R-free, reflections, bulk solvent and how B was taken."""
        free = f", R-free {self.r_free:.3f}" if self.r_free is not None else " (no free set)"
        how = {"model": "the model's B-factors",
               "flat": f"one B ({FLAT_B:.0f} A^2) for every atom: the B column holds one value "
                       "per residue (a build's confidence, or grouped B: --b-factors model "
                       "takes them)"}[self.b_factors]  # fmt: skip
        notes = "".join(f"; NOTE: {n}" for n in self.notes)
        return (
            f"R-work {self.r_work:.3f}{free} against {'/'.join(self.data.columns)} "
            f"({self.n_work} work, {self.n_free} free reflections to {self.data.d_min:.2f} A; "
            f"{self.atoms} atoms, nothing refined; {how}; bulk solvent k_sol {self.k_sol:.2f}, "
            f"B_sol {self.b_sol:.0f}){notes}"
        )


def b_values_per_residue(st: gemmi.Structure) -> bool:
    """True when every residue's atoms share one B value (a build's confidence column)."""
    return all(np.ptp([a.b_iso for a in res]) < 1e-3 for ch in st[0] for res in ch if len(res) > 1)


def crystal_mismatch(st: gemmi.Structure, data: ObservedData) -> str | None:
    """Why the model's own cell or space group (if it has them) is not the data's, or None.

    Cell edges more than 2 % or angles more than 2 degrees apart count; a model without a cell
    (edges of 1 A or less) is taken to be in the data's.
    """
    own = st.cell
    if own.a <= 1.0:
        return None
    edges = np.array([own.a, own.b, own.c]) / np.array([data.cell.a, data.cell.b, data.cell.c])
    angles = np.array([own.alpha, own.beta, own.gamma]) - np.array(
        [data.cell.alpha, data.cell.beta, data.cell.gamma]
    )
    why = []
    if np.any(np.abs(edges - 1) > 0.02) or np.any(np.abs(angles) > 2.0):
        why.append(f"the model's cell {own.a:.1f} {own.b:.1f} {own.c:.1f} {own.alpha:.0f} "
                   f"{own.beta:.0f} {own.gamma:.0f} is not the data's {data.cell.a:.1f} "
                   f"{data.cell.b:.1f} {data.cell.c:.1f} {data.cell.alpha:.0f} "
                   f"{data.cell.beta:.0f} {data.cell.gamma:.0f}")  # fmt: skip
    group = st.find_spacegroup()
    if group is not None and group.number != data.spacegroup.number:
        why.append(f"its space group {group.hm} is not the data's {data.spacegroup.hm}")
    return "; ".join(why) + " (a model of another crystal form?)" if why else None


def scoring_copy(st: gemmi.Structure, b_factors: str = "auto") -> tuple[gemmi.Structure, str]:
    """A copy of the first model of ``st`` without hydrogens, its B-factors taken as
    ``b_factors`` says ("auto", "model" or "flat"), and how they were taken ("model" or
    "flat"): the model as R factors and real-space correlations (:mod:`.rscc`) score it.

    Raises
    ------
    DensityBuildError
        For an unknown ``b_factors``.
    """
    if b_factors not in ("auto", "model", "flat"):
        raise DensityBuildError(f"b_factors: auto, model or flat, not {b_factors!r}")
    st = st.clone()
    while len(st) > 1:
        del st[1]
    st.remove_hydrogens()
    st.remove_empty_chains()
    if b_factors == "auto":
        b_factors = "flat" if len(st) and b_values_per_residue(st) else "model"
    if b_factors == "flat":
        for ch in st[0]:
            for res in ch:
                for a in res:
                    a.b_iso = FLAT_B
                    a.aniso = gemmi.SMat33f(0, 0, 0, 0, 0, 0)
    return st, b_factors


def prepared_structure(
    st: gemmi.Structure, data: ObservedData, b_factors: str = "auto"
) -> tuple[gemmi.Structure, str]:
    """:func:`scoring_copy` of ``st`` in the data's cell.

    Raises
    ------
    DensityBuildError
        For a model without heavy atoms, or an unknown ``b_factors``.
    """
    st, b_factors = scoring_copy(st, b_factors)
    if len(st) == 0 or st[0].count_atom_sites() == 0:
        raise DensityBuildError("the model has no heavy atoms to compute structure factors from")
    st.cell = data.cell
    st.spacegroup_hm = data.spacegroup.hm
    return st, b_factors


def density_grid(st: gemmi.Structure, d_min: float) -> tuple[gemmi.FloatGrid, float]:
    """The X-ray density of ``st``'s first model over its cell (crystal copies included), on
    a grid fine enough for ``d_min``, and the blur B added to it (gemmi's DensityCalculatorX,
    Refmac's blur): structure factors from it are taken with that blur removed."""
    dc = gemmi.DensityCalculatorX()
    dc.d_min = d_min
    dc.rate = 1.5
    dc.set_refmac_compatible_blur(st[0])
    dc.set_grid_cell_and_spacegroup(st)
    dc.put_model_density_on_grid(st[0])
    return dc.grid, float(dc.blur)


def _grid_values(grid: gemmi.FloatGrid, hkl: np.ndarray, unblur: float = 0.0) -> np.ndarray:
    f = gemmi.transform_map_to_f_phi(grid, half_l=True)
    return f.get_value_by_hkl(hkl, unblur=unblur).astype(np.complex128)


def model_structure_factors(
    st: gemmi.Structure, data: ObservedData
) -> tuple[np.ndarray, np.ndarray]:
    """(Fcalc of the atoms, Fmask of the bulk-solvent region) at ``data.hkl``, unscaled.

    Raises
    ------
    DensityBuildError
        For a unit cell whose grids would exceed :data:`~.map_reader.MAX_VOXELS`.
    """
    from .map_reader import MAX_VOXELS

    # the largest grid: the bulk-solvent mask's (MASK_SPACING), or the model's (d_min / 3)
    voxels = data.cell.volume / min(MASK_SPACING, data.d_min / 3) ** 3
    if voxels > MAX_VOXELS:
        raise DensityBuildError(
            f"the unit cell ({data.cell.volume / 1e6:.1f} M A^3 at {data.d_min:.2f} A) would take "
            f"about {voxels / 1e6:.0f} M grid points to compute the model's structure factors; "
            f"the limit is {MAX_VOXELS / 1e6:.0f} M"
        )
    grid, blur = density_grid(st, data.d_min)
    fc = _grid_values(grid, data.hkl, unblur=blur)
    mask = gemmi.FloatGrid()
    mask.setup_from(st, spacing=min(MASK_SPACING, data.d_min / 3))
    gemmi.SolventMasker(gemmi.AtomicRadiiSet.Refmac).put_mask_on_float_grid(mask, st[0])
    return fc, _grid_values(mask, data.hkl)


def _r(fobs: np.ndarray, fcalc: np.ndarray) -> float:
    return float(np.abs(fobs - fcalc).sum() / fobs.sum())


def fit_model(st: gemmi.Structure, data: ObservedData, b_factors: str = "auto") -> ModelFit:
    """Scale a model's structure factors to the measured amplitudes; R-work and R-free.

    Parameters
    ----------
    st
        The model (its first model is used; hydrogens are left out).
    data
        Measured amplitudes (:func:`~.xray_data.read_observed`).
    b_factors
        "auto", "model" or "flat" (module docstring).

    Raises
    ------
    DensityBuildError
        For a model without heavy atoms or with every occupancy 0, or data of too few
        reflections (:data:`MIN_WORK`).
    """
    mismatch = crystal_mismatch(st, data)
    work = ~data.free if data.has_free_set else np.ones(len(data.fobs), bool)
    if np.count_nonzero(work) < MIN_WORK:
        raise DensityBuildError(f"only {np.count_nonzero(work)} measured reflections to scale the "
                                f"model to (at least {MIN_WORK} are needed)")  # fmt: skip
    st, b_mode = prepared_structure(st, data, b_factors)
    if not any(a.occ > 0 for ch in st[0] for r in ch for a in r):
        raise DensityBuildError("every atom of the model has occupancy 0: it scatters nothing to "
                                "compare with the measured data")  # fmt: skip
    try:
        fc, fmask = model_structure_factors(st, data)
    except MemoryError:
        raise DensityBuildError("not enough memory for the model's structure factors") from None
    hkl = data.hkl[work]

    def asu(values: np.ndarray, cls: type) -> object:
        return cls(data.cell, data.spacegroup, np.ascontiguousarray(hkl), values)

    obs = asu(
        np.column_stack([data.fobs, data.sigma])[work].astype(np.float32), gemmi.ValueSigmaAsuData
    )
    calc = asu(fc[work].astype(np.complex64), gemmi.ComplexAsuData)
    solvent = asu(fmask[work].astype(np.complex64), gemmi.ComplexAsuData)
    scaling = gemmi.Scaling(data.cell, data.spacegroup)
    scaling.use_solvent = True
    scaling.prepare_points(calc, obs, solvent)
    scaling.fit_isotropic_b_approximately()
    scaling.fit_parameters()
    stol2 = data.cell.calculate_1_d2_array(data.hkl.astype(np.float64)) / 4
    k_mask = scaling.k_sol * np.exp(-scaling.b_sol * stol2)
    fmodel = scaling.get_overall_scale_factor(data.hkl) * (fc + k_mask * fmask)
    amplitude = np.abs(fmodel)
    free = data.free if data.has_free_set else None
    return ModelFit(
        data=data,
        fmodel=fmodel,
        r_work=_r(data.fobs[work], amplitude[work]),
        r_free=_r(data.fobs[free], amplitude[free]) if free is not None else None,
        b_factors=b_mode,
        k_sol=float(scaling.k_sol),
        b_sol=float(scaling.b_sol),
        atoms=int(st[0].count_atom_sites()),
        notes=[mismatch] if mismatch else [],
    )


def map_coefficients(fit: ModelFit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SigmaA-weighted map coefficients at ``fit.data.hkl``: (2mFo-DFc, mFo-DFc, sigmaA).

    SigmaA comes from the free set when it holds :data:`MIN_FREE` reflections, else from all.
    Centric reflections take mFo in the 2mFo-DFc map; free-set reflections take DFc there and
    nothing in the mFo-DFc map; the phases are the model's.
    """
    data = fit.data
    ops = data.spacegroup.operations()
    eps = ops.epsilon_factor_without_centering_array(data.hkl).astype(np.float64)
    centric = ops.centric_flag_array(data.hkl).astype(bool)
    fo, fc = data.fobs, np.abs(fit.fmodel)
    s2 = data.cell.calculate_1_d2_array(data.hkl.astype(np.float64))
    bins = bins_of(s2, BIN_REFLECTIONS)
    eo, ec = normalised(fo, eps, bins), normalised(fc, eps, bins)
    use = data.free if np.count_nonzero(data.free) >= MIN_FREE else np.ones(len(fo), bool)
    sigmaa = sigmaa_curve(eo, ec, centric, s2, use)
    d_scale = np.empty(len(fo))
    for b in np.unique(bins):
        sel = bins == b
        d_scale[sel] = sigmaa[sel] * np.sqrt(
            np.mean(fo[sel] ** 2) / max(np.mean(fc[sel] ** 2), 1e-12)
        )
    x = 2 * sigmaa * eo * ec / (1 - sigmaa**2)
    m = np.where(centric, np.tanh(x / 2), i1e(x) / i0e(x))
    dfc = d_scale * fc
    phase = np.exp(1j * np.angle(fit.fmodel))
    two = np.where(centric, m * fo, 2 * m * fo - dfc)
    diff = m * fo - dfc
    # the free set's measurements stay out of the maps (DFc in their place, as refinement
    # programs write them), so a model rebuilt into these maps keeps R-free free
    two, diff = np.where(data.free, dfc, two), np.where(data.free, 0.0, diff)
    return two * phase, diff * phase, sigmaa


def coefficients_mtz(fit: ModelFit) -> gemmi.Mtz:
    """An MTZ of the model-phased map coefficients (:data:`MAP_LABELS`), as refinement
    programs write them, for Coot or napari."""
    two, diff, _ = map_coefficients(fit)
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = fit.data.spacegroup
    mtz.set_cell_for_all(fit.data.cell)
    mtz.add_dataset("densitybuild")
    for label, kind in zip(MAP_LABELS, "FPFP"):
        mtz.add_column(label, kind)
    degrees = np.degrees
    table = [
        fit.data.hkl,
        np.abs(two),
        degrees(np.angle(two)),
        np.abs(diff),
        degrees(np.angle(diff)),
    ]
    mtz.set_data(np.column_stack(table).astype(np.float32))
    mtz.update_reso()
    return mtz


def write_coefficients(fit: ModelFit, path: str | Path) -> Path:
    """Write :func:`coefficients_mtz` to ``path`` (.mtz)."""
    path = Path(path)
    if not path.name.lower().endswith(".mtz"):
        raise DensityBuildError(f"{path}: map coefficients are written to an .mtz file")
    coefficients_mtz(fit).write_to_file(str(path))
    return path


def model_map(fit: ModelFit, difference: bool = False, source: str = "model") -> DensityMap:
    """The model-phased 2mFo-DFc (or, with ``difference``, mFo-DFc) map in sigma units."""
    from .map_reader import map_from_mtz

    return map_from_mtz(coefficients_mtz(fit), source, difference=difference)


def fit_to_map_file(
    path: str | Path, st: gemmi.Structure, b_factors: str = "auto"
) -> ModelFit | None:
    """:func:`fit_model` against the measured amplitudes of the MTZ file ``path``; None where
    it is not an MTZ file, holds no measured amplitudes, or the model has no atoms."""
    from .xray_data import read_observed

    try:
        return fit_model(st, read_observed(path), b_factors)
    except DensityBuildError:
        return None


def r_factor_row(fit: ModelFit | None) -> dict:
    """R-work, R-free and their reflections for a report (empty without a fit)."""
    if fit is None:
        return {}
    return {"r_work": round(fit.r_work, 4),
            "r_free": None if fit.r_free is None else round(fit.r_free, 4),
            "n_work": fit.n_work, "n_free": fit.n_free, "b_factors": fit.b_factors,
            "columns": "/".join(fit.data.columns)}  # fmt: skip
