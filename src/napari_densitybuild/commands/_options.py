"""Options shared by several sub-commands (one definition, one help text)."""

from __future__ import annotations

import argparse
import sys

from ..settings import (
    CLASHING_FRAGMENTS,
    DEFAULT_CIS_PROLINES,
    DEFAULT_ENVIRONMENT,
    DEFAULT_FILL_GAPS,
    DEFAULT_FRAME_SEARCH,
    DEFAULT_JOIN,
    DEFAULT_LINK,
    DEFAULT_NCS,
    DEFAULT_PASSES,
    DEFAULT_PEPTIDE_TURNS,
    DEFAULT_SETTLE,
    DEFAULT_TRIM_LINKS,
    DEFAULT_TTA,
    DEFAULT_WEAK_FRAGMENTS,
    DEVICE_CHOICES,
    PEPTIDE_TURNS,
)


def print_note(message: str) -> None:
    """Print a note about the input (not an error: the command goes on) to stderr."""
    print(f"note: {message}", file=sys.stderr)


def add_device(p: argparse.ArgumentParser) -> None:
    """``--device auto|cpu|cuda|mps``."""
    p.add_argument("--device", default="auto", help=f"{'|'.join(DEVICE_CHOICES)} (default auto)")


def add_columns(p: argparse.ArgumentParser) -> None:
    """``--columns F,PHI[,FOM]``: which MTZ columns make the map."""
    p.add_argument(
        "--columns",
        help="MTZ amplitude,phase columns, and a figure of merit to weight by (F,PHI,FOM); "
        "default: found automatically",
    )


def add_tta(p: argparse.ArgumentParser) -> None:
    """``--tta N``: test-time augmentation copies per box."""
    p.add_argument(
        "--tta",
        type=at_least_zero,
        default=DEFAULT_TTA,
        help=f"test-time augmentation copies per box (default {DEFAULT_TTA}; 0: off)",
    )


def _add_off_switch(p: argparse.ArgumentParser, dest: str, default: bool, help: str) -> None:
    """``--no-<dest>``: turn off a step that is on by default (``args.<dest>`` False)."""
    flag = "--no-" + dest.replace("_", "-")
    p.add_argument(flag, dest=dest, action="store_false", default=default, help=help)


def add_environment(p: argparse.ArgumentParser) -> None:
    """``--no-environment``: the classifier's odds alone, without the H-bond evidence."""
    _add_off_switch(
        p,
        "environment",
        DEFAULT_ENVIRONMENT,
        "do not weigh ASP/ASN, GLU/GLN and VAL/THR by their H-bond partners",
    )


def add_ncs(p: argparse.ArgumentParser) -> None:
    """``--no-ncs``: do not average residue types over copies in the asymmetric unit;
    ``--ncs-side-chains``: fit the side chains of copies to their summed density."""
    _add_off_switch(
        p,
        "ncs",
        DEFAULT_NCS,
        "do not average the types of residues that are NCS copies of each other",
    )
    p.add_argument(
        "--ncs-side-chains",
        action="store_true",
        help="give NCS copies the side-chain conformation that fits their summed density "
        "best (off by default: mixed on the real maps measured, docs/build.md)",
    )


def add_weak_fragments(p: argparse.ArgumentParser) -> None:
    """``--keep-weak-fragments``: keep short fragments of low confidence in a build."""
    length, confidence = DEFAULT_WEAK_FRAGMENTS or (0, 0.0)
    p.add_argument(
        "--keep-weak-fragments",
        action="store_true",
        help=f"keep fragments of up to {length} residues whose mean confidence is under "
        f"{confidence:g} (left out by default: mostly ligand or glycan density)",
    )


def add_clashing_fragments(p: argparse.ArgumentParser) -> None:
    """``--keep-clashing-fragments``: keep short fragments in an impossible contact with a
    longer one (:mod:`~napari_densitybuild.clashing_fragments`)."""
    length, clash = CLASHING_FRAGMENTS
    p.add_argument(
        "--keep-clashing-fragments",
        action="store_true",
        help=f"keep fragments of up to {length} residues with an atom under {clash:g} A from one "
        "of a longer fragment or a crystal copy of one (left out by default: docs/build.md)",
    )


