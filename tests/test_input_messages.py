"""Messages about bad input that read as one clear sentence (a hunt's findings): ``classify``
with a model of no protein names the file and says what was left out in words, not as a
Python dict."""

from __future__ import annotations

from test_input_hunt import SAMPLE, one_line_error, waters_only


def test_classify_with_a_model_of_no_protein_names_the_file_in_words(tmp_path, capsys):
    """It said "the model has no amino-acid residue with N, CA and C atoms (skipped:
    {'missing N/CA/C': 0, 'not amino acid': 5, 'outside map': 0})" without naming the file."""
    waters = waters_only(tmp_path / "waters.pdb")
    out = tmp_path / "p.json"
    argv = ["classify", SAMPLE / "sample_map.mtz", "--boxes-from", waters, "--out", out,
            "--device", "cpu"]  # fmt: skip
    err = one_line_error(argv, capsys)
    assert err.endswith(f"{waters}: the model has no amino-acid residue with N, CA and C atoms "
                        "to classify (5 not amino acid)\n")  # fmt: skip
    assert "{" not in err and not out.exists()
