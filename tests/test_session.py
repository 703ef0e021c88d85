"""Review sessions: edits, undo/redo, autosave next to the map, reload, export."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import turn_peptide

from napari_densitybuild.errors import DensityBuildError
from napari_densitybuild.models import read_structure
from napari_densitybuild.session import ResidueState, Session, autosave_path, parse_type


def residue(k: int, t: int = 10) -> ResidueState:
    ca = np.array([3.8 * k, 0.0, 0.0])
    v = np.array
    atoms = (("N", *(ca + v([-1.0, 1.0, 0.0]))), ("CA", *ca), ("C", *(ca + v([1.5, 0.0, 0.0]))),
             ("O", *(ca + v([2.0, 1.0, 0.0]))), ("CB", *(ca + v([0.0, -1.0, 1.0]))))  # fmt: skip
    probs = np.full(20, 0.01)
    probs[t] = 0.81
    return ResidueState("A", k + 1, "", t, tuple(probs), tuple(ca + v([0, 0, 2.4])),
                        tuple(np.eye(3).ravel()), 0.9, atoms)  # fmt: skip


@pytest.fixture
def session(tmp_path):
    m = tmp_path / "map.mtz"
    m.write_bytes(b"")
    return Session(
        [residue(k) for k in range(5)],
        str(m),
        {"cell": [50, 60, 70, 90, 90, 90], "spacegroup": "P 21 21 21"},
    )


def test_change_type_undo_redo_and_autosave(session):
    s = session
    assert s.residues[2].label == "LEU 3"
    s.set_type(2, "W")
    assert s.residues[2].name == "TRP" and s.residues[2].edited
    assert [a[0] for a in s.residues[2].atoms] == ["N", "CA", "C", "O"]  # no TRP atoms given
    saved = Session.load(autosave_path(s.map_path))
    assert saved.residues[2].name == "TRP"  # the edit reached the disk at once
    assert s.undo() and s.residues[2].name == "LEU"
    assert Session.load(autosave_path(s.map_path)).residues[2].name == "LEU"
    assert s.redo() and s.residues[2].name == "TRP"
    assert not s.redo()
    s.delete(0)
    assert len(s.residues) == 4 and s.residues[0].seqid == 2
    s.undo()
    assert len(s.residues) == 5
    idx = s.insert(residue(9, t=7), index=5)
    assert s.residues[idx].name == "GLY" and s.can_undo


def test_doubtful_order(session):
    s = session
    s.residues[3] = ResidueState(**{**s.residues[3].__dict__, "score": 0.2})
    assert s.doubtful() == 3
    nxt = s.doubtful(after=3)
    assert nxt != 3 and nxt is not None
    s.set_type(3, "A")  # edited residues are no longer doubtful
    assert s.doubtful() != 3
    assert s.residues[0].ranked_types()[0] == "LEU"


def test_alternative_is_the_best_other_type(session):
    r = session.residues[0]
    probs = np.full(20, 0.01)
    probs[parse_type("ASP")], probs[parse_type("ASN")] = 0.55, 0.36
    r = ResidueState(**{**r.__dict__, "type": parse_type("ASP"), "probs": tuple(probs)})
    assert r.alternative == ("ASN", pytest.approx(0.36))
    r = ResidueState(**{**r.__dict__, "type": parse_type("ASN")})  # corrected to the runner-up
    assert r.alternative == ("ASP", pytest.approx(0.55))
    assert ResidueState(**{**r.__dict__, "probs": ()}).alternative is None


def test_export_and_reload(session, tmp_path):
    from napari_densitybuild.assemble import write_structure

    session.set_type(1, "ALA")
    path = write_structure(session.structure(), tmp_path / "out.cif")
    st = read_structure(path)
    names = [r.name for r in st[0]["A"]]
    assert names == ["LEU", "ALA", "LEU", "LEU", "LEU"]
    assert st.spacegroup_hm == "P 21 21 21"
    b = [a.b_iso for a in st[0]["A"][0]]
    assert np.allclose(b, 100 * 0.9 * 0.81, atol=0.01)
    session.save(tmp_path / "s.json")
    again = Session.load(tmp_path / "s.json")
    assert [r.label for r in again.residues] == [r.label for r in session.residues]


def test_bad_input():
    assert parse_type("trp") == parse_type("W") == parse_type(17)
    with pytest.raises(DensityBuildError, match="not an amino acid"):
        parse_type("Z")
    with pytest.raises(DensityBuildError, match="not a densitybuild session"):
        import json
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"format": "other"}, f)
        Session.load(f.name)
    with pytest.raises(DensityBuildError, match="no residue"):
        Session().delete(0)


@pytest.mark.parametrize(
    "damage",
    [
        {"residues": None},
        {"residues": "x"},
        {"row": {"seqid": "twelve"}},
        {"row": {"centre": [1.0, 2.0]}},
        {"row": {"rotation": [1.0] * 8}},
        {"row": {"atoms": [["CA", 1.0]]}},
        {"row": {"probs": [0.5, 0.5]}},
        {"drop": "atoms"},
    ],
    ids=lambda d: str(d)[:30],
)
def test_a_damaged_session_file_is_refused_with_a_message(tmp_path, damage):
    """Whatever a damaged (or hand-edited) session file holds, loading it says so at once
    instead of failing later, when the widget draws it."""
    import json

    row = {"chain": "A", "seqid": 1, "icode": "", "type": "ALA", "probs": [], "score": 1.0,
           "centre": [0.0, 0.0, 0.0], "rotation": list(np.eye(3).ravel()), "edited": False,
           "atoms": [["CA", 0.0, 0.0, 0.0]]}  # fmt: skip
    data = {"format": "densitybuild-session/1", "map": None, "meta": {}, "residues": [row]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    assert len(Session.load(path).residues) == 1
    row.update(damage.get("row", {}))
    row.pop(damage.get("drop", ""), None)
    if "residues" in damage:
        data["residues"] = damage["residues"]
    path.write_text(json.dumps(data))
    with pytest.raises(DensityBuildError, match="damaged session file"):
        Session.load(path)


def test_alternative_conformations_give_one_residue():
    """A residue modelled twice (two types at one number, or two conformers) is reviewed once,
    as its first conformation."""
    import gemmi

    from napari_densitybuild._napari._sample_data import sample_paths

    st = gemmi.read_structure(sample_paths()[1])
    chain = st[0][0]
    twin = chain[5].clone()
    for a in twin:
        a.altloc = "B"
        a.occ = 0.5
    for a in chain[5]:
        a.altloc, a.occ = "A", 0.5
    twin.name = "SER" if chain[5].name != "SER" else "THR"
    chain.add_residue(twin, 6)
    s = Session.from_structure(st)
    keys = [(r.chain, r.seqid) for r in s.residues]
    assert len(keys) == len(set(keys)) == 70


def sample_session(mirror: bool = False, st=None) -> Session:
    """The sample's true model (or ``st``) as a session (mirrored through x = 0 if asked)."""
    import gemmi

    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.residues import INDEX

    st = st if st is not None else gemmi.read_structure(sample_paths()[1])
    rows = []
    for ch in st[0]:
        for res in ch:
            if res.name not in INDEX:
                continue
            atoms = tuple((a.name, -a.pos.x if mirror else a.pos.x, a.pos.y, a.pos.z) for a in res)
            ca = np.array(atoms[[a[0] for a in atoms].index("CA")][1:])
            probs = tuple(np.eye(20)[INDEX[res.name]])
            rows.append(ResidueState(ch.name, res.seqid.num, res.seqid.icode.strip(),
                                     INDEX[res.name], probs,
                                     tuple(ca), tuple(np.eye(3).ravel()), 1.0, atoms))  # fmt: skip
    return Session(rows, None, {})


