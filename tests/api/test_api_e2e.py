"""End to end: the real service (uvicorn on a free port, the shipped default model) driven over HTTP.

300 labelled seed answers in en/nl/nb/nn are ingested with scores, timestamps over three months and two
segment teams; NPS, action points and alerts are then checked against a hand computation."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[2]
MONTHS = ("2024-03-15T10:00:00Z", "2024-04-15T10:00:00Z", "2024-05-15T10:00:00Z")


def _nps(scores):
    n = len(scores)
    return 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / n if n else None


def _answers():
    rows = [json.loads(line) for line in (ROOT / "data" / "seed" / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    per_lang = {"en": 86, "nl": 86, "nb": 86, "nn": 42}
    picked, seen = [], defaultdict(int)
    for row in rows:
        if seen[row["lang"]] < per_lang[row["lang"]]:
            seen[row["lang"]] += 1
            picked.append(row)
    out = []
    for i, row in enumerate(picked):
        out.append({"external_id": f"e2e-{row['id']}", "score": row["score"], "text": row["text"],
                    "timestamp": MONTHS[i % 3], "customer_id": f"acct-{i % 50}",
                    "segments": {"team": ("north", "south")[i % 2], "channel": ("email", "app", "web")[i % 3],
                                 "country": {"en": "GB", "nl": "NL", "nb": "NO", "nn": "NO"}[row["lang"]]}})
    return out


@pytest.fixture(scope="module")
def service(default_model, tmp_path_factory):
    from api.main import create_app
    from api.services.keys import create_key
    from api.services.models import ModelManager
    from api.settings import ServiceSettings
    from nps_nlp.pipeline import FeedbackPipeline

    tmp = tmp_path_factory.mktemp("e2e")
    settings = ServiceSettings(database_url=f"sqlite:///{tmp / 'nps.db'}", model=ROOT / "models" / "default",
                               registry_dir=tmp / "registry", model_poll_s=0, microbatch_wait_ms=5)
    # the session's default model is reused (loaded once); the manager serves it as the pinned models/default
    manager = ModelManager(settings.model, settings.registry_dir, lambda path: FeedbackPipeline(default_model))
    app = create_app(settings, models=manager)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    with app.state.nps.db.session() as session:
        key, _ = create_key(session, "e2e", ["admin"])
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}, timeout=120)
    sent = _answers()
    results = []
    for start in range(0, len(sent), 100):
        r = client.post("/v1/responses/bulk", json={"responses": sent[start:start + 100]})
        assert r.status_code == 200, r.text
        results += r.json()["results"]
    assert [x["status"] for x in results] == ["created"] * len(sent)
    yield client, sent
    client.close()
    server.should_exit = True
    thread.join(timeout=30)


def test_ingest_is_idempotent_and_reports_bad_items(service):
    client, sent = service
    r = client.post("/v1/responses/bulk", json={"responses": [sent[0], {**sent[1], "score": 42}, {**sent[2], "timestamp": "soon"}]})
    body = r.json()
    assert (body["created"], body["duplicates"], body["errors"]) == (0, 1, 2)
    assert client.get("/v1/responses", params={"limit": 1}).json()["total"] == len(sent)


def test_nps_matches_a_hand_computation(service):
    from nps_nlp.nps import nps_change

    client, sent = service
    scores = [a["score"] for a in sent]
    body = client.get("/v1/nps", params={"period": "month", "by": "team"}).json()
    assert body["overall"]["n"] == 300
    assert body["overall"]["nps"] == pytest.approx(_nps(scores), abs=1e-3)
    # adjusted Wald: 3/4 promoter and 3/4 detractor added, n + 3
    p, d, n = (sum(s >= 9 for s in scores) + 0.75) / 303, (sum(s <= 6 for s in scores) + 0.75) / 303, 303
    se = 100 * (((p + d) - (p - d) ** 2) / n) ** 0.5
    assert body["overall"]["ci_low"] == pytest.approx(100 * (p - d) - 1.959964 * se, abs=1e-2)
    by_month = defaultdict(list)
    for a in sent:
        by_month[a["timestamp"][:7]].append(a["score"])
    assert [t["period"] for t in body["trend"]] == ["2024-03-01", "2024-04-01", "2024-05-01"]
    for t in body["trend"]:
        assert t["nps"] == pytest.approx(_nps(by_month[t["period"][:7]]), abs=1e-3)
    expected = nps_change(by_month["2024-05"], by_month["2024-04"])
    assert body["change"]["delta"] == pytest.approx(_nps(by_month["2024-05"]) - _nps(by_month["2024-04"]), abs=1e-3)
    assert body["change"]["significant"] is expected.significant
    for seg in body["segments"]:
        assert seg["summary"]["nps"] == pytest.approx(_nps([a["score"] for a in sent if a["segments"]["team"] == seg["value"]]), abs=1e-3)
    per_customer = {s["value"]: s["summary"] for s in client.get("/v1/nps", params={"by": "customer_id"}).json()["segments"]}
    assert per_customer["acct-7"]["nps"] == pytest.approx(_nps([a["score"] for a in sent if a["customer_id"] == "acct-7"]), abs=1e-3)
    assert client.get("/v1/nps", params={"customer_id": "acct-7"}).json()["overall"] == per_customer["acct-7"]
    no = client.get("/v1/nps", params={"country": "NO", "since": "2024-04-01T00:00:00Z"}).json()
    hand = [a["score"] for a in sent if a["segments"]["country"] == "NO" and a["timestamp"] >= "2024-04"]
    assert no["overall"]["n"] == len(hand) and no["overall"]["nps"] == pytest.approx(_nps(hand), abs=1e-3)


def test_action_points_match_leave_one_out_on_the_stored_themes(service):
    client, sent = service
    stored = client.get("/v1/responses", params={"limit": 1000}).json()["items"]
    assert len(stored) == 300
    assert {r["lang"] for r in stored} >= {"en", "nl", "nb", "nn"}
    themes_of = {r["external_id"]: {t["theme"] for t in r["analysis"]["themes"]} for r in stored}
    score_of = {r["external_id"]: r["score"] for r in stored}
    body = client.get("/v1/action-points", params={"min_count": 5, "n_quotes": 3}).json()
    assert body["n"] == 300 and len(body["items"]) >= 5
    all_scores = list(score_of.values())
    for point in body["items"]:
        with_ids = [e for e, ts in themes_of.items() if point["theme"] in ts]
        without = [score_of[e] for e in score_of if e not in with_ids]
        assert point["count"] == len(with_ids)
        assert point["nps_with"] == pytest.approx(_nps([score_of[e] for e in with_ids]), abs=1e-2)
        assert point["impact"] == pytest.approx(_nps(all_scores) - _nps(without), abs=1e-2)
        assert point["impact_ci"][0] <= point["impact"] <= point["impact_ci"][1]
        assert point["team"] and 1 <= len(point["quotes"]) <= 3 and len(point["trend"]) == 3
    impacts = [p["impact"] for p in body["items"]]
    assert impacts == sorted(impacts)
    # seed labels say which themes customers complain about: the most harmful one must be a real complaint theme
    worst = body["items"][0]
    assert worst["negative"] > worst["positive"] and worst["nps_with"] < body["nps"]
    passives = client.get("/v1/action-points/passives").json()
    assert passives["passives"] == sum(7 <= s <= 8 for s in all_scores)
    north = client.get("/v1/action-points", params={"team": "north", "min_count": 1}).json()
    assert north["n"] == sum(a["segments"]["team"] == "north" for a in sent)


def test_alerts_follow_urgency_and_can_be_worked(service):
    client, sent = service
    urgent = client.get("/v1/responses", params={"urgent": True, "limit": 1000}).json()["items"]
    alerts = client.get("/v1/alerts", params={"limit": 1000}).json()["items"]
    assert {a["external_id"] for a in alerts} == {r["external_id"] for r in urgent}
    assert len(alerts) >= 10
    levels = [a["level"] for a in alerts]
    assert levels == sorted(levels, key=["critical", "high", "medium", "low"].index)
    for a in alerts:
        assert a["reasons"] and a["status"] == "new"
        assert datetime.fromisoformat(a["due_at"]) - datetime.fromisoformat(a["created_at"]) == timedelta(hours=48)
    # seed answers labelled urgent are mostly caught, across languages
    seed = {f"e2e-{json.loads(line)['id']}": json.loads(line)["urgent"]
            for line in (ROOT / "data" / "seed" / "test.jsonl").read_text(encoding="utf-8").splitlines()}
    truly = {a["external_id"] for a in sent if seed[a["external_id"]]}
    alerted = {a["external_id"] for a in alerts}
    caught = truly & alerted
    # alerts are for what cannot wait: most urgent answers raise one, and hardly any calm answer does
    # (benchmarks/urgency.py measures both on the urgency set)
    assert len(caught) >= 0.5 * len(truly), (len(caught), len(truly))
    calm = {a["external_id"] for a in sent} - truly
    assert len(calm & alerted) <= 0.03 * len(calm), sorted(calm & alerted)
    r = client.patch(f"/v1/alerts/{alerts[0]['id']}", json={"owner": "team-lead", "note": "calling today"})
    assert r.json()["status"] == "assigned" and [e["kind"] for e in r.json()["history"]] == ["created", "owner", "status", "note"]
    teams = {t["team"]: t for t in client.get("/v1/teams").json()["items"]}
    assert sum(t["open_alerts"] for t in teams.values()) == len(alerts)


def test_classify_with_the_real_model(service):
    client, _ = service
    r = client.post("/v1/classify", json={"answers": [
        {"text": "Great staff but the invoice was wrong again", "score": 6},
        {"text": ""}, {"text": "👍👍"},
        {"text": "Nettsiden er nede igjen, jeg sier opp avtalen", "score": 1}]})
    assert r.status_code == 200, r.text
    first, empty, emoji, nb = r.json()["results"]
    assert {"billing_payment", "staff_attitude"} <= {t["theme"] for t in first["themes"]}
    assert empty["lang"] == emoji["lang"] == "und" and empty["themes"] == emoji["themes"] == []
    assert nb["lang"] == "nb" and nb["urgency"]["urgent"] and {x["code"] for x in nb["urgency"]["reasons"]} >= {"outage", "churn"}
    active = client.get("/v1/models/active").json()
    assert active["id"] == "default" and active["source"] == "setting"
    assert active["card"] == (ROOT / "models" / "default" / "README.md").read_text(encoding="utf-8")
    shipped = json.loads((ROOT / "models" / "default" / "metrics.json").read_text(encoding="utf-8"))
    assert active["metrics"]["n_examples"] == shipped["n_examples"] > 1000  # the shipped model's dev-split metrics
