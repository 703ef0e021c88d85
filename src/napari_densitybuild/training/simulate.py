"""Simulate crystallographic 2mFo-DFc-like maps from models, for training and sample data.

A simulated map should look like what a crystallographer sees, not like a molecule in vacuum (see
``DESIGN.md``, "Training on this CPU"): the molecule is packed in a P1 crystal so its periodic
images touch it like crystal neighbours, ordered waters and a flat bulk-solvent level fill the
solvent, the structure factors are truncated at ``d_min`` (with the ripples that brings), blurred,
given phase errors and resolution-limited noise, and the result is scaled to sigma units over the
unit cell exactly like :func:`napari_densitybuild.maps.read_map` scales real maps.

Examples
--------
>>> sim = simulate_file("1ABC_r_u.pdb.gz", SimulationSettings(), seed=0)  # doctest: +SKIP
>>> sim.dmap.summary(), sim.params["protein_fraction"]  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import gemmi
import numpy as np
import scipy.fft

from ..maps import DensityMap, sigma_scale
from ..models import read_structure
from .crystal import (
    cell_from_basis,
    fill_flat_b,
    pack,
    place_waters,
    random_rotation,
    water_chain,
)
from .disorder import add_disorder
from .model_prep import amides_as_acids, prepare_structure
from .reciprocal import Range, draw, half_weights, miller_s2, phase_shifts, shell_rms

#: Per-box signal variance (11 A boxes at residues, box mean removed) over the clean map's
#: variance in the protein mask: measured 0.69-0.73 on 15 structures; used to scale the noise so
#: that the mean per-box correlation with the clean map hits the target.
BOX_SIGNAL_FRACTION = 0.7


@dataclass(frozen=True)
class SimulationSettings:
    """How to simulate a crystal map; each ``(lo, hi)`` range is drawn uniformly per structure.

    Attributes
    ----------
    d_min : (1.4, 1.6)
        Resolution in A; structure factors beyond 1/d_min are set to zero (truncation, not only
        blur). Anything from 1.2 to 3.5 works; ``(1.5, 1.5)`` fixes it.
    max_spacing : 0.5
        Largest grid spacing (A) of the map.
    rotate : True
        Random orientation (uniform over rotations) of the molecule before packing.
    packing : "lattice"
        The P1 crystal around the molecule. ``"lattice"``: a dense triclinic lattice, each
        translation as short as it can be with the closest atoms of neighbouring images
        ``contact`` A apart (protein fraction in the solvent mask about 0.35-0.6; real crystals
        here 0.38-0.78, median 0.53). ``"contact"``: an orthorhombic cell shrunk axis by axis
        the same way (0.3-0.45). ``"box"``: orthorhombic bounding box plus ``margin`` (0.2-0.35).
    contact : (2.8, 3.6)
        Closest distance (A) between atoms of neighbouring images.
    margin : (0.0, 2.0)
        Extra length (A) added to each lattice vector (use about (1, 4) with ``"box"``).
    waters : True
        Ordered waters: O atoms 2.6-3.4 A from polar (N/O) atoms, at least 2.6 A from any
        protein atom (images included) and from each other.
    waters_per_residue : (0.3, 1.0)
        How many waters, per residue.
    water_b : (20.0, 60.0)
        B-factor range (A^2) of the waters (each water drawn separately).
    solvent : True
        Flat bulk solvent: the solvent region of a probe-radius mask (``gemmi.SolventMasker``,
        Refmac radii; waters count as model) filled with ``k_sol`` e/A^3, smoothed by ``b_sol``
        and truncated with the rest, as in refinement programs' bulk-solvent model.
    k_sol : (0.35, 0.45)
        Bulk-solvent level (e/A^3). Calibrated on the 16 real maps: their solvent region sits
        only ~0.1 sigma below the protein region on average; 0.35 left the simulated solvent
        ~0.1 sigma lower than real (protein heavy atoms average about 0.42 e/A^3 in the mask).
    b_sol : (40.0, 70.0)
        Bulk-solvent smoothing B (A^2).
    b_median : None
        When set, all B-factors are first scaled by one factor so that their median is drawn
        from this range (A^2): the training structures' B-factors are those of up to 3.5 A data
        (see the model card, "Side chains as strong as in real maps").
    b_jitter : True
        Atomic B-factors become ``B * b_scale + b_offset`` (at least 2 A^2). Models without
        B-factors (flat or zero) first get burial-based B-factors of 12-50 A^2.
    b_scale : (0.8, 1.3)
        Scale range of the B-factor jitter.
    b_offset : (-5.0, 10.0)
        Offset range (A^2) of the B-factor jitter.
    blur : True
        Extra overall blur ``exp(-B s^2 / 4)`` of the amplitudes.
    blur_b : (0.0, 15.0)
        Range (A^2) of that extra B.
    phase_error : True
        Random phase errors, Gaussian with sd growing linearly with resolution (0 at s = 0,
        ``phase_error_deg`` at d_min), antisymmetric so the map stays real.
    phase_error_deg : (10.0, 40.0)
        Phase-error sd (degrees) at d_min.
    noise : True
        Resolution-limited, spatially correlated noise: complex Gaussian noise on the structure
        factors within d_min, amplitude per resolution shell proportional to that shell's rms
        |F|, scaled (after the phase errors) so that the mean per-box correlation with the clean
        map (all of the above without noise and phase errors) is about ``correlation``.
    correlation : (0.8, 0.97)
        Target per-box correlation with the clean map. Measured on the 16 real maps (boxes at
        the deposited residues against the model's map in the real crystal): per-map means
        0.87-0.97, 10th percentiles 0.80-0.94 (2mFo-DFc maps carry model bias).
    disorder : False
        Side-chain disorder (:mod:`.disorder`): some side chains, the mobile ones more often,
        get one or two library rotamers beside the deposited one at partial occupancy, so their
        density is weak and smeared as in real maps.
    disorder_fraction : (0.05, 0.11)
        Range of the base probability of disorder (``add_disorder``'s ``fraction``; this range
        matches the real maps' side-chain tips, with ``b_median`` (8, 28)).
    amide_as_acid : False
        Draw the amide N of ASN (ND2) and GLN (NE2) as an O, so that an amide's density is a
        carboxylate's: the one electron between them, which real maps at these resolutions do
        not show reliably, is then no cue, and a net must tell ASN from ASP and GLN from GLU by
        shape and surroundings (the model card, "Amides drawn as carboxylates").
    random_scale : True
        Multiply the sigma-scaled map by ``scale`` (then its sd over the cell is ``scale``, not
        1); switch off for maps in exact sigma units.
    scale : (0.9, 1.1)
        Range of that overall scale.
    """

    d_min: Range = (1.4, 1.6)
    max_spacing: float = 0.5
    rotate: bool = True
    packing: str = "lattice"
    contact: Range = (2.8, 3.6)
    margin: Range = (0.0, 2.0)
    waters: bool = True
    waters_per_residue: Range = (0.3, 1.0)
    water_b: Range = (20.0, 60.0)
    solvent: bool = True
    k_sol: Range = (0.35, 0.45)
    b_sol: Range = (40.0, 70.0)
    b_median: Range | None = None
    b_jitter: bool = True
    b_scale: Range = (0.8, 1.3)
    b_offset: Range = (-5.0, 10.0)
    blur: bool = True
    blur_b: Range = (0.0, 15.0)
    phase_error: bool = True
    phase_error_deg: Range = (10.0, 40.0)
    noise: bool = True
    correlation: Range = (0.8, 0.97)
    disorder: bool = False
    disorder_fraction: Range = (0.05, 0.11)
    amide_as_acid: bool = False
    random_scale: bool = True
    scale: Range = (0.9, 1.1)

    @classmethod
    def clean(cls, d_min: float | Range = 1.5, **changes) -> SimulationSettings:
        """The model's density in a packed crystal, truncated at d_min, and nothing else."""
        off = dict(waters=False, solvent=False, b_jitter=False, blur=False, phase_error=False,
                   noise=False, random_scale=False, rotate=False)  # fmt: skip
        off.update(changes)
        return cls(**off).with_d_min(d_min)

    @classmethod
    def plain(cls, d_min: float | Range = (1.4, 1.6)) -> SimulationSettings:
        """The molecule alone in a box with 3-6 A of vacuum around it, truncated at d_min: the
        simple simulation of the ablation's first rows (no neighbours, solvent or noise)."""
        return cls.clean(d_min, packing="box", margin=(3.0, 6.0), rotate=True)

    def with_d_min(self, d_min: float | Range) -> SimulationSettings:
        """A copy with another resolution (a number fixes it, a pair is a range)."""
        pair = (float(d_min), float(d_min)) if np.isscalar(d_min) else tuple(map(float, d_min))
        return replace(self, d_min=pair)

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        return asdict(self)


@dataclass(eq=False)
class Simulation:
    """A simulated crystal map and the model in its frame.

    Attributes
    ----------
    dmap
        The map (P 1 cell, kind "xray", sigma units times ``params["scale"]``).
    structure
        The input model (no hydrogens, no waters) moved into the map's frame, with the cell.
    waters
        (M, 3) positions of the simulated ordered waters.
    params
        The values drawn for this structure (d_min, cell, k_sol, ...) and timings;
        ``rotation`` and ``translation`` take input coordinates x to ``rotation @ x +
        translation`` in the map.
    clean
        The map without noise and phase errors (sigma units), if asked for.
    """

    dmap: DensityMap
    structure: gemmi.Structure
    waters: np.ndarray
    params: dict = field(default_factory=dict)
    clean: DensityMap | None = None


def _atoms(st: gemmi.Structure) -> list[gemmi.Atom]:
    return [cra.atom for cra in st[0].all()]


def simulate(
    st: gemmi.Structure,
    settings: SimulationSettings = SimulationSettings(),
    seed: int | np.random.Generator | None = 0,
    keep_clean: bool = False,
) -> Simulation:
    """Simulate a crystal map of ``st`` (see :class:`SimulationSettings` for what is simulated).

    Parameters
    ----------
    st
        The model (only its first model is used; not modified).
    settings
        What to simulate.
    seed
        Seed or generator; the same seed gives the same map.
    keep_clean
        Also return the map without noise and phase errors (for checks).

    Returns
    -------
    Simulation
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    s = settings
    st = prepare_structure(st)
    atoms = _atoms(st)
    if not atoms:
        raise ValueError("the model has no heavy atoms")
    xyz = np.array([a.pos.tolist() for a in atoms])
    rot = random_rotation(rng) if s.rotate else np.eye(3)
    basis = pack(xyz @ rot.T, rng, s.packing, draw(rng, s.contact), s.margin)
    cell, to_cell = cell_from_basis(basis)
    rot = to_cell @ rot
    xyz = xyz @ rot.T
    centre = np.array(cell.orthogonalize(gemmi.Fractional(0.5, 0.5, 0.5)).tolist())
    shift = centre - (xyz.min(0) + xyz.max(0)) / 2  # molecule centred in the cell
    xyz += shift
    b = fill_flat_b(xyz, np.array([a.b_iso for a in atoms]))
    if s.b_median is not None:
        b = b * (draw(rng, s.b_median) / max(float(np.median(b)), 1.0))
    if s.b_jitter:
        b = np.maximum(b * draw(rng, s.b_scale) + draw(rng, s.b_offset), 2.0)
    for a, p, bi in zip(atoms, xyz, b):
        a.pos = gemmi.Position(*p)
        a.b_iso = float(bi)
    st.cell = cell
    st.spacegroup_hm = "P 1"
    st.setup_cell_images()
    n_res = sum(len(ch) for ch in st[0])
    waters = np.zeros((0, 3))
    if s.waters:
        polar = np.array([a.element.name in ("N", "O") for a in atoms])
        count = round(draw(rng, s.waters_per_residue) * n_res)
        waters = place_waters(xyz, polar, cell, count, rng)
    full = st.clone()
    disordered = add_disorder(full, rng, draw(rng, s.disorder_fraction)) if s.disorder else 0
    if s.amide_as_acid:
        amides_as_acids(full)
    if len(waters):
        full[0].add_chain(water_chain(waters, rng.uniform(*s.water_b, size=len(waters))))
    d_min = draw(rng, s.d_min)
    dmap, clean, params = crystal_map(full, d_min, s, rng, keep_clean)
    params.update(
        d_min=d_min,
        cell=[round(v, 4) for v in cell.parameters],
        rotation=rot.round(6).tolist(),
        translation=shift.round(4).tolist(),
        residues=n_res,
        waters=len(waters),
        mean_b=float(b.mean()),
        disordered=disordered,
        seconds=time.perf_counter() - t0,
    )
    dmap.info.update(simulation=params)
    return Simulation(dmap=dmap, structure=st, waters=waters, params=params, clean=clean)


def simulate_file(
    path: str | Path,
    settings: SimulationSettings = SimulationSettings(),
    seed: int | np.random.Generator | None = 0,
    keep_clean: bool = False,
) -> Simulation:
    """:func:`simulate` for a model file; the map's ``source`` names the file."""
    sim = simulate(read_structure(path), settings, seed, keep_clean)
    sim.dmap.source = f"simulated from {Path(path).name}"
    return sim


def crystal_map(
    st: gemmi.Structure,
    d_min: float,
    settings: SimulationSettings,
    rng: np.random.Generator,
    keep_clean: bool = False,
) -> tuple[DensityMap, DensityMap | None, dict]:
    """The map of a model in its own cell and space group (the crystal is whatever ``st`` says).

    Model density (``gemmi.DensityCalculatorX``, with a blur that is removed in reciprocal
    space), plus bulk solvent, truncated at ``d_min``, then blur, phase errors and noise as
    ``settings`` asks; sigma-scaled over the cell.

    Returns
    -------
    dmap, clean, params
        The map, the map without noise and phase errors (or None), and the values drawn.
    """
    s = settings
    params: dict = {}
    dc = gemmi.DensityCalculatorX()
    dc.d_min = d_min
    dc.rate = max(1.5, d_min / (2 * s.max_spacing))
    dc.cutoff = 1e-3  # atom radius cut: 2x faster than 1e-5, map correlation 0.99998
    dc.set_grid_cell_and_spacegroup(st)
    dc.set_refmac_compatible_blur(st[0])
    dc.put_model_density_on_grid(st[0])
    grid = dc.grid
    rho = np.array(grid, copy=False)
    shape = rho.shape
    s2 = miller_s2(shape, grid.unit_cell)
    inside = s2 <= 1.0 / d_min**2
    inside[0, 0, 0] = False  # no F000: mean 0, like a map from map coefficients
    coef = scipy.fft.rfftn(rho) * np.exp(np.float32(dc.blur / 4) * s2)
    mask = gemmi.FloatGrid(*shape)
    mask.set_unit_cell(grid.unit_cell)
    mask.spacegroup = grid.spacegroup
    gemmi.SolventMasker(gemmi.AtomicRadiiSet.Refmac).put_mask_on_float_grid(mask, st[0])
    solvent = np.array(mask, copy=False)  # 1 in the solvent, 0 in the protein
    params["protein_fraction"] = float(1.0 - solvent.mean())
    if s.solvent:
        k_sol, b_sol = draw(rng, s.k_sol), draw(rng, s.b_sol)
        coef += scipy.fft.rfftn(solvent) * (np.float32(k_sol) * np.exp(np.float32(-b_sol / 4) * s2))
        params.update(k_sol=k_sol, b_sol=b_sol)
    if s.blur:
        params["blur_b"] = b_blur = draw(rng, s.blur_b)
        coef *= np.exp(np.float32(-b_blur / 4) * s2)
    coef[~inside] = 0
    clean = scipy.fft.irfftn(coef, s=shape)
    protein = solvent < 0.5
    var_p = float(clean[protein].var()) if protein.any() else float(clean.var())
    weights = half_weights(shape)
    amp2 = (coef.real**2 + coef.imag**2) * weights
    noisy = coef
    r_phase = 1.0
    if s.phase_error:
        params["phase_error_deg"] = err = draw(rng, s.phase_error_deg)
        dphi = phase_shifts(rng, s2, d_min, err)
        r_phase = float((amp2 * np.cos(dphi)).sum() / max(amp2.sum(), 1e-30))
        noisy = coef * np.exp(1j * dphi).astype(np.complex64)
    if s.noise:
        target = draw(rng, s.correlation)
        shell = shell_rms(amp2 / weights, np.sqrt(s2), inside)
        unit = (
            rng.standard_normal(coef.shape, dtype=np.float32)
            + 1j * rng.standard_normal(coef.shape, dtype=np.float32)
        ) * (shell * inside)
        n = np.prod(shape, dtype=float)
        var_unit = float(((unit.real**2 + unit.imag**2) * weights).sum() / n**2)
        alpha2 = BOX_SIGNAL_FRACTION * var_p * (r_phase**2 / target**2 - 1.0) / max(var_unit, 1e-30)
        alpha = float(np.sqrt(max(alpha2, 0.0)))
        noisy = noisy + unit * np.float32(alpha)
        params.update(correlation_target=target, noise_alpha=alpha)
    params["phase_correlation"] = r_phase
    values = scipy.fft.irfftn(noisy, s=shape) if noisy is not coef else clean
    values, _, _ = sigma_scale(values, "simulated map")
    if s.random_scale:
        params["scale"] = scale = draw(rng, s.scale)
        values *= np.float32(scale)
    out = _as_map(values, grid, d_min)
    clean_map = _as_map(sigma_scale(clean, "clean map")[0], grid, d_min) if keep_clean else None
    return out, clean_map, params


def _as_map(values: np.ndarray, like: gemmi.FloatGrid, d_min: float) -> DensityMap:
    grid = gemmi.FloatGrid(np.ascontiguousarray(values, dtype=np.float32), like.unit_cell,
                           like.spacegroup)  # fmt: skip
    return DensityMap(grid=grid, resolution=d_min, kind="xray", source="simulated")
