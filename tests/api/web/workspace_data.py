"""Answers and users for the workspace tests: a few teams' problems, praise and urgent detractors over recent
days, in two channels, two countries and two languages, read by the fake pipeline (keyword themes, the real
urgency detector and routing)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

PASSWORD = "correct-horse-battery"

# (text, score, lang): the fake pipeline routes billing -> finance, outages -> it-operations, staff -> customer-service
ANSWERS: list[tuple[str, int, str]] = [
    ("Everything was down again, a full outage, I am cancelling my subscription today", 0, "en"),
    ("Your app crashed during payment, terrible, I will cancel", 1, "en"),
    ("De factuur klopt niet, al drie keer verkeerd gefactureerd", 2, "nl"),
    ("The invoice was wrong again, I will cancel and talk to my lawyer", 1, "en"),
    ("Great friendly staff, they helped me fast", 10, "en"),
    ("Personeel was goed en vriendelijk", 9, "nl"),
    ("The price is expensive but the staff is friendly", 7, "en"),
    ("Delivery was late, the parcel never came", 4, "en"),
    ("Good app, works fast", 9, "en"),
    ("Invoice fine, nothing special", 8, "en"),
]


def answers(n_days: int = 20, now: datetime | None = None) -> list[dict[str, Any]]:
    """Responses over ``n_days`` days ending today (11:00 UTC): the first four answers every day, the others on
    three days out of four; channel alternates by day, team segment and country by answer."""
    now = now or datetime.now(UTC)
    out = []
    for day in range(n_days):
        when = (now - timedelta(days=day)).replace(hour=11, minute=0, second=0, microsecond=0)
        for i, (text, score, lang) in enumerate(ANSWERS):
            k = day * len(ANSWERS) + i
            if (day + i) % 4 == 3 and i > 3:  # days differ (the first four, three of them urgent, come every day)
                continue
            out.append({"external_id": f"ws-{k}", "score": score, "text": text, "lang": lang, "timestamp": when.isoformat(),
                        "customer_id": f"cust-{k % 37}",
                        "segments": {"team": ("north", "south")[k % 2], "channel": ("email", "app")[day % 2],
                                     "country": ("NL", "NO")[(k // 2) % 2]}})
    return out


USERS = [
    # username, role, teams
    ("admin", "admin", []),
    ("ann", "analyst", []),
    ("lena", "team_lead", ["it-operations"]),
    ("finn", "team_lead", ["finance"]),
    ("aga", "agent", ["it-operations"]),
    ("dina", "team_lead", ["digital"]),
]


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def seed(client: Any, n_days: int = 20, db: Any = None) -> None:
    """Ingest the workspace answers (with an admin API key) through ``client`` (a TestClient, or an httpx client
    of a running server with its ``db``) and create the users."""
    from api.services.keys import create_key
    from api.services.users import NewUser, create_user

    db = db or client.app.state.nps.db
    with db.session() as session:
        key, _ = create_key(session, "seed", ["admin"])
    rows = answers(n_days)
    for start in range(0, len(rows), 200):
        r = client.post("/v1/responses/bulk", json={"responses": rows[start:start + 200]},
                        headers={"Authorization": f"Bearer {key}"})
        assert r.status_code in (200, 201, 207), r.text
    with db.session() as session:
        for username, role, teams in USERS:
            create_user(session, NewUser(username, PASSWORD, role, username.title(), teams))


def csrf_of(page: str) -> str:
    match = CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: Any, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/app/login")
    return client.post("/app/login", data={"username": username, "password": password, "csrf_token": csrf_of(page.text),
                                           "next": "/app"}, follow_redirects=False)
