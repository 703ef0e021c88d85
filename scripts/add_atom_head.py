"""Give a classifier an atom head: the integral pose head of a file trained on its features.

    .venv/bin/python scripts/add_atom_head.py BASE.safetensors HEAD.safetensors --out OUT

``HEAD`` is ``BASE``'s net with an integral pose head trained on ``BASE``'s frozen features
(``scripts/pose_heads.py --save-weights``), so every tensor but the pose head's must be equal
in the two files; that is checked. ``OUT`` is ``BASE`` (its regression pose head included)
with that integral head as its atom head (``CompactNet(atom_head="integral")``): a build takes
its model's atoms from it in the last pass, everything else from ``BASE`` unchanged. The card
is ``BASE``'s with ``atom_head`` (the head's own card entry) added.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_densitybuild.nets import build_net  # noqa: E402
from napari_densitybuild.weights_io import load_model, save_model  # noqa: E402


def add_atom_head(base: str, head: str, out: str) -> Path:
    """Write ``base`` with ``head``'s integral pose head as its atom head (see the module)."""
    net, config = load_model(base, "cpu")
    other, other_config = load_model(head, "cpu")
    if other_config["net"].get("pose") != "integral":
        raise SystemExit(f"{head}: its pose head is not an integral head")
    a, b = net.state_dict(), other.state_dict()
    trunk = [k for k in a if not k.startswith("pose_head.")]
    if any(k not in b or not torch.equal(a[k], b[k]) for k in trunk):
        raise SystemExit(f"{head} was not trained on the features of {base}: trunks differ")
    net_config = {**config["net"], "atom_head": "integral"}
    full = build_net(net_config)
    state = dict(a)
    state.update({f"atom_head.{k[len('pose_head.') :]}": v for k, v in b.items()
                  if k.startswith("pose_head.")})  # fmt: skip
    full.load_state_dict(state, strict=True)
    card = {**config.get("card", {}), "atom_head": other_config.get("card", {}).get("pose_head")}
    return save_model(out, full.eval(), {**config, "net": net_config}, card)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base", help="classifier weights (.safetensors)")
    p.add_argument("head", help="the same net with an integral pose head trained on its features")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    print(f"wrote {add_atom_head(args.base, args.head, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