def test_peptide_flags_name_cis_and_twisted_peptides():
    import gemmi

    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.review import peptide_flags

    assert set(peptide_flags(sample_session())) == {""}  # all trans in the sample
    st = gemmi.read_structure(sample_paths()[1])
    chain = st[0][0]
    for k, degrees in ((18, 180.0), (30, 180.0), (50, 90.0)):
        turn_peptide(st, k, degrees)
    assert chain[18].name == "PRO" and chain[30].name != "PRO"
    # an insertion code: the residue after 30 numbered 30A is told apart from 30
    chain[31].seqid = gemmi.SeqId(chain[30].seqid.num, "A")
    flags = peptide_flags(sample_session(st=st))
    assert {i: f for i, f in enumerate(flags) if f} == {18: "cis-Pro", 30: "cis", 50: "twisted"}


def test_rama_outliers_flag_residues_with_forbidden_phi_psi():
    from napari_densitybuild.geometry import ramachandran
    from napari_densitybuild.review import rama_outliers

    native = rama_outliers(sample_session())
    assert native.sum() <= 1  # a deposited model: (almost) none
    mirrored = sample_session(mirror=True)
    flags = rama_outliers(mirrored)
    angles = {(r["chain"], r["seqid"]): r for r in ramachandran(mirrored.structure())}
    assert flags.sum() >= 10
    for flag, res in zip(flags, mirrored.residues, strict=True):
        row = angles.get((res.chain, res.seqid))
        if flag:  # a mirrored beta strand (phi > 0, psi < 0) is the commonest outlier
            assert row is not None and row["phi"] > 0 and res.name != "GLY"
        if row is None:
            assert not flag  # no phi/psi (chain ends): no flag


