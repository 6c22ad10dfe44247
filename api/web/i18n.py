"""The workspace interface in English, Dutch and Norwegian (Bokmål): one JSON message catalog per language.

``locales/en.json`` is the reference: every language has the same keys (a test checks it), messages use
``str.format`` fields (``{n}``), and month names live in the catalogs so dates read the same way everywhere
(``30 Nov 2026``, never a US date).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from api.services.users import LANGS

LOCALES = Path(__file__).resolve().parent / "locales"
DEFAULT_LANG = "en"
# browser language tags read as one of ours: Norwegian (no, nn, nb) reads Bokmål, Flemish reads Dutch
_ALIASES = {"en": "en", "nl": "nl", "nb": "nb", "no": "nb", "nn": "nb", "vls": "nl"}


@cache
def catalog(lang: str) -> dict[str, str]:
    """The messages of ``lang`` (one of :data:`LANGS`)."""
    data: dict[str, str] = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def pick_lang(chosen: str | None, accept_language: str | None) -> str:
    """The user's chosen language, else the best match in the browser's ``Accept-Language``, else English."""
    if chosen in LANGS:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        base = _ALIASES.get(tag.strip().lower().split("-")[0])
        if base and q > 0:
            ranked.append((-q, i, base))
    return sorted(ranked)[0][2] if ranked else DEFAULT_LANG


class Translator:
    """``t(key, **fields)`` in one language, with date and number formats to match."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.messages = catalog(lang)
        self.fallback = catalog(DEFAULT_LANG)

    def __call__(self, key: str, **fields: Any) -> str:
        text = self.messages.get(key) or self.fallback.get(key) or key
        return text.format(**fields) if fields else text

    def month(self, n: int) -> str:
        return self(f"month.{n}")

    def day(self, value: date | datetime | None, tz: str | None = None) -> str:
        """``30 Nov 2026`` in this language; a datetime is shown in ``tz``."""
        if value is None:
            return ""
        if isinstance(value, datetime) and tz:
            value = value.astimezone(ZoneInfo(tz))
        return f"{value.day} {self.month(value.month)} {value.year}"

    def moment(self, value: datetime | None, tz: str) -> str:
        """``30 Nov 2026 14:05`` in ``tz``."""
        if value is None:
            return ""
        local = value.astimezone(ZoneInfo(tz))
        return f"{self.day(local)} {local:%H:%M}"

    def number(self, value: float | None, digits: int = 1, signed: bool = False) -> str:
        """A number with this language's decimal sign (a comma in Dutch and Norwegian)."""
        if value is None:
            return "–"
        text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
        return text.replace(".", ",") if self.lang in ("nl", "nb") else text

    def percent(self, share: float | None) -> str:
        return "–" if share is None else self.number(100 * share, 0) + " %"


def translator(lang: str) -> Translator:
    return Translator(lang if lang in LANGS else DEFAULT_LANG)


Formatter = Callable[..., str]

__all__ = ["DEFAULT_LANG", "LANGS", "Translator", "catalog", "pick_lang", "translator"]
