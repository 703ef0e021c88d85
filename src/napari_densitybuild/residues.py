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
