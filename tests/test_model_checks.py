"""Checks of a whole model before deposition (``model_checks``, ``densitybuild info MAP
MODEL``), on the sample map and model and on copies of the model spoiled on purpose."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest

from napari_densitybuild._napari._sample_data import sample_paths
from napari_densitybuild.cli import main
from napari_densitybuild.geometry import dihedral, rotate_about
from napari_densitybuild.maps import read_map
from napari_densitybuild.model_checks import SHOWN, ModelChecks, check_model

MAP, MODEL = (str(p) for p in sample_paths()[:2])


@pytest.fixture(scope="module")
def dmap():
    return read_map(MAP)


def _pos(res: gemmi.Residue, name: str) -> np.ndarray:
    return np.array(res[name][0].pos.tolist())


def test_the_sample_model_has_two_amides_to_turn_and_two_poor_correlations(dmap):
    checks = check_model(gemmi.read_structure(MODEL), dmap)
    assert checks.residues == 70
    assert not (checks.rama_outliers or checks.twisted or checks.cis or checks.clashing
                or checks.carbonyls)  # fmt: skip
    assert checks.named("to_turn") == ["GLN B40 -1 -> +1", "GLN B49 -2 -> +2"]
    # two surface side chains whose map is weaker than their atoms say (RSCC 0.79, 0.74): true
    # models are flagged too where the map is poor, as in validation reports
    assert checks.named("low_rscc") == ["LYS B11", "ASN B60"]
    turn = "H-bonds that would score higher turned over (Flip side chain)"
    assert [what for k, what in checks.problems() if k in checks.to_turn] == [turn, turn]
    assert len(checks.problems()) == 4
    assert ", median real-space correlation 0.90" in checks.lines()[0]
    assert "real-space" not in check_model(gemmi.read_structure(MODEL)).lines()[0]  # no map
    assert 0.1 < checks.bond_rmsz < 2.0


def test_a_twisted_peptide_and_a_clash_are_found(dmap):
    st = gemmi.read_structure(MODEL)
    chain = st[0][0]
    k = 20
    a, b = chain[k], chain[k + 1]
    # the residue after the peptide turned by 90 degrees about its C-N bond: omega twisted
    c, n = _pos(a, "C"), _pos(b, "N")
    before = dihedral(_pos(a, "CA"), c, n, _pos(b, "CA"))
    for atom in b:
        if atom.name != "N":
            p = rotate_about(np.array(atom.pos.tolist())[None], c, n - c, 90.0)[0]
            atom.pos = gemmi.Position(*p)
    after = dihedral(_pos(a, "CA"), c, n, _pos(b, "CA"))
    assert abs(abs(before) - abs(after)) > 60
    # a side-chain atom of residue 40 put 1.5 A from the CA of residue 5
    far, target = chain[40], chain[5]
    tip = [atom for atom in far if atom.name not in ("N", "CA", "C", "O")][-1]
    tip.pos = gemmi.Position(*(_pos(target, "CA") + np.array([1.5, 0.0, 0.0])))
    checks = check_model(st, dmap)
    label = f"{b.name} {chain.name}{b.seqid.num}"
    assert label in checks.named("twisted")
    pair = {f"{r.name} {chain.name}{r.seqid.num}" for r in (far, target)}
    assert pair <= set(checks.named("clashing"))
    problems = dict(checks.problems())
    assert "a twisted peptide before it" in problems[k + 1]
    assert "an impossible contact" in problems[5] and "an impossible contact" in problems[40]
    lines = checks.lines()
    assert lines[0].startswith("Model checks (70 residues): bond-length RMSZ ")
    assert any(line.startswith("  twisted peptides") and label in line for line in lines)


def test_a_residue_moved_out_of_its_density_is_in_weak_density(dmap):
    st = gemmi.read_structure(MODEL)
    chain = st[0][0]
    res = chain[30]
    for atom in res:  # 6 A along x, whole
        atom.pos = gemmi.Position(atom.pos.x + 6, atom.pos.y, atom.pos.z)
    checks = check_model(st, dmap)
    assert checks.named("weak_density") == [f"{res.name} {chain.name}{res.seqid.num}"]
    assert check_model(gemmi.read_structure(MODEL), dmap).weak_density == []
    # without a map the density is not checked, and the lines leave it out
    no_map = check_model(st)
    assert not no_map.density_checked and not any("weak density" in x for x in no_map.lines())


def test_a_carbonyl_turned_out_of_its_density_is_flagged_at_the_residue_after_it(dmap):
    st = gemmi.read_structure(MODEL)
    chain = st[0][0]
    a, b = chain[24], chain[25]
    ca, ca_next = _pos(a, "CA"), _pos(b, "CA")
    for atom in (a["C"][0], a["O"][0], b["N"][0]):  # the peptide unit turned over
        p = rotate_about(np.array(atom.pos.tolist())[None], ca, ca_next - ca, 180.0)[0]
        atom.pos = gemmi.Position(*p)
    checks = check_model(st, dmap)
    assert checks.carbonyls == [25]
    assert (
        "the map puts the O of the peptide before it on the other side (Flip peptide)"
        in (dict(checks.problems())[25])
    )
    assert any(line.startswith("  peptides to flip (") and ": 1 (" in line
               for line in checks.lines())  # fmt: skip
    no_map = check_model(st)  # the map is needed to say so
    assert no_map.carbonyls == [] and not any("peptides to flip" in x for x in no_map.lines())


def test_long_lists_are_cut_and_counted():
    checks = ModelChecks([f"ALA A{k}" for k in range(30)], rama_outliers=list(range(SHOWN + 3)))
    line = checks.lines()[1]
    assert line.startswith(f"  Ramachandran outliers: {SHOWN + 3} (ALA A0, ")
    assert line.endswith(", ... (3 more))") and "ALA A10" not in line


def test_without_a_map_the_model_cell_gives_the_crystal_copies():
    st = gemmi.read_structure(MODEL)
    assert st.cell.is_crystal()
    assert check_model(st).named("to_turn") == check_model(st, read_map(MAP)).named("to_turn")


def test_a_model_without_amino_acids_has_nothing_to_check():
    st = gemmi.Structure()
    st.add_model(gemmi.Model("1"))
    assert check_model(st).residues == 0


def test_info_prints_the_checks(capsys):
    assert main(["info", MAP, MODEL, "--blobs", "0"]) == 0
    out = capsys.readouterr().out
    assert "Model checks (70 residues): bond-length RMSZ" in out
    assert (
        "  ASN, GLN and HIS whose H-bonds would score higher turned over: 2 "
        "(GLN B40 -1 -> +1, GLN B49 -2 -> +2)"
    ) in out


def test_info_on_a_trace_of_c_alphas_says_there_is_nothing_to_check(tmp_path, capsys):
    st = gemmi.read_structure(MODEL)
    for chain in st[0]:
        for res in chain:
            for name in [a.name for a in res if a.name != "CA"]:
                res.remove_atom(name, "\0")
    path = tmp_path / "trace.pdb"
    st.write_pdb(str(path))
    assert main(["info", MAP, str(path), "--blobs", "0"]) == 0
    assert "Model checks: no amino acid with N, CA and C atoms to check" in capsys.readouterr().out


def test_a_report_of_a_model_with_no_bond_is_valid_json(dmap):
    import json

    from napari_densitybuild.commands.build import _checks

    st = gemmi.Structure()
    st.add_model(gemmi.Model("1"))
    seconds: dict = {}
    got = _checks(st, dmap, seconds)
    assert got["bond_rmsz"] is None and got["rscc_median"] is None and seconds["model_checks"] >= 0
    json.dumps(got, allow_nan=False)  # NaN is not JSON


def _em_box(path, dmap, part: float, away: float = 0.0) -> str:
    """The sample map written as a cryo-EM box over the first ``part`` of the model along x
    (moved by ``away`` A)."""
    from napari_densitybuild.mapfiles import write_em_box
    from napari_densitybuild.models import atom_table

    xyz = atom_table(gemmi.read_structure(MODEL)).xyz
    lo, hi = xyz.min(0) - 3.0, xyz.max(0) + 3.0
    hi[0] = lo[0] + part * (hi[0] - lo[0])
    write_em_box(path, dmap, lo + away, hi + away, 0.5)
    return str(path)


def test_a_box_over_half_the_model_weighs_only_the_residues_inside_it(dmap, tmp_path):
    """Values outside a cryo-EM box would wrap round from its far side: the residues reaching
    outside are neither in weak density nor peptides to flip, and the heading counts them."""
    box = read_map(_em_box(tmp_path / "half.mrc", dmap, 0.5))
    st = gemmi.read_structure(MODEL)
    checks = check_model(st, box)
    assert checks.density_checked and 20 < checks.outside_map < 60
    assert checks.weak_density == [] and checks.carbonyls == []
    assert checks.lines()[0].endswith(
        f"; {checks.outside_map} residues reach outside the map: not weighed in it"
    )
    assert check_model(st, dmap).outside_map == 0  # a crystal map has no outside


def test_info_with_a_map_away_from_the_model_still_checks_it(dmap, tmp_path, capsys):
    box = _em_box(tmp_path / "away.mrc", dmap, 1.0, away=200.0)
    assert main(["info", box, MODEL]) == 0
    out = capsys.readouterr().out
    assert "559 atoms, all outside the map: no density at them, no blobs" in out
    assert "Model checks (70 residues): bond-length RMSZ" in out
    assert "weak density" not in out and "peptides to flip" not in out
    assert "(GLN B40 -1 -> +1, GLN B49 -2 -> +2)" in out


def test_a_side_chain_out_of_its_density_has_a_low_real_space_correlation(dmap):
    st = gemmi.read_structure(MODEL)
    chain = st[0][0]
    k, res = next((k, r) for k, r in enumerate(chain) if r.name == "ARG")
    for atom in res:  # the side chain beyond CB 2 A off; its backbone stays in density
        if atom.name not in ("N", "CA", "C", "O", "CB"):
            atom.pos = gemmi.Position(atom.pos.x + 2.0, atom.pos.y, atom.pos.z)
    checks = check_model(st, dmap)
    label = f"ARG {chain.name}{res.seqid.num}"
    assert label in checks.named("low_rscc") and label not in checks.named("weak_density")
    assert "real-space correlation under 0.8" in dict(checks.problems())[k]
    assert any(line.startswith("  residues whose map does not look like their atoms")
               for line in checks.lines())  # fmt: skip
