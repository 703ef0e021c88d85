"""Collect the classifier ablation (scripts/ablation.sh) into docs/ablation.md.

The table goes between the two marker comments of ``docs/ablation.md``; the prose around it is
kept.

Reads ``runs/ablation/<row>/eval/metrics.json`` (written by ``densitybuild evaluate``) and the
weights' cards (steps, samples, CPU seconds) for rows 1-5, and writes the markdown table with
each row's command. A row whose run folder is absent (runs/ is git-ignored, so a new checkout
has none) keeps its line and command from the present table, as do the rows after 5 (the
shipped recipes and longer runs, written from the model card).

    .venv/bin/python scripts/ablation_table.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- table: scripts/ablation_table.py -->", "<!-- end of table -->"
ROWS = {
    "1_poster_plain": "poster convention (axis-aligned boxes at CA), no augmentation",
    "2_poster_augment": "+ augmentation (24 cube rotations, random 20^3 crops of 22^3)",
    "3_poster_aug_wd": "+ augmentation + weight decay (AdamW 0.05)",
    "4_backbone_frame": "backbone-frame boxes (centre CA + 2.4 A along CB, rotated; jittered)",
    "5_realistic_sim": "+ realistic simulation (crystal packing, waters, bulk solvent, noise, ...)",
}


def cells(metrics: dict, split: str) -> str:
    m = metrics.get(split)
    return f"{m['top1']:.3f} / {m['map']:.3f}" if m else "-"


def present_rows(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """Table lines and command lines of the current table, by row number."""
    body = text.split(BEGIN, 1)[1].split(END, 1)[0] if BEGIN in text else ""
    rows, commands = {}, {}
    for line in body.splitlines():
        if line.startswith("| ") and line[2:3].isdigit():
            rows[line[2:3]] = line
        elif line.startswith("- row "):
            commands[line[6:7]] = line
    return rows, commands


def main() -> int:
    out = ROOT / "docs" / "ablation.md"
    text = out.read_text() if out.is_file() else f"# Classifier ablation\n\n{BEGIN}\n{END}\n"
    old_rows, old_commands = present_rows(text)
    lines = [
        "| row | setting | steps x batch | CPU-h | test, plain sim 1.5 A (top-1 / mAP) | "
        "test, realistic sim 1.5 A | real held-out (1cbs, cdk2, rnasa) |",
        "|---|---|---|---:|---|---|---|",
    ]
    commands = []
    for name, what in ROWS.items():
        path = ROOT / "runs" / "ablation" / name / "eval" / "metrics.json"
        if not path.is_file():
            lines.append(old_rows.get(name[0], f"| {name[0]} | {what} | not run | | | | |"))
            if name[0] in old_commands:
                commands.append(old_commands[name[0]])
            continue
        data = json.loads(path.read_text())
        res, card = data["results"], data.get("card", {})
        lines.append(f"| {name[0]} | {what} | {card.get('steps')} x 64 | "
                     f"{card.get('cpu_hours', 0):.2f} | {cells(res, 'test_plain')} | "
                     f"{cells(res, 'test_1.5')} | {cells(res, 'real_heldout')} |")  # fmt: skip
        commands.append(f"- row {name[0]}: `{card.get('command', '')}`")
    # rows past the five equal-budget ones (the shipped recipes, longer runs) are written by
    # hand from the model card: kept as they are, in order
    for key in sorted(set(old_rows) - {name[0] for name in ROWS}, key=int):
        lines.append(old_rows[key])
        commands.extend([old_commands[key]] if key in old_commands else [])
    table = ("\n".join(lines) + "\n\nCommands (`scripts/ablation.sh`):\n\n"
             + "\n".join(commands) + "\n")  # fmt: skip
    head, rest = text.split(BEGIN, 1)
    out.write_text(head + BEGIN + "\n" + table + END + rest.split(END, 1)[1])
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