def add_join(p: argparse.ArgumentParser) -> None:
    """``--no-join``: leave fragments apart where one ends at peptide distance from a crystal
    copy of another's start."""
    _add_off_switch(
        p,
        "join",
        DEFAULT_JOIN,
        "do not join fragments where one ends at peptide-bond distance from a crystal copy of "
        "another's start",
    )


def add_trim_links(p: argparse.ArgumentParser) -> None:
    """``--no-trim-links``: keep residues on C-alpha links too short for their place and
    (with a sequence) fragment ends that strayed past a chain break, and fragment starts that
    pull the next residue's N out of density, which builds leave out by default
    (:func:`~napari_densitybuild.joins.trim_short_links`,
    :mod:`~napari_densitybuild.stray_ends`, :mod:`~napari_densitybuild.pulled_starts`)."""
    _add_off_switch(
        p,
        "trim_links",
        DEFAULT_TRIM_LINKS,
        "keep residues detected twice (linked C-alphas under 2.5 A apart), fragment ends "
        "linked to the rest by a step under 3.3 A, fragment starts that pull the next "
        "residue's N out of density and, with a sequence, fragment ends that strayed past a "
        "chain break (left out by default: nearly always wrong trace steps)",
    )


def add_frame_search(p: argparse.ArgumentParser) -> None:
    """``--no-frame-search``: with a sequence, leave residues whose sequence type the classifier
    doubts in the frames they were built in (:mod:`~napari_densitybuild.frame_search`)."""
    _add_off_switch(
        p,
        "frame_search",
        DEFAULT_FRAME_SEARCH,
        "with --sequence, do not cut the boxes of residues whose sequence type the classifier "
        "doubts again in turned frames (by default they are posed in the frame that makes "
        "that type most probable: docs/build.md)",
    )


def add_fill_gaps(p: argparse.ArgumentParser) -> None:
    """``--no-fill-gaps``: with a sequence, leave the one or two residues its numbers show
    missing between fragments of one chain unbuilt (:mod:`~napari_densitybuild.gap_fill`), and
    junctions of consecutively numbered fragments as they are
    (:mod:`~napari_densitybuild.junctions`)."""
    _add_off_switch(
        p,
        "fill_gaps",
        DEFAULT_FILL_GAPS,
        "with --sequence, do not build the one or two residues the sequence numbers show "
        "missing between two fragments of one chain, nor rebuild the weaker residue where "
        "two consecutively numbered fragments meet unjoined or across a one-residue gap the "
        "fill cannot bridge (by default they are built where the map shows them: "
        "docs/build.md)",
    )


def add_link(p: argparse.ArgumentParser) -> None:
    """``--no-link``: without a sequence, leave fragment ends unlinked to the next fragment's
    start (:mod:`~napari_densitybuild.links`)."""
    _add_off_switch(
        p,
        "link",
        DEFAULT_LINK,
        "without --sequence, do not link a fragment's end to the nearest start of another "
        "through the one or two residues the map shows between them (docs/build.md)",
    )


def add_cis_prolines(p: argparse.ArgumentParser) -> None:
    """``--no-cis-prolines``: leave trans every link into a proline that the build made trans
    (:mod:`~napari_densitybuild.cis_peptides`), and without a sequence make no residue typed
    otherwise a cis proline (:mod:`~napari_densitybuild.doubted_prolines`)."""
    _add_off_switch(
        p,
        "cis_prolines",
        DEFAULT_CIS_PROLINES,
        "do not try the trans links into prolines again as cis peptides (by default each is "
        "rebuilt cis where its two residues fit the map better so; without --sequence, also "
        "links into residues with some proline probability: docs/build.md)",
    )


