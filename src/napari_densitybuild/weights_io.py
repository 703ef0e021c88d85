"""Save and load classifier weights as safetensors, with the net and box config in the metadata.

A weights file is self-describing: its metadata holds

* ``config``: JSON ``{"net": {...build_net config}, "box": {"size", "spacing", "frame"},
  "classes": [...]}``,
* ``card``: JSON model card facts (data, metrics, CPU-hours, command; may be ``{}``),
* ``densitybuild``: the format tag :data:`FORMAT`.

Files are read with safetensors only: never ``torch.load`` or any other unpickling.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .boxes import BoxSpec
from .device import pick_device
from .errors import DensityBuildError
from .nets import build_net, full_config
from .residues import AMINO_ACIDS

FORMAT = "classifier/1"
FRAMES = ("backbone", "axis")
SHIPPED_NAME = "classifier.safetensors"


def box_spec(config: dict[str, Any]) -> BoxSpec:
    """The :class:`BoxSpec` of a (validated) weights config."""
    b = config["box"]
    return BoxSpec(size=int(b["size"]), spacing=float(b["spacing"]), frame=str(b["frame"]))


def validate_config(config: dict[str, Any], where: str = "config") -> dict[str, Any]:
    """Check a weights config and return it with defaults filled in.

    ``box`` may be a :class:`BoxSpec`; ``classes`` defaults to the 20 amino acids.

    Raises
    ------
    DensityBuildError
        Saying which field is missing or wrong.
    """
    if not isinstance(config, dict):
        raise DensityBuildError(f"{where}: expected a JSON object, got {type(config).__name__}")
    if "net" not in config or "box" not in config:
        raise DensityBuildError(f"{where}: needs 'net' and 'box' entries (has {sorted(config)})")
    net = full_config(config["net"])
    box = config["box"]
    if isinstance(box, BoxSpec):
        box = asdict(box)
    try:
        box = {"size": int(box["size"]), "spacing": float(box["spacing"]),
               "frame": str(box.get("frame", "backbone"))}  # fmt: skip
    except (KeyError, TypeError, ValueError) as e:
        raise DensityBuildError(f"{where}: box needs size and spacing ({e!r})") from None
    if box["size"] < 1 or not box["spacing"] > 0 or box["frame"] not in FRAMES:
        raise DensityBuildError(f"{where}: bad box {box} (frame one of {', '.join(FRAMES)})")
    classes = config.get("classes", list(AMINO_ACIDS))
    if (
        not isinstance(classes, (list, tuple))
        or not all(isinstance(c, str) for c in classes)
        or len(set(classes)) != len(classes)
    ):
        raise DensityBuildError(f"{where}: 'classes' must be a list of distinct names")
    if net.get("n_classes", len(classes)) != len(classes):
        raise DensityBuildError(
            f"{where}: the net has {net['n_classes']} outputs but {len(classes)} classes are named"
        )
    return {"net": net, "box": box, "classes": list(classes)}


def _shapes(net: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def _expected_shapes(net_config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):  # no memory, no time: only names and shapes
        return _shapes(build_net(net_config))


def _compare(found: dict, expected: dict, where: str) -> None:
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = [k for k in expected if k in found and tuple(found[k]) != tuple(expected[k])]
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s) ({', '.join(missing[:3])}...)")
        if extra:
            parts.append(f"{len(extra)} unexpected tensor(s) ({', '.join(extra[:3])}...)")
        if wrong:
            k = wrong[0]
            parts.append(f"{len(wrong)} with wrong shapes ({k}: {found[k]} vs {expected[k]})")
        raise DensityBuildError(f"{where}: weights do not fit the net in its config: "
                                + "; ".join(parts))  # fmt: skip


def save_model(
    path: str | Path, net: nn.Module, config: dict[str, Any], card: dict | None = None
) -> Path:
    """Write ``net``'s weights (parameters and batch-norm buffers) and its config to safetensors.

    Parameters
    ----------
    path
        Output file (``.safetensors``); written atomically.
    net
        The net, built by :func:`~napari_densitybuild.nets.build_net` from ``config["net"]``.
    config
        ``{"net": {...}, "box": {...} or BoxSpec, "classes": [...] (optional)}``.
    card
        JSON-able model-card facts (data, metrics, CPU-hours, command).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from safetensors.torch import save_file

    path = Path(path)
    config = validate_config(config)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    _compare(_shapes(net), _expected_shapes(config["net"]), "save_model")
    metadata = {
        "format": "pt",
        "densitybuild": FORMAT,
        "config": json.dumps(config),
        "card": json.dumps(card or {}, default=str),
    }
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    mask = os.umask(0)  # safetensors writes mode 0600; give the file the usual permissions
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, path)
    return path


def _open(path: Path):
    from safetensors import safe_open

    if not path.is_file():
        raise DensityBuildError(f"{path}: no such weights file")
    try:
        return safe_open(str(path), framework="pt", device="cpu")
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        hint = ""
        if path.suffix in (".pt", ".pth", ".ckpt", ".pkl"):
            hint = "; pickled torch checkpoints are never loaded (unsafe): save as safetensors"
        raise DensityBuildError(
            f"{path}: not a readable safetensors weights file (corrupt, truncated or another "
            f"format: {e}){hint}"
        ) from None


