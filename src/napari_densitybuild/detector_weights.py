"""Save and load C-alpha detector weights as safetensors (the pattern of :mod:`.weights_io`).

Metadata: ``densitybuild`` = :data:`FORMAT`, ``config`` = JSON net config (see
:func:`~napari_densitybuild.nets.detector.detector_config`) plus the placement settings the net
was trained for, ``card`` = JSON model-card facts. Never unpickles anything.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from .device import pick_device
from .errors import DensityBuildError
from .nets.detector import DetectorNet, build_detector, detector_config
from .weights_io import _compare, _open, _shapes

FORMAT = "detector/1"
SHIPPED_NAME = "detector.safetensors"


def save_detector(
    path: str | Path, net: DetectorNet, card: dict | None = None, extra: dict | None = None
) -> Path:
    """Write the detector's weights and config (plus ``extra`` settings) atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    config = {**detector_config(net), **(extra or {})}
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    metadata = {"format": "pt", "densitybuild": FORMAT, "config": json.dumps(config),
                "card": json.dumps(card or {}, default=str)}  # fmt: skip
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, path)
    return path


def load_detector(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[DetectorNet, dict[str, Any]]:
    """Build the detector a weights file describes and load its weights (eval mode).

    Raises
    ------
    DensityBuildError
        For a missing, corrupt or foreign file, or weights that do not fit the config.
    """
    path = Path(path)
    with _open(path) as f:
        meta = f.metadata() or {}
        if meta.get("densitybuild") != FORMAT:
            raise DensityBuildError(
                f"{path}: not C-alpha detector weights (format {meta.get('densitybuild')!r}, "
                f"expected {FORMAT!r})"
            )
        try:
            config = json.loads(meta["config"])
            card = json.loads(meta.get("card") or "{}")
        except (KeyError, json.JSONDecodeError) as e:
            raise DensityBuildError(f"{path}: bad config in the metadata ({e})") from None
        net = build_detector(config)
        found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
        _compare(found, _shapes(net), str(path))
        state = {k: f.get_tensor(k) for k in f.keys()}
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise DensityBuildError(f"{path}: weight tensor {bad[0]} holds NaN or inf")
    net.load_state_dict(state, strict=True)
    config["card"] = card
    return net.to(pick_device(device)).eval(), config


def shipped_detector_path() -> Path | None:
    """The package's ``weights/detector.safetensors``, or None if this install has none."""
    try:
        res = resources.files("napari_densitybuild").joinpath("weights", SHIPPED_NAME)
    except (ModuleNotFoundError, TypeError):
        return None
    return Path(str(res)) if res.is_file() else None
