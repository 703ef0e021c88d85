"""Pick the torch device (cuda, then mps, then cpu) and the number of CPU threads."""

from __future__ import annotations

import os

import torch

from .errors import DensityBuildError
from .settings import DEVICE_CHOICES


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(preference: str | torch.device = "auto") -> torch.device:
    """The device to run nets on.

    Parameters
    ----------
    preference
        ``"auto"`` (cuda if available, then mps, then cpu), ``"cpu"``, ``"cuda"``,
        ``"cuda:N"``, ``"mps"``, or a :class:`torch.device`.

    Returns
    -------
    torch.device

    Raises
    ------
    DensityBuildError
        When the requested accelerator is not available here (the message says why).

    Examples
    --------
    >>> pick_device("cpu")
    device(type='cpu')
    """
    if isinstance(preference, torch.device):
        preference = str(preference)
    pref = (preference or "auto").strip().lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = pref.split(":")[0]
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "cuda":
        if not torch.cuda.is_available():
            build = torch.version.cuda
            why = (
                f"this torch ({torch.__version__}) was built without CUDA"
                if build is None
                else "no CUDA GPU is visible (driver missing or CUDA_VISIBLE_DEVICES empty?)"
            )
            raise DensityBuildError(
                f"device {preference!r} requested but {why}; use --device cpu or auto"
            )
        device = torch.device(pref)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DensityBuildError(
                f"device {preference!r} requested but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible"
            )
        return device
    if kind == "mps":
        if not _mps_available():
            raise DensityBuildError(
                "device 'mps' requested but Apple Metal is not available; use --device cpu or auto"
            )
        return torch.device("mps")
    raise DensityBuildError(
        f"unknown device {preference!r}; choose one of {', '.join(DEVICE_CHOICES)} (or cuda:N)"
    )


def physical_cores() -> int:
    """Physical CPU cores this process may use (hyper-threads not counted)."""
    try:
        allowed = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        allowed = os.cpu_count() or 1
    cores = None
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:
        try:
            with open("/proc/cpuinfo") as f:
                ids, phys = set(), "0"
                for line in f:
                    if line.startswith("physical id"):
                        phys = line.split(":")[1].strip()
                    elif line.startswith("core id"):
                        ids.add((phys, line.split(":")[1].strip()))
                cores = len(ids) or None
        except OSError:
            pass
    return max(1, min(allowed, cores or allowed))


def configure_cpu_threads(n: int | None = None) -> int:
    """Set torch's intra-op CPU threads to ``n`` (default: all physical cores); return it."""
    n = physical_cores() if n is None else int(n)
    if n < 1:
        raise DensityBuildError(f"the number of CPU threads must be at least 1 (got {n})")
    torch.set_num_threads(n)
    return n
