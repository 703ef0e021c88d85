"""Defaults shared by the command line, the napari widget and the library (no heavy imports)."""

#: What ``--device`` and the widgets accept (``cuda:N`` too; see ``device.pick_device``).
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")

#: Test-time augmentation copies per box when classifying (see ``Classifier``; 0: off).
DEFAULT_TTA = 4
#: Frame jitter (A, degrees) of those copies, and the seed of their draw.
TTA_SHIFT, TTA_ANGLE, TTA_SEED = 0.3, 8.0, 0
#: Add the H-bond evidence of the surroundings to the classifier's ASP/ASN, GLU/GLN and VAL/THR
#: odds where atoms are predicted (see ``environment``).
DEFAULT_ENVIRONMENT = True
#: Average the classifier's probabilities over NCS copies in a build (see ``ncs``).
DEFAULT_NCS = True
#: Rounds of classify + pose + refine in a build (see ``build.build``); a third pass over two
#: gave real validation map gamma +2 points of sequence recovery and left 3sb3 as it was.
DEFAULT_PASSES = 3
#: Chain neighbours refined on either side of the current residue by the review panel's Refine
#: zone (see ``backbone_edit.refine_zone``).
ZONE_BESIDE = 2
#: When atoms are refined for good (a build's last pass, the widget's Predict poses and type
#: corrections), each sigma by which the heavier atoms of an ASN or GLN amide (O) or HIS ring
#: (N) gain density when turned round counts as this many H-bonds (``sideflip``): over builds
#: of 13 real maps it left 9 fewer residues more than 1 A off (docs/build.md). A build's
#: earlier passes only frame the next pass's boxes and decide by H-bonds alone.
AMIDE_DENSITY_WEIGHT = 1.0
#: In every pass of a build but the last, residues whose type the classifier gives less than
#: this probability (and that no sequence fixes) are refined as alanine, so that a side chain
#: of the wrong type cannot pull the backbone, and with it the next pass's box, towards itself
#: (see ``pass_types.scaffold_types``; 0 turns it off).
DEFAULT_SCAFFOLD_BELOW = 0.5
#: Builds leave out fragments of at most this many residues whose mean confidence (detector
#: score x top class probability, 0-100) is under this: on builds of 13 real maps such
#: fragments held 99 residues with no deposited C-alpha within 1 A (65 of 4iid's 76 in its
#: glycans) and 3 that matched one (docs/build.md). None keeps every fragment.
DEFAULT_WEAK_FRAGMENTS: tuple[int, float] | None = (10, 50.0)
#: Builds leave out fragments of at most this many residues with a heavy atom closer than this
#: (A, the evaluation's clash distance) to one of a longer fragment or a crystal copy of one
#: (see ``clashing_fragments``; ``--keep-clashing-fragments``: not).
CLASHING_FRAGMENTS: tuple[int, float] = (5, 2.2)
DEFAULT_CLASHING_FRAGMENTS = True
#: Builds join fragments where one ends at peptide-bond distance from a crystal copy of another's
#: start, moving the second onto that copy (see ``joins``).
DEFAULT_JOIN = True
#: After the last pass, builds leave out one residue of each linked pair whose refined C-alphas
#: are under 2.5 A apart (one residue detected twice), and a fragment's end residue where its
#: refined link to the rest is cis (C-alphas under 3.3 A apart; nearly always a wrong trace step
#: that pulls its neighbour out of density), and refine their neighbours again
#: (``joins.trim_short_links``).
DEFAULT_TRIM_LINKS = True
#: With a sequence, builds search the frames of residues whose sequence type the classifier
#: doubts again (``frame_search``; ``--no-frame-search``: not): on 13 real maps with their
#: sequences, in two draws, backbone and all-atom RMSD sums fell, no match or type was lost
#: and fewer residues clashed (docs/build/types.md, "Frames searched again").
DEFAULT_FRAME_SEARCH = True
#: Which build passes' refinement turns peptide units by any angle about their C-alpha axis
#: where the carbonyl O fits the map better (``peptide_turns``: "last", "every" or "none"; the
#: others try the full flip alone). "every": with the short fragments in impossible contact left
#: out (``DEFAULT_CLASHING_FRAGMENTS``), on 13 real maps in two draws, both modes, backbone and
#: all-atom RMSD sums, residues over 1 A off and Ramachandran outliers fell and no match or
#: type was lost (docs/build/peptides.md, "Peptide units turned by any angle", and
#: docs/build/fragments.md, "Short fragments in impossible contact"); on the three held-out
#: maps the backbone error fell without a sequence but the all-atom error did not
#: (docs/build.md, "Without a sequence", "With the sequence").
PEPTIDE_TURNS = ("none", "last", "every")
DEFAULT_PEPTIDE_TURNS = "every"
#: With a sequence and ``DEFAULT_TRIM_LINKS``, builds leave out fragment ends that strayed past
#: a chain break (``stray_ends``; ``--no-trim-links``: not): on 13 real maps with their
#: sequences, in two draws, 13-14 residues that matched no deposited one went and nothing else
#: changed; since 2026-12-06 the residues beside them are refined again, which passed the same
#: rule (docs/build/fragments.md, "Stray fragment ends").
DEFAULT_STRAY_ENDS = True
#: With ``DEFAULT_TRIM_LINKS``, builds leave out fragment starts that pull the next residue's N
#: out of density (``pulled_starts``; ``--no-trim-links``: not): on 13 real maps, two fresh
#: draws in each mode, 10-14 built residues that matched nothing went per sweep, matched and
#: correctly typed residues rose, and backbone and all-atom sums, clashing and Ramachandran
#: outlier residues fell (docs/build/fragments.md, "Fragment starts that pull the next N out of
#: density").
DEFAULT_PULLED_STARTS = True
#: With ``DEFAULT_TRIM_LINKS``, leave out fragment ends that pull the C and O of the residue
#: before out of density and turn the new ends (``pulled_ends``): off until judged on the 13
#: real maps (docs/build/fragments.md, "Fragment ends that pull the C and O before them out of
#: density").
DEFAULT_PULLED_ENDS = False
#: With a sequence and ``DEFAULT_FILL_GAPS``, where a fragment ends at residue n and another
#: of the same molecule starts at n + 1 unjoined, builds leave out the one of the two in weaker
#: density so that the gap fill builds it again (``open_junctions``; ``--no-fill-gaps``: not):
#: on 13 real maps with their sequences, two fresh draws, 7 such junctions a build; matched and
#: correctly typed residues rose by 2 a draw, clashing residues fell 142 -> 105, and backbone
#: and all-atom sums fell by 5 and 6 % (docs/build/chains.md, "Junctions opened for the gap
#: fill").
DEFAULT_OPEN_JUNCTIONS = True
#: With ``DEFAULT_OPEN_JUNCTIONS``, builds also open one-residue gaps the gap fill cannot bridge
#: as they stand: the end of the two in weaker density left out, so two residues are built
#: (``open_stuck_gaps``; ``--no-fill-gaps``: not): on 13 real maps with their sequences, two
#: fresh draws, one such gap (2apb) opened and filled a draw, matched and correctly typed
#: residues up by 3, backbone and all-atom sums down by 2 and 5 % (docs/build/chains.md,
#: "Junctions opened for the gap fill").
DEFAULT_OPEN_STUCK_GAPS = True
#: Without a sequence, leave out the weaker of a fragment end and the start a peptide's length
#: from it, unjoined, for the link step to build again (``open_unnumbered``): off; it failed its
#: rule by the all-atom clause (docs/build/chains.md, "Junctions opened for the gap fill").
DEFAULT_OPEN_UNNUMBERED = False
#: With a sequence, builds build the one or two residues the numbering shows missing between
#: fragments of one chain where the map shows them (``fill_gaps``; ``--no-fill-gaps``: not): on
#: 13 real maps with their sequences, in two draws, 3 residues were built, all at their
#: deposited place and type, and nothing else changed (docs/build/chains.md, "Gaps filled").
DEFAULT_FILL_GAPS = True
#: Without a sequence, builds link each fragment's end to the nearest other start through the
#: one or two new residues the map shows between them (``link``; ``--no-link``: not): on 13 real
#: maps, in two draws, 4 and 6 residues were built, every one at a deposited residue, chains
#: stayed one deposited copy each, and nothing else changed (docs/build/chains.md, "Fragments
#: linked").
DEFAULT_LINK = True
#: Builds try each trans link into a proline again as a cis peptide after the last step and keep
#: it cis where the two residues' atoms sit in higher density (``cis_prolines``;
#: ``--no-cis-prolines``: not): on 13 real maps, in three draws, both modes, 37 deposited cis
#: prolines more were built cis and none where the deposited peptide is trans; backbone and
#: all-atom RMSD sums, residues over 1 A off, clashing and Ramachandran outliers fell, and no
#: match or type was lost (docs/build/peptides.md, "Cis prolines rebuilt after the build").
DEFAULT_CIS_PROLINES = True
#: Without a sequence, builds then try the trans links inside fragments into residues the
#: classifier typed otherwise but gave some proline probability as cis prolines, and keep those
#: the map clearly prefers so (``doubted_prolines``; off with ``--no-cis-prolines``): on 13
#: real maps, in three fresh draws, 11 residues were made prolines, all at deposited cis
#: prolines, 11 more typed right, and the backbone sum fell (docs/build/peptides.md, "Cis prolines
#: among residues typed otherwise, without a sequence").
DEFAULT_DOUBTED_PROLINES = True
#: Builds end with one short round of refinement of every atom (``settle``; ``--no-settle``:
#: not): on 13 real maps, in three draws of each mode, backbone and all-atom RMSD sums,
#: clashing and Ramachandran outlier residues fell, and no match or type was lost
#: (docs/build/refinement.md, "A last short refinement").
DEFAULT_SETTLE = True
#: With ``DEFAULT_SETTLE``, refit side chains with an atom out of density once more before
#: the last round (``final_rotamers``; None: where a sequence is given, whose types change
#: residues after the passes). With a sequence, on 13 real maps in two fresh draws, the summed
#: all-atom RMSD fell 0.7 % and residues over 1 A off by 6, backbone unchanged within 0.001 A
#: (rule 3); without one it did not help (docs/build/side_chains.md, "A last rotamer fit").
DEFAULT_FINAL_ROTAMERS: bool | None = None

#: Below this mean map value (sigma) at a model's C-alphas, ``classify``, ``waters`` and
#: Review model ask whether the model sits in the map (another crystal form, another frame:
#: ``model_checks.off_map_note``).
MODEL_IN_MAP_CA_DENSITY = 0.5


def weak_fragments_rule(keep: bool) -> tuple[int, float] | None:
    """``build``'s ``weak_fragments`` argument: None when weak fragments are to be kept
    (``--keep-weak-fragments``, the widget's checkbox), else the default rule."""
    return None if keep else DEFAULT_WEAK_FRAGMENTS


#: Lowest peak height (sigma) of the map for an ordered water (:mod:`.waters`; Coot's Find
#: Waters uses 1.4 in a 2mFo-DFc map); chosen on the 13 real maps outside the held-out set.
WATER_LEVEL = 1.5
