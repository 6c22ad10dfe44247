"""The interface in English, Dutch and Norwegian (Bokmål): complete catalogs, the user's choice, the browser's
language by default, and dates that read the same way in every language."""

from __future__ import annotations

import json
import re
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.web.i18n import LANGS, catalog, pick_lang, translator

WEB = Path(__file__).resolve().parents[3] / "api" / "web"
# keys built from a prefix and a value in the templates, with the values they take
DYNAMIC = {"level.": ("critical", "high", "medium", "low", "none"), "status.": ("new", "assigned", "contacted", "resolved"),
           "role.": ("admin", "analyst", "team_lead", "agent"), "period.": ("day", "week", "month"), "lang.": LANGS,
           "item_status.": ("open", "in_progress", "done"), "export.": ("responses", "alerts", "action_items"),
           "feed.": ("problem", "praise"), "board.period.": ("week", "month", "quarter"),
           "board.by.": ("followup", "improvement", "praise"), "board.badge.": ("most_improved", "fastest_follow_up", "most_praised"),
           "report.": ("day", "week", "month"),
           "filter.": ("channel", "country", "department", "touchpoint", "team", "lang")}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_message_with_the_same_fields():
    en = catalog("en")
    for lang in LANGS:
        messages = json.loads((WEB / "locales" / f"{lang}.json").read_text(encoding="utf-8"))
        assert set(messages) == set(en), (lang, set(en) ^ set(messages))
        for key, text in messages.items():
            assert text.strip(), (lang, key)
            assert _fields(text) == _fields(en[key]), (lang, key)


def test_every_key_the_templates_and_code_use_exists():
    used: set[str] = set()
    for path in [*(WEB / "templates").glob("*.html"), *WEB.glob("*.py")]:
        used |= {k for k in re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", path.read_text(encoding="utf-8"))
                 if not k.endswith(".")}
        for prefix in re.findall(r"""\bt\(\s*["']([a-z_]+\.)["']\s*~""", path.read_text(encoding="utf-8")):
            used |= {prefix + value for value in DYNAMIC[prefix]}
    used |= {f"month.{m}" for m in range(1, 13)} | {"login.failed"}
    assert len(used) > 100
    missing = used - set(catalog("en"))
    assert not missing, missing


@pytest.mark.parametrize(("header", "lang"), [("nl-NL,nl;q=0.9,en;q=0.8", "nl"), ("nb-NO", "nb"), ("no", "nb"), ("nn-NO,en;q=0.5", "nb"),
                                              ("de-DE,en;q=0.7,nl;q=0.9", "nl"), ("fr-FR", "en"), (None, "en"), ("nl;q=0", "en"),
                                              ("en;q=bad, nb", "nb")])
def test_the_browser_language_picks_the_default(header, lang):
    assert pick_lang(None, header) == lang
    assert pick_lang("en", header) == "en"  # the user's own choice wins


def test_dates_and_numbers_read_the_same_way_in_every_language():
    when = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert translator("en").day(when, "Europe/Amsterdam") == "1 Dec 2026"  # in the user's zone, never 12/1/2026
    assert translator("nl").moment(when, "Europe/Oslo") == "1 dec 2026 00:30"
    assert translator("nb").number(12.34, 1, signed=True) == "+12,3" and translator("en").number(-5, 0) == "-5"


def test_pages_follow_the_browser_and_then_the_users_choice(as_user, workspace):
    workspace.cookies.clear()
    assert "Aanmelden" in workspace.get("/app/login", headers={"Accept-Language": "nl-BE,nl"}).text
    assert "Logg inn" in workspace.get("/app/login", headers={"Accept-Language": "nb-NO"}).text
    assert "Logg inn" in workspace.get("/app/login?lang=nb").text
    client = as_user("lena")
    assert "Open alerts" in client.get("/app/teams/it-operations").text
    from workspace_data import csrf_of

    token = csrf_of(client.get("/app/me").text)
    assert client.post("/app/me", data={"lang": "nb", "timezone": "Europe/Oslo", "csrf_token": token}).status_code == 200
    page = client.get("/app/teams/it-operations", headers={"Accept-Language": "nl"}).text
    assert "Åpne varsler" in page and 'lang="nb"' in page and "Europe/Oslo" in page
    assert client.post("/app/me", data={"timezone": "Mars/Base", "csrf_token": token}).status_code == 400
