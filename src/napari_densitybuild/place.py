"""Stage 1: find the residues of a map with the C-alpha detector, once each, and trace chains.

:class:`Placer` runs the detector (:mod:`napari_densitybuild.nets.detector`) over the map in
overlapping cubic tiles on a Cartesian grid at the net's spacing (memory bounded by the tile,
cost linear in the volume), turns the voxels it marks into C-alpha votes (voxel + predicted
offset), merges votes by non-maximum suppression, drops crystal-symmetry copies
(:func:`unique_under_symmetry`), and hands the residues to :func:`~.trace.trace` for chains.

For an X-ray map that covers its unit cell the detector looks at the cell's Cartesian bounding
box: it holds at least one copy of every residue. Other maps are searched where they have data.

Examples
--------
>>> placer = Placer.from_path()  # doctest: +SKIP
>>> placed = placer.place(read_map("map.mtz"))  # doctest: +SKIP
>>> len(placed), placed.fragment_count  # doctest: +SKIP
(268, 7)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree

from .device import pick_device
from .errors import DensityBuildError
from .maps import DensityMap
from .nets.fold import fold_batchnorm
from .symmetry import Symmetry
from .trace import Trace, trace

#: ``progress(done, total)``; it may raise (e.g. to cancel from a GUI).
Progress = Callable[[int, int], None]
#: Index (i, j, k) of a tile array -> world axes (x, y, z) = (k, j, i).
PERM = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=float)


@dataclass(eq=False)
class Detections:
    """C-alpha detections in world coordinates.

    Attributes
    ----------
    ca
        (N, 3) positions.
    to_n, to_c
        (N, 3) unit vectors CA->N and CA->C.
    score
        (N,) peak probability of the detection.
    votes
        (N,) number of voxels that voted for it.
    """

    ca: np.ndarray
    to_n: np.ndarray
    to_c: np.ndarray
    score: np.ndarray
    votes: np.ndarray

    def __len__(self) -> int:
        return len(self.ca)

    def subset(self, keep: np.ndarray) -> Detections:
        """The detections selected by a mask or index array."""
        return Detections(self.ca[keep], self.to_n[keep], self.to_c[keep], self.score[keep],
                          self.votes[keep])  # fmt: skip


def map_stats(dmap: DensityMap) -> tuple[float, float]:
    """Mean and sd of the map over the region its file covered (the detector's input rule);
    for a cryo-EM box, over its voxels that are not exactly 0 (padding or a mask's outside)."""
    arr = np.array(dmap.grid, copy=False)
    if not dmap.covers_cell or dmap.kind == "em":
        arr = arr[arr != 0]
    return float(arr.mean(dtype=np.float64)), float(max(arr.std(dtype=np.float64), 1e-6))


def search_region(dmap: DensityMap) -> tuple[np.ndarray, np.ndarray]:
    """World box (x, y, z min, max) searched: the cell's bounding box, or the data's."""
    if dmap.periodic:
        return dmap.display_region(margin=0.0)
    return dmap.data_min.copy(), dmap.data_max.copy()


class Placer:
    """The C-alpha detector plus the settings that turn its output into residues.

    Parameters
    ----------
    net
        The detector net (moved to ``device``, eval mode).
    config
        Its weights config (``spacing`` in A per voxel).
    device
        Where to run.
    tile
        Edge (voxels) of the part of each tile that is kept; tiles overlap by ``halo``.
    halo
        Extra voxels around each tile, cut off after the net (tile + 2 halo: multiple of 4).
    voxel_threshold
        Voxels with a C-alpha probability above this vote.
    merge_radius
        Votes within this distance (A) of a peak vote are averaged into the detection.
    nms_radius
        No two detections closer than this (A); consecutive C-alphas are 3.8 A apart.
    min_votes, min_score
        A detection needs this many votes and this peak probability.
    min_fragment
        Traced fragments shorter than this are dropped: on the real validation maps every
        single residue and pair left alone by the tracer was a false detection (ligands,
        waters, noise), while real residues sit in longer fragments.
    """

    def __init__(
        self,
        net: torch.nn.Module,
        config: dict,
        device: str | torch.device = "cpu",
        tile: int = 48,
        halo: int = 8,
        voxel_threshold: float = 0.3,
        merge_radius: float = 1.0,
        nms_radius: float = 2.6,
        min_votes: int = 2,
        min_score: float = 0.5,
        min_fragment: int = 3,
    ) -> None:
        if (tile + 2 * halo) % 4:
            raise DensityBuildError(f"tile + 2 * halo must be a multiple of 4 ({tile}, {halo})")
        self.device = pick_device(device)
        self.net = fold_batchnorm(net).to(self.device)  # eval mode, batch norm folded
        self.config = config
        self.spacing = float(config.get("spacing", 1.0))
        self.tile, self.halo = int(tile), int(halo)
        self.voxel_threshold, self.merge_radius = voxel_threshold, merge_radius
        self.nms_radius, self.min_votes, self.min_score = nms_radius, min_votes, min_score
        self.min_fragment = int(min_fragment)

    @classmethod
    def from_path(cls, path: str | Path | None = None, device: str = "auto", **kw) -> Placer:
        """Load the detector (default: the weights shipped in the package).

        Raises
        ------
        DensityBuildError
            If no path is given and this installation ships no detector weights.
        """
        from .detector_weights import load_detector, shipped_detector_path

        if path is None:
            path = shipped_detector_path()
            if path is None:
                raise DensityBuildError(
                    "this installation ships no C-alpha detector weights "
                    "(napari_densitybuild/weights/detector.safetensors); pass --detector PATH"
                )
        dev = pick_device(device)
        net, config = load_detector(path, dev)
        return cls(net, config, dev, **kw)

    # -- detection -----------------------------------------------------------------------------
    def tiles(self, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
        """Start indices (x, y, z voxels from ``lo``) of the tiles covering [lo, hi]."""
        n = np.ceil((np.asarray(hi) - np.asarray(lo)) / self.spacing).astype(int) + 1
        axes = [np.arange(0, max(int(k), 1), self.tile) for k in n]
        return [np.array([x, y, z]) for z in axes[2] for y in axes[1] for x in axes[0]]

    @torch.inference_mode()
    def _run_tile(self, dmap: DensityMap, origin: np.ndarray, stats: tuple[float, float]):
        size = self.tile + 2 * self.halo
        matrix = PERM * self.spacing
        vals = dmap.sample_transform(matrix, origin, (size,) * 3)
        x = torch.from_numpy((vals - stats[0]) / stats[1])[None, None].to(self.device)
        # mixed precision on a GPU (bf16 where supported); fp32 on the CPU
        amp = self.device.type == "cuda"
        dtype = torch.bfloat16 if amp and torch.cuda.is_bf16_supported() else torch.float16
        with torch.autocast(self.device.type, dtype=dtype, enabled=amp):
            out = self.net(x.contiguous(memory_format=torch.channels_last_3d))
        out = out[0].float().cpu().numpy()
        h, t = self.halo, self.tile
        core = out[:, h : h + t, h : h + t, h : h + t]
        prob = 1.0 / (1.0 + np.exp(-core[0]))
        idx = np.argwhere(prob > self.voxel_threshold)
        if not len(idx):
            return None
        i, j, k = idx.T
        vox = idx + h  # index in the tile input
        off = core[1:4, i, j, k].T
        world = origin + (vox + off) @ matrix.T
        to_n = core[4:7, i, j, k].T @ PERM.T
        to_c = core[7:10, i, j, k].T @ PERM.T
        return world, prob[i, j, k], to_n, to_c

    def detect(self, dmap: DensityMap, progress: Progress | None = None) -> Detections:
        """All C-alpha detections in the search region (symmetry copies not yet removed)."""
        lo, hi = search_region(dmap)
        stats = map_stats(dmap)
        starts = self.tiles(lo, hi)
        parts = []
        for t, start in enumerate(starts):
            origin = lo + self.spacing * (start - self.halo)
            got = self._run_tile(dmap, origin, stats)
            if got is not None:
                world, p, tn, tc = got
                inside = np.all((world >= lo - 0.5) & (world <= hi + 0.5), axis=1)
                parts.append(tuple(a[inside] for a in (world, p, tn, tc)))
            if progress is not None:
                progress(t + 1, len(starts))
        if not parts:
            empty = np.zeros((0, 3))
            return Detections(empty, empty, empty, np.zeros(0), np.zeros(0, int))
        world, p, tn, tc = (np.concatenate(a) for a in zip(*parts))
        return self.suppress(world, p, tn, tc)

    def suppress(
        self, votes: np.ndarray, p: np.ndarray, to_n: np.ndarray, to_c: np.ndarray
    ) -> Detections:
        """Non-maximum suppression of voxel votes into detections (see class parameters)."""
        # strongest first; ties broken by position, so the result does not depend on tiling
        order = np.lexsort((votes[:, 2], votes[:, 1], votes[:, 0], -p))
        tree = cKDTree(votes)
        # every vote's merge neighbours at once, in the order a single query gives them
        merge = tree.query_ball_point(votes, self.merge_radius, return_sorted=False)
        unit_n, unit_c = _unit(to_n), _unit(to_c)
        used = np.zeros(len(p), dtype=bool)
        rows = []
        for i in order:
            if used[i]:
                continue
            near = np.asarray(merge[i], dtype=int)
            near = near[~used[near]]
            w = p[near][:, None]
            centre = (votes[near] * w).sum(0) / w.sum()
            dn = (unit_n[near] * w).sum(0)
            dc = (unit_c[near] * w).sum(0)
            used[np.asarray(tree.query_ball_point(centre, self.nms_radius), dtype=int)] = True
            used[near] = True
            if len(near) >= self.min_votes and p[i] >= self.min_score:
                rows.append((centre, _unit(dn), _unit(dc), p[i], len(near)))
        if not rows:
            empty = np.zeros((0, 3))
            return Detections(empty, empty, empty, np.zeros(0), np.zeros(0, int))
        ca, dn, dc, score, count = zip(*rows)
        return Detections(np.array(ca), np.array(dn), np.array(dc), np.array(score),
                          np.array(count))  # fmt: skip

    # -- the whole stage -----------------------------------------------------------------------
    def place(self, dmap: DensityMap, progress: Progress | None = None) -> Trace:
        """Detect, keep one copy of each residue, and trace fragments (see :mod:`.trace`)."""
        sym = Symmetry.of_map(dmap)
        det = unique_under_symmetry(self.detect(dmap, progress), sym)
        return trace(det, dmap, sym).without_short(self.min_fragment)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def unique_under_symmetry(det: Detections, sym: Symmetry, radius: float = 2.0) -> Detections:
    """Keep one detection per set of symmetry copies (the higher score wins).

    A detection is dropped when an image of a kept one (space-group operation plus lattice
    translation) lies within ``radius`` A of it. Maps without symmetry only lose exact
    duplicates (none, after suppression).
    """
    if len(det) == 0 or not sym.periodic:
        return det
    order = np.argsort(-det.score)
    tree = cKDTree(det.ca)
    dropped = np.zeros(len(det), dtype=bool)
    keep = []
    for i in order:
        if dropped[i]:
            continue
        keep.append(i)
        images = sym.images(det.ca[i : i + 1])["xyz"]
        for hits in tree.query_ball_point(images, radius):
            dropped[hits] = True
        dropped[i] = True
    return det.subset(np.sort(np.array(keep, dtype=int)))
