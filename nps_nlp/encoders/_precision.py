"""Inference precision of the torch encoder: bfloat16 autocast where the CPU computes it natively.

On CPUs with native bfloat16 (AVX512-BF16 or AMX) the encoder runs faster in bfloat16 with the same decisions
on the seed test split (``benchmarks/RESULTS.md``); elsewhere bfloat16 would be emulated and slower, so ``auto``
keeps float32. Fine-tuning runs the tuned encoder layers under the same autocast, with float32 master weights; the
heads always train in float32.
"""

from __future__ import annotations

import contextlib
from functools import cache
from typing import Any

PRECISIONS = ("auto", "fp32", "bf16")


@cache
def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (oneDNN's check)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - builds without oneDNN
        return False


def resolve_precision(precision: str | None = None) -> str:
    """``fp32`` or ``bf16`` for a setting of ``auto``, ``fp32`` or ``bf16`` (default: ``NPS_ENCODER_PRECISION``).

    Raises:
        ConfigError: an unknown precision.
    """
    from nps_nlp._settings import get_settings
    from nps_nlp.errors import ConfigError

    precision = precision or get_settings().encoder_precision
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown encoder precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    return precision


def inference_autocast(precision: str | None = None, device: str = "cpu") -> Any:
    """A context manager that runs the encoder's forward pass in the resolved precision (CPU only)."""
    import torch

    if device != "cpu" or resolve_precision(precision) != "bf16":
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=torch.bfloat16)
