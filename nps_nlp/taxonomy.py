"""Theme taxonomies as data: a YAML file of themes with names, descriptions, owning team and examples.

The default generic CX taxonomy ships in ``nps_nlp/data/taxonomy_default.yaml``; users pass their own
file with the same shape (see that file for the format).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from nps_nlp.errors import TaxonomyError

__all__ = ["Taxonomy", "Theme", "load_taxonomy"]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_LANGS = ("en", "nl", "nb", "nn")


def _lang_key(texts: dict[str, Any], lang: str | None) -> str:
    """The best available language in ``texts`` for ``lang`` (nn falls back to nb, anything to en)."""
    for key in (lang, "nb" if lang == "nn" else None, "en"):
        if key and key in texts:
            return key
    return next(iter(texts))


@dataclass(frozen=True)
class Theme:
    """One theme of a taxonomy.

    Attributes:
        id: stable snake_case identifier used in labels and APIs.
        name: display name per language.
        description: what the theme covers, per language (used by zero-shot matching).
        parent: optional group id (two-level taxonomies).
        team: the team that owns the theme (routing).
        examples: short example answers per language.
    """

    id: str
    name: dict[str, str]
    description: dict[str, str] = field(default_factory=dict)
    parent: str | None = None
    team: str | None = None
    examples: dict[str, list[str]] = field(default_factory=dict)

    def label(self, lang: str | None = "en") -> str:
        """Display name in ``lang`` (falls back to nb for nn, then English)."""
        return self.name[_lang_key(self.name, lang)]

    def prototypes(self) -> list[str]:
        """Texts that describe the theme in every language: names, descriptions and examples."""
        texts = [f"{self.name[k]}: {self.description[k]}" if k in self.description else self.name[k]
                 for k in self.name]
        texts += [t for k in self.description if k not in self.name for t in [self.description[k]]]
        texts += [t for values in self.examples.values() for t in values]
        return texts


@dataclass(frozen=True)
class Taxonomy:
    """An ordered set of themes.

    Attributes:
        name: taxonomy name.
        themes: themes in file order.
        groups: display names of parent groups.
        version: the file's version field.
    """

    name: str
    themes: tuple[Theme, ...]
    groups: dict[str, dict[str, str]] = field(default_factory=dict)
    version: str | int | None = None

    @property
    def ids(self) -> list[str]:
        """Theme ids in order."""
        return [t.id for t in self.themes]

    def __getitem__(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(f"unknown theme {theme_id!r}; known: {', '.join(self.ids)}")

    def __contains__(self, theme_id: object) -> bool:
        return any(t.id == theme_id for t in self.themes)

    def __len__(self) -> int:
        return len(self.themes)

    def subset(self, theme_ids: Sequence[str]) -> Taxonomy:
        """The same taxonomy with only ``theme_ids`` (in this taxonomy's order; unknown ids are ignored)."""
        keep = set(theme_ids)
        return replace(self, themes=tuple(t for t in self.themes if t.id in keep))

    def team_of(self, theme_id: str) -> str | None:
        """The owning team of a theme (``None`` for labels outside the taxonomy)."""
        return self[theme_id].team if theme_id in self else None

    def to_dict(self) -> dict[str, Any]:
        """The taxonomy as plain data (the YAML file's shape)."""
        return {
            "name": self.name, "version": self.version, "groups": self.groups,
            "themes": [{k: v for k, v in vars(t).items() if v not in (None, {}, [])} for t in self.themes],
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>", *, strict_ids: bool = True) -> Taxonomy:
        """Build and validate a taxonomy from parsed YAML.

        Args:
            data: the parsed YAML.
            source: where it came from, for error messages.
            strict_ids: ids must be snake_case (files people write). ``False`` accepts any non-blank id: the
                taxonomy a model saves may be made of a dataset's own labels (SemEval's ``FOOD#QUALITY``).

        Raises:
            TaxonomyError: with every problem found, naming the theme.
        """
        if not isinstance(data, dict) or not isinstance(data.get("themes"), list) or not data["themes"]:
            raise TaxonomyError(f"{source}: expected a mapping with a non-empty 'themes' list")
        problems: list[str] = []
        themes: list[Theme] = []
        seen: set[str] = set()
        groups = data.get("groups") or {}
        for i, raw in enumerate(data["themes"], 1):
            where = f"theme #{i}"
            if not isinstance(raw, dict):
                problems.append(f"{where}: expected a mapping, found {type(raw).__name__}")
                continue
            theme_id = raw.get("id")
            if not isinstance(theme_id, str) or not (_ID.match(theme_id) if strict_ids else theme_id.strip()):
                rule = "snake_case (a-z, 0-9, _)" if strict_ids else "a non-blank string"
                problems.append(f"{where}: 'id' must be {rule}, found {theme_id!r}")
                continue
            where = f"theme {theme_id!r}"
            if theme_id in seen:
                problems.append(f"{where}: duplicate id")
            seen.add(theme_id)
            name = raw.get("name")
            if isinstance(name, str):
                name = {"en": name}
            if not isinstance(name, dict) or not name:
                problems.append(f"{where}: 'name' must be a string or a mapping language -> name")
                continue
            description = raw.get("description") or {}
            if isinstance(description, str):
                description = {"en": description}
            examples = raw.get("examples") or {}
            if isinstance(examples, list):
                examples = {"en": examples}
            for key in (*name, *description, *examples):
                if key not in _LANGS:
                    problems.append(f"{where}: unknown language {key!r}; use one of {', '.join(_LANGS)}")
            parent = raw.get("parent")
            if parent is not None and groups and parent not in groups:
                problems.append(f"{where}: parent {parent!r} is not in 'groups' ({', '.join(groups)})")
            themes.append(Theme(theme_id, dict(name), dict(description), parent, raw.get("team"),
                                {k: list(v) for k, v in examples.items()}))
        if problems:
            raise TaxonomyError(f"{source}: invalid taxonomy:\n  - " + "\n  - ".join(problems))
        return cls(str(data.get("name", "custom")), tuple(themes), dict(groups), data.get("version"))


def load_taxonomy(path: str | Path | None = None, *, strict_ids: bool = True) -> Taxonomy:
    """Load a taxonomy YAML file, or the default generic CX taxonomy when ``path`` is ``None``.

    ``strict_ids=False`` is for the taxonomy a saved model carries (see :meth:`Taxonomy.from_dict`).

    Raises:
        TaxonomyError: the file is missing, not YAML, or invalid.
    """
    if path is None:
        text = resources.files("nps_nlp").joinpath("data/taxonomy_default.yaml").read_text(encoding="utf-8")
        source = "taxonomy_default.yaml"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise TaxonomyError(f"cannot read taxonomy file {path}: {exc.strerror}") from exc
        source = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{source} is not valid YAML: {exc}") from exc
    return Taxonomy.from_dict(data, source, strict_ids=strict_ids)
