"""Re-tagging stored answers after a promotion: a background job with progress (``POST/GET /v1/retag``,
``nps-nlp retag``), resumable from its cursor, without blocking ingest; urgency, alerts and history follow."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from api_fakes import FakePipeline
from conftest import auth, new_key

URGENT = "The site is down and I am cancelling"


class PromotedPipeline(FakePipeline):
    """The "better model": reads answers with ``now-urgent`` as urgent and the outage answer as not urgent."""

    def analyze(self, texts, scores=None, langs=None):
        out = super().analyze(texts, scores, langs)
        for answer, text in zip(out, texts, strict=True):
            if "now-urgent" in text:
                answer.urgency = self.urgency.assess(URGENT, score=0, sentiment_score=-0.8, lang="en")
            elif text == URGENT:
                answer.urgency = self.urgency.assess("fine thanks", score=9, sentiment_score=0.8, lang="en")
        return out


def _manager(pipeline, model_id, tmp_path):
    from api.services.models import ModelManager

    return ModelManager.injected(pipeline, model_id=model_id, registry_dir=tmp_path / "registry")


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def _wait_for(c, h, job_id, status="done", timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.get(f"/v1/retag/{job_id}", headers=h).json()
        if job["status"] == status:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not reach {status}: {job}")


def _seed(make_client, url, tmp_path, rows):
    c = make_client(url, models=_manager(FakePipeline(), "m1", tmp_path), require_auth=False)
    assert c.post("/v1/responses/bulk", json={"responses": rows}).json()["created"] == len(rows)
    c.__exit__(None, None, None)  # stop the first service; the second one serves the promoted model


def test_retag_follows_the_promoted_model(make_client, db_url, tmp_path):
    _seed(make_client, db_url, tmp_path, [
        {"external_id": "a", "score": 1, "text": URGENT, "timestamp": _ago(1)},
        {"external_id": "b", "score": 3, "text": "now-urgent: slow invoice", "timestamp": _ago(1)},
        {"external_id": "c", "score": 3, "text": "now-urgent: slow invoice, long ago", "timestamp": _ago(60)},
        {"external_id": "d", "score": 9, "text": "friendly staff", "timestamp": _ago(2)},
    ])
    c = make_client(db_url, models=_manager(PromotedPipeline(), "m2", tmp_path))
    h = auth(new_key(c, "admin", name="ops"))
    reader = auth(new_key(c, "read", name="reader"))
    alert_a = c.get("/v1/responses/a", headers=h).json()["alert_id"]
    assert c.post("/v1/retag", json={}, headers=reader).status_code == 403
    assert c.post("/v1/retag", json={"model_id": "m3"}, headers=h).status_code == 409
    r = c.post("/v1/retag", json={"model_id": "m2"}, headers=h)
    assert r.status_code == 202, r.text
    assert r.json()["total"] == 4 and r.json()["model_id"] == "m2"
    job = _wait_for(c, h, r.json()["id"])
    assert (job["done"], job["changed"], job["alerts_opened"], job["alerts_cleared"], job["progress"]) == (4, 3, 2, 1, 1.0)
    answers = {e: c.get(f"/v1/responses/{e}", headers=h).json() for e in "abcd"}
    assert {a["model_id"] for a in answers.values()} == {"m2"}
    for a in answers.values():
        [event] = [e for e in a["history"] if e["kind"] == "retagged"]
        assert (event["changes"]["from"], event["changes"]["to"], event["actor"]) == ("m1", "m2", f"retag job {job['id']}")
    assert answers["b"]["urgent"] and answers["b"]["history"][0]["changes"]["fields"] == ["urgency_level"]
    # no longer urgent: the alert is kept, with an event; newly urgent: opened, or created resolved when old
    kept = c.get(f"/v1/alerts/{alert_a}", headers=h).json()
    assert kept["history"][-1]["kind"] == "retagged" and "no longer urgent" in kept["history"][-1]["note"]
    assert answers["a"]["alert_id"] == alert_a and not answers["a"]["urgent"]
    new_b = c.get(f"/v1/alerts/{answers['b']['alert_id']}", headers=h).json()
    old_c = c.get(f"/v1/alerts/{answers['c']['alert_id']}", headers=h).json()
    assert new_b["status"] == "new" and old_c["status"] == "resolved"
    assert "older than 7 days" in old_c["history"][-1]["note"]
    # done already: a second job has nothing to do; all=true takes every answer again
    again = c.post("/v1/retag", json={}, headers=h).json()
    assert again["total"] == 0 and _wait_for(c, h, again["id"])["done"] == 0
    every = c.post("/v1/retag", json={"all": True}, headers=h).json()
    assert _wait_for(c, h, every["id"])["done"] == 4 and every["total"] == 4
    assert [j["id"] for j in c.get("/v1/retag", headers=h).json()["items"]] == [every["id"], again["id"], job["id"]]
    assert c.get("/v1/retag/999", headers=h).status_code == 404


def test_a_restarted_service_resumes_a_job_from_its_cursor(make_client, sqlite_url, tmp_path):
    from api.db.models import Response, RetagJob

    _seed(make_client, sqlite_url, tmp_path, [{"external_id": f"r-{i}", "score": 5, "text": f"answer {i}"}
                                              for i in range(10)])
    from api.db.session import Database

    db = Database(sqlite_url)
    with db.session() as s:  # a job a stopped service left half-way, after the 4th response
        ids = sorted(s.scalars(Response.__table__.select().with_only_columns(Response.id)))
        s.add(RetagJob(model_id="m2", status="running", only_other_models=True, total=10, done=4, cursor=ids[3]))
    db.dispose()
    c = make_client(sqlite_url, models=_manager(PromotedPipeline(), "m2", tmp_path), require_auth=False)
    job = _wait_for(c, {}, 1)
    assert job["done"] == 10 and job["cursor"] == ids[-1]
    models = [c.get(f"/v1/responses/r-{i}").json()["model_id"] for i in range(10)]
    assert models == ["m1"] * 4 + ["m2"] * 6  # the first four were done by the earlier process


def test_ingest_is_not_blocked_while_a_job_runs(make_client, sqlite_url, tmp_path):
    _seed(make_client, sqlite_url, tmp_path, [{"external_id": f"s-{i}", "score": 7, "text": f"answer {i}"}
                                              for i in range(300)])
    slow = PromotedPipeline(delay_s=0.02)
    c = make_client(sqlite_url, models=_manager(slow, "m2", tmp_path), require_auth=False, retag_batch_size=5)
    job = c.post("/v1/retag", json={}).json()
    assert c.post("/v1/responses", json={"external_id": "live-1", "score": 9, "text": "great staff"}).status_code == 201
    during = c.get(f"/v1/retag/{job['id']}").json()
    assert during["status"] == "running" and 0 <= during["done"] < 300  # the answer did not wait for the job
    assert c.post(f"/v1/retag/{job['id']}/cancel").json()["status"] == "cancelled"
    assert c.get("/v1/responses/live-1").json()["model_id"] == "m2"


def test_cli_starts_a_job_and_shows_progress(make_client, sqlite_url, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from nps_nlp.cli import _retag, app

    _seed(make_client, sqlite_url, tmp_path, [{"external_id": f"q-{i}", "score": 7, "text": "ok"} for i in range(5)])
    c = make_client(sqlite_url, models=_manager(PromotedPipeline(), "m2", tmp_path))
    key = new_key(c, "admin", name="ops")
    monkeypatch.setattr(_retag, "_client", lambda url: c)
    result = CliRunner().invoke(app, ["retag", "--api-key", key, "--poll-s", "0.05"])
    assert result.exit_code == 0, result.output
    assert "job 1 done: 5 of 5 answers" in result.output
    refused = CliRunner().invoke(app, ["retag", "--api-key", key, "--model-id", "m9"])
    assert refused.exit_code == 2 and "not the served model" in refused.output
    assert CliRunner().invoke(app, ["retag", "--api-key", "wrong"]).exit_code == 2


@pytest.mark.parametrize("body", [{"model_id": ""}, {"all": "maybe"}, {"other": 1}])
def test_bad_input(make_client, sqlite_url, body):
    c = make_client(sqlite_url, require_auth=False)
    r = c.post("/v1/retag", json=body)
    assert r.status_code == 422 and r.json()["detail"]
