"""Options shared by several sub-commands (one definition, one help text)."""

from __future__ import annotations

import argparse

from ..device import DEVICE_CHOICES
from ..settings import DEFAULT_TTA


def add_device(p: argparse.ArgumentParser) -> None:
    """``--device auto|cpu|cuda|mps``."""
    p.add_argument("--device", default="auto", help=f"{'|'.join(DEVICE_CHOICES)} (default auto)")


def add_tta(p: argparse.ArgumentParser) -> None:
    """``--tta N``: test-time augmentation copies per box."""
    p.add_argument(
        "--tta",
        type=int,
        default=DEFAULT_TTA,
        help=f"test-time augmentation copies per box (default {DEFAULT_TTA}; 0: off)",
    )


def add_weights(p: argparse.ArgumentParser, detector: bool = True) -> None:
    """``--weights`` (classifier) and, with ``detector``, ``--detector`` (.safetensors)."""
    p.add_argument("--weights", help="classifier .safetensors (default: the shipped weights)")
    if detector:
        p.add_argument("--detector", help="detector .safetensors (default: the shipped weights)")
