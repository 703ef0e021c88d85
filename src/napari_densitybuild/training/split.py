"""Split the training structures into train/val/test by complex and by sequence identity.

Rules (the split itself is committed as ``split.json`` next to this module):

* a complex (the first 4 characters of a file name) is never divided between splits;
* complexes whose chains are more than ``threshold`` (30 %) identical are grouped (connected
  components), and whole groups go to one split, so no val/test chain is more than 30 %
  identical to any training chain;
* identity = identical aligned positions / length of the shorter chain, from a global
  alignment (``gemmi.align_string_sequences``, BLOSUM62, gap open -10, extend -1);
* a pair counts as similar only if the alignment is also significant: its score is more than
  ``Z_MIN`` (8) standard deviations above the scores of the shorter chain shuffled (20
  shuffles). Without that test, a short chain aligned globally to a long one reaches 35-55 %
  "identity" by chance (shuffled 100-mers against a 2,000-residue chain give 0.45) and all
  complexes merge into one group. Of the ~66k pairs above 30 %, most real homologues score
  z = 10-60; z > 8 expects about one chance pair (Gumbel tail), z > 5 about 60;
* every pair of distinct chain sequences is compared (exact: all 248k pairs, 2 processes; no
  k-mer prefilter, which could miss a 30 % pair with few shared k-mers);
* the chains of the real maps are compared with all training chains too, and the complexes
  similar to each real map are recorded (``real_similar``) next to the README's list;
* groups holding complexes that overlap the real maps (``OVERLAPS_REAL`` from the data README,
  and those found similar here) go to train, so a net fine-tuned on real maps is not scored on
  their simulated twins. ``overlaps_real`` in the JSON lists the README's complexes and their
  split (all train): exclude them when validating on 3k0n, 2apb or 5orl.

Build it again with ``python -m napari_densitybuild.training.split`` (about 6 minutes).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import gemmi
import numpy as np

from ..residues import PARENT
from . import structures_dir

#: The committed split.
SPLIT_PATH = Path(__file__).with_name("split.json")
#: Chains more identical than this (fraction of the shorter chain) may not cross splits.
THRESHOLD = 0.30
#: ... if their alignment score is also this many standard deviations above shuffled chains.
Z_MIN = 8.0
#: Shuffles of the shorter chain for the z-score.
SHUFFLES = 20
#: Complexes of structures/ that overlap real maps (data README): real map -> complexes.
OVERLAPS_REAL = {
    "3k0n": ("1AK4",),
    "2apb": ("1SBB", "1IQD", "1K4C", "3EO1", "1BGX", "1VFB", "1WEJ", "3V6Z", "1I9R", "1NSN",
             "2VIS", "3G6D", "3L5W", "4DN4"),
    "5orl": ("4FZA", "2OZA"),
}  # fmt: skip
SPLITS = ("train", "val", "test")


def complex_code(path: str | Path) -> str:
    """The complex a structure file belongs to: the first 4 characters of its name."""
    return Path(path).name[:4].upper()


def chain_sequences(path: str | Path) -> list[tuple[str, tuple[str, ...]]]:
    """(chain name, residue names) of the amino-acid chains of a model file's first model.

    Modified residues are read as their parent (MSE -> MET).
    """
    st = gemmi.read_structure(str(path))
    out = []
    for ch in st[0]:
        names = []
        for res in ch:
            info = gemmi.find_tabulated_residue(res.name)
            if info is not None and info.is_amino_acid():
                names.append(PARENT.get(res.name, res.name))
        if names:
            out.append((ch.name, tuple(names)))
    return out


_SCORING = None


def _align(a: tuple[str, ...] | np.ndarray, b: tuple[str, ...]) -> gemmi.AlignmentResult:
    global _SCORING
    if _SCORING is None:
        _SCORING = gemmi.AlignmentScoring("b")
    return gemmi.align_string_sequences(list(a), list(b), [], _SCORING)


def identity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """Identical aligned positions / length of the shorter chain (global BLOSUM62 alignment)."""
    if not a or not b:
        return 0.0
    return _align(a, b).match_count / min(len(a), len(b))


def similarity(
    a: tuple[str, ...], b: tuple[str, ...], threshold: float = THRESHOLD
) -> tuple[float, float]:
    """Identity of two chains and, when it is above ``threshold``, the z-score of the alignment.

    The z-score compares the alignment score with those of the shorter chain shuffled
    (``SHUFFLES`` times, seeded by the sequences: deterministic); it stops early (after 5
    shuffles) when the z-score is clearly below ``Z_MIN``.

    Returns
    -------
    identity, z
        ``z`` is NaN when the identity is at or below ``threshold``.
    """
    if not a or not b:
        return 0.0, float("nan")
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    result = _align(short, long_)
    ident = result.match_count / len(short)
    if ident <= threshold:
        return ident, float("nan")
    seed = zlib.crc32(("".join(short) + "/" + "".join(long_)).encode())
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(SHUFFLES):
        scores.append(_align(rng.permutation(short), long_).score)
        if len(scores) >= 5 and result.score - np.mean(scores) < 0.5 * Z_MIN * np.std(scores):
            break  # clearly not significant
    sd = max(float(np.std(scores)), 1.0)
    return ident, (result.score - float(np.mean(scores))) / sd


def similar(a: tuple[str, ...], b: tuple[str, ...], threshold: float = THRESHOLD) -> bool:
    """True if two chains are more than ``threshold`` identical, significantly (z > Z_MIN)."""
    ident, z = similarity(a, b, threshold)
    return ident > threshold and z > Z_MIN


_SEQS: list = []


def _init(seqs: list) -> None:
    global _SEQS
    _SEQS = seqs


def _row(i: int) -> list[tuple[int, int, float, float]]:
    """Similar pairs (i, j > i) of the worker's sequence list."""
    out = []
    for j in range(i + 1, len(_SEQS)):
        ident, z = similarity(_SEQS[i], _SEQS[j])
        if ident > THRESHOLD:
            out.append((i, j, ident, z))
    return out


