"""Observed amplitudes and free-set flags from an MTZ file, for R factors and model maps.

A refinement program's MTZ holds, besides map coefficients, the measured amplitudes (FP/SIGFP,
F/SIGF, ...) and the free-set flags that R-free is computed on. :func:`read_observed` finds
them (or takes the columns given) and returns them as plain arrays.

Free-set conventions: CCP4 programs number the flags 0-19 (or 0/1) and leave out the reflections
flagged 0; Phenix writes 0/1 and leaves out those flagged 1. With more than two flag values the
test set is 0; with two it is the smaller of the two sets, which is right for either program.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gemmi
import numpy as np

from .errors import MapReadError

#: (amplitude, sigma) pairs of observed data, in order of preference.
OBSERVED_COLUMNS = (
    ("FP", "SIGFP"),
    ("F", "SIGF"),
    ("FOBS", "SIGFOBS"),
    ("F-obs", "SIGF-obs"),
    ("F-obs-filtered", "SIGF-obs-filtered"),
    ("FMEAN", "SIGFMEAN"),
    ("F_meas_au", "F_meas_sigma_au"),
)
#: Free-set flag columns, in order of preference (any integer column named like "free" after).
FREE_COLUMNS = ("FREE", "FreeR_flag", "R-free-flags", "FREER", "FreeRflag", "RFREE")


@dataclass
class ObservedData:
    """Measured amplitudes of one crystal: reflections with a measured amplitude only.

    Attributes
    ----------
    hkl
        (N, 3) Miller indices as the file gives them (its asymmetric unit).
    fobs, sigma
        (N,) amplitudes and their standard deviations.
    free
        (N,) True for the test-set reflections R-free is computed on; all False when the file
        has no flags.
    cell, spacegroup
        The crystal's unit cell and space group.
    d_min
        Resolution of the data (A).
    columns
        The labels read: amplitude, sigma and (if any) free flag.
    """

    hkl: np.ndarray
    fobs: np.ndarray
    sigma: np.ndarray
    free: np.ndarray
    cell: gemmi.UnitCell
    spacegroup: gemmi.SpaceGroup
    d_min: float
    columns: tuple[str, ...]

    @property
    def has_free_set(self) -> bool:
        """True when some reflections are flagged for R-free."""
        return bool(self.free.any())


def _labels(mtz: gemmi.Mtz) -> dict[str, str]:
    """Column label -> type (the first column of a label that repeats)."""
    out: dict[str, str] = {}
    for c in mtz.columns:
        out.setdefault(c.label, c.type)
    return out


def find_observed_columns(mtz: gemmi.Mtz) -> tuple[str, str] | None:
    """The (amplitude, sigma) labels of measured amplitudes in ``mtz``, or None.

    Known names first (:data:`OBSERVED_COLUMNS`); else an amplitude column X (type F) followed
    by SIGX (type Q) that is not a set of map coefficients or calculated amplitudes.
    """
    labels = _labels(mtz)
    for f, s in OBSERVED_COLUMNS:
        if labels.get(f) == "F" and labels.get(s) == "Q":
            return f, s
    for f, kind in labels.items():
        if kind == "F" and labels.get("SIG" + f) == "Q":
            return f, "SIG" + f
    return None


def find_free_column(mtz: gemmi.Mtz) -> str | None:
    """The label of the free-set flag column (type I) in ``mtz``, or None."""
    labels = _labels(mtz)
    for name in FREE_COLUMNS:
        if labels.get(name) == "I":
            return name
    return next((n for n, t in labels.items() if t == "I" and "free" in n.lower()), None)


def free_set_of(flags: np.ndarray) -> np.ndarray:
    """True where ``flags`` (integers; NaN for none) mark the test set (conventions above)."""
    given = np.isfinite(flags)
    values, counts = np.unique(flags[given], return_counts=True)
    if len(values) < 2:
        return np.zeros(len(flags), bool)
    test = values[np.argmin(counts)] if len(values) == 2 else 0
    return given & (flags == test)


def read_observed(path: str | Path, columns: tuple[str, ...] | str | None = None) -> ObservedData:
    """Read measured amplitudes (and free flags) from an MTZ file.

    Parameters
    ----------
    path
        The MTZ file.
    columns
        "F,SIGF" or "F,SIGF,FREE" to choose the columns; found automatically if None.

    Raises
    ------
    MapReadError
        For a file that is not an MTZ, or one without measured amplitudes (listing its columns).
    """
    path = Path(path)
    if not path.name.lower().endswith(".mtz"):
        raise MapReadError(
            f"{path}: a map file holds no measured amplitudes: they come from an MTZ file, as "
            "refinement writes it beside the map coefficients"
        )
    try:
        mtz = gemmi.read_mtz_file(str(path))
    except (RuntimeError, ValueError, OSError) as e:
        raise MapReadError(f"{path}: not a readable MTZ file ({e})") from None
    labels = _labels(mtz)
    listing = ", ".join(f"{k} ({t})" for k, t in labels.items())
    if isinstance(columns, str):
        columns = tuple(c.strip() for c in columns.split(",") if c.strip())
    if columns:
        if len(columns) not in (2, 3):
            raise MapReadError(f"{path}: give F,SIGF or F,SIGF,FREE (got {columns})")
        for label, want in zip(columns, "FQI"):
            if labels.get(label) != want:
                raise MapReadError(f"{path}: no column {label!r} of type {want}; the file has: "
                                   f"{listing}")  # fmt: skip
        f, s = columns[:2]
        flag = columns[2] if len(columns) == 3 else None
    else:
        found = find_observed_columns(mtz)
        if found is None:
            hint = ""
            if mtz.batches:
                hint = ("; it is unmerged (it has batches): merge and scale it first (aimless), "
                        "then convert intensities to amplitudes (ctruncate)")  # fmt: skip
            elif any(t in ("J", "K") for t in labels.values()):
                hint = ("; it holds intensities: convert them to amplitudes first "
                        "(French-Wilson, as ctruncate or phenix.french_wilson do)")  # fmt: skip
            elif any(t == "G" for t in labels.values()):
                hint = "; it holds anomalous pairs F(+)/F(-) only: merge them to F/SIGF first"
            raise MapReadError(f"{path}: no measured amplitudes (F with SIGF) found{hint}; the "
                               f"file has: {listing}")  # fmt: skip
        (f, s), flag = found, find_free_column(mtz)
    data = np.array(mtz, copy=False)
    index = [c.label for c in mtz.columns]  # the table's own column order (labels may repeat)
    fobs, sigma = data[:, index.index(f)], data[:, index.index(s)]
    keep = np.isfinite(fobs) & np.isfinite(sigma) & (fobs > 0) & (sigma >= 0)
    if not keep.any():
        raise MapReadError(f"{path}: column {f} holds no measured amplitude")
    free = free_set_of(data[:, index.index(flag)]) if flag else np.zeros(len(data), bool)
    return ObservedData(
        hkl=data[keep, :3].astype(np.int32),
        fobs=fobs[keep].astype(np.float64),
        sigma=sigma[keep].astype(np.float64),
        free=free[keep],
        cell=mtz.cell,
        spacegroup=mtz.spacegroup,
        d_min=float(1.0 / np.sqrt(mtz.cell.calculate_1_d2_array(data[keep, :3]).max())),
        columns=(f, s) + ((flag,) if flag else ()),
    )
