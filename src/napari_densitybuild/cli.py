"""The ``densitybuild`` command line: one sub-command per pipeline job.

Each sub-command lives in a small module that exposes ``add_parser(subparsers)`` and
``run(args) -> int``; this file only wires them together and turns user errors
(:class:`~napari_densitybuild.errors.DensityBuildError`) into a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import DensityBuildError

#: Sub-command modules (inside ``napari_densitybuild.commands``), in help order.
COMMANDS = (
    "info", "prepare", "place", "classify", "build", "assign", "waters", "batch", "train",
    "evaluate",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="densitybuild",
        description="Build protein models into electron-density maps with deep learning.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"napari_densitybuild.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"napari_densitybuild.commands.{name}":
                raise
            continue
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except DensityBuildError as e:
        message = " ".join(str(e).split())  # one line, whatever a library's message held
        print(f"densitybuild {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"densitybuild {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