class _Groups:
    """Union-find over complex codes."""

    def __init__(self, codes: Iterable[str]) -> None:
        self.parent = {c: c for c in codes}

    def find(self, c: str) -> str:
        while self.parent[c] != c:
            self.parent[c] = self.parent[self.parent[c]]
            c = self.parent[c]
        return c

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


def build_split(
    folder: str | Path | None = None,
    seed: int = 0,
    threshold: float = THRESHOLD,
    fractions: tuple[float, float] = (0.1, 0.1),
    max_group_fraction: float = 0.02,
    workers: int = 2,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Build the split (see the module docstring); returns the JSON-ready dict.

    Parameters
    ----------
    folder
        The structures folder (default: :func:`~napari_densitybuild.training.structures_dir`).
    seed
        Seed of the group order (deterministic).
    threshold
        Identity above which chains must stay in one split.
    fractions
        Target fractions of residues in val and test.
    max_group_fraction
        Groups larger than this fraction of all residues go to train.
    workers
        Processes aligning chains.
    log
        Callable for progress lines (default: print to stderr).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    folder = Path(folder) if folder else structures_dir()
    files = sorted(p.name for p in folder.glob("*.pdb*"))
    if not files:
        raise FileNotFoundError(f"no structure files in {folder}")
    by_seq: dict[tuple[str, ...], set[str]] = defaultdict(set)
    residues: dict[str, int] = defaultdict(int)
    chains: dict[str, int] = defaultdict(int)
    files_of: dict[str, list[str]] = defaultdict(list)
    for name in files:
        code = complex_code(name)
        files_of[code].append(name)
        for _, seq in chain_sequences(folder / name):
            by_seq[seq].add(code)
            residues[code] += len(seq)
            chains[code] += 1
    groups = _Groups(files_of)
    seqs = sorted(by_seq, key=lambda s: (len(s), s))
    for seq in seqs:  # identical sequences: one group
        first, *rest = sorted(by_seq[seq])
        for c in rest:
            groups.union(first, c)
    n_pairs = len(seqs) * (len(seqs) - 1) // 2
    log(f"{len(files)} files, {len(files_of)} complexes, {len(seqs)} distinct chains, "
        f"{n_pairs} pairs to align")  # fmt: skip
    candidates = []
    rows = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]) * (len(seqs) - i))  # big first
    with multiprocessing.get_context("spawn").Pool(workers, _init, (seqs,)) as pool:
        for k, found in enumerate(pool.imap_unordered(_row, rows, chunksize=4)):
            candidates.extend(found)
            if k % 100 == 0:
                log(f"  {k}/{len(seqs)} chains compared, {time.perf_counter() - t0:.0f} s")
    n_similar = 0
    for i, j, _, z in sorted(candidates):
        if z > Z_MIN:
            groups.union(sorted(by_seq[seqs[i]])[0], sorted(by_seq[seqs[j]])[0])
            n_similar += 1
    members: dict[str, list[str]] = defaultdict(list)
    for code in sorted(files_of):
        members[groups.find(code)].append(code)
    similar_to_real = real_similar(by_seq, log)
    overlap = {c for cs in OVERLAPS_REAL.values() for c in cs}
    overlap |= {c for found in similar_to_real.values() for c in found}
    total = sum(residues.values())
    order = sorted(members)
    np.random.default_rng(seed).shuffle(order)
    assign: dict[str, str] = {}
    filled = {"val": 0, "test": 0}
    targets = {"val": fractions[0] * total, "test": fractions[1] * total}
    for root in order:
        codes = members[root]
        size = sum(residues[c] for c in codes)
        split = "train"
        if size <= max_group_fraction * total and not overlap.intersection(codes):
            for name in ("val", "test"):
                if filled[name] + size <= targets[name] * 1.02:
                    split = name
                    filled[name] += size
                    break
        for c in codes:
            assign[c] = split
    out: dict = {"seed": seed, "identity_threshold": threshold,
                 "z_min": Z_MIN,
                 "identity": "identical aligned positions / shorter chain length, global "
                             "BLOSUM62 alignment (gemmi), all pairs of distinct chains; similar "
                             "if above the threshold and z > z_min against shuffled chains",
                 "splits": {}, "counts": {}}  # fmt: skip
    for split in SPLITS:
        codes = sorted(c for c in assign if assign[c] == split)
        out["splits"][split] = codes
        out["counts"][split] = {
            "complexes": len(codes),
            "files": sum(len(files_of[c]) for c in codes),
            "chains": sum(chains[c] for c in codes),
            "residues": sum(residues[c] for c in codes),
        }
    multi = sorted((m for m in members.values() if len(m) > 1), key=lambda m: (-len(m), m))
    out["groups"] = {
        "count": len(members), "merged_complexes": sum(map(len, multi)),
        "largest": max(map(len, members.values())), "pairs_aligned": n_pairs,
        "pairs_above_threshold": len(candidates), "similar_pairs": n_similar,
        "members": [" ".join(m) for m in multi],
    }  # fmt: skip
    out["real_similar"] = similar_to_real
    out["overlaps_real"] = {
        real: {c: assign.get(c) for c in cs} for real, cs in OVERLAPS_REAL.items()
    }
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def real_similar(by_seq: dict, log: Callable[[str], None]) -> dict[str, dict[str, list[float]]]:
    """Complexes with a chain similar to a chain of each real map: {map: {code: [id, z]}}."""
    from .realdata import model_path, real_names

    out: dict[str, dict[str, list[float]]] = {}
    for name in real_names():
        found: dict[str, list[float]] = {}
        for real_seq in {seq for _, seq in chain_sequences(model_path(name))}:
            for seq, codes in by_seq.items():
                ident, z = similarity(real_seq, seq)
                if ident > THRESHOLD and z > Z_MIN:
                    for c in codes:
                        if ident > found.get(c, [0.0])[0]:
                            found[c] = [round(ident, 3), round(z, 1)]
        out[name] = dict(sorted(found.items()))
        log(f"  real map {name}: {len(found)} similar complexes")
    return out


def load_split(path: str | Path | None = None) -> dict:
    """The committed split (or the one at ``path``)."""
    return json.loads(Path(path or SPLIT_PATH).read_text())


def split_files(
    split: str, folder: str | Path | None = None, path: str | Path | None = None
) -> list[Path]:
    """Structure files of one split ("train", "val" or "test"), sorted."""
    folder = Path(folder) if folder else structures_dir()
    codes = set(load_split(path)["splits"][split])
    return sorted(p for p in folder.glob("*.pdb*") if complex_code(p) in codes)


def main(argv: list[str] | None = None) -> int:
    """Command line: build the split and write it as JSON."""
    p = argparse.ArgumentParser(description="Split the structures by complex and identity.")
    p.add_argument("--structures", help="structures folder (default: the data folder's)")
    p.add_argument("--out", default=str(SPLIT_PATH), help="output JSON")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    out = build_split(args.structures, seed=args.seed, workers=args.workers)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out["counts"]), f"{out['seconds']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
