"""Atomic models: read any model file into an atom table, and write atom tables back with gemmi.

An :class:`AtomTable` is the plain, Qt-free form of a model that the napari Points layers, the
writer and the pipeline stages share: positions in Cartesian Angstrom (x, y, z) plus one column
per atom property.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import gemmi
import numpy as np

from .errors import ModelReadError
from .model_input import capital_names, check_coordinates, number_unnumbered, read_after_bom
from .residues import ATOM_ALIASES, HEAVY_ATOMS, MAX_ATOMS, PARENT

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import ArrayLike

MODEL_SUFFIXES = (".pdb", ".cif", ".mmcif", ".ent", ".pdb.gz", ".cif.gz", ".mmcif.gz", ".ent.gz")
FEATURE_COLUMNS = ("chain", "seqid", "icode", "resname", "atom", "element", "b_iso", "occupancy")


def is_model_path(path: str | Path) -> bool:
    """True if the file name ends like a model file (.pdb, .cif, .ent, gzipped too)."""
    return str(path).lower().endswith(MODEL_SUFFIXES)


@dataclass(eq=False)
class AtomTable:
    """Atoms as columns: ``xyz`` (N, 3) Cartesian Angstrom and one array per property."""

    xyz: np.ndarray
    chain: np.ndarray
    seqid: np.ndarray
    icode: np.ndarray
    resname: np.ndarray
    atom: np.ndarray
    element: np.ndarray
    b_iso: np.ndarray
    occupancy: np.ndarray
    cell: tuple[float, ...] | None = None
    spacegroup: str | None = None

    def __len__(self) -> int:
        return len(self.xyz)

    def features(self) -> dict[str, np.ndarray]:
        """The property columns, for a napari Points layer's ``features``."""
        return {name: getattr(self, name) for name in FEATURE_COLUMNS}

    @classmethod
    def from_rows(
        cls,
        rows: list[tuple],
        cell: tuple[float, ...] | None = None,
        spacegroup: str | None = None,
    ) -> AtomTable:
        """A table from rows (x, y, z, chain, seqid, icode, resname, atom, element, b, occ)."""
        if not rows:
            e = np.zeros(0, dtype=object)
            return cls(np.zeros((0, 3)), e, np.zeros(0, int), e, e, e, e, np.zeros(0),
                       np.zeros(0), cell, spacegroup)  # fmt: skip
        cols = list(zip(*rows))
        kinds = (object, int, object, object, object, object, float, float)
        arrays = [np.array(c, dtype=k) for c, k in zip(cols[3:], kinds)]
        return cls(np.array(cols[:3], dtype=float).T, *arrays, cell=cell, spacegroup=spacegroup)

    @classmethod
    def from_features(
        cls,
        xyz: np.ndarray,
        features: Mapping[str, ArrayLike] | pd.DataFrame,
        cell: tuple[float, ...] | None = None,
        spacegroup: str | None = None,
    ) -> AtomTable:
        """Build a table from positions and a mapping (or DataFrame) of feature columns."""
        n = len(xyz)

        def col(name: str, default: str | int | float, dtype: type):
            if name in features:
                return np.asarray(features[name]).astype(dtype)
            return np.full(n, default, dtype=dtype)

        return cls(
            xyz=np.asarray(xyz, dtype=float).reshape(-1, 3),
            chain=col("chain", "A", object),
            seqid=col("seqid", 1, int),
            icode=col("icode", "", object),
            resname=col("resname", "UNK", object),
            atom=col("atom", "CA", object),
            element=col("element", "C", object),
            b_iso=col("b_iso", 30.0, float),
            occupancy=col("occupancy", 1.0, float),
            cell=cell,
            spacegroup=spacegroup,
        )


def read_structure(path: str | Path) -> gemmi.Structure:
    """Read a model file with gemmi; raise :class:`ModelReadError` with a clear message."""
    path = Path(path)
    if path.is_dir():
        raise ModelReadError(f"{path}: a folder, not a model file; give the model file in it")
    if not path.is_file():
        raise ModelReadError(f"{path}: no such file")
    try:
        st = gemmi.read_structure(str(path))
    except IndexError:  # gemmi takes the first CIF data block unchecked: a C++ range error
        raise ModelReadError(
            f"{path}: the model has no atoms (the file is empty or has no CIF data block)"
        ) from None
    except (RuntimeError, ValueError, OSError) as e:
        st = read_after_bom(path)
        if st is None:
            raise ModelReadError(f"{path}: not a readable model file ({e})") from None
    if len(st) == 0 or st[0].count_atom_sites() == 0:
        raise ModelReadError(f"{path}: the model has no atoms")
    check_coordinates(path, st[0])
    capital_names(st[0])
    number_unnumbered(path, st[0])
    st.setup_entities()
    return st