def test_refine_updates_moves_the_updated_residue_back_into_density_alone():
    """Atoms of one updated residue, 0.6 A off, are refined back towards the true ones in the
    model; the residues not updated are held (neither returned nor moved)."""
    from dataclasses import replace

    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.review import refine_updates

    session = sample_session()
    dmap = read_map(sample_paths()[0])
    true = session.residues[10]
    off = np.array([0.35, -0.35, 0.35])
    moved = replace(true, atoms=tuple((a[0], *(np.array(a[1:]) + off)) for a in true.atoms))
    before = [r.atoms for r in session.residues]
    out = refine_updates(session, {10: moved}, dmap)
    assert list(out) == [10] and [a[0] for a in out[10].atoms] == [a[0] for a in true.atoms]
    xyz = lambda r: np.array([a[1:] for a in r.atoms])  # noqa: E731
    err_in = np.linalg.norm(xyz(moved) - xyz(true), axis=1).mean()
    err_out = np.linalg.norm(xyz(out[10]) - xyz(true), axis=1).mean()
    assert err_out < 0.5 * err_in
    assert [r.atoms for r in session.residues] == before


def test_a_correction_is_refined_in_the_model_with_the_rest_held():
    """Posed again for its own type, a residue keeps ideal peptides to its chain neighbours
    (refined alone it does not: C-N about 1.26 A on the sample) and nothing else moves."""
    from dataclasses import replace

    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.review import atoms_for_type

    session = sample_session()
    dmap = read_map(sample_paths()[0])
    clf = Classifier.from_path(None, "cpu", tta=0)
    rows = list(session.residues)
    xyz = [dict((a[0], np.array(a[1:])) for a in r.atoms) for r in rows]
    i = next(k for k in range(10, len(rows) - 1)
             if np.linalg.norm(xyz[k - 1]["C"] - xyz[k]["N"]) < 1.5
             and np.linalg.norm(xyz[k]["C"] - xyz[k + 1]["N"]) < 1.5)  # fmt: skip
    # its box in the frame of its backbone, as a build or a placed box has it
    centre, rotation = clf.frames(*(xyz[i][a][None] for a in ("N", "CA", "C")))
    rows[i] = replace(rows[i], centre=tuple(centre[0]), rotation=tuple(rotation[0].ravel()))
    held = [r.atoms for r in rows]
    atoms = dict((a[0], np.array(a[1:])) for a in
                 atoms_for_type(rows, i, rows[i].type, dmap, clf))  # fmt: skip
    before = dict((a[0], np.array(a[1:])) for a in rows[i - 1].atoms)
    after = dict((a[0], np.array(a[1:])) for a in rows[i + 1].atoms)
    assert abs(np.linalg.norm(before["C"] - atoms["N"]) - 1.33) < 0.03
    assert abs(np.linalg.norm(atoms["C"] - after["N"]) - 1.33) < 0.03
    assert [r.atoms for r in rows] == held  # the residues given are not touched


