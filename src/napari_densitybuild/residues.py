"""The 20 standard amino acids: names, one-letter codes and class indices used by every net."""

AMINO_ACIDS: tuple[str, ...] = (
    "ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE",
    "LEU", "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR", "VAL",
)  # fmt: skip
ONE_LETTER: dict[str, str] = dict(zip(AMINO_ACIDS, "ARNDCQEGHILKMFPSTWYV"))
THREE_LETTER: dict[str, str] = {v: k for k, v in ONE_LETTER.items()}
INDEX: dict[str, int] = {name: i for i, name in enumerate(AMINO_ACIDS)}
N_CLASSES = len(AMINO_ACIDS)

# Common modified residues read as their parent type (the class the density looks like).
PARENT: dict[str, str] = {"MSE": "MET", "SEP": "SER", "TPO": "THR", "PTR": "TYR", "HYP": "PRO",
                          "CSO": "CYS", "CME": "CYS", "MLY": "LYS", "KCX": "LYS", "HID": "HIS",
                          "HIE": "HIS", "HIP": "HIS", "CYX": "CYS"}  # fmt: skip


def class_index(resname: str) -> int | None:
    """Class index of a residue name, mapping common modified residues to their parent.

    Returns None for anything that is not one of the 20 standard amino acids.

    Examples
    --------
    >>> class_index("LEU"), class_index("MSE") == class_index("MET"), class_index("HOH")
    (10, True, None)
    """
    name = PARENT.get(resname.upper(), resname.upper())
    return INDEX.get(name)


#: The backbone's heavy atoms.
BACKBONE = ("N", "CA", "C", "O")

#: Heavy atoms of each amino acid in a fixed order (PDB chemical component dictionary names):
#: backbone N, CA, C, O first, then the side chain outwards. Pose targets and predictions use
#: this order; TRP has the most (14).
HEAVY_ATOMS: dict[str, tuple[str, ...]] = {
    "ALA": ("N", "CA", "C", "O", "CB"),
    "ARG": ("N", "CA", "C", "O", "CB", "CG", "CD", "NE", "CZ", "NH1", "NH2"),
    "ASN": ("N", "CA", "C", "O", "CB", "CG", "OD1", "ND2"),
    "ASP": ("N", "CA", "C", "O", "CB", "CG", "OD1", "OD2"),
    "CYS": ("N", "CA", "C", "O", "CB", "SG"),
    "GLN": ("N", "CA", "C", "O", "CB", "CG", "CD", "OE1", "NE2"),
    "GLU": ("N", "CA", "C", "O", "CB", "CG", "CD", "OE1", "OE2"),
    "GLY": ("N", "CA", "C", "O"),
    "HIS": ("N", "CA", "C", "O", "CB", "CG", "ND1", "CD2", "CE1", "NE2"),
    "ILE": ("N", "CA", "C", "O", "CB", "CG1", "CG2", "CD1"),
    "LEU": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2"),
    "LYS": ("N", "CA", "C", "O", "CB", "CG", "CD", "CE", "NZ"),
    "MET": ("N", "CA", "C", "O", "CB", "CG", "SD", "CE"),
    "PHE": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ"),
    "PRO": ("N", "CA", "C", "O", "CB", "CG", "CD"),
    "SER": ("N", "CA", "C", "O", "CB", "OG"),
    "THR": ("N", "CA", "C", "O", "CB", "OG1", "CG2"),
    "TRP": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "NE1", "CE2", "CE3", "CZ2", "CZ3",
            "CH2"),
    "TYR": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ", "OH"),
    "VAL": ("N", "CA", "C", "O", "CB", "CG1", "CG2"),
}  # fmt: skip
MAX_ATOMS = max(len(v) for v in HEAVY_ATOMS.values())
#: Atom names of modified residues read as their parent's (MSE's SE is MET's SD).
ATOM_ALIASES: dict[str, dict[str, str]] = {"MSE": {"SE": "SD"}}
#: Atoms that density cannot tell apart (ring flips, carboxylates, guanidinium ends, and the
#: prochiral methyls of LEU and VAL), as pairs of indices into HEAVY_ATOMS swapped together:
#: pose losses and RMSDs take the better of the two namings.
SWAPS: dict[str, tuple[tuple[int, int], ...]] = {
    "ARG": ((9, 10),),
    "ASP": ((6, 7),),
    "GLU": ((7, 8),),
    "LEU": ((6, 7),),
    "PHE": ((6, 7), (8, 9)),
    "TYR": ((6, 7), (8, 9)),
    "VAL": ((5, 6),),
}