def atom_table(st: gemmi.Structure, hydrogens: bool = False) -> AtomTable:
    """The first model of ``st`` as an :class:`AtomTable` (hydrogens dropped by default)."""
    rows = []
    for ch in st[0]:
        for res in ch:
            for a in res:
                if a.is_hydrogen() and not hydrogens:
                    continue
                rows.append((a.pos.x, a.pos.y, a.pos.z, ch.name, res.seqid.num,
                             res.seqid.icode.strip(), res.name, a.name, a.element.name, a.b_iso,
                             a.occ))  # fmt: skip
    if not rows:
        raise ModelReadError("the model has no (non-hydrogen) atoms")
    c = st.cell
    cell = (c.a, c.b, c.c, c.alpha, c.beta, c.gamma) if c.is_crystal() else None
    return AtomTable.from_rows(rows, cell, st.spacegroup_hm or None)


def read_model(path: str | Path) -> AtomTable:
    """Read a model file (.pdb, .cif, .ent, gzipped too) into an :class:`AtomTable`.

    Examples
    --------
    >>> atoms = read_model("model.cif")  # doctest: +SKIP
    >>> atoms.xyz.shape, atoms.resname[0]  # doctest: +SKIP
    ((1213, 3), 'PRO')
    """
    return atom_table(read_structure(path))


def to_structure(atoms: AtomTable, name: str = "model") -> gemmi.Structure:
    """Turn an atom table into a gemmi Structure (chains and residues in table order)."""
    if len(atoms) == 0:
        raise ModelReadError("nothing to write: the layer has no atoms")
    st = gemmi.Structure()
    st.name = name
    if atoms.cell:
        st.cell = gemmi.UnitCell(*atoms.cell)
        st.spacegroup_hm = atoms.spacegroup or "P 1"
    model = gemmi.Model(1)
    chains: dict[str, gemmi.Chain] = {}
    order: list[str] = []
    residues: dict[tuple, gemmi.Residue] = {}
    res_order: dict[str, list[tuple]] = {}
    for i in range(len(atoms)):
        ch = str(atoms.chain[i])
        key = (ch, int(atoms.seqid[i]), str(atoms.icode[i] or ""), str(atoms.resname[i]))
        if ch not in chains:
            chains[ch] = gemmi.Chain(ch)
            order.append(ch)
            res_order[ch] = []
        if key not in residues:
            r = gemmi.Residue()
            r.name = key[3]
            r.seqid = gemmi.SeqId(key[1], key[2][:1] or " ")
            residues[key] = r
            res_order[ch].append(key)
        a = gemmi.Atom()
        a.name = str(atoms.atom[i])
        a.element = gemmi.Element(str(atoms.element[i]))
        a.pos = gemmi.Position(*map(float, atoms.xyz[i]))
        a.b_iso = float(atoms.b_iso[i])
        a.occ = float(atoms.occupancy[i])
        residues[key].add_atom(a)
    for ch in order:
        chain = chains[ch]
        for key in res_order[ch]:
            chain.add_residue(residues[key])
        model.add_chain(chain)
    st.add_model(model)
    _set_het_flags(st)
    st.setup_entities()
    return st


def _set_het_flags(st: gemmi.Structure) -> None:
    for ch in st[0]:
        for res in ch:
            info = gemmi.find_tabulated_residue(res.name)
            res.het_flag = "A" if info is not None and info.is_amino_acid() else "H"


#: Chain IDs a PDB file can hold (one character each).
PDB_CHAIN_IDS = 62
#: File names :func:`write_structure` writes: mmCIF, then PDB.
CIF_SUFFIXES, PDB_SUFFIXES = (".cif", ".mmcif"), (".pdb", ".ent")
WRITE_SUFFIXES = CIF_SUFFIXES + PDB_SUFFIXES


