"""Training batches: sample the pools, augment, normalise, and hand the net its input.

Two paths with one interface (:class:`BatchMaker`):

* host (the CPU default): float16 pools in RAM (:class:`.runlog.Pool`), numpy augmentation
  (:func:`.augment.augment_batch`) and :func:`~napari_densitybuild.boxes.normalise_boxes`, all
  drawn from one numpy ``Generator``;
* device (the default on CUDA): the pools as float16 tensors on the device
  (:class:`DevicePool`), augmentation and normalisation there (:mod:`.device_augment`), drawn
  from a ``torch.Generator`` on the device, so a GPU is never waiting on one CPU thread.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from ..boxes import normalise_boxes
from .augment import AugmentConfig, augment_batch
from .device_augment import augment_batch_t, normalise_boxes_t
from .evaluate import to_input
from .runlog import Pool


class DevicePool:
    """:class:`.runlog.Pool` with its arrays as tensors on a device (boxes stay float16).

    The parts given at construction are joined into one chunk; each part added later (a cache
    streamed in) is a chunk of its own, so no big copy is made during training. Sampling
    never waits on the device (no ``nonzero``, ``unique`` or ``.item()``): each chunk is
    gathered at clamped indices and kept where the rows belong to it.

    Parameters
    ----------
    parts
        One tuple of equal-length numpy arrays (boxes, labels[, atoms]) per split.
    weights
        Sampling weight per part (None: uniform over all rows).
    device
        Where the tensors live.
    """

    def __init__(
        self,
        parts: list[tuple[np.ndarray, ...]],
        weights: list[float] | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.p = None
        if weights is not None:
            w = torch.as_tensor(weights, dtype=torch.float64)
            if w.shape != (len(parts),) or (w < 0).any() or not w.sum() > 0:
                raise ValueError(f"need one non-negative weight per part, got {weights}")
            self.p = (w / w.sum()).to(torch.float32).to(self.device)
        width = min(len(p) for p in parts)
        joined = tuple(np.concatenate([np.asarray(p[k]) for p in parts]) for k in range(width))
        self.chunks: list[tuple[torch.Tensor, ...]] = []
        self.chunk_ends: list[int] = []
        self._add_chunk(joined)
        sizes = torch.tensor([len(p[1]) for p in parts], device=self.device)
        self.part_ends = torch.cumsum(sizes, 0)  # parts: for weighted sampling
        self.part_starts = self.part_ends - sizes

    def _add_chunk(self, part: tuple[np.ndarray, ...]) -> None:
        self.chunks.append(tuple(torch.from_numpy(np.asarray(a)).to(self.device) for a in part))
        self.chunk_ends.append(len(self) + len(part[1]))

    def add(self, part: tuple[np.ndarray, ...]) -> None:
        """Add a split (only to an unweighted pool: rows stay uniformly likely)."""
        if self.p is not None:
            raise ValueError("cannot add a part to a weighted pool")
        self._add_chunk(part)

    def __len__(self) -> int:
        return self.chunk_ends[-1] if self.chunk_ends else 0

    def sample(self, count: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        """``count`` random rows of every array, drawn with ``gen`` (on the pool's device)."""
        dev = self.device
        if self.p is None:
            idx = torch.randint(0, len(self), (count,), generator=gen, device=dev)
        else:
            chosen = torch.multinomial(self.p, count, replacement=True, generator=gen)
            size = (self.part_ends - self.part_starts)[chosen]
            u = torch.rand(count, generator=gen, device=dev)
            idx = self.part_starts[chosen] + torch.minimum((u * size).long(), size - 1)
        if len(self.chunks) == 1:
            return tuple(a[idx] for a in self.chunks[0])
        out = None
        start = 0
        for chunk, end in zip(self.chunks, self.chunk_ends):
            inside = (idx >= start) & (idx < end)
            local = (idx - start).clamp(0, end - start - 1)
            rows = [a[local] for a in chunk]
            if out is None:
                out = rows
            else:
                out = [torch.where(inside.view(-1, *[1] * (r.ndim - 1)), r, o)
                       for r, o in zip(rows, out)]  # fmt: skip
            start = end
        return tuple(out)


class BatchMaker:
    """Makes one training batch per call: ``(x, y, atoms)`` on ``device`` (atoms None without
    pose targets); a fraction of each batch from the real pool, if any.

    Parameters
    ----------
    train_parts, real_parts
        Tuples (boxes, labels[, atoms]) per split; ``real_parts`` may be empty.
    real_weights
        Sampling weights of the real parts (None: uniform over boxes).
    batch_size, n_real
        Boxes per batch, of which ``n_real`` are real.
    augment, augment_real
        Augmentation of simulated boxes; of real boxes (their own config).
    frame
        Box frame of the cache ("backbone" or "axis": rotations only for "axis").
    device
        Where the batch goes.
    on_device
        Keep the pools and augment on ``device`` (:class:`DevicePool`); else the host path.
    rng
        The host path's numpy generator (its state is checkpointed by the caller).
    seed
        Seed of the device path's ``torch.Generator``.
    """

    def __init__(
        self,
        train_parts: list[tuple[np.ndarray, ...]],
        real_parts: list[tuple[np.ndarray, ...]],
        real_weights: list[float] | None,
        batch_size: int,
        n_real: int,
        augment: AugmentConfig,
        augment_real: AugmentConfig,
        frame: str,
        device: torch.device,
        on_device: bool,
        rng: np.random.Generator,
        seed: int = 0,
    ) -> None:
        self.batch_size, self.n_real = batch_size, n_real if real_parts else 0
        self.augment, self.augment_real, self.frame = augment, augment_real, frame
        self.device, self.on_device, self.rng = device, on_device, rng
        if on_device:
            self.gen = torch.Generator(device=device)
            self.gen.manual_seed(seed)
            self.train = DevicePool(train_parts, device=device)
            self.real = DevicePool(real_parts, real_weights, device) if self.n_real else None
        else:
            self.gen = None
            self.train = Pool(train_parts)
            self.real = Pool(real_parts, real_weights) if self.n_real else None

    def add_train(self, part: tuple[np.ndarray, ...]) -> None:
        """Add a split to the simulated pool (e.g. a cache that finished during training)."""
        self.train.add(part)

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The next batch: normalised boxes (B, 1, n, n, n), labels, pose targets or None."""
        dev = self.on_device
        rand = self.gen if dev else self.rng  # one source of randomness per path
        aug = augment_batch_t if dev else augment_batch
        cat = torch.cat if dev else np.concatenate
        raw, y, *atoms = self.train.sample(self.batch_size - self.n_real, rand)
        x = aug(raw, self.augment, rand, self.frame)
        if self.n_real:
            rb, ry, *ratoms = self.real.sample(self.n_real, rand)
            x, y = cat([x, aug(rb, self.augment_real, rand, self.frame)]), cat([y, ry])
            atoms = [cat([atoms[0], ratoms[0]])] if atoms else []
        if dev:
            x = normalise_boxes_t(x).unsqueeze(1).contiguous(memory_format=torch.channels_last_3d)
            return x, y.long(), (atoms[0].float() if atoms else None)
        target = torch.from_numpy(atoms[0].astype(np.float32)).to(self.device) if atoms else None
        return (
            to_input(normalise_boxes(x), self.device),
            torch.from_numpy(y).to(self.device),
            target,
        )

    def state(self) -> dict:
        """Random state to checkpoint (numpy generator as JSON; the device generator's bytes)."""
        out = {"numpy_rng": json.dumps(self.rng.bit_generator.state)}
        if self.gen is not None:
            out["device_rng"] = self.gen.get_state()
        return out

    def load_state(self, state: dict) -> None:
        """Restore :meth:`state` (a device state is ignored by the host path)."""
        self.rng.bit_generator.state = json.loads(state["numpy_rng"])
        if self.gen is not None and state.get("device_rng") is not None:
            self.gen.set_state(state["device_rng"])