def test_a_residue_reframed_is_boxed_on_its_own_backbone():
    """``reframed``: the box of a residue whose atoms moved follows them (as the build boxes
    residues, ``backbone_frames``); without N, CA and C the residue is left as it is."""
    from dataclasses import replace as _replace

    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.boxes import backbone_frames
    from napari_densitybuild.models import read_structure

    s = Session.from_structure(read_structure(sample_paths()[1]))
    r = s.residues[10]
    moved = _replace(r, atoms=tuple((a[0], a[1] + 5.0, a[2], a[3]) for a in r.atoms))
    got = moved.reframed()
    xyz = {a[0]: np.array(a[1:]) for a in moved.atoms}
    centre, rot = backbone_frames(xyz["N"], xyz["CA"], xyz["C"])
    assert np.allclose(got.centre, centre[0]) and np.allclose(got.rotation, rot[0].ravel())
    assert np.allclose(np.array(got.centre) - np.array(r.centre), [5.0, 0.0, 0.0], atol=1e-6)
    bare = _replace(moved, atoms=tuple(a for a in moved.atoms if a[0] != "N"))
    assert bare.reframed() is bare
    flat = _replace(r, atoms=tuple((n, 1.0, 2.0, 3.0) for n in ("N", "CA", "C")))
    assert flat.reframed() is flat  # coincident atoms give no frame: the box stays


def test_a_build_s_residues_are_boxed_on_their_own_backbone():
    """A session from a build boxes each residue on its own N, CA and C, as the build's later
    passes box it for the net (the issue's box convention), not where the trace put it."""
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.boxes import backbone_frames
    from napari_densitybuild.build import build
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.place import Placer

    dmap = read_map(sample_paths()[0])
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    result = build(dmap, placer, clf, passes=1, do_refine=False)
    session = Session.from_build(result)
    trace_centres, _ = result.trace.frames()
    off = []
    for k, r in enumerate(session.residues):
        xyz = {a[0]: np.array(a[1:]) for a in r.atoms}
        centre, rot = backbone_frames(xyz["N"][None], xyz["CA"][None], xyz["C"][None])
        assert np.allclose(r.centre, centre[0]) and np.allclose(r.rotation, rot[0].ravel())
        off.append(np.linalg.norm(centre[0] - trace_centres[k]))
    assert max(off) > 0.3  # the trace's boxes were elsewhere


def test_predicted_poses_box_refined_residues_on_their_backbone():
    """Predict poses with refinement frames each box again on its refined N, CA and C, as a
    build frames its next pass; without refinement the boxes stay where the trace put them."""
    from napari_densitybuild._napari._sample_data import sample_paths
    from napari_densitybuild.boxes import backbone_frames
    from napari_densitybuild.classify import Classifier
    from napari_densitybuild.maps import read_map
    from napari_densitybuild.place import Placer
    from napari_densitybuild.review import predicted_poses

    dmap = read_map(sample_paths()[0])
    placer, clf = Placer.from_path(None, device="cpu"), Classifier.from_path(None, "cpu", tta=0)
    session = Session.from_trace(placer.place(dmap), None, dmap)
    idx = list(range(10, 20))
    plain = predicted_poses(session, dmap, clf, idx, refine=False)
    refined = predicted_poses(session, dmap, clf, idx, refine=True)
    assert sorted(plain) == sorted(refined) == idx
    for i in idx:
        assert plain[i].centre == session.residues[i].centre and len(plain[i].atoms) >= 4
        xyz = {a[0]: np.array(a[1:]) for a in refined[i].atoms}
        centre, rot = backbone_frames(xyz["N"][None], xyz["CA"][None], xyz["C"][None])
        assert np.allclose(refined[i].centre, centre[0])
        assert np.allclose(refined[i].rotation, rot[0].ravel())
    assert max(np.linalg.norm(np.subtract(refined[i].centre, plain[i].centre)) for i in idx) > 0.2


def test_a_type_set_with_atoms_boxes_the_residue_on_them():
    """A correction's atoms (posed and refined for the new type) move the residue's box with
    its backbone; a type set without atoms keeps the backbone, and so the box."""
    from napari_densitybuild._napari._sample_data import sample_paths

    s = Session.from_structure(read_structure(sample_paths()[1]))
    r, other = s.residues[10], s.residues[11]
    moved = tuple((a[0], a[1] + 1.0, a[2], a[3]) for a in r.atoms if a[0] in ("N", "CA", "C"))
    new = s.set_type(10, "TRP", (*moved, ("O", 0.0, 0.0, 0.0)))
    assert np.allclose(np.subtract(new.centre, r.centre), [1.0, 0.0, 0.0])
    assert np.allclose(new.rotation, r.rotation)
    kept = s.set_type(11, "ALA")
    assert kept.centre == other.centre and kept.rotation == other.rotation