def add_settle(p: argparse.ArgumentParser) -> None:
    """``--no-settle``: end the build without its last short refinement of every atom
    (:mod:`~napari_densitybuild.settle`)."""
    _add_off_switch(
        p,
        "settle",
        DEFAULT_SETTLE,
        "do not end with one short refinement of every atom (by default the model settles in "
        "15 iterations after the last step: docs/build.md)",
    )


def at_least_one(text: str) -> int:
    """argparse type: an integer of 1 or more."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def at_least_zero(text: str) -> int:
    """argparse type: an integer of 0 or more."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def add_passes(p: argparse.ArgumentParser) -> None:
    """``--passes N``: rounds of classify + pose + refine in a build."""
    p.add_argument(
        "--passes",
        type=at_least_one,
        default=DEFAULT_PASSES,
        help=f"rounds of classify + pose + refine; each after the first re-cuts the boxes on "
        f"the refined backbone (default {DEFAULT_PASSES})",
    )


def add_peptide_turns(p: argparse.ArgumentParser) -> None:
    """``--peptide-turns none|last|every``: which passes' refinement turns peptide units by any
    angle where their carbonyl O fits the map better (:mod:`~napari_densitybuild.pepflip`)."""
    p.add_argument(
        "--peptide-turns",
        choices=PEPTIDE_TURNS,
        default=DEFAULT_PEPTIDE_TURNS,
        help="which passes turn peptides by any angle about their C-alpha axis where the O fits "
        "the map better; the others try the full flip alone (default "
        f"{DEFAULT_PEPTIDE_TURNS}: docs/build.md)",
    )


#: The help of a command's MAP argument (gemmi reads MTZ files only unpacked).
MAP_HELP = "map file: .mtz, .ccp4, .map or .mrc (the last three gzipped too)"


def add_weights(p: argparse.ArgumentParser, detector: bool = True) -> None:
    """``--weights`` (classifier) and, with ``detector``, ``--detector`` (.safetensors)."""
    p.add_argument("--weights", help="classifier .safetensors (default: the shipped weights)")
    if detector:
        p.add_argument("--detector", help="detector .safetensors (default: the shipped weights)")


def add_build_options(p: argparse.ArgumentParser, sequence_help: str) -> None:
    """What a build is made with (``build`` and ``batch``): map columns, sequence, device,
    refinement, test-time augmentation, H-bond evidence, passes, NCS, weak and clashing
    fragments, joins across crystal contacts, cis-linked fragment ends, frame search, gap
    filling, links, cis prolines, the last settling, peptide turns and weights."""
    add_columns(p)
    p.add_argument("--sequence", metavar="FASTA", help=sequence_help)
    add_device(p)
    p.add_argument("--no-refine", action="store_true", help="skip real-space refinement")
    add_tta(p)
    add_build_steps(p)
    add_weights(p)


def add_build_steps(p: argparse.ArgumentParser) -> None:
    """The options of a build's steps (``build``, ``batch`` and ``evaluate --task build``):
    H-bond evidence, passes, NCS, weak and clashing fragments, joins across crystal contacts,
    cis-linked fragment ends, frame search, gap filling, links, cis prolines, the last settling
    and peptide turns."""
    add_environment(p)
    add_passes(p)
    add_ncs(p)
    add_weak_fragments(p)
    add_clashing_fragments(p)
    add_join(p)
    add_trim_links(p)
    add_frame_search(p)
    add_fill_gaps(p)
    add_link(p)
    add_cis_prolines(p)
    add_settle(p)
    add_peptide_turns(p)


def add_waters(p: argparse.ArgumentParser) -> None:
    """``--waters``: ordered waters added at the map's peaks beside the built model."""
    p.add_argument("--waters", action="store_true",
                   help="add ordered waters at the map's round peaks beside the model's N and O "
                   "atoms (as `densitybuild waters` does; B 30, a chain of their own; with "
                   "measured amplitudes in the MTZ, only if they lower R-work)")  # fmt: skip
