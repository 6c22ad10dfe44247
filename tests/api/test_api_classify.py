"""POST /v1/classify, auth and scopes, bad input, micro-batching (fake pipeline)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from api_fakes import FakePipeline
from conftest import auth, new_key


def test_classify_returns_analysis_urgency_and_routing(client, admin):
    r = client.post("/v1/classify", headers=admin, json={"answers": [
        {"text": "The invoice was wrong and the site is down, I am cancelling", "score": 1, "id": "a1", "metadata": {"k": 1}},
        {"text": "Great staff", "score": 10, "lang": "nl"}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_id"] == "injected"
    first, second = body["results"]
    assert first["id"] == "a1" and first["metadata"] == {"k": 1}
    assert first["band"] == "detractor" and first["urgency"]["urgent"] is True
    assert {r["code"] for r in first["urgency"]["reasons"]} >= {"outage", "churn"}
    assert {(r["team"], r["kind"]) for r in first["routing"]} == {("finance", "problem"), ("it-operations", "problem")}
    assert "text" not in first
    assert second["lang"] == "nl" and second["band"] == "promoter" and second["routing"][0]["kind"] == "praise"


@pytest.mark.parametrize("text", ["", "   ", "🙂👍", "!!!"])
def test_empty_or_emoji_answer_is_classified_as_und(client, admin, text):
    r = client.post("/v1/classify", headers=admin, json={"answers": [{"text": text, "score": 5}]})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["lang"] == "und"
    assert r.json()["results"][0]["themes"] == []


def test_auth_401_and_403(client):
    body = {"answers": [{"text": "hi"}]}
    r = client.post("/v1/classify", json=body)
    assert r.status_code == 401 and "keys create" in r.json()["detail"]
    assert client.post("/v1/classify", json=body, headers=auth("nps_wrong")).status_code == 401
    assert client.post("/v1/classify", json=body, headers={"Authorization": "Basic abc"}).status_code == 401
    read_only = new_key(client, "read", name="dash")
    r = client.post("/v1/classify", json=body, headers=auth(read_only))
    assert r.status_code == 403 and "'classify' scope" in r.json()["detail"]
    key = new_key(client, "classify")
    assert client.post("/v1/classify", json=body, headers=auth(key)).status_code == 200
    assert client.post("/v1/classify", json=body, headers={"X-API-Key": key}).status_code == 200
    # health and metrics stay open for probes
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json()["checks"] == {"model": "ok", "database": "ok"}


def test_keys_are_stored_hashed_and_revocable(client):
    from sqlalchemy import select

    from api.db.models import ApiKey
    from api.services.keys import hash_key, revoke_key

    key = new_key(client, "classify", name="crm")
    with client.app.state.nps.db.session() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.name == "crm"))
        assert row.key_hash == hash_key(key) and key not in (row.key_hash, row.prefix)
        revoke_key(s, row.id)
    r = client.post("/v1/classify", json={"answers": [{"text": "x"}]}, headers=auth(key))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_auth_can_be_switched_off(make_client, sqlite_url):
    c = make_client(sqlite_url, require_auth=False)
    assert c.post("/v1/classify", json={"answers": [{"text": "x"}]}).status_code == 200


@pytest.mark.parametrize(("answers", "status", "needle"), [
    ([{"text": "x", "score": 11}], 422, "answers[0].score: Input should be less than or equal to 10"),
    ([{"text": "x", "score": -1}], 422, "answers[0].score"),
    ([{"text": "x", "score": 7.5}], 422, "answers[0].score"),
    ([{"text": "x", "lang": "de"}], 422, "answers[0].lang: language hint 'de' is not supported"),
    ([{"score": 3}], 422, "answers[0].text: Field required"),
    ([], 422, "answers"),
    ([{"text": "x" * 201}], 422, "over the limit of 200 (NPS_MAX_TEXT_CHARS)"),
    ([{"text": "x"}] * 5, 413, "over the limit of 4 (NPS_MAX_BATCH)"),
])
def test_bad_input_gets_a_clear_4xx(make_client, sqlite_url, answers, status, needle):
    c = make_client(sqlite_url, require_auth=False, max_text_chars=200, max_batch=4)
    r = c.post("/v1/classify", json={"answers": answers})
    assert r.status_code == status, r.text
    body = r.json()
    assert needle in body["detail"] + " ".join(body["problems"])


@pytest.mark.parametrize(("hint", "lang"), [("NL", "nl"), ("no", "nb"), ("und", "en"), ("other", "en"), ("", "en"), (None, "en")])
def test_language_hints(client, admin, hint, lang):
    r = client.post("/v1/classify", headers=admin, json={"answers": [{"text": "Great staff", "lang": hint}]})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["lang"] == lang  # the fake pipeline answers "en" when it gets no hint


def test_malformed_json_is_422(client, admin):
    r = client.post("/v1/classify", headers={**admin, "Content-Type": "application/json"}, content=b"{not json")
    assert r.status_code == 422


@contextlib.asynccontextmanager
async def running_batcher(fake: FakePipeline, **options):
    """A started MicroBatcher around ``fake`` (model id ``m1``), stopped on exit."""
    from api.services.batcher import MicroBatcher
    from api.services.models import LoadedModel

    loaded = LoadedModel(fake, "m1", None, "injected")
    batcher = MicroBatcher(lambda: loaded, **options)
    batcher.start()
    try:
        yield batcher
    finally:
        await batcher.stop()


def test_concurrent_requests_share_one_pipeline_call():
    from api.services.batcher import Item

    fake = FakePipeline(delay_s=0.05)

    async def run():
        async with running_batcher(fake, max_size=64, wait_ms=20) as batcher:
            return await asyncio.gather(*[batcher.analyze([Item(f"the invoice {i}", i % 11)]) for i in range(20)])

    outs = asyncio.run(run())
    assert sum(fake.calls) == 20 and len(fake.calls) <= 2  # 20 requests, one or two encoder batches
    for i, (answers, model_id) in enumerate(outs):  # each request gets its own answer back
        assert model_id == "m1" and answers[0].result.text == f"the invoice {i}" and answers[0].score == i % 11


def test_bulk_work_waits_behind_real_time_requests():
    """A backfill in the bulk lane delays a live answer by the one chunk that is running, not the whole backfill."""
    from api.services.batcher import Item

    fake = FakePipeline(delay_s=0.05)

    async def run():
        async with running_batcher(fake, max_size=8, wait_ms=1) as batcher:
            backfill = asyncio.create_task(batcher.analyze([Item(f"bulk {i}") for i in range(40)], bulk=True))
            await asyncio.to_thread(fake.started.wait, 5)  # the first bulk chunk is running
            live = await asyncio.gather(batcher.analyze([Item("live 1")]), batcher.analyze([Item("live 2")]))
            backfill_done_first = backfill.done()
            return await backfill, live, backfill_done_first

    (bulk, _), live, backfill_done_first = asyncio.run(run())
    assert not backfill_done_first
    assert [a.result.text for a in bulk] == [f"bulk {i}" for i in range(40)]  # in order, nothing lost
    assert [answers[0][0].result.text for answers in live] == ["live 1", "live 2"]
    assert fake.batches[0] == [f"bulk {i}" for i in range(8)]
    assert fake.batches[1] == ["live 1", "live 2"]  # next in line, ahead of the four waiting bulk chunks
    assert fake.batches[2:] == [[f"bulk {i}" for i in range(j, j + 8)] for j in range(8, 40, 8)]


@pytest.mark.parametrize("workers", [1, 2])
def test_batcher_workers_run_that_many_batches_at_once(workers):
    """With ``workers=2`` a request that arrives while a batch runs starts at once in a second batch; with one
    worker it waits for the running batch. Every request still gets its own answers."""
    import threading

    from api.services.batcher import Item

    fake = FakePipeline(delay_s=0.3)
    running, most = [0], [0]
    analyze, lock = fake.analyze, threading.Lock()

    def counting(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return analyze(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    fake.analyze = counting

    async def run():
        async with running_batcher(fake, max_size=8, wait_ms=1, workers=workers) as batcher:
            first = asyncio.create_task(batcher.analyze([Item("first")]))
            await asyncio.to_thread(fake.started.wait, 5)  # the first batch is running
            second = await batcher.analyze([Item("second")])
            return await first, second

    first, second = asyncio.run(run())
    assert (first[0][0].result.text, second[0][0].result.text) == ("first", "second")
    assert fake.batches == [["first"], ["second"]]
    assert most[0] == workers


def test_batcher_spreads_a_large_request_over_its_workers():
    from api.services.batcher import Item

    fake = FakePipeline(delay_s=0.05)

    async def run():
        async with running_batcher(fake, max_size=8, wait_ms=1, workers=2) as batcher:  # batches of 4
            return await batcher.analyze([Item(f"t{i}") for i in range(10)])

    answers, _ = asyncio.run(run())
    assert [a.result.text for a in answers] == [f"t{i}" for i in range(10)]  # in order
    assert sorted(fake.batches) == [["t0", "t1", "t2", "t3"], ["t4", "t5", "t6", "t7"], ["t8", "t9"]]


def test_batcher_rejects_zero_workers():
    from api.services.batcher import MicroBatcher

    with pytest.raises(ValueError, match="workers"):
        MicroBatcher(lambda: None, workers=0)  # type: ignore[arg-type,return-value]


def test_batcher_splits_large_requests_and_isolates_failures():
    from api.services.batcher import Item

    fake = FakePipeline(fail_on="POISON")

    async def run():
        async with running_batcher(fake, max_size=8, wait_ms=30) as batcher:
            big = batcher.analyze([Item(f"t{i}") for i in range(20)])
            bad = batcher.analyze([Item("POISON")])
            good = batcher.analyze([Item("fine")])
            return await asyncio.gather(big, bad, good, return_exceptions=True)

    big, bad, good = asyncio.run(run())
    assert [a.result.text for a in big[0]] == [f"t{i}" for i in range(20)]
    assert max(fake.calls) <= 8
    assert isinstance(bad, RuntimeError)
    assert good[0][0].result.text == "fine"


def test_logs_never_contain_the_answer_text(client, admin, caplog):
    secret = "Mijn factuur van zevenhonderd euro klopt niet"
    with caplog.at_level(logging.DEBUG):
        given = client.post("/v1/classify", headers={**admin, "X-Request-ID": "trace-42"},
                            json={"answers": [{"text": secret, "score": 2}]})
        made_up = client.post("/v1/responses", headers=admin,
                              json={"external_id": "log-1", "score": 1, "text": secret + ", I am cancelling"})
    assert given.headers["X-Request-ID"] == "trace-42" and len(made_up.headers["X-Request-ID"]) == 16
    lines = [r.__dict__ for r in caplog.records if r.getMessage() == "request"]
    assert {(x["request_id"], x["route"], x["status"], x["caller"]) for x in lines} == {
        ("trace-42", "/v1/classify", 200, "admin"), (made_up.headers["X-Request-ID"], "/v1/responses", 201, "admin")}
    for record in caplog.records:
        assert "zevenhonderd" not in record.getMessage() and "zevenhonderd" not in str(record.__dict__)


def test_metrics_and_openapi(client, admin):
    client.post("/v1/classify", headers=admin, json={"answers": [{"text": "a"}, {"text": "b"}]})
    text = client.get("/metrics").text
    assert "nps_answers_analyzed_total 2.0" in text
    assert 'nps_http_requests_total{method="POST",route="/v1/classify",status="200"} 1.0' in text
    schema = client.get("/openapi.json").json()
    assert {"/v1/classify", "/v1/responses", "/v1/responses/bulk", "/v1/nps", "/v1/action-points", "/v1/alerts",
            "/v1/teams", "/v1/models/active", "/v1/models/reload"} <= set(schema["paths"])
    assert schema["components"]["schemas"]["ClassifyIn"]["examples"]
