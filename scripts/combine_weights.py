"""Combine classifier weights files into one ensemble file (``nets/ensemble.py``).

    .venv/bin/python scripts/combine_weights.py A.safetensors B.safetensors --out ENS.safetensors

The members' log-probabilities and pose coordinates are averaged; the card lists the members'
cards. Continue training one member with
``densitybuild train --init-from ENS.safetensors --init-member K``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.weights_io import combine_weights, read_config  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("members", nargs="+", help="weights files (.safetensors)")
    p.add_argument("--out", required=True, help="ensemble weights file")
    p.add_argument("--card", help="JSON file of extra model-card fields")
    args = p.parse_args(argv)
    card = json.loads(Path(args.card).read_text()) if args.card else None
    out = combine_weights(args.members, args.out, card)
    cards = read_config(out)["card"]["members"]
    hours = ", ".join(f"{float(c.get('cpu_hours', 0) or 0):.2f}" for c in cards)
    print(f"wrote {out}: {len(cards)} members (cumulative CPU-hours {hours})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
