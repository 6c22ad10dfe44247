"""History imports: what an answer that is stored late (imported, or re-tagged) may still set in motion.

Answers loaded with ``mode=history`` send no thank-you and open alerts only for answers younger than
``history_alert_age_days``; an urgent answer older than that gets an alert created already resolved, with an
"imported as history" event and no webhook (``history_old_alerts=closed``), or no alert at all (``skip``).
Re-tagging follows the same age rule for answers that become urgent.

A thank-you (``promoter.thank_you``) goes only to a promoter whose answer says something
(:func:`says_something`), in live mode, for an answer younger than ``history_alert_age_days``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

from api.db.models import Alert, AlertEvent
from api.settings import ServiceSettings

Mode = Literal["live", "history"]
AlertPolicy = Literal["open", "closed", "skip"]

HISTORY_NOTE = "imported as history"

_WORD = re.compile(r"[^\W\d_]{2,}")
_FILLER = frozenset({
    "na", "none", "nothing", "no", "nope", "ok", "okay", "fine", "yes", "test", "nil",
    "nee", "niks", "geen", "niets", "nvt", "ja", "oke",
    "nei", "ingen", "ingenting", "inget", "ingjen", "greit",
})
"""Single-word answers that carry no feedback (a thank-you for "kind words" would ring hollow)."""


def says_something(text: str | None) -> bool:
    """Does an answer carry feedback worth thanking for: at least two words of letters, or one word that is not a
    filler such as "ok", "nee", "nei"?"""
    words = [w.lower() for w in _WORD.findall(text or "")]
    if len(words) >= 2:
        return True
    return len(words) == 1 and words[0] not in _FILLER and len(words[0]) >= 3


def is_old(timestamp: datetime, settings: ServiceSettings, now: datetime) -> bool:
    """Is an answer older than ``history_alert_age_days``?"""
    return now - timestamp > timedelta(days=settings.history_alert_age_days)


def alert_policy(timestamp: datetime, mode: Mode, settings: ServiceSettings, now: datetime) -> AlertPolicy:
    """What an urgent answer stored now gets: an ``open`` alert (with ``alert.created``), one created ``closed``,
    or none (``skip``). Only history mode and re-tagging (``mode="history"``) close or skip alerts, and only for
    answers older than ``history_alert_age_days``."""
    if mode == "live" or not is_old(timestamp, settings, now):
        return "open"
    return "skip" if settings.history_old_alerts == "skip" else "closed"


def thank_you_due(score: int, text: str, timestamp: datetime, mode: Mode, settings: ServiceSettings,
                  now: datetime) -> bool:
    """Should a ``promoter.thank_you`` be queued for an answer just stored?"""
    return (settings.thank_promoters and mode == "live" and score >= 9 and says_something(text)
            and not is_old(timestamp, settings, now))


def close_as_history(alert: Alert, now: datetime, actor: str = "system") -> None:
    """Mark a just-created alert resolved, with a status event saying it was imported as history."""
    alert.events.append(AlertEvent(at=now, actor=actor, kind="status", old=alert.status, new="resolved",
                                   note=HISTORY_NOTE))
    alert.status = "resolved"
    alert.updated_at = now
