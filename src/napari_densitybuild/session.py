"""A review session: the residues of a build that a person inspects and corrects, with undo.

A :class:`Session` holds one :class:`ResidueState` per residue (box frame, classifier
probabilities, the type in use, atoms) and a history of snapshots, so every edit (change a
type, move, insert or delete a residue) can be undone and redone. It is saved as JSON next to
the map (or in a per-user folder), in a file no other running session writes (:mod:`.autosave`),
after every edit, so closing napari or a crash loses nothing; :meth:`Session.load` reads it
back. Nothing here imports Qt or napari: the napari widget (``_napari/_build_widget.py``) only
shows a session and forwards clicks to it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .assemble import model_structure
from .autosave import AutosaveClaim, autosave_path, renew_claim
from .build_result import BuildResult
from .errors import DensityBuildError
from .refine import AtomModel
from .residue_state import UNKNOWN, ResidueState, parse_type
from .residues import AMINO_ACIDS, HEAVY_ATOMS, INDEX, class_index

if TYPE_CHECKING:
    import gemmi

    from .maps import DensityMap
    from .symmetry import Symmetry
    from .trace import Trace

FORMAT = "densitybuild-session/1"
#: Undo steps kept.
HISTORY = 200

__all__ = ["HISTORY", "UNKNOWN", "ResidueState", "Session", "autosave_path", "parse_type"]


@dataclass
class Session:
    """The residues under review, their history, and where they are saved.

    Attributes
    ----------
    residues
        Current residues, in chain order.
    map_path
        The map they were built into (the autosave file sits next to it).
    meta
        Cell, space group and other facts kept with the session.
    """

    residues: list[ResidueState] = field(default_factory=list)
    map_path: str | None = None
    meta: dict = field(default_factory=dict)
    _undo: list[list[ResidueState]] = field(default_factory=list, repr=False)
    _redo: list[list[ResidueState]] = field(default_factory=list, repr=False)
    autosave: bool = True
    #: Why the last autosave failed ("" when it was written or not asked for).
    autosave_error: str = field(default="", repr=False, compare=False)
    #: The autosave file this session writes, claimed on the first save (see :mod:`.autosave`).
    autosave_claim: AutosaveClaim | None = field(default=None, repr=False, compare=False)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_trace(
        cls, trace: Trace, map_path: str | None = None, dmap: DensityMap | None = None
    ) -> Session:
        """A session of placed, not yet classified residues (one C-alpha atom each)."""
        centres, rotations = trace.frames()
        rows = []
        for r in range(len(trace)):
            f = int(trace.fragment[r])
            k = int(np.count_nonzero(trace.fragment[:r] == f)) + 1
            rows.append(ResidueState(_chain(f), k, "", UNKNOWN, (), tuple(map(float, centres[r])),
                                     tuple(map(float, rotations[r].ravel())),
                                     float(trace.score[r]),
                                     (("CA", *map(float, trace.ca[r])),)))  # fmt: skip
        return cls(rows, map_path, _meta(dmap))

    @classmethod
    def from_build(cls, result: BuildResult, map_path: str | None = None) -> Session:
        """A build's residues as built, each boxed on its own N, CA, C (else the trace's box)."""
        centres, rotations = result.trace.frames()
        rows = []
        for r in range(len(result)):
            atoms = atoms_at(result.model, result.model.xyz, r)
            rows.append(ResidueState(
                str(result.chain[r]), int(result.seqid[r]), str(result.icode[r]),
                int(result.types[r]), tuple(np.round(result.probs[r], 5).tolist()),
                tuple(map(float, centres[r])), tuple(map(float, rotations[r].ravel())),
                float(result.trace.score[r]), atoms,
            ).reframed())  # fmt: skip
        meta = {}
        if result.dmap is not None and result.dmap.kind == "xray":
            meta = {
                "cell": list(result.dmap.cell.parameters),
                "spacegroup": result.dmap.spacegroup.hm,
            }
        if result.report.get("chain_sequences"):  # a residue built into a gap takes its type
            meta["chain_sequences"] = dict(result.report["chain_sequences"])
        return cls(rows, map_path, meta)

    @classmethod
    def from_structure(
        cls, st: gemmi.Structure, map_path: str | None = None, dmap: DensityMap | None = None
    ) -> Session:
        """A session of a model's amino-acid residues (those with N, CA and C) to review: types
        as modelled (MSE and the like as their parent; of alternative conformations, the
        first), frames from N, CA, C, no classifier probabilities, detector score 1."""
        from .boxes import backbone_frames
        from .models import backbone_residues

        st = st.clone()
        st.remove_alternative_conformations()  # the first of each (also of a residue's types)
        bb, _ = backbone_residues(st, with_atoms=True)
        centres, rotations = backbone_frames(bb.n, bb.ca, bb.c, fallback=True)
        rows = []
        for r in range(len(bb.ca)):
            t = class_index(bb.resname[r])
            if t is None:  # an amino acid outside the 20: its backbone only
                t, named = UNKNOWN, zip(("N", "CA", "C"), (bb.n[r], bb.ca[r], bb.c[r]))
            else:
                named = ((n, bb.atoms[r, k]) for k, n in enumerate(HEAVY_ATOMS[AMINO_ACIDS[t]]))
            atoms = tuple((n, *map(float, p)) for n, p in named if np.isfinite(p).all())
            frame = tuple(map(float, centres[r])), tuple(map(float, rotations[r].ravel()))
            rows.append(ResidueState(str(bb.chain[r]), int(bb.seqid[r]), str(bb.icode[r]), t, (),
                                     *frame, 1.0, atoms))  # fmt: skip
        meta = _meta(dmap) if dmap is not None else (
            {"cell": list(st.cell.parameters), "spacegroup": st.spacegroup_hm}
            if st.cell.is_crystal() else {})  # fmt: skip
        return cls(rows, map_path, meta)

    def follow(self, previous: Session) -> None:
        """Continue ``previous``'s history: one Undo brings its residues back (a new build or
        placement replacing a model loses nothing)."""
        self._undo = [*previous._undo, previous.residues][-HISTORY:]
        self._redo = []

    # -- edits (each one undoable) -------------------------------------------------------------
    def _commit(self, residues: list[ResidueState]) -> None:
        self._undo.append(self.residues)
        del self._undo[:-HISTORY]
        self._redo.clear()
        self.residues = residues
        self.save_autosave()

    def set_type(
        self,
        index: int,
        new_type: str | int,
        atoms: Iterable[tuple[str, float, float, float]] | None = None,
    ) -> ResidueState:
        """Change a residue's type (three- or one-letter code, or class index). ``atoms`` are
        the new type's atoms ((name, x, y, z) tuples, e.g. from the pose head; the box is then
        framed on their N, CA and C); without them the residue keeps its backbone atoms alone.
        """
        t = parse_type(new_type)
        old = self._get(index)
        if atoms is None:
            keep = set(HEAVY_ATOMS[AMINO_ACIDS[t]])
            atoms = tuple(a for a in old.atoms if a[0] in ("N", "CA", "C", "O") and a[0] in keep)
        new = replace(old, type=t, atoms=tuple(tuple(a) for a in atoms), edited=True).reframed()
        rows = list(self.residues)
        rows[index] = new
        self._commit(rows)
        return new

    def apply(self, updates: dict[int, ResidueState]) -> None:
        """Replace several residues in one undoable step (e.g. after classifying them)."""
        if not updates:
            return
        rows = list(self.residues)
        for i, new in updates.items():
            self._get(i)
            rows[i] = new
        self._commit(rows)

    def apply_unchanged(
        self, updates: dict[int, ResidueState], rows: list[ResidueState]
    ) -> list[int]:
        """Apply ``updates``, computed for the residues ``rows`` (an earlier ``residues``), to
        those of them still in the session unchanged, wherever they now are, in one undoable
        step; returns their indices now (the others were edited or deleted meanwhile)."""
        where = {id(r): j for j, r in enumerate(self.residues)}
        now = {where[id(rows[i])]: new for i, new in updates.items() if id(rows[i]) in where}
        self.apply(now)
        return sorted(now)

    def replace(self, residues: list[ResidueState]) -> None:
        """Replace every residue in one undoable step (a chain joined, residues built into a
        gap: rows move and are renumbered)."""
        self._commit(list(residues))

    def delete(self, index: int) -> ResidueState:
        """Remove a residue."""
        old = self._get(index)
        self._commit([r for k, r in enumerate(self.residues) if k != index])
        return old

    def insert(self, residue: ResidueState, index: int | None = None) -> int:
        """Add a residue (at ``index``, default the end); returns its index."""
        rows = list(self.residues)
        index = len(rows) if index is None else int(index)
        rows.insert(index, replace(residue, edited=True))
        self._commit(rows)
        return index

    def undo(self) -> bool:
        """Undo the last edit; False if there is none."""
        if not self._undo:
            return False
        self._redo.append(self.residues)
        self.residues = self._undo.pop()
        self.save_autosave()
        return True

    def redo(self) -> bool:
        """Redo the last undone edit; False if there is none."""
        if not self._redo:
            return False
        self._undo.append(self.residues)
        self.residues = self._redo.pop()
        self.save_autosave()
        return True

    @property
    def can_undo(self) -> bool:
        """Whether there is a change to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone change to redo."""
        return bool(self._redo)

    def _get(self, index: int) -> ResidueState:
        if not 0 <= index < len(self.residues):
            raise DensityBuildError(f"no residue {index} (the session has {len(self.residues)})")
        return self.residues[index]

    # -- review --------------------------------------------------------------------------------
    def doubtful(self, after: int | None = None, fit: np.ndarray | None = None) -> int | None:
        """The next residue to look at: lowest confidence (or lowest ``fit``) first, skipping
        residues already edited; ``after`` continues the list past that residue."""
        if not self.residues:
            return None
        key = np.array([r.confidence for r in self.residues]) if fit is None else np.asarray(fit)
        order = [int(i) for i in np.argsort(key, kind="stable") if not self.residues[i].edited]
        if not order:
            return None
        if after is None or after not in order:
            return order[0]
        k = order.index(after)
        return order[(k + 1) % len(order)]

    def symmetry(self) -> Symmetry:
        """The crystal symmetry of the session's cell and space group (none without a cell)."""
        from .symmetry import Symmetry

        cell = self.meta.get("cell")
        if not cell:
            return Symmetry.none()
        import gemmi

        return Symmetry.from_cell(gemmi.UnitCell(*cell), self.meta.get("spacegroup") or "P 1")

    # -- output ------------------------------------------------------------------------------
    def atom_model(self) -> tuple[AtomModel, list]:
        """The atoms as an :class:`AtomModel` plus (chain, seqid, icode, confidence) columns."""
        xyz, atom, element, residue, linked = [], [], [], [], []
        for r, res in enumerate(self.residues):
            for name, *p in res.atoms:
                xyz.append(p), atom.append(name), element.append(name[0]), residue.append(r)
            prev = self.residues[r - 1] if r else None
            linked.append(prev is not None and prev.chain == res.chain
                          and np.linalg.norm(prev.ca - res.ca) < 4.3)  # fmt: skip
        model = AtomModel(np.array(xyz, float).reshape(-1, 3), np.array(atom, dtype=object),
                          np.array(element, dtype=object), np.array(residue, dtype=np.int64),
                          np.array([r.name for r in self.residues], dtype=object),
                          np.array(linked, dtype=bool))  # fmt: skip
        cols = [np.array([getattr(r, k) for r in self.residues], dtype=object)
                for k in ("chain", "seqid", "icode")]  # fmt: skip
        cols.append(np.round([r.confidence for r in self.residues], 2))
        return model, cols

    def structure(self, dmap: DensityMap | None = None) -> gemmi.Structure:
        """The corrected model as a gemmi Structure (B-factor column: confidence)."""
        if not self.residues:
            raise DensityBuildError("the session has no residues: nothing to export")
        from .seq_chains import followed_sequences

        model, (chain, seqid, icode, conf) = self.atom_model()
        st = model_structure(model, chain, seqid, icode, conf, dmap, followed_sequences(self))
        if dmap is None and self.meta.get("cell"):
            import gemmi

            st.cell = gemmi.UnitCell(*self.meta["cell"])
            st.spacegroup_hm = self.meta.get("spacegroup", "P 1")
        return st

    # -- files -------------------------------------------------------------------------------
    def to_json(self) -> dict:
        """JSON-ready form (residues and meta; the history is not saved)."""
        rows = [{"chain": r.chain, "seqid": r.seqid, "icode": r.icode, "type": r.name,
                 "probs": [round(p, 5) for p in r.probs], "centre": r.centre,
                 "rotation": r.rotation, "score": r.score, "edited": r.edited,
                 "atoms": [[a[0], *(round(v, 3) for v in a[1:])] for a in r.atoms]}
                for r in self.residues]  # fmt: skip
        return {"format": FORMAT, "map": self.map_path, "meta": self.meta, "residues": rows}

    def save(self, path: str | Path) -> Path:
        """Write the session (atomically: a crash mid-write keeps the previous file)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json()) + "\n")
        os.replace(tmp, path)
        return path

    def save_autosave(self) -> Path | None:
        """Save to the map's autosave file (if there is a map and autosave): one no other running
        session writes, claimed on the first save (:func:`~.autosave.claim_autosave`)."""
        self.autosave_error = ""
        if not (self.autosave and self.map_path):
            return None
        path = autosave_path(self.map_path)
        try:
            self.autosave_claim = claim = renew_claim(self.autosave_claim, self.map_path)
            return self.save(path := claim.path)
        except OSError as e:  # a read-only folder must not break editing, but is said
            self.autosave_error = f"{path}: {e.strerror or e}"
            return None

    @classmethod
    def load(cls, path: str | Path) -> Session:
        """Read a session file.

        Raises
        ------
        DensityBuildError
            If the file is not a session file.
        """
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise DensityBuildError(f"{path}: not a readable session file ({e})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DensityBuildError(f"{path}: not a densitybuild session ({FORMAT})")
        try:
            rows = [_row(d) for d in data["residues"]]
            meta = data.get("meta") or {}
            if not isinstance(meta, dict):
                raise ValueError("meta is not a mapping")
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise DensityBuildError(f"{path}: a damaged session file ({type(e).__name__}: "
                                    f"{e})") from None  # fmt: skip
        return cls(rows, data.get("map"), meta)


def _row(d: dict) -> ResidueState:
    """One residue of a session file, checked (a wrong shape raises ValueError)."""
    centre, rotation = tuple(map(float, d["centre"])), tuple(map(float, d["rotation"]))
    probs = tuple(map(float, d["probs"]))
    atoms = tuple((str(a[0]), *map(float, a[1:])) for a in d["atoms"])
    if len(centre) != 3 or len(rotation) != 9 or len(probs) not in (0, len(AMINO_ACIDS)):
        raise ValueError(f"residue {d.get('chain')} {d.get('seqid')}: a frame or probabilities "
                         "of the wrong size")  # fmt: skip
    if any(len(a) != 4 for a in atoms) or not all(np.isfinite(a[1:]).all() for a in atoms):
        raise ValueError(f"residue {d.get('chain')} {d.get('seqid')}: an atom without x, y, z")
    return ResidueState(str(d["chain"]), int(d["seqid"]), str(d.get("icode", "")),
                        INDEX.get(d["type"], UNKNOWN), probs, centre, rotation,
                        float(d["score"]), atoms, bool(d.get("edited")))  # fmt: skip


def atoms_at(
    model: AtomModel, xyz: np.ndarray, r: int
) -> tuple[tuple[str, float, float, float], ...]:
    """The atoms of residue ``r`` of a session's :meth:`Session.atom_model` at positions
    ``xyz`` (refined, say), as :class:`ResidueState` holds them: (name, x, y, z)."""
    idx = np.flatnonzero(model.residue == r)
    return tuple((str(model.atom[k]), *map(float, xyz[k])) for k in idx)


def _meta(dmap: DensityMap | None) -> dict:
    if dmap is None or dmap.kind != "xray":
        return {}
    return {"cell": list(dmap.cell.parameters), "spacegroup": dmap.spacegroup.hm}


def _chain(fragment: int) -> str:
    from .assemble import chain_name

    return chain_name(fragment)
