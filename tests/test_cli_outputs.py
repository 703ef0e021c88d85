"""Output locations are checked before any work, batch outputs get unique names, and bad
``evaluate --simulated`` values are refused: one-line errors with exit code 2, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from napari_densitybuild import batch
from napari_densitybuild.batch import output_names, output_paths, run_batch
from napari_densitybuild.cli import main
from napari_densitybuild.commands._paths import check_output_folder
from napari_densitybuild.commands.evaluate import resolutions


@pytest.fixture
def afile(tmp_path) -> Path:
    path = tmp_path / "afile"
    path.write_text("a file\n")
    (tmp_path / "d.cif").mkdir()
    return path


# The map does not exist: had the command read it first, the error would be about the map.
BAD_OUTPUTS = {
    "build, missing folder": (
        "build {m} --out {t}/nodir/x.cif",
        "{t}/nodir/x.cif: the output folder {t}/nodir does not exist",
    ),
    "place, missing folder": (
        "place {m} --out {t}/nodir/ca.cif",
        "{t}/nodir/ca.cif: the output folder",
    ),
    "build, missing report folder": (
        "build {m} --out {t}/o.cif --report {t}/nodir/r.json",
        "{t}/nodir/r.json: the output folder",
    ),
    "place, missing report folder": (
        "place {m} --out {t}/o.cif --report {t}/nodir/r.json",
        "{t}/nodir/r.json: the output folder",
    ),
    "build, gzipped model": (
        "build {m} --out {t}/model.cif.gz",
        "{t}/model.cif.gz: write .cif, .mmcif, .pdb or .ent",
    ),
    "build, text model": ("build {m} --out {t}/x.txt", "{t}/x.txt: write .cif"),
    "place, folder as model": ("place {m} --out {t}/d.cif", "{t}/d.cif is a folder"),
    "build, folder under a file": (
        "build {m} --out {t}/afile/x.pdb",
        "{t}/afile/x.pdb: the output folder {t}/afile does not exist",
    ),
    "batch, a file": ("batch {m} --out {t}/afile --workers 0", "{t}/afile: not a folder"),
    "batch, under a file": (
        "batch {m} --out {t}/afile/sub --workers 0",
        "{t}/afile/sub: not a folder ({t}/afile is a file)",
    ),
    "evaluate, under a file": (
        "evaluate --task build --map {m} --model {m} --out {t}/afile/sub",
        "{t}/afile/sub: not a folder",
    ),
    "classify, missing folder": (
        "classify {m} --boxes-from {m} --out {t}/nodir/p.json",
        "{t}/nodir/p.json: the output folder",
    ),
}


@pytest.mark.parametrize("case", BAD_OUTPUTS)
def test_bad_output_is_refused_before_any_work(case, tmp_path, afile, capsys):
    argv, message = BAD_OUTPUTS[case]
    argv = [a.format(t=tmp_path, m=tmp_path / "missing.mtz") for a in argv.split()]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"densitybuild {argv[0]}: error: ")
    assert message.format(t=tmp_path) in err
    assert not (tmp_path / "o.cif").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("command", ["evaluate", "classify", "build"])
def test_unwritable_output_folder(command, tmp_path, capsys):
    missing_map = str(tmp_path / "missing.mtz")
    argv = {
        "evaluate": ["evaluate", "--task", "build", "--map", missing_map, "--out", "/proc/nope"],
        "classify": ["classify", missing_map, "--boxes-from", "x.cif", "--out", "/proc/p.json"],
        "build": ["build", missing_map, "--out", "/proc/x.cif"],
    }[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/proc is not writable" in err


def test_output_folder_check_makes_nothing(tmp_path):
    assert check_output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()
    assert check_output_folder(tmp_path) == tmp_path


def test_output_names_unique_where_file_names_collide(tmp_path):
    maps = [f"{tmp_path}/real/3sb3/map.mtz", f"{tmp_path}/real/1cbs/map.mtz",
            f"{tmp_path}/x/a/m.mtz", f"{tmp_path}/y/a/m.mtz",
            f"{tmp_path}/s/x.mtz", f"{tmp_path}/s/x.ccp4.gz", f"{tmp_path}/lone.mrc"]  # fmt: skip
    names = output_names(maps)
    assert [names[m] for m in maps] == ["3sb3_map", "1cbs_map", "x_a_m", "y_a_m", "x_mtz",
                                        "x_ccp4_gz", "lone"]  # fmt: skip
    assert output_names(maps[::-1]) == names  # not the order given
    assert output_names(["map.mtz"]) == {"map.mtz": "map"}  # a lone map keeps its stem
    # a folder-prefixed name that meets another map's own stem
    tricky = [f"{tmp_path}/a/map.mtz", f"{tmp_path}/b/map.mtz", f"{tmp_path}/a_map.mtz"]
    assert len(set(output_names(tricky).values())) == 3
    # a map called summary: its report would be the batch's summary.json
    assert output_names([f"{tmp_path}/summary.mtz"])[f"{tmp_path}/summary.mtz"] == "summary_2"


def _fake_build(built: list[str]):
    """A stand-in for :func:`batch.build_one` that writes what it would, without a build."""

    def build_one(map_path, out_dir, options=None, name=None):
        built.append(map_path)
        model, report = output_paths(map_path, out_dir, name)
        model.write_text("data_fake\n")
        report.write_text(
            json.dumps(
                {
                    "map": str(map_path),
                    "residues": 1,
                    "options": batch._built_options(options or {}),
                }
            )
            + "\n"
        )
        return {"map": map_path, "model": str(model), "status": "done", "residues": 1}

    return build_one


def test_batch_same_file_names_in_two_folders(tmp_path, monkeypatch):
    sample = Path(__file__).parents[1] / "sample_data" / "sample_map.mtz"
    maps = []
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        maps.append(str(tmp_path / folder / "map.mtz"))
        Path(maps[-1]).write_bytes(sample.read_bytes())
    built: list[str] = []
    monkeypatch.setattr(batch, "build_one", _fake_build(built))
    out = tmp_path / "out"
    rows = run_batch([*maps, maps[0]], out, workers=0, progress=False)  # one map given twice
    assert built == maps and [r["status"] for r in rows] == ["done", "done"]
    assert sorted(p.name for p in out.glob("*.cif")) == ["one_map.cif", "two_map.cif"]
    assert json.loads((out / "two_map.json").read_text())["map"] == maps[1]
    assert maps[0] in (out / "summary.md").read_text()  # file names repeat: the paths are shown
    again = run_batch(maps, out, workers=0, progress=False)
    assert built == maps and [r["status"] for r in again] == ["skipped (done before)"] * 2
    # outputs under a map's name written for another map are not "done before"
    (out / "map.json").write_text(json.dumps({"map": maps[1]}) + "\n")
    (out / "map.cif").write_text("data_other\n")
    assert run_batch([maps[0]], out, workers=0, progress=False)[0]["status"] == "done"
    assert built == [*maps, maps[0]]


@pytest.mark.parametrize("value", ["abc", "0", "-2", "30", "nan", "1.5,x"])
def test_evaluate_bad_simulated_resolution(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--task", "place", "--simulated", value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("densitybuild evaluate: error: argument --simulated:")


def test_simulated_resolutions_parse():
    assert resolutions("1.5, 2.5") == [1.5, 2.5]
    assert resolutions("") == [] and resolutions("2,") == [2.0]


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "m.mtz", "--out", "x.cif", "--tta", "-1"],
        ["evaluate", "--task", "build", "--tta", "-1"],
        ["info", "m.mtz", "--blobs", "-1"],
        ["batch", "m.mtz", "--out", "d", "--threads", "0"],
    ],
    ids=["build tta", "evaluate tta", "info blobs", "batch threads"],
)
def test_negative_counts_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "or more, not" in err.splitlines()[-1]


def test_a_sequence_few_residues_align_to_gets_a_note():
    from napari_densitybuild.build_result import sequence_note

    assert sequence_note({"residues": 70, "aligned_to_sequence": 68}) is None
    assert sequence_note({"residues": 0, "aligned_to_sequence": 0}) is None
    note = sequence_note({"residues": 70, "aligned_to_sequence": 12})
    assert note.startswith("only 12 of 70 built residues aligned to the sequence")
    short = sequence_note({"residues": 70, "aligned_to_sequence": 0}, ["MKTAY"])
    assert short == ("only 0 of 70 built residues aligned to the sequence, which holds 5 "
                     "residues: is it the whole of this map's protein?")  # fmt: skip
    assert sequence_note({"residues": 70, "aligned_to_sequence": 0}, ["M" * 70]).endswith(
        "is it this map's protein? A wrong sequence builds worse than none"
    )