def read_config(path: str | Path) -> dict[str, Any]:
    """The validated config of a weights file (plus its ``card``), without loading the weights."""
    path = Path(path)
    with _open(path) as f:
        meta = f.metadata() or {}
    if "config" not in meta:
        raise DensityBuildError(
            f"{path}: a safetensors file, but not napari-densitybuild weights (no 'config' "
            "in its metadata)"
        )
    try:
        raw = json.loads(meta["config"])
        card = json.loads(meta.get("card") or "{}")
    except json.JSONDecodeError as e:
        raise DensityBuildError(
            f"{path}: the config in the metadata is not valid JSON ({e})"
        ) from None
    config = validate_config(raw, where=str(path))
    config["card"] = card if isinstance(card, dict) else {}
    return config


def load_model(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Build the net a weights file describes and load its weights.

    Parameters
    ----------
    path
        A ``.safetensors`` file written by :func:`save_model`.
    device
        Where to put the net (see :func:`~napari_densitybuild.device.pick_device`).

    Returns
    -------
    net, config
        The net in eval mode on ``device``; the config ``{"net", "box", "classes", "card"}``.

    Raises
    ------
    DensityBuildError
        For a missing, corrupt or foreign file, a bad config, or weights that do not fit.
    """
    path = Path(path)
    config = read_config(path)
    dev = pick_device(device)
    with torch.device("meta"):  # no random init: every tensor comes from the file
        net = build_net(config["net"])
    with _open(path) as f:
        keys = list(f.keys())
        found = {k: tuple(f.get_slice(k).get_shape()) for k in keys}
        _compare(found, _shapes(net), str(path))
        try:
            state = {k: f.get_tensor(k) for k in keys}
        except Exception as e:
            raise DensityBuildError(f"{path}: the weights could not be read ({e})") from None
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise DensityBuildError(f"{path}: {len(bad)} weight tensor(s) hold NaN or inf ({bad[0]})")
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    net.load_state_dict(state, strict=True, assign=True)
    return net.to(dev).eval(), config


def shipped_weights_path() -> Path | None:
    """The package's ``weights/classifier.safetensors``, or None if this install has none."""
    try:
        res = resources.files("napari_densitybuild").joinpath("weights", SHIPPED_NAME)
    except (ModuleNotFoundError, TypeError):
        return None
    if not res.is_file():
        return None
    return Path(str(res))


def default_card() -> dict[str, Any]:
    """A model-card skeleton (fields the training code fills in)."""
    return {
        "data": "", "split": "", "command": "", "cpu_hours": 0.0, "samples_seen": 0,
        "metrics": {}, "machine": "", "torch": torch.__version__, "created": "",
    }  # fmt: skip


def combine_weights(
    paths: list[str | Path], out: str | Path, card: dict[str, Any] | None = None
) -> Path:
    """Write an :class:`~napari_densitybuild.nets.ensemble.Ensemble` of weights files.

    The members must share box and classes. The ensemble's card lists the members' cards
    (``members``: each with its own cumulative training figures; they are not added up, as a
    member continued from another's weights already counts that history) and takes the fields
    of ``card`` on top.

    Raises
    ------
    DensityBuildError
        For fewer than two files, a bad file, or members that read different boxes or classes.
    """
    from .nets.ensemble import Ensemble

    if len(paths) < 2:
        raise DensityBuildError("an ensemble needs two or more weights files")
    loaded = [load_model(p, "cpu") for p in paths]
    first = loaded[0][1]
    for p, (_, cfg) in zip(paths, loaded):
        if cfg["box"] != first["box"] or cfg["classes"] != first["classes"]:
            raise DensityBuildError(f"{p}: its box or classes differ from {paths[0]}'s")
        if cfg["net"]["name"] == "ensemble":
            raise DensityBuildError(f"{p}: is an ensemble already (ensembles do not nest)")
    net = Ensemble([cfg["net"] for _, cfg in loaded])
    for member, (m, _) in zip(net.members, loaded):
        member.load_state_dict(m.state_dict())
    cards = [cfg.get("card", {}) for _, cfg in loaded]
    config = {"net": {"name": "ensemble", "members": [cfg["net"] for _, cfg in loaded]},
              "box": first["box"], "classes": first["classes"]}  # fmt: skip
    full = {"members": cards, "member_files": [str(p) for p in paths], **(card or {})}
    return save_model(out, net, config, full)


def member_of(path: str | Path, index: int = 0) -> tuple[nn.Module, dict[str, Any]]:
    """A net of a weights file (member ``index`` of an ensemble) and its config with its card.

    For a single net, ``index`` must be 0 and this is :func:`load_model`.
    """
    net, config = load_model(path, "cpu")
    if config["net"]["name"] != "ensemble":
        if index != 0:
            raise DensityBuildError(f"{path}: a single net has no member {index}")
        return net, config
    members = config["net"]["members"]
    if not 0 <= index < len(members):
        raise DensityBuildError(f"{path}: the ensemble has members 0-{len(members) - 1}")
    cards = config.get("card", {}).get("members", [{}] * len(members))
    sub = {**config, "net": members[index], "card": cards[index]}
    return net.members[index], sub
