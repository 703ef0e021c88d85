"""A sequence given after the build (assign_sequence) on real maps: the build without a sequence,
then its residues typed, numbered and gathered into chains by the deposited model's sequence.

    DENSITYBUILD_DATA=../shared/data .venv/bin/python scripts/sequence_check.py 1cbs,cdk2,rnasa

Per map (``../shared/data/real/MAP``: its map and deposited model): ``build`` with the default
options and no sequence, scored against the deposited model as ``evaluate --task build`` scores
it (the session's model, :meth:`Session.structure`); then :func:`assign_sequence` with the
one-letter sequence of each chain of the deposited model (as ``scripts/evaluate_shipped.sh``
writes it) and the same scores again; with ``--compare``, also the build with that sequence
from the start. Prints a Markdown table and, over the maps, the residues matched with the
right type and the sum of the maps' all-atom RMSDs; ``--save DIR`` writes the models.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.assign_sequence import assign_sequence  # noqa: E402
from napari_densitybuild.build import build  # noqa: E402
from napari_densitybuild.classify import Classifier  # noqa: E402
from napari_densitybuild.commands.evaluate import scorable_model  # noqa: E402
from napari_densitybuild.maps import read_map  # noqa: E402
from napari_densitybuild.models import read_structure  # noqa: E402
from napari_densitybuild.place import Placer  # noqa: E402
from napari_densitybuild.sequence import model_fasta, protein_sequences  # noqa: E402
from napari_densitybuild.session import Session  # noqa: E402
from napari_densitybuild.symmetry import Symmetry  # noqa: E402
from napari_densitybuild.training.evaluate_build import compare_models  # noqa: E402
from napari_densitybuild.training.realdata import model_path, real_dir  # noqa: E402

KEYS = ("recall_1A", "sequence_recovery", "backbone_rmsd", "all_atom_rmsd")


def check_map(
    name: str, placer: Placer, clf: Classifier, save: Path | None, compare: bool = False
) -> dict:
    """Scores of map ``name``'s build before and after the sequence is applied (and of the
    build with the sequence, with ``compare``)."""
    dmap = read_map(real_dir() / name / "map.mtz")
    deposited = scorable_model(model_path(name), "deposited")
    with tempfile.TemporaryDirectory() as tmp:
        fasta = Path(tmp) / f"{name}.fasta"
        fasta.write_text(model_fasta(read_structure(str(model_path(name))), name))
        sequences = protein_sequences(fasta)
    sym = Symmetry.of_map(dmap)
    session = Session.from_build(build(dmap, placer, clf, None), None)
    session.autosave = False
    t = time.perf_counter()
    edit = assign_sequence(session, sequences, dmap, clf)
    seconds = time.perf_counter() - t
    after = Session(edit.rows, None, {**session.meta, "chain_sequences": edit.chain_sequences},
                    autosave=False)  # fmt: skip
    row = {"map": name, "seconds": seconds, "retyped": len(edit.retyped), "text": edit.text}
    models = [("before", session.structure(dmap)), ("after", after.structure(dmap))]
    if compare:
        models.append(("seqbuild", build(dmap, placer, clf, sequences).structure()))
    for tag, st in models:
        got = compare_models(st, deposited, sym)
        row[f"right_{tag}"] = round(got["matched_1A"] * got.get("sequence_recovery", 0.0))
        row.update({f"{k}_{tag}": got[k] for k in KEYS})
        row[f"chains_{tag}"] = len(st[0])
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            st.make_mmcif_document().write_file(str(save / f"{name}_{tag}.cif"))
    return row


def main(argv: list[str] | None = None) -> int:
    """Print the table for the maps given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("maps", help="comma-separated real map names, e.g. 1cbs,cdk2,rnasa")
    parser.add_argument("--save", type=Path, help="folder for the models before and after")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compare", action="store_true",
                        help="also build with the sequence from the start")  # fmt: skip
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    placer, clf = Placer.from_path(None), Classifier.from_path(None)
    tags = ("before", "after", "seqbuild") if args.compare else ("before", "after")
    print("| map | chains | recall 1 A | sequence recovery | backbone RMSD (A) | all-atom RMSD, "
          "right type (A) | types changed | seconds |")  # fmt: skip
    print("|---|---|---|---|---|---|---:|---:|")
    totals = {t: [0, 0.0] for t in tags}
    for name in args.maps.split(","):
        r = check_map(name, placer, clf, args.save, args.compare)
        cells = [" -> ".join(str(r[f"chains_{t}"]) for t in tags)] + [
            " -> ".join(f"{r[f'{k}_{t}']:.3f}" for t in tags) for k in KEYS]  # fmt: skip
        print(f"| {name} | {' | '.join(cells)} | {r['retyped']} | {r['seconds']:.1f} |")
        print(f"<!-- {r['text']} -->", file=sys.stderr)
        for t in tags:
            totals[t][0] += r[f"right_{t}"]
            totals[t][1] += r[f"all_atom_rmsd_{t}"]
    for t in tags:
        print(f"\n{t}: {totals[t][0]} matched residues of the right type, all-atom RMSD summed "
              f"over the maps {totals[t][1]:.3f} A")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
