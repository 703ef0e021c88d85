"""The whole pipeline on one map: place, classify, pose, (align to a sequence), refine, assemble.

:func:`build` is what ``densitybuild build``, the batch runner and the napari "Auto-build"
button call. Each stage reports progress through one callback, which may raise to cancel.

Examples
--------
>>> result = build(read_map("map.mtz"), Placer.from_path(), Classifier.from_path())
... # doctest: +SKIP
>>> write_structure(result.structure(), "model.cif")  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .assemble import number_residues, sequence_gaps
from .build_result import (
    BuildResult,
    atoms_for_types,
    backbone_of,
    recount,
    without_weak_fragments,
)
from .cis_peptides import rebuild_cis_prolines
from .clashing_fragments import without_clashing_fragments
from .classify import Classifier
from .density_field import DensityField
from .doubted_prolines import rebuild_doubted_prolines
from .errors import DensityBuildError
from .frame_search import refit_doubted
from .gap_fill import fill_gaps as fill_sequence_gaps
from .joins import join_fragments, mend_junctions, trim_short_links
from .junctions import open_junctions as open_unjoined
from .links import link_fragments
from .maps import DensityMap
from .ncs import EDGE_DEPTH, average_copies, ncs_groups
from .pass_types import scaffold_types, sequence_types
from .place import Placer
from .pose import frame_to_world
from .pulled_starts import without_pulled
from .refine import AtomModel, refine
from .seq_chains import sequence_chains
from .settings import (
    AMIDE_DENSITY_WEIGHT,
    DEFAULT_CIS_PROLINES,
    DEFAULT_CLASHING_FRAGMENTS,
    DEFAULT_DOUBTED_PROLINES,
    DEFAULT_FILL_GAPS,
    DEFAULT_FINAL_ROTAMERS,
    DEFAULT_FRAME_SEARCH,
    DEFAULT_JOIN,
    DEFAULT_LINK,
    DEFAULT_NCS,
    DEFAULT_OPEN_JUNCTIONS,
    DEFAULT_OPEN_STUCK_GAPS,
    DEFAULT_OPEN_UNNUMBERED,
    DEFAULT_PASSES,
    DEFAULT_PEPTIDE_TURNS,
    DEFAULT_PULLED_ENDS,
    DEFAULT_PULLED_STARTS,
    DEFAULT_SCAFFOLD_BELOW,
    DEFAULT_SETTLE,
    DEFAULT_STRAY_ENDS,
    DEFAULT_TRIM_LINKS,
    DEFAULT_WEAK_FRAGMENTS,
    PEPTIDE_TURNS,
)
from .settle import settle as settle_model
from .stray_ends import without_stray_ends
from .symmetry import Symmetry

#: ``progress(stage, done, total)``; it may raise to cancel.
StageProgress = Callable[[str, int, int], None]
#: The stage names ``progress`` is called with, in order (``frame_search`` and ``settle`` only
#: where those steps run).
STAGES = ("place", "classify", "sequence", "refine", "reclassify", "refine_again",
          "frame_search", "assemble", "settle")  # fmt: skip
#: L-BFGS iterations of each refinement round in the passes before the last (whose refinement
#: frames the next pass's boxes) and in the last pass (docs/build/refinement.md, "Longer refinement
#: in the passes").
FRAMING_ITERATIONS = 30
LAST_PASS_ITERATIONS = 30


def _report_residues(result: BuildResult, key: str, rows: list[int]) -> None:
    """Count ``rows`` (residue indices of ``result``) under ``key`` in the report, and name
    them (chain, number, insertion code) under ``key + "_at"``, for review."""
    result.report[key] = len(rows)
    result.report[f"{key}_at"] = [
        f"{result.chain[r]} {result.seqid[r]}{str(result.icode[r]).strip()}" for r in rows
    ]


def build(
    dmap: DensityMap,
    placer: Placer,
    classifier: Classifier,
    sequences: list[str] | None = None,
    do_refine: bool = True,
    progress: StageProgress | None = None,
    passes: int = DEFAULT_PASSES,
    ncs: bool = DEFAULT_NCS,
    ncs_side_chains: bool = False,
    scaffold_below: float = DEFAULT_SCAFFOLD_BELOW,
    weak_fragments: tuple[int, float] | None = DEFAULT_WEAK_FRAGMENTS,
    clashing_fragments: bool = DEFAULT_CLASHING_FRAGMENTS,
    join: bool = DEFAULT_JOIN,
    trim_links: bool = DEFAULT_TRIM_LINKS,
    frame_search: bool = DEFAULT_FRAME_SEARCH,
    stray_ends: bool = DEFAULT_STRAY_ENDS,
    pulled_starts: bool = DEFAULT_PULLED_STARTS,
    pulled_ends: bool = DEFAULT_PULLED_ENDS,
    fill_gaps: bool = DEFAULT_FILL_GAPS,
    open_junctions: bool = DEFAULT_OPEN_JUNCTIONS,
    open_stuck_gaps: bool = DEFAULT_OPEN_STUCK_GAPS,
    open_unnumbered: bool = DEFAULT_OPEN_UNNUMBERED,
    link: bool = DEFAULT_LINK,
    peptide_turns: str = DEFAULT_PEPTIDE_TURNS,
    cis_prolines: bool = DEFAULT_CIS_PROLINES,
    doubted_prolines: bool = DEFAULT_DOUBTED_PROLINES,
    settle: bool = DEFAULT_SETTLE,
    final_rotamers: bool | None = DEFAULT_FINAL_ROTAMERS,
) -> BuildResult:
    """Build a model into ``dmap``.

    Parameters
    ----------
    dmap
        The map.
    placer, classifier
        Stage 1, and stages 2 and 3 (the classifier needs a pose head).
    sequences
        Optional one-letter sequences: fragments are aligned to them (types and numbering).
    do_refine
        Real-space refine the atoms with ideal geometry.
    progress
        ``progress(stage, done, total)``.
    passes
        Rounds of classify, pose and refine. The first cuts boxes in the frames of the placed
        trace; each later one cuts them again in the frames of the refined N, CA, C, which sit
        closer to the truth (on the real validation maps 3sb3 and gamma, a second pass lifted
        sequence recovery from 0.83-0.84 to 0.87 and cut the backbone RMSD by a quarter; a
        third lifted gamma from 0.88 to 0.90 and its backbone RMSD from 0.24 to 0.15 A).
        Without refinement there is one pass. With an atom head (:attr:`.Classifier.has_atom_head`)
        the last pass builds its atoms from that head; the pose head frames every pass's boxes
        and feeds the H-bond evidence, so the types do not depend on the atom head.
    ncs
        Average the probabilities of residues that are copies of each other in the asymmetric
        unit (non-crystallographic symmetry, :mod:`.ncs`) before types are chosen.
    ncs_side_chains
        With ``ncs``, give copies the side-chain conformation that fits their summed density
        best (:mod:`.ncs_side_chains`; off by default: on the real maps measured it fixed some
        side chains and broke others, docs/build.md).
    scaffold_below
        In the passes before the last, residues whose type has a probability under this are
        refined as alanine (:func:`scaffold_types`); 0 refines every residue with its type.
    weak_fragments
        (length, confidence): leave out fragments of at most ``length`` residues whose mean
        detector score x top class probability (0-100) is under ``confidence``
        (:meth:`.Trace.weak_fragments`); None keeps every fragment. Never leaves nothing.
    clashing_fragments
        Leave out fragments of at most :data:`~.clashing_fragments.MAX_LENGTH` residues in an
        impossible contact with a longer fragment or a crystal copy of one
        (:mod:`.clashing_fragments`).
    join
        Join fragments where one ends at peptide-bond distance from a crystal copy (or the
        same copy) of another's start (:mod:`.joins`), then refine the new junctions.
    trim_links
        Leave out one of each pair of linked residues whose refined C-alphas are under 2.5 A
        apart (one residue detected twice) and the end residues of fragments whose refined
        link to the rest is cis, and refine the residues next to them again
        (:func:`.joins.trim_short_links`).
    stray_ends
        With a sequence and ``trim_links``, leave out fragment ends that strayed past a chain
        break: the less confident of a fragment end and another's start on one sequence
        position (:mod:`.stray_ends`).
    pulled_starts
        With ``trim_links``, leave out fragment starts whose peptide holds the next residue's
        N where turning it about that residue's CA-C axis finds clearly more density
        (:mod:`.pulled_starts`).
    pulled_ends
        With ``trim_links``, leave out fragment ends whose peptide holds the C and O of the
        residue before where turning them about its N-CA axis finds clearly more density, and
        turn the new ends (:func:`.pulled_starts.pulled_ends`).
    frame_search
        With a sequence, cut the boxes of residues whose sequence type the classifier doubts
        again in turned frames, and where one makes that type clearly more probable, pose and
        refine the residue in it (:mod:`.frame_search`).
    fill_gaps
        With a sequence, build the one or two residues its numbers show missing between two
        fragments of one chain where the map shows them (:mod:`.gap_fill`).
    open_junctions
        With a sequence and ``fill_gaps``, where a fragment ends at residue n and another of the
        same molecule starts at n + 1 without a peptide between them, leave out the one in
        weaker density, so that the gap fill builds it again (:mod:`.junctions`).
    open_stuck_gaps
        With ``open_junctions``, also leave out the weaker end of a one-residue gap that the gap
        fill cannot bridge as it stands, so that it builds two (:func:`.junctions.stuck_gaps`).
    open_unnumbered
        Without a sequence and with ``link``, leave out the weaker of a fragment end and the
        start a peptide's length from it, unjoined, for the link step to build again
        (:func:`.junctions.unnumbered_junctions`; off: it failed its rule).
    link
        Without a sequence, link each fragment's end to the nearest start of another through
        the one or two new residues the map shows between them (:mod:`.links`).
    peptide_turns
        Which passes' refinement turns peptide units by any angle where their O fits the map
        better (:data:`~.pepflip.TURN_ANGLES`; the others try the full flip alone): "every"
        (the default), "last" or "none".
    cis_prolines
        After the last step, rebuild cis the trans links into prolines whose two residues fit
        the map better with a cis peptide (:mod:`.cis_peptides`; needs ``do_refine``).
    doubted_prolines
        With ``cis_prolines`` and without a sequence, then try the trans links into residues
        typed otherwise that the classifier gives some proline probability as cis prolines, and
        keep those the map clearly prefers so (:mod:`.doubted_prolines`).
    settle
        Last of all, one short round of refinement of every atom, without flips
        (:mod:`.settle`; needs ``do_refine``).
    final_rotamers
        With ``settle``, refit side chains out of density first (``settle(refit=True)``);
        None: where a sequence is given (whose types change residues after the passes).

    Raises
    ------
    DensityBuildError
        When nothing is placed, the classifier has no pose head, ``passes`` < 1, or
        ``peptide_turns`` is not one of :data:`~.settings.PEPTIDE_TURNS`.
    """
    if not classifier.has_poses:
        raise DensityBuildError("the classifier weights have no pose head: cannot build atoms")
    if passes < 1:
        raise DensityBuildError(f"passes must be 1 or more, not {passes}")
    if peptide_turns not in PEPTIDE_TURNS:
        raise DensityBuildError(f"peptide turns: one of {', '.join(PEPTIDE_TURNS)}, "
                                f"not {peptide_turns!r}")  # fmt: skip
    times: dict[str, float] = {}

    def tick(stage: str, t0: float, done: int = 1, total: int = 1) -> float:
        times[stage] = round(times.get(stage, 0.0) + time.perf_counter() - t0, 3)
        if progress is not None:
            progress(stage, done, total)
        return time.perf_counter()

    t = time.perf_counter()
    stage_cb = (lambda s: lambda d, n: progress(s, d, n)) if progress else (lambda s: None)
    placed = placer.place(dmap, progress=stage_cb("place"))
    if len(placed) == 0:
        raise DensityBuildError("no residues were found in the map (is it a protein map in "
                                "sigma units, at 3.5 A or better?)")  # fmt: skip
    t = tick("place", t)
    centres, rotations = placed.frames()
    refined: dict = {"peptide_flips": 0, "rotamer_changes": 0, "side_chain_flips": 0,
                     "start_turns": 0, "ncs_side_chains": 0}  # fmt: skip
    ncs_residues = 0
    groups = None
    passes = passes if do_refine else 1
    model: AtomModel | None = None
    field: DensityField | None = None
    for k in range(passes):
        stage = "classify" if k == 0 else "reclassify"
        if model is not None:  # frames from the refined backbone: nearer the truth than the trace's
            centres, rotations = classifier.frames(*backbone_of(model))
        # the last pass's model takes its atoms from the atom head (the same forward pass)
        atom_head = k == passes - 1 and classifier.has_atom_head
        probs, coords, *atoms = classifier.classify_frames(
            dmap, centres, rotations, stage_cb(stage), poses="both" if atom_head else True
        )
        poses = frame_to_world(coords, centres, rotations)
        probs = classifier.weigh_environment(dmap, probs, poses)
        if ncs:
            ca = placed.ca if model is None else backbone_of(model)[1]
            groups = ncs_groups(ca, placed.fragment, probs)
            probs = average_copies(probs, groups, dmap.depth_inside(ca) >= EDGE_DEPTH)
            ncs_residues = int(np.count_nonzero(np.bincount(groups)[groups] > 1))
        if atom_head:
            poses = frame_to_world(atoms[0], centres, rotations)
        t = tick(stage, t)
        types, positions, record = sequence_types(probs, placed, sequences)
        aligned = record >= 0
        t = tick("sequence", t)
        if k == passes - 1 or scaffold_below <= 0:
            model = atoms_for_types(poses, types, placed)
        else:  # this refinement only frames the next pass's boxes
            model = atoms_for_types(poses, scaffold_types(probs, types, aligned, scaffold_below),
                                    placed)  # fmt: skip
        if do_refine:
            info: dict = {}
            # the map is resampled once, around the first pass's atoms (later passes move
            # atoms by well under the field's 4 A margin)
            field = field if field is not None else DensityField(dmap, model.xyz)
            flip_weight = AMIDE_DENSITY_WEIGHT if k == passes - 1 else 0.0  # others only frame
            turns = peptide_turns == "every" or (peptide_turns == "last" and k == passes - 1)
            iterations = LAST_PASS_ITERATIONS if k == passes - 1 else FRAMING_ITERATIONS
            model.xyz = refine(model, dmap, field=field, info=info, iterations=iterations,
                               ncs_groups=groups if ncs_side_chains else None,
                               flip_density_weight=flip_weight, peptide_turns=turns)  # fmt: skip
            for key in refined:
                refined[key] += info.get(key, 0)
        t = tick("refine" if k == 0 else "refine_again", t)
    refits = 0
    if frame_search and do_refine and aligned.any():
        refits = refit_doubted(model, dmap, classifier, types, probs, aligned, placed.fragment)
        t = tick("frame_search", t)
    chain, seqid, icode = number_residues(placed, positions)
    confidence = np.round(100.0 * placed.score * probs[np.arange(len(types)), types], 2)
    report = {"residues": len(types), "fragments": placed.fragment_count,
              "mean_fragment_length": float(placed.fragment_lengths().mean()),
              "aligned_to_sequence": int(aligned.sum()),
              "sequence_gaps": int(sequence_gaps(placed, positions).sum()), "atoms": len(model),
              **refined, "ncs_residues": ncs_residues, "frames_searched_again": refits,
              "passes": passes,
              "seconds": times}  # fmt: skip
    result = BuildResult(placed, probs, poses, types, chain, seqid, icode, model, confidence,
                         dmap, report, record if sequences else None)  # fmt: skip
    if trim_links:
        result, kept, twice = trim_short_links(result, dmap if do_refine else None,
                                               renumber=not sequences)  # fmt: skip
        aligned = aligned[kept]
        result.report.update(
            duplicates_left_out=twice, cis_ends_left_out=int((~kept).sum()) - twice
        )
        recount(result, aligned)
    if weak_fragments is not None:
        result, kept = without_weak_fragments(result, aligned, *weak_fragments)
        aligned = aligned[kept]
    sym = Symmetry.of_map(dmap)
    if clashing_fragments:
        result, kept = without_clashing_fragments(result, aligned, sym)
        aligned = aligned[kept]
    if sequences and trim_links and stray_ends:
        result, kept = without_stray_ends(result, aligned, sym, dmap if do_refine else None)
        aligned = aligned[kept]
    if trim_links and pulled_starts:
        result, kept = without_pulled(result, aligned, dmap, do_refine)
        aligned = aligned[kept]
    if trim_links and pulled_ends:
        result, kept = without_pulled(result, aligned, dmap, do_refine, ends=True)
        aligned = aligned[kept]
    if join:
        result, junction = join_fragments(result, sym, renumber=not sequences)
        if do_refine:
            mend_junctions(result, junction, dmap)
    if link and not sequences and open_unnumbered:
        result, kept = open_unjoined(result, aligned, None, sym, dmap, do_refine)
        aligned = aligned[kept]
    if link and not sequences:
        result = link_fragments(result, dmap, classifier, sym, do_refine)
    if sequences and fill_gaps and open_junctions:
        result, kept = open_unjoined(result, aligned, sequences, sym, dmap, do_refine,
                                     stuck=open_stuck_gaps)  # fmt: skip
        aligned = aligned[kept]
    if sequences:
        result = sequence_chains(result, sym, sequences)
        if fill_gaps:
            result = fill_sequence_gaps(result, dmap, classifier, sequences, sym, do_refine)
    if cis_prolines and do_refine:
        _report_residues(result, "cis_prolines_rebuilt", rebuild_cis_prolines(result, dmap))
    if cis_prolines and doubted_prolines and do_refine and not sequences:
        _report_residues(result, "prolines_made_cis", rebuild_doubted_prolines(result, dmap))
    t = tick("assemble", t)
    if settle and do_refine:
        refit = bool(sequences) if final_rotamers is None else final_rotamers
        result.model.xyz = settle_model(result.model, dmap, refit=refit, info=result.report)
        tick("settle", t)
    result.report["seconds"]["total"] = round(sum(times.values()), 3)
    return result
