"""The survey-quarantine list check against a plain-Python reference on random contact histories (SQLite and
PostgreSQL), and the eligibility answer's JSON against the pydantic model it stands for."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from conftest import auth, new_key

from api.schemas.surveys import EligibilityOut
from api.services.quarantine import YEAR, Contacts, Rule, Verdict, check, judge, set_rules

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CHANNELS = ["email", "sms", None]
# ids that JSON, SQL parameters and the hand-written answer must carry unchanged
ODD_IDS = ['quote"inside', "back\\slash", 'tail\\', "ø-æ-å", "emoji-🙂", "tab\there", "line\u2028sep", "ctl\x01",
           "a,b", "[x]", " padded "]


@dataclass
class History:
    sent: list[tuple[str, str | None, datetime]] = field(default_factory=list)
    answers: list[tuple[str, str | None, datetime, int, str | None]] = field(default_factory=list)  # ..., alert


def _history(rng: random.Random, customers: list[str]) -> History:
    h = History()
    for cid in customers:
        for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 7])):
            h.sent.append((cid, rng.choice(CHANNELS), NOW - timedelta(days=rng.uniform(-20, 800))))
        for _ in range(rng.choice([0, 0, 1, 2, 4, 6])):
            alert = rng.choice([None] * 8 + ["new", "resolved"])
            h.answers.append((cid, rng.choice(CHANNELS), NOW - timedelta(days=rng.uniform(-20, 800)),
                              rng.randrange(11), alert))
    return h


def _store(db, h: History) -> None:
    from api.db.models import Alert, Response, SurveySent

    with db.session() as s:
        s.execute(SurveySent.__table__.insert(), [
            {"customer_id": c, "channel": ch, "sent_at": t, "survey_id": None, "created_at": NOW} for c, ch, t in h.sent])
        s.execute(Response.__table__.insert(), [
            {"id": i + 1, "external_id": f"r{i}", "score": score, "band": "x", "text": "", "lang": "en", "timestamp": t,
             "customer_id": c, "channel": ch, "sentiment": "neutral", "sentiment_score": 0.0, "urgency_level": "none",
             "urgent": False, "analysis": {}, "model_id": "test", "created_at": NOW}
            for i, (c, ch, t, score, _) in enumerate(h.answers)])
        alerts = [{"response_id": i + 1, "level": "high", "reasons": [], "team": None, "status": status,
                   "due_at": NOW, "created_at": NOW, "updated_at": NOW}
                  for i, (*_, status) in enumerate(h.answers) if status is not None]
        if alerts:
            s.execute(Alert.__table__.insert(), alerts)


def _reference(h: History, ids: list[str], rule: Rule, channel: str | None, at: datetime) -> list[Verdict]:
    """The rules read straight off every row of the history, one customer at a time."""
    scope = channel if rule.channel != "*" else None
    out = []
    for cid in dict.fromkeys(ids):
        sent = sorted((t for c, ch, t in h.sent if c == cid and t < at and scope in (None, ch)), reverse=True)
        answered = sorted((t for c, ch, t, _, _ in h.answers if c == cid and t < at and scope in (None, ch)),
                          reverse=True)
        in_sent, in_answers = [t for t in sent if t >= at - YEAR], [t for t in answered if t >= at - YEAR]
        counted = in_sent if len(in_sent) >= len(in_answers) else in_answers
        k = rule.max_per_year
        contacts = Contacts(
            last_survey=max(sent[:1] + answered[:1], default=None), in_year=len(counted),
            cap_until=counted[k - 1] + YEAR if len(counted) >= k else None,
            last_complaint=max((t for c, _, t, score, _ in h.answers if c == cid and t < at and score <= 6), default=None),
            open_alert=any(c == cid and t < at and status not in (None, "resolved") for c, _, t, _, status in h.answers))
        out.append(judge(cid, rule, contacts, at))
    return out


RULE_SETS = [
    [Rule("*", 90, 30, 4)],
    [Rule("*", 60, 120, 2), Rule("sms", 180, 10, 1)],
    [Rule("*", 400, 30, 3), Rule("email", 7, 0, 6)],
]


@pytest.mark.parametrize("seed", [0, 1])
def test_check_matches_the_reference_on_random_histories(make_client, db_url, seed):
    rng = random.Random(seed)
    customers = [f"c{i}" for i in range(150)] + ODD_IDS
    h = _history(rng, customers)
    c = make_client(db_url)
    db = c.app.state.nps.db
    settings = c.app.state.nps.settings
    _store(db, h)
    ids = rng.sample(customers, 120) + ["never-seen", "c3", "c3"]  # unknown and repeated ids too
    seen: set[str] = set()
    for rules in RULE_SETS:
        with db.session() as s:
            set_rules(s, rules, "test")
        by_channel = {r.channel: r for r in rules}
        for channel in (None, "sms", "email"):
            rule = by_channel.get(channel or "*", by_channel["*"])
            for at in (NOW, NOW - timedelta(days=200)):
                with db.session() as s:
                    got = check(s, settings, ids, channel, at)
                want = _reference(h, ids, rule, channel, at)
                assert got == want, (rules, channel, at)
                seen.update(code for v in want for code in v.reasons)
    assert seen == {"recent_survey", "recent_complaint", "open_alert", "yearly_limit"}  # every rule was exercised


def test_the_answer_is_the_models_json_and_can_list_only_the_refused(make_client, sqlite_url):
    rng = random.Random(7)
    customers = [f"c{i}" for i in range(80)] + ODD_IDS
    h = _history(rng, customers)
    c = make_client(sqlite_url)
    h_auth = auth(new_key(c, "read", name="reader"))
    _store(c.app.state.nps.db, h)
    ids = customers + ["unknown"]
    body = {"customer_ids": ids, "at": NOW.isoformat(), "channel": "sms"}
    r = c.post("/v1/surveys/eligibility", json=body, headers=h_auth)
    assert r.status_code == 200, r.text
    with c.app.state.nps.db.session() as s:
        verdicts = check(s, c.app.state.nps.settings, ids, "sms", NOW)
    assert 0 < sum(v.eligible for v in verdicts) < len(verdicts)
    model = EligibilityOut.model_validate({
        "checked": len(verdicts), "eligible": sum(v.eligible for v in verdicts), "channel": "sms",
        "rule": {"channel": "*", "survey_days": 90, "complaint_days": 30, "max_per_year": 4, "source": "settings"},
        "at": NOW, "results": [{"customer_id": v.customer_id, "eligible": v.eligible, "reasons": v.reasons,
                                "reason": v.reason, "eligible_from": v.eligible_from} for v in verdicts]})
    assert r.content == model.model_dump_json().encode()
    only = c.post("/v1/surveys/eligibility", json={**body, "results": "not_eligible"}, headers=h_auth).json()
    full = r.json()
    assert {k: only[k] for k in ("checked", "eligible", "channel", "rule", "at")} == \
        {k: full[k] for k in ("checked", "eligible", "channel", "rule", "at")}
    assert only["results"] == [v for v in full["results"] if not v["eligible"]]
    bad = c.post("/v1/surveys/eligibility", json={**body, "results": "some"}, headers=h_auth)
    assert bad.status_code == 422
