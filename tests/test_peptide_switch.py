"""The peptide before a residue switched between cis and trans by hand (``peptide_switch``)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.geometry import CIS_CA, dihedral
from napari_densitybuild.peptide_switch import switch_peptide
from napari_densitybuild.session import Session

PRO = 18  # the sample's PRO 19, after a trans peptide from GLU 18


def _omega_ca(rows, index) -> tuple[float, float]:
    a, b = (
        dict((x[0], x[1:]) for x in rows[index - 1].atoms),
        dict((x[0], x[1:]) for x in rows[index].atoms),
    )
    pts = [np.array(p) for p in (a["CA"], a["C"], b["N"], b["CA"])]
    return float(dihedral(*pts)), float(np.linalg.norm(pts[3] - pts[0]))


def test_a_trans_proline_made_cis_and_back(sample_session):
    dmap, s = sample_session
    assert s.residues[PRO].name == "PRO" and abs(_omega_ca(s.residues, PRO)[0]) > 150
    cis = switch_peptide(s, PRO, dmap)
    omega, ca = _omega_ca(cis.rows, PRO)
    # cis as evaluate counts it (within 30 degrees), though the sample's map, which says trans,
    # pulls it: the status says so, and only the window moved
    assert cis.cis and abs(omega) < 30 and ca < CIS_CA
    assert cis.gain < -0.1 and cis.text.startswith("Peptide GLU 18 - PRO 19 made cis: ")
    assert cis.changed == [PRO - 2, PRO - 1, PRO, PRO + 1]
    assert all(cis.rows[i] is s.residues[i] for i in range(len(s.residues)) if i not in cis.changed)
    assert cis.rows[PRO].edited and cis.rows[PRO - 1].edited and not cis.rows[PRO + 1].edited
    # the box frame follows the new backbone: its x axis along CA -> C
    rows = cis.rows[PRO]
    xyz = dict((x[0], np.array(x[1:])) for x in rows.atoms)
    x_axis = np.array(rows.rotation).reshape(3, 3)[:, 0]
    assert np.allclose(x_axis, (xyz["C"] - xyz["CA"]) / np.linalg.norm(xyz["C"] - xyz["CA"]))
    # and back: trans again, near where it was built
    back = switch_peptide(Session(cis.rows, None, s.meta, autosave=False), PRO, dmap)
    omega, ca = _omega_ca(back.rows, PRO)
    assert not back.cis and abs(omega) > 160 and ca > CIS_CA and back.gain > 0.1
    n_before = dict((x[0], np.array(x[1:])) for x in s.residues[PRO].atoms)["N"]
    n_after = dict((x[0], np.array(x[1:])) for x in back.rows[PRO].atoms)["N"]
    assert np.linalg.norm(n_after - n_before) < 0.3


def test_switches_that_cannot_be_made_are_refused(sample_session):
    dmap, s = sample_session
    with pytest.raises(DensityBuildError, match="starts a piece of chain"):
        switch_peptide(s, 0, dmap)
    with pytest.raises(DensityBuildError, match="not a proline: cis peptides are built only"):
        switch_peptide(s, 5, dmap)
    with pytest.raises(DensityBuildError, match="select a residue"):
        switch_peptide(s, len(s.residues), dmap)
