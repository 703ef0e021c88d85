"""Real-space refinement: fit atoms to the density while keeping ideal geometry.

The target, minimised over all coordinates with L-BFGS (:mod:`.lbfgs`, torch autograd)::

    sum over rigid pairs ((d - d0) / sd)^2          bonds, angles, rings, planar groups, peptides
  + sum over chiral centres ((v - v0) / sd)^2       CA, THR CB, ILE CB; peptide planarity
  + sum over close non-bonded pairs ((2.9 - d) / 0.2)^2   atoms of residues not linked
  - map_weight * sum over atoms (Z / 6) * min(rho(x), 5)   map in sigma units

The restraint values come from :mod:`napari_densitybuild.geometry`. The map is resampled once
onto a Cartesian grid around the atoms and read smoothly between its nodes
(:class:`~.density_field.DensityField`), so the density term is differentiable. Linked
C-alphas closer than 3.3 A before a proline make a cis peptide, restrained as one; before
other residues such a link (on real maps nearly always a wrong trace step, not one of the rare
cis peptides that precede no proline) keeps only its C-N bond.
Between rounds, peptides whose carbonyl O fits the map better turned over (or, asked, turned
by any angle) are turned (:mod:`.pepflip`), side chains that fit the map clearly better in
another rotamer are replaced (:mod:`.rotamers`), ASN, GLN and HIS side chains are turned round
where their H-bonds say so (:mod:`.sideflip`), and the first residue of each fragment has its N
and side chain turned about CA-C where the map puts them (:mod:`.termini`; asked, the last
residue's C, O and side chain about N-CA too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from .crystal_clash import ImagePairs, image_energy, image_pairs
from .density_field import DensityField
from .geometry import CIS_CA, chiral_centres, cis_peptide_pairs, peptide_pairs, rigid_pairs
from .lbfgs import minimize, value_and_grad
from .maps import DensityMap
from .ncs_side_chains import fit_ncs_side_chains
from .pepflip import FULL_FLIP, TURN_ANGLES, flip_peptides, peptide_units
from .rotamers import fit_rotamers
from .sideflip import flip_side_chains
from .symmetry import Symmetry
from .termini import turn_fragment_termini

if TYPE_CHECKING:
    import gemmi
    from numpy.typing import ArrayLike

#: Atomic numbers of the elements in proteins (weights of the density term, / 6).
Z = {"C": 6.0, "N": 7.0, "O": 8.0, "S": 16.0, "SE": 34.0}
#: Closest allowed distance (A) between atoms of residues that are not linked.
NONBONDED = 2.9
#: Residues after which a cis link gets the geometry of a cis peptide (``cis_peptide_pairs``);
#: after others it keeps only its C-N bond.
CIS_BEFORE = ("PRO",)
#: sd (A^3) of the volume of CA, C, N, CA of each peptide, restrained to 0 (flat: omega 0 or
#: 180 degrees): 0.24 A^3 is 6 degrees of omega, the spread of refined models. Distances alone
#: left peptides twisted by up to 50 degrees where the map is weak.
OMEGA_VSD = 0.24


@dataclass(eq=False)
class AtomModel:
    """Atoms of a model as flat arrays, residue by residue.

    Attributes
    ----------
    xyz
        (N, 3) positions (world, A).
    atom, element
        (N,) atom names and elements.
    residue
        (N,) index of each atom's residue.
    resname
        (R,) residue names.
    linked
        (R,) True where residue r is bonded to residue r - 1 (same fragment).
    """

    xyz: np.ndarray
    atom: np.ndarray
    element: np.ndarray
    residue: np.ndarray
    resname: np.ndarray
    linked: np.ndarray

    def __len__(self) -> int:
        return len(self.xyz)

    def residue_atoms(self, r: int) -> dict[str, int]:
        """Atom name -> index for residue ``r``."""
        idx = np.flatnonzero(self.residue == r)
        return {str(self.atom[i]): int(i) for i in idx}

    def is_trans(self, prev: dict[str, int], atoms: dict[str, int]) -> bool:
        """Whether the peptide from residue ``prev`` to ``atoms`` (from :meth:`residue_atoms`)
        is trans: C-alphas at least :data:`CIS_CA` apart (True where a C-alpha is missing)."""
        if "CA" not in prev or "CA" not in atoms:
            return True
        return bool(np.linalg.norm(self.xyz[prev["CA"]] - self.xyz[atoms["CA"]]) > CIS_CA)


@dataclass(eq=False)
class Restraints:
    """Index arrays of the geometry terms of one model."""

    pair_i: np.ndarray
    pair_j: np.ndarray
    d0: np.ndarray
    sd: np.ndarray
    chiral: np.ndarray  # (C, 4) centre, a, b, c
    v0: np.ndarray
    vsd: np.ndarray


def build_restraints(model: AtomModel) -> Restraints:
    """Rigid pairs, peptide pairs (trans links; cis links before a proline, see the module),
    chiral volumes for every residue and a flat volume for every peptide."""
    pi, pj, d0, sd, chi, v0, vsd = [], [], [], [], [], [], []
    trans_pairs, cis_pairs = peptide_pairs(), cis_peptide_pairs()
    bond_only = [p for p in cis_pairs if p[2] < 2.0]  # a short link before other residues
    prev: dict[str, int] | None = None
    for r, name in enumerate(model.resname):
        atoms = model.residue_atoms(r)
        for a, b, d, s in rigid_pairs(str(name)):
            if a in atoms and b in atoms:
                pi.append(atoms[a]), pj.append(atoms[b]), d0.append(d), sd.append(s)
        for c, a, b, e, v, s in chiral_centres(str(name)):
            if all(x in atoms for x in (c, a, b, e)):
                chi.append([atoms[c], atoms[a], atoms[b], atoms[e]]), v0.append(v), vsd.append(s)
        if prev is not None and model.linked[r]:
            if model.is_trans(prev, atoms):
                pep = trans_pairs
            else:
                pep = cis_pairs if name in CIS_BEFORE else bond_only
            for a, b, d, s in pep:
                if a in prev and b in atoms:
                    pi.append(prev[a]), pj.append(atoms[b]), d0.append(d), sd.append(s)
            if "C" in prev and "CA" in prev and "N" in atoms and "CA" in atoms:
                chi.append([prev["C"], prev["CA"], atoms["N"], atoms["CA"]])
                v0.append(0.0), vsd.append(OMEGA_VSD)
        prev = atoms
    as_int = lambda v, shape: np.asarray(v, dtype=np.int64).reshape(shape)  # noqa: E731
    as_float = lambda v: np.asarray(v, dtype=float)  # noqa: E731
    return Restraints(as_int(pi, -1), as_int(pj, -1), as_float(d0), as_float(sd),
                      as_int(chi, (-1, 4)), as_float(v0), as_float(vsd))  # fmt: skip


def _nonbonded_pairs(xyz: np.ndarray, residue: np.ndarray, linked: np.ndarray) -> np.ndarray:
    """Pairs of atoms closer than NONBONDED + 1 A whose residues are neither equal nor linked."""
    from scipy.spatial import cKDTree

    pairs = cKDTree(xyz).query_pairs(NONBONDED + 1.0, output_type="ndarray")
    if not len(pairs):
        return np.zeros((0, 2), dtype=np.int64)
    ri, rj = residue[pairs[:, 0]], residue[pairs[:, 1]]
    lo, hi = np.minimum(ri, rj), np.maximum(ri, rj)
    neighbours = (hi == lo + 1) & linked[hi]
    return pairs[(ri != rj) & ~neighbours].astype(np.int64)


def geometry_energy(x: torch.Tensor, rs: Restraints, nb: np.ndarray | None = None) -> torch.Tensor:
    """The restraint part of the target (sum of squared Z-scores) for coordinates ``x``."""
    d = torch.linalg.norm(x[rs.pair_i] - x[rs.pair_j], dim=1)
    e = (((d - torch.as_tensor(rs.d0, dtype=x.dtype)) / torch.as_tensor(rs.sd, dtype=x.dtype))
         ** 2).sum()  # fmt: skip
    if len(rs.chiral):
        c, a, b, f = (x[rs.chiral[:, k]] for k in range(4))
        v = ((a - c) * torch.linalg.cross(b - c, f - c)).sum(1)
        e = e + (((v - torch.as_tensor(rs.v0, dtype=x.dtype))
                  / torch.as_tensor(rs.vsd, dtype=x.dtype)) ** 2).sum()  # fmt: skip
    if nb is not None and len(nb):
        dn = torch.linalg.norm(x[nb[:, 0]] - x[nb[:, 1]], dim=1)
        e = e + ((torch.relu(NONBONDED - dn) / 0.2) ** 2).sum()
    return e


def refine(
    model: AtomModel,
    dmap: DensityMap | None,
    map_weight: float = 10.0,
    rounds: int = 2,
    iterations: int = 30,
    field: DensityField | None = None,
    peptide_flips: bool = True,
    peptide_turns: bool = False,
    side_chain_flips: bool = True,
    rotamer_fit: bool = True,
    start_turns: bool = True,
    end_turns: bool = False,
    flip_density_weight: float = 0.0,
    ncs_groups: np.ndarray | None = None,
    crystal_contacts: bool = False,
    movable: np.ndarray | None = None,
    info: dict | None = None,
) -> np.ndarray:
    """Refined coordinates (N, 3) of ``model`` against ``dmap`` (geometry only if None).

    Parameters
    ----------
    model
        The atoms (not modified).
    dmap
        The map (sigma units).
    map_weight
        Weight of the density term against the restraints (Z-score units).
    rounds, iterations
        L-BFGS rounds (non-bonded pairs are found again between rounds) and iterations each.
    field
        A resampled map to reuse (else made from ``dmap`` around the atoms).
    peptide_flips
        After each round but the last, turn over peptides whose O fits the map better flipped
        (:mod:`.pepflip`).
    peptide_turns
        With ``peptide_flips``, try every turn of :data:`~.pepflip.TURN_ANGLES`, not the full
        flip alone.
    side_chain_flips
        After each round but the last, turn round the ASN, GLN and HIS side chains whose
        surroundings make more H-bonds the other way (:mod:`.sideflip`).
    rotamer_fit
        After each round but the last, give side chains the library rotamer that fits the map
        clearly better (:func:`~.rotamers.fit_rotamers`; needs a map).
    start_turns
        After each round but the last, turn the N and side chain of each fragment's first
        residue about its CA-C axis where the map is clearly higher (:mod:`.termini`; needs a
        map).
    end_turns
        After each round but the last, turn the C, O and side chain of each fragment's last
        residue about its N-CA axis where the map is clearly higher (:mod:`.termini`; needs a
        map). Off by default: it failed its rules on real maps (docs/build.md).
    ncs_groups
        (R,) NCS group of every residue (:func:`~.ncs.ncs_groups`), or None: with
        ``rotamer_fit``, copies then take the side chain that fits their summed density best
        (:mod:`.ncs_side_chains`).
    crystal_contacts
        Keep atoms :data:`NONBONDED` from the atoms of the model's crystal copies too
        (:mod:`.crystal_clash`; needs a map with symmetry).
    movable
        (N,) True for the atoms that may move (None: all); the others hold their places and
        only restrain the movable ones (the junctions of :mod:`.joins`).
    info
        If given, ``info["peptide_flips"]``, ``info["rotamer_changes"]``,
        ``info["side_chain_flips"]``, ``info["start_turns"]``, ``info["end_turns"]`` and
        ``info["ncs_side_chains"]`` are set to the numbers of peptides turned over, side chains
        given a new rotamer, side chains turned round, fragment starts and ends turned and side
        chains taken from NCS copies.
    """
    if len(model) == 0:
        return model.xyz.copy()
    rs = build_restraints(model)
    x = torch.tensor(model.xyz, dtype=torch.float64)
    w = torch.tensor([Z.get(str(e).upper(), 6.0) / 6.0 for e in model.element],
                     dtype=torch.float64)  # fmt: skip
    if dmap is not None and field is None:
        field = DensityField(dmap, model.xyz)
    units = peptide_units(model) if peptide_flips and field is not None else None
    turns = TURN_ANGLES if peptide_turns else FULL_FLIP
    sym = Symmetry.of_map(dmap) if dmap is not None else None
    rotamer_fit = rotamer_fit and field is not None
    start_turns = start_turns and field is not None
    end_turns = end_turns and field is not None
    n_flips = n_side = n_rot = n_starts = n_ends = n_ncs = 0
    movable = None if movable is None else np.asarray(movable, dtype=bool)
    free = None if movable is None else torch.from_numpy(np.flatnonzero(movable))
    only = None  # with atoms held, flips and refits look at the free residues alone
    if movable is not None:
        only = np.zeros(len(model.resname), dtype=bool)
        only[model.residue[movable]] = True
        if units is not None:  # a peptide turns over whole or not at all
            units = units[movable[units].all(1)]
    for k in range(rounds):
        if k > 0 and (
            units is not None or side_chain_flips or rotamer_fit or start_turns or end_turns
        ):
            xyz = x.numpy().copy()
            if units is not None:
                xyz, flipped = flip_peptides(xyz, units, field, angles=turns)
                n_flips += int(flipped.sum())
            if start_turns:
                xyz, starts = turn_fragment_termini(xyz, model, field, only=only)
                n_starts += len(starts)
            if end_turns:
                xyz, ends = turn_fragment_termini(xyz, model, field, ends=True, only=only)
                n_ends += len(ends)
            if rotamer_fit:
                xyz, changed = fit_rotamers(xyz, model, field, sym, only=only)
                n_rot += len(changed)
                if ncs_groups is not None:
                    xyz, changed = fit_ncs_side_chains(xyz, model, ncs_groups, field, sym)
                    n_ncs += len(changed)
            if side_chain_flips:
                xyz, turned = flip_side_chains(xyz, model, sym, density=field,
                                               density_weight=flip_density_weight,
                                               only=only)  # fmt: skip
                n_side += int(turned.sum())
            if movable is not None:  # the held atoms hold through flips and refits too
                xyz[~movable] = x.numpy()[~movable]
            x.copy_(torch.from_numpy(xyz))
        nb = _nonbonded_pairs(x.numpy(), model.residue, model.linked)
        ip = image_pairs(x.numpy(), model, sym if crystal_contacts else None, NONBONDED + 1.0)

        def energy(y: torch.Tensor, nb: np.ndarray = nb, ip: ImagePairs = ip) -> torch.Tensor:
            e = geometry_energy(y, rs, nb) + image_energy(y, ip, NONBONDED)
            if field is not None:
                e = e - map_weight * (w * torch.clamp(field(y), max=5.0)).sum()
            return e

        if free is None:
            best, _ = minimize(value_and_grad(energy, x.shape), x.reshape(-1), iterations)
            x.copy_(best.view(x.shape))
        else:
            held = x.clone()

            def energy_free(
                y: torch.Tensor,
                energy: Callable[[torch.Tensor], torch.Tensor] = energy,
                held: torch.Tensor = held,
            ) -> torch.Tensor:
                return energy(held.index_put((free,), y))

            best, _ = minimize(value_and_grad(energy_free, (len(free), 3)),
                               x[free].reshape(-1), iterations)  # fmt: skip
            x[free] = best.view(-1, 3)
    if info is not None:
        info["peptide_flips"] = n_flips
        info["side_chain_flips"] = n_side
        info["rotamer_changes"] = n_rot
        info["start_turns"] = n_starts
        info["end_turns"] = n_ends
        info["ncs_side_chains"] = n_ncs
    return x.numpy().copy()


def refine_residues(
    model: AtomModel,
    dmap: DensityMap | None,
    residues: ArrayLike,
    held: tuple[str, ...] = (),
    **kwargs,
) -> np.ndarray:
    """Refined coordinates of ``model`` with the atoms of ``residues`` (indices) free, but for
    those named in ``held`` (e.g. ``("CA",)``), and every other atom held, against ``dmap``
    resampled around the free atoms (None: geometry alone); ``kwargs`` go to :func:`refine`.
    Nothing free: the coordinates as they are."""
    movable = np.isin(model.residue, np.asarray(residues, dtype=np.int64))
    movable &= ~np.isin(model.atom, list(held))
    if not movable.any():
        return model.xyz.copy()
    field = DensityField(dmap, model.xyz[movable]) if dmap is not None else None
    return refine(model, dmap, field=field, movable=None if movable.all() else movable, **kwargs)


def atom_model(st: gemmi.Structure, residues_only: bool = True) -> AtomModel:
    """The amino-acid heavy atoms of a gemmi Structure's first model as an :class:`AtomModel`.

    Residues are linked when the C of one lies within 2 A of the N of the next in its chain.
    Only the atoms named in :data:`~napari_densitybuild.residues.HEAVY_ATOMS` are kept.
    """
    from .residues import ATOM_ALIASES, HEAVY_ATOMS, PARENT

    xyz, atom, element, residue, resname, linked = [], [], [], [], [], []
    for ch in st[0]:
        prev_c = None
        for res in ch:
            parent = PARENT.get(res.name, res.name)
            names = HEAVY_ATOMS.get(parent)
            if names is None and residues_only:
                prev_c = None
                continue
            alias = ATOM_ALIASES.get(res.name, {})
            r = len(resname)
            n_pos = None
            seen: set[str] = set()
            for a in res:
                nm = alias.get(a.name, a.name)
                if a.is_hydrogen() or (names is not None and nm not in names) or nm in seen:
                    continue  # hydrogens, unknown atoms, alternative conformations after the first
                seen.add(nm)
                xyz.append(a.pos.tolist()), atom.append(nm), element.append(a.element.name)
                residue.append(r)
                if nm == "N":
                    n_pos = a.pos
            resname.append(parent)
            linked.append(prev_c is not None and n_pos is not None and prev_c.dist(n_pos) < 2.0)
            c = res.find_atom("C", "*")
            prev_c = c.pos if c is not None else None
    return AtomModel(np.array(xyz, dtype=float).reshape(-1, 3), np.array(atom, dtype=object),
                     np.array(element, dtype=object), np.array(residue, dtype=np.int64),
                     np.array(resname, dtype=object), np.array(linked, dtype=bool))  # fmt: skip
