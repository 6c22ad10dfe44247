"""Where training runs: ``cpu`` (the default everywhere), ``cuda`` / ``cuda:N``, or ``auto``."""

from __future__ import annotations

import re
from typing import Any

from nps_nlp.errors import ConfigError

DEVICES = ("cpu", "cuda", "auto")


def is_device_name(name: str) -> bool:
    """Whether ``name`` is a device setting nps-nlp accepts (``cpu``, ``cuda``, ``cuda:N``, ``auto``); says nothing
    about whether that GPU is there (:func:`resolve_device` does)."""
    return name in DEVICES or re.fullmatch(r"cuda:\d+", name) is not None


def resolve_device(device: str = "cpu") -> Any:
    """The ``torch.device`` for a setting of ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (a GPU when torch sees one).

    Raises:
        ConfigError: an unknown device, or a GPU that torch cannot see.
    """
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'auto'") from exc
    if resolved.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {device!r} is not supported; use 'cpu', 'cuda', 'cuda:N' or 'auto'")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r}: torch {torch.__version__} sees no CUDA GPU here; use 'cpu' or 'auto'")
    return resolved
