"""Builds with two pose heads on the shipped features: which head gives what (an experiment).

    .venv/bin/python scripts/pose_head_builds.py --variant dual \\
        --weights runs/posehead_long/candidate.safetensors --maps 1cbs,3sb3 --save DIR

``WEIGHTS`` is the shipped net with an integral pose head trained on its frozen features
(``scripts/pose_heads.py --save-weights``), so both heads read the same middle-stage features
and both can run in one forward pass. Variants, against the shipped net's own build:

- ``hybrid``: the regression head's N, CA, C and O, the integral head's atoms from CB on, for
  everything the build does with poses;
- ``dual``: the integral head's atoms for the model, the regression head's for the model that
  the H-bond evidence (:meth:`~napari_densitybuild.classify.Classifier.weigh_environment`)
  looks at;
- ``last``: the regression head for everything but the atoms of the last pass, which come from
  the integral head: the frames of every pass, so the types, are the shipped build's.

The rest is ``build_sweep.py`` (same arguments, one JSON line per map). The heads are joined
by patching the loaded classifier, so this is a measuring tool, not a way to build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "src"))

import build_sweep  # noqa: E402

from napari_densitybuild import build as build_module  # noqa: E402
from napari_densitybuild import classify as classify_module  # noqa: E402
from napari_densitybuild.residues import MAX_ATOMS  # noqa: E402
from napari_densitybuild.settings import DEFAULT_PASSES  # noqa: E402


class TwoHeads(torch.nn.Module):
    """Both heads' coordinates: hybrid, (B, T, 14, 3); else (B, T, 28, 3), regression first."""

    def __init__(self, regression: torch.nn.Module, integral: torch.nn.Module, variant: str):
        super().__init__()
        self.regression, self.integral, self.variant = regression, integral, variant

    def forward(self, fmap: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        a, b = self.regression(fmap, pooled), self.integral(fmap, pooled)
        if self.variant == "hybrid":
            return torch.cat([a[:, :, :4], b[:, :, 4:]], 2)
        return torch.cat([a, b], 2)


def patch(variant: str) -> None:
    """Make ``Classifier.from_path(W)`` load W with the shipped regression head joined to it."""
    original = classify_module.Classifier.from_path.__func__

    def from_path(cls, path=None, *args, **kwargs):
        shipped = original(cls, None, *args, **kwargs)
        if path is None:
            return shipped
        other = original(cls, path, *args, **kwargs)
        other.net.pose_head = TwoHeads(shipped.net.pose_head, other.net.pose_head, variant)
        return other

    classify_module.Classifier.from_path = classmethod(from_path)
    if variant in ("dual", "last"):  # coordinates of 28 atoms: the H-bond model gets the first 14
        classify_module.MAX_ATOMS = 2 * MAX_ATOMS
        weigh = classify_module.Classifier.weigh_environment
        classify_module.Classifier.weigh_environment = lambda self, dmap, probs, poses: weigh(
            self, dmap, probs, poses[:, :, :MAX_ATOMS]
        )
        atoms = build_module.atoms_for_types
        calls = [0]

        def atoms_for_types(poses, types, trace):
            calls[0] += 1
            last = variant == "dual" or calls[0] % DEFAULT_PASSES == 0
            return atoms(poses[:, :, MAX_ATOMS:] if last else poses[:, :, :MAX_ATOMS], types, trace)

        build_module.atoms_for_types = atoms_for_types
    build_sweep.Classifier = classify_module.Classifier


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--variant" not in argv or "--weights" not in argv:
        print(__doc__)
        return 2
    i = argv.index("--variant")
    variant = argv[i + 1]
    if variant not in ("hybrid", "dual", "last"):
        raise SystemExit(f"--variant is hybrid, dual or last, not {variant!r}")
    del argv[i : i + 2]
    patch(variant)
    return build_sweep.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
