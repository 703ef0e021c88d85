"""Stage 2: residue-type probabilities for boxes of density.

A :class:`Classifier` wraps a net loaded from a weights file and the box spec it was trained
with. It cuts boxes in that spec, applies the one input rule
(:func:`~napari_densitybuild.boxes.normalise_boxes`) and returns softmax probabilities over the
20 amino acids.

Examples
--------
>>> clf = Classifier.from_path("classifier.safetensors", device="cpu")  # doctest: +SKIP
>>> residues, skipped = clf.classify_model(read_map("map.mtz"), read_structure("model.cif"))
... # doctest: +SKIP
>>> residues[0]["pred"], residues[0]["confidence"]  # doctest: +SKIP
('LEU', 0.91)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gemmi
import numpy as np
import torch
from torch import nn

from .boxes import (
    BoxSpec,
    backbone_frames,
    cut_boxes,
    jitter_frames,
    normalise_boxes,
    poster_frames,
)
from .device import pick_device
from .errors import DensityBuildError
from .maps import DensityMap
from .nets.fold import fold_batchnorm
from .residues import MAX_ATOMS
from .settings import DEFAULT_ENVIRONMENT, DEFAULT_TTA, TTA_ANGLE, TTA_SEED, TTA_SHIFT
from .weights_io import box_spec, load_model, shipped_weights_path

#: ``progress(done, total)``; it may raise (e.g. to cancel from a GUI).
Progress = Callable[[int, int], None]
#: Bytes of raw boxes cut at once by :meth:`Classifier.classify_frames`.
CHUNK_BYTES = 64 * 2**20


def centre_crop(boxes: np.ndarray, size: int) -> np.ndarray:
    """The central ``size``^3 of boxes (B, n, n, n) (the poster's 41^3 of its 44^3 boxes)."""
    n = boxes.shape[-1]
    if size >= n:
        return boxes
    lo = (n - size) // 2
    return boxes[..., lo : lo + size, lo : lo + size, lo : lo + size]


class Classifier:
    """A residue classifier: net + box spec + class names, ready to predict.

    Parameters
    ----------
    net
        The net; the classifier keeps an eval-mode copy on ``device`` with batch norm folded
        into the convolutions (:func:`~napari_densitybuild.nets.fold.fold_batchnorm`).
    config
        Its weights config (``net``, ``box``, ``classes``; see :mod:`~.weights_io`).
    device
        Where to run.
    batch_size
        Boxes per forward pass.
    path
        The weights file, for reports.
    tta
        Test-time augmentation: also classify this many copies of each box with its frame
        jittered (0.3 A, 8 degrees; fixed seed) and average the probabilities. On the real
        validation maps 4 copies gained 2-3 points of top-1; poses come from the unjittered box.
    environment
        Where all residues of a model are classified (:meth:`classify_model`, ``build``) and the
        net predicts atoms, weigh ASP/ASN, GLU/GLN and VAL/THR by their H-bond partners
        (:mod:`~napari_densitybuild.environment`).
    """

    def __init__(
        self,
        net: nn.Module,
        config: dict[str, Any],
        device: str | torch.device = "cpu",
        batch_size: int = 64,
        path: str | Path | None = None,
        tta: int = 0,
        environment: bool = False,
    ) -> None:
        if batch_size < 1:
            raise DensityBuildError(f"batch size must be at least 1 (got {batch_size})")
        self.device = pick_device(device)
        # batch norm folded into the convolutions: same outputs, 9-27 % faster on these CPUs
        self.net = fold_batchnorm(net).to(self.device, memory_format=torch.channels_last_3d)
        self.config = config
        self.spec: BoxSpec = box_spec(config)
        self.classes: list[str] = list(config["classes"])
        self.batch_size = int(batch_size)
        self.path = None if path is None else Path(path)
        self.input_size = int(config["net"].get("input_size", self.spec.size))
        self.tta = int(tta)
        self.environment = bool(environment)

    @classmethod
    def from_path(
        cls,
        path: str | Path | None = None,
        device: str | torch.device = "auto",
        batch_size: int = 64,
        tta: int = DEFAULT_TTA,
        environment: bool = DEFAULT_ENVIRONMENT,
    ) -> Classifier:
        """Load a classifier from a weights file (default: the weights shipped with the package).

        Raises
        ------
        DensityBuildError
            If no path is given and this installation ships no weights, or the file is bad.
        """
        dev = pick_device(device)
        if path is None:
            path = shipped_weights_path()
            if path is None:
                raise DensityBuildError(
                    "this installation ships no classifier weights "
                    "(napari_densitybuild/weights/classifier.safetensors); pass a weights file "
                    "(--weights PATH) or train one with `densitybuild train`"
                )
        net, config = load_model(path, device=dev)
        return cls(net, config, device=dev, batch_size=batch_size, path=path, tta=tta,
                   environment=environment)  # fmt: skip

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()  # fp32 on CPU (bf16 is slow without bf16 units)

    @property
    def has_poses(self) -> bool:
        """Whether the net has a pose head (stage 3: atom coordinates for every type)."""
        return getattr(self.net, "pose_head", None) is not None

    @property
    def has_atom_head(self) -> bool:
        """Whether the net has a second pose head for the atoms of built models
        (:meth:`atom_poses`)."""
        return getattr(self.net, "atom_head", None) is not None

    def predict(
        self, boxes: np.ndarray, progress: Progress | None = None, poses: bool | str = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Probabilities (B, n_classes) for raw boxes (B, n, n, n) cut with :attr:`spec`.

        Boxes are normalised here (per-box mean 0, sd 1); don't normalise them before. With
        ``poses``, also the pose head's coordinates (B, n_classes, 14, 3) of every type's heavy
        atoms in each box's frame (see :mod:`~napari_densitybuild.pose`); with
        ``poses="atoms"``, the atom head's instead (:meth:`atom_poses`); with ``poses="both"``,
        both heads' as one (B, 2, n_classes, 14, 3) array (pose head first).
        """
        boxes = np.asarray(boxes)
        if boxes.ndim != 4 or boxes.shape[1:] != (self.spec.size,) * 3:
            raise DensityBuildError(
                f"expected boxes of shape (B, {self.spec.size}, {self.spec.size}, "
                f"{self.spec.size}) for this classifier, got {boxes.shape}"
            )
        self._check_heads(poses)
        out = np.empty((len(boxes), len(self.classes)), dtype=np.float32)
        coords = self._coords_buffer(len(boxes), poses)
        bs = self.batch_size
        with torch.inference_mode(), self._autocast():
            for start in range(0, len(boxes), bs):
                batch = normalise_boxes(centre_crop(boxes[start : start + bs], self.input_size))
                x = torch.from_numpy(np.ascontiguousarray(batch))[:, None]
                if self.device.type == "cuda":  # pinned host memory, asynchronous copy
                    x = x.pin_memory().to(self.device, non_blocking=True)
                probs, c = self._forward(x.to(self.device), poses)
                out[start : start + len(batch)] = probs
                if poses:
                    coords[start : start + len(batch)] = c
                if progress is not None:
                    progress(start + len(batch), len(boxes))
        return (out, coords) if poses else out

    def _check_heads(self, poses: bool | str) -> None:
        name = self.path or "this classifier"
        if poses and not self.has_poses:
            raise DensityBuildError(f"{name} has no pose head")
        if poses in ("atoms", "both") and not self.has_atom_head:
            raise DensityBuildError(f"{name} has no atom head")

    def _coords_buffer(self, n: int, poses: bool | str) -> np.ndarray | None:
        """Room for ``n`` boxes' coordinates: (n, C, 14, 3), (n, 2, C, 14, 3) for both heads."""
        if not poses:
            return None
        heads = (2,) if poses == "both" else ()
        return np.empty((n, *heads, len(self.classes), MAX_ATOMS, 3), np.float32)

    def _forward(self, x: torch.Tensor, poses: bool | str) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities (and pose coordinates) for a normalised (B, 1, n, n, n) batch."""
        x = x.contiguous(memory_format=torch.channels_last_3d)
        if poses == "both":  # one pass through the trunk for both heads
            logits, c_pose, c_atoms = self.net(x, pose="both")
            c = torch.stack((c_pose, c_atoms), 1).float().cpu().numpy()
        elif poses:
            logits, c = (self.net.forward_atoms if poses == "atoms" else self.net.forward_pose)(x)
            c = c.float().cpu().numpy()
        else:
            logits, c = self.net(x), None
        return torch.softmax(logits.float(), dim=1).cpu().numpy(), c

    def _classify_on_device(
        self,
        dmap: DensityMap,
        centres: np.ndarray,
        rotations: np.ndarray,
        progress: Progress | None,
        poses: bool | str,
    ):
        """Cut, normalise and classify on the device, batch by batch (no host round trip)."""
        from .device_boxes import DeviceMap

        dm = DeviceMap(dmap, self.device)
        total, bs = len(centres), self.batch_size
        out = np.empty((total, len(self.classes)), dtype=np.float32)
        coords = self._coords_buffer(total, poses)
        lo = (self.spec.size - self.input_size) // 2
        hi = lo + self.input_size
        with torch.inference_mode(), self._autocast():
            for start in range(0, total, bs):
                stop = min(start + bs, total)
                x = dm.cut(centres[start:stop], rotations[start:stop], self.spec)
                x = x[:, lo:hi, lo:hi, lo:hi].float()
                mean = x.mean(dim=(1, 2, 3), keepdim=True)
                sd = x.std(dim=(1, 2, 3), keepdim=True, unbiased=False).clamp(min=0.1)
                probs, c = self._forward(((x - mean) / sd)[:, None], poses)
                out[start:stop] = probs
                if poses:
                    coords[start:stop] = c
                if progress is not None:
                    progress(stop, total)
        return (out, coords) if poses else out

    def classify_frames(
        self,
        dmap: DensityMap,
        centres: np.ndarray,
        rotations: np.ndarray,
        progress: Progress | None = None,
        poses: bool | str = False,
        on_device: bool | None = None,
    ) -> np.ndarray | tuple[np.ndarray, ...]:
        """Probabilities (B, n_classes) for boxes cut from ``dmap`` in the given frames, averaged
        over :attr:`tta` jittered copies too (see :meth:`_classify_once` for the rest).

        ``progress`` counts every box scored, copies included, so a GUI's bar and Cancel cover
        the whole job; poses come from the unjittered boxes only. With ``poses="both"``: the
        probabilities, the pose head's and the atom head's coordinates, from one forward pass.
        """
        c = np.asarray(centres, dtype=float).reshape(-1, 3)
        r = np.asarray(rotations, dtype=float).reshape(-1, 3, 3)
        n = len(c)
        copies = max(self.tta, 0) if n else 0
        total = n * (copies + 1)

        def part(offset: int) -> Progress | None:
            return None if progress is None else (lambda done, _n: progress(offset + done, total))

        got = self._classify_once(dmap, c, r, part(0), poses, on_device)
        probs, coords = got if poses else (got, None)
        if copies:
            rng = np.random.default_rng(TTA_SEED)
            jit = [jitter_frames(c, r, rng, max_angle_deg=TTA_ANGLE, shift_sd=TTA_SHIFT)
                   for _ in range(copies)]  # fmt: skip
            more = self._classify_once(dmap, np.concatenate([j[0] for j in jit]),
                                       np.concatenate([j[1] for j in jit]), part(n), False,
                                       on_device)  # fmt: skip
            probs = (probs + more.reshape(copies, n, -1).sum(0)) / (copies + 1)
        if not poses:
            return probs
        return (probs, coords[:, 0], coords[:, 1]) if poses == "both" else (probs, coords)

    def atom_poses(
        self,
        dmap: DensityMap,
        centres: np.ndarray,
        rotations: np.ndarray,
        on_device: bool | None = None,
    ) -> np.ndarray | None:
        """The atom head's frame coordinates (B, n_classes, 14, 3) for boxes cut in the given
        frames (no test-time copies), or None when the net has no atom head.

        A build takes the atoms of its model from these in its last pass; the pose head's
        (:meth:`classify_frames` with ``poses``) keep framing the boxes and feeding the H-bond
        evidence, so the types are those the pose head's frames give.
        """
        if not self.has_atom_head:
            return None
        return self._classify_once(dmap, centres, rotations, None, "atoms", on_device)[1]

    def model_atoms(
        self, dmap: DensityMap, centres: np.ndarray, rotations: np.ndarray
    ) -> np.ndarray:
        """Frame coordinates (B, n_classes, 14, 3) to build a model's atoms from: the atom
        head's (:meth:`atom_poses`) where the net has one, else the pose head's."""
        coords = self.atom_poses(dmap, centres, rotations)
        if coords is None:
            _, coords = self.classify_frames(dmap, centres, rotations, poses=True)
        return coords

    def _classify_once(
        self,
        dmap: DensityMap,
        centres: np.ndarray,
        rotations: np.ndarray,
        progress: Progress | None = None,
        poses: bool | str = False,
        on_device: bool | None = None,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Probabilities (B, n_classes) for boxes cut from ``dmap`` in the given frames.

        On the CPU, boxes are cut with gemmi in chunks of about :data:`CHUNK_BYTES`, so memory
        stays bounded. On a GPU (or with ``on_device=True``) the map goes to the device once
        and boxes are cut there (:mod:`~napari_densitybuild.device_boxes`), batch by batch.
        With ``poses``, also the frame coordinates of every type's atoms (see :meth:`predict`).
        """
        centres = np.asarray(centres, dtype=float).reshape(-1, 3)
        rotations = np.asarray(rotations, dtype=float).reshape(-1, 3, 3)
        total = len(centres)
        if len(rotations) != total:
            raise DensityBuildError(f"{total} centres but {len(rotations)} rotations")
        self._check_heads(poses)
        if on_device if on_device is not None else self.device.type != "cpu":
            return self._classify_on_device(dmap, centres, rotations, progress, poses)
        per_box = 4 * self.spec.size**3
        chunk = max(self.batch_size, CHUNK_BYTES // per_box // self.batch_size * self.batch_size)
        out = np.empty((total, len(self.classes)), dtype=np.float32)
        coords = self._coords_buffer(total, poses)
        for start in range(0, total, chunk):
            stop = min(start + chunk, total)
            boxes = cut_boxes(dmap, centres[start:stop], rotations[start:stop], self.spec)

            def inner(done: int, _n: int, offset: int = start) -> None:
                if progress is not None:
                    progress(offset + done, total)

            got = self.predict(boxes, progress=inner, poses=poses)
            if poses:
                out[start:stop], coords[start:stop] = got
            else:
                out[start:stop] = got
        return (out, coords) if poses else out

    def frames(self, n: np.ndarray, ca: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, ...]:
        """Box frames (centres, rotations) for residues in this classifier's convention."""
        if self.spec.frame == "axis":
            return poster_frames(ca)
        return backbone_frames(n, ca, c)

    def classify_model(
        self,
        dmap: DensityMap,
        structure: gemmi.Structure | str | Path,
        progress: Progress | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Classify every residue of a model (its first model) in ``dmap``: one dict per
        residue (``chain``, ``seqid``, ``ref``, ``pred``, ``probs``, ...) and the counts of
        residues left out; see :func:`~napari_densitybuild.classify_model.classify_model`."""
        from .classify_model import classify_model

        return classify_model(self, dmap, structure, progress)

    def weigh_environment(
        self, dmap: DensityMap, probs: np.ndarray, poses: np.ndarray
    ) -> np.ndarray:
        """``probs`` (N, 20) with the H-bond evidence of the residues' surroundings added, in a
        model of every residue at its most likely type (``poses``: (N, 20, 14, 3) world
        coordinates from the pose head), crystal neighbours included; unchanged when
        :attr:`environment` is off."""
        if not self.environment:
            return probs
        from .environment import rescore
        from .symmetry import Symmetry

        return rescore(probs, poses, Symmetry.of_map(dmap))