def write_structure(st: gemmi.Structure, path: str | Path) -> Path:
    """Write a structure to mmCIF (.cif/.mmcif) or PDB (.pdb/.ent), chosen by the file name.

    The PDB format has one character per chain ID: chains named with more (AA, AB, ... after Z)
    are renamed to unused single characters (A-Z, a-z, 0-9) in the PDB file. A model of more
    than :data:`PDB_CHAIN_IDS` chains does not fit: it is written as mmCIF beside ``path``
    (same name, ``.cif``; ``.1.cif`` ... where that file exists, which is never overwritten)
    and the error says so, so that nothing is lost.

    Raises
    ------
    ModelReadError
        For any other file name, or a model of too many chains for a PDB file.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(CIF_SUFFIXES):
        st.make_mmcif_document().write_file(str(path))
    elif name.endswith(PDB_SUFFIXES):
        if any(len(ch.name) > 1 for model in st for ch in model):
            st = st.clone()
            st.shorten_chain_names()
        if any(len(ch.name) > 1 for model in st for ch in model):
            cif = _unused(path.with_suffix(".cif"))
            st.make_mmcif_document().write_file(str(cif))
            chains = max(len(model) for model in st)
            raise ModelReadError(
                f"{path}: {chains} chains do not fit a PDB file's {PDB_CHAIN_IDS} one-character "
                f"chain IDs; the model was written as mmCIF to {cif}"
            )
        st.write_pdb(str(path))
    else:
        raise ModelReadError(f"{path}: write .cif or .pdb")
    return path


def _unused(path: Path) -> Path:
    """``path``, or where a file is there already (the model read, say), the first of
    ``name.1.cif``, ``name.2.cif``, ... that is not."""
    k = 0
    out = path
    while out.exists():
        k += 1
        out = path.with_name(f"{path.stem}.{k}{path.suffix}")
    return out


def write_model(atoms: AtomTable, path: str | Path) -> None:
    """Write atoms to mmCIF (.cif) or PDB (.pdb/.ent), chosen by the file name."""
    path = Path(path)
    write_structure(to_structure(atoms, name=path.stem.split(".")[0]), path)


@dataclass(eq=False)
class BackboneResidues:
    """Residues with a complete backbone (N, CA, C), in model order, as plain arrays."""

    chain: np.ndarray
    seqid: np.ndarray
    icode: np.ndarray
    resname: np.ndarray
    n: np.ndarray
    ca: np.ndarray
    c: np.ndarray
    atoms: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ca)

    def subset(self, keep: np.ndarray) -> BackboneResidues:
        """The residues selected by a boolean mask or index array."""
        names = ("chain", "seqid", "icode", "resname", "n", "ca", "c")
        parts = {k: getattr(self, k)[keep] for k in names}
        return BackboneResidues(**parts, atoms=None if self.atoms is None else self.atoms[keep])


def heavy_atoms(res: gemmi.Residue) -> np.ndarray:
    """(MAX_ATOMS, 3) positions of a residue's heavy atoms in :data:`~.residues.HEAVY_ATOMS`
    order (of its parent type for MSE and the like); NaN where an atom is missing or the
    residue is not one of the 20."""
    out = np.full((MAX_ATOMS, 3), np.nan)
    parent = PARENT.get(res.name, res.name)
    names = HEAVY_ATOMS.get(parent)
    if names is None:
        return out
    alias = {v: k for k, v in ATOM_ALIASES.get(res.name, {}).items()}
    for i, name in enumerate(names):
        a = res.find_atom(alias.get(name, name), "*")
        if a is not None:
            out[i] = a.pos.tolist()
    return out


def backbone_residues(
    st: gemmi.Structure, with_atoms: bool = False
) -> tuple[BackboneResidues, dict[str, int]]:
    """Residues of the first model that have N, CA and C, and counts of those skipped.

    With ``with_atoms``, ``atoms`` holds each residue's heavy atoms (B, MAX_ATOMS, 3) in
    :data:`~.residues.HEAVY_ATOMS` order, NaN where missing.

    Returns
    -------
    residues, skipped
        ``skipped`` counts residues left out: ``{"missing N/CA/C": k, "not amino acid": m}``
        (waters and ligands count as "not amino acid").
    """
    rows = []
    atoms = []
    skipped = {"missing N/CA/C": 0, "not amino acid": 0}
    for ch in st[0]:
        for res in ch:
            info = gemmi.find_tabulated_residue(res.name)
            if info is None or not info.is_amino_acid():
                skipped["not amino acid"] += 1
                continue
            pos = {}
            for name in ("N", "CA", "C"):
                a = res.find_atom(name, "*")
                if a is not None:
                    pos[name] = a.pos.tolist()
            if len(pos) < 3:
                skipped["missing N/CA/C"] += 1
                continue
            rows.append((ch.name, res.seqid.num, res.seqid.icode.strip(), res.name,
                         pos["N"], pos["CA"], pos["C"]))  # fmt: skip
            if with_atoms:
                atoms.append(heavy_atoms(res))
    cols = list(zip(*rows)) if rows else [[]] * 7
    return BackboneResidues(
        chain=np.array(cols[0], dtype=object),
        seqid=np.array(cols[1], dtype=int),
        icode=np.array(cols[2], dtype=object),
        resname=np.array(cols[3], dtype=object),
        n=np.array(cols[4], dtype=float).reshape(-1, 3),
        ca=np.array(cols[5], dtype=float).reshape(-1, 3),
        c=np.array(cols[6], dtype=float).reshape(-1, 3),
        atoms=np.array(atoms, dtype=float).reshape(-1, MAX_ATOMS, 3) if with_atoms else None,
    ), skipped


def protein_residues(
    st: gemmi.Structure, model: str, purpose: str
) -> tuple[BackboneResidues, dict[str, int]]:
    """:func:`backbone_residues` of a model that must have some: ``model`` names it in the
    message ("x.cif: the model"), ``purpose`` says what they were for ("classify").

    Raises
    ------
    ModelReadError
        If no residue has N, CA and C (waters or a ligand only, a C-alpha trace), with the
        residues left out.
    """
    residues, skipped = backbone_residues(st)
    if len(residues) == 0:
        left = ", ".join(f"{n} {why}" for why, n in skipped.items() if n) or "no residues"
        raise ModelReadError(
            f"{model} has no amino-acid residue with N, CA and C atoms to {purpose} ({left})"
        )
    return residues, skipped
