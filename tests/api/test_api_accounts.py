"""Accounts and revenue: CRUD, bulk upsert, CSV import, ingest with account_id, NPS per account, revenue at risk
and action points ranked by revenue at risk."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import auth, new_key
from typer.testing import CliRunner


@pytest.fixture
def svc(make_client, db_url):
    c = make_client(db_url)
    return c, auth(new_key(c, "admin", name="ops"))


def _ingest(c, h, items):
    r = c.post("/v1/responses/bulk", json={"responses": items}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["errors"] == 0, r.text


def test_account_crud(svc):
    c, h = svc
    body = {"account_id": "acct-1", "name": "Jansen BV", "revenue": 48000, "currency": "EUR", "segment": "smb",
            "owner": "an@example.com", "customers": ["cust-1", "cust-2"]}
    r = c.post("/v1/accounts", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["customers"] == ["cust-1", "cust-2"] and r.json()["revenue"] == 48000.0
    assert c.post("/v1/accounts", json=body, headers=h).status_code == 409
    r = c.patch("/v1/accounts/acct-1", json={"revenue": 50000.5, "customers": ["cust-3"]}, headers=h)
    assert r.status_code == 200 and r.json()["revenue"] == 50000.5 and r.json()["segment"] == "smb"
    assert r.json()["customers"] == ["cust-1", "cust-2", "cust-3"]
    assert c.patch("/v1/accounts/acct-1", json={}, headers=h).status_code == 422
    assert c.get("/v1/accounts", params={"segment": "smb"}, headers=h).json()["total"] == 1
    assert c.get("/v1/accounts", params={"segment": "enterprise"}, headers=h).json()["total"] == 0
    assert c.delete("/v1/accounts/acct-1", headers=h).status_code == 204
    assert c.get("/v1/accounts/acct-1", headers=h).status_code == 404
    assert c.delete("/v1/accounts/acct-1", headers=h).status_code == 404


def test_bad_account_input_is_a_clear_422(client, admin):
    for body, word in (({"account_id": "a", "revenue": -1}, "revenue"), ({"account_id": "a", "currency": "euro"}, "currency"),
                       ({"account_id": "a", "arr": 5}, "unknown field"), ({"revenue": 5}, "account_id")):
        r = client.post("/v1/accounts", json=body, headers=admin)
        assert r.status_code == 422, body
        assert word in r.text, r.text


def test_writes_need_the_ingest_scope(client):
    reader = auth(new_key(client, "read", name="reader"))
    assert client.post("/v1/accounts", json={"account_id": "a"}, headers=reader).status_code == 403
    assert client.get("/v1/accounts", headers=reader).status_code == 200


def test_bulk_upsert_reports_each_item(svc):
    c, h = svc
    c.post("/v1/accounts", json={"account_id": "a", "revenue": 1, "segment": "smb"}, headers=h)
    r = c.post("/v1/accounts/bulk", json={"accounts": [
        {"account_id": "a", "revenue": 10},  # update: segment kept
        {"account_id": "b", "revenue": 20, "customers": ["c-b"]},
        {"account_id": "c", "revenue": "lots"},
        "not an object",
    ]}, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["created"], out["updated"], out["errors"]) == (1, 1, 2)
    assert [x["status"] for x in out["results"]] == ["updated", "created", "error", "error"]
    assert "revenue" in out["results"][2]["error"]
    a = c.get("/v1/accounts/a", headers=h).json()
    assert (a["revenue"], a["segment"]) == (10.0, "smb")
    assert c.get("/v1/accounts/c", headers=h).status_code == 404


def test_ingest_takes_account_id_and_still_refuses_unknown_fields(svc):
    c, h = svc
    r = c.post("/v1/responses", json={"external_id": "r1", "score": 3, "text": "bad", "account_id": "acct-9"}, headers=h)
    assert r.status_code in (200, 201), r.text
    assert r.json()["response"]["account_id"] == "acct-9"
    r = c.post("/v1/responses", json={"external_id": "r2", "score": 3, "text": "bad", "revenue": 100}, headers=h)
    assert r.status_code == 422 and "revenue" in r.text and "account_id" in r.text  # names the allowed fields
    # the same id with another account is a conflict naming the field
    r = c.post("/v1/responses", json={"external_id": "r1", "score": 3, "text": "bad", "account_id": "acct-8"}, headers=h)
    assert r.status_code == 409 and "account_id" in r.text


def _programme(c, h):
    """big (900 EUR, enterprise): 3 respondents, the latest a detractor complaining about the invoice;
    small (100 EUR, smb): one promoter; mid (smb, no revenue): one passive via its customer mapping;
    and one answer without an account."""
    c.post("/v1/accounts/bulk", json={"accounts": [
        {"account_id": "big", "revenue": 900, "currency": "EUR", "segment": "enterprise"},
        {"account_id": "small", "revenue": 100, "currency": "EUR", "segment": "smb"},
        {"account_id": "mid", "segment": "smb", "customers": ["cust-mid"]},
    ]}, headers=h)
    _ingest(c, h, [
        {"external_id": "b1", "score": 10, "text": "great app", "timestamp": "2024-01-01T10:00:00Z", "account_id": "big"},
        {"external_id": "b2", "score": 9, "text": "good staff", "timestamp": "2024-02-01T10:00:00Z", "account_id": "big"},
        {"external_id": "b3", "score": 2, "text": "the invoice was wrong", "timestamp": "2024-03-01T10:00:00Z",
         "account_id": "big"},
        {"external_id": "s1", "score": 10, "text": "the app is great but expensive price", "timestamp": "2024-03-01T10:00:00Z",
         "account_id": "small"},
        {"external_id": "s2", "score": 1, "text": "expensive price, bad", "timestamp": "2024-01-01T10:00:00Z",
         "account_id": "small"},
        {"external_id": "m1", "score": 8, "text": "ok", "timestamp": "2024-03-02T10:00:00Z", "customer_id": "cust-mid"},
        {"external_id": "x1", "score": 0, "text": "expensive price, terrible", "timestamp": "2024-03-03T10:00:00Z"},
    ])


def test_nps_per_account_segment_and_revenue(svc):
    c, h = svc
    _programme(c, h)
    r = c.get("/v1/accounts/nps", headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["currency"] == "EUR" and out["unassigned_answers"] == 1
    overall = out["overall"]
    assert (overall["accounts"], overall["respondents"]) == (3, 6)
    assert overall["account_nps"]["n"] == 3 and overall["account_nps"]["nps"] == 0.0  # big -, small +, mid passive
    assert overall["revenue_weighted"]["nps"] == pytest.approx(-80.0)
    assert overall["revenue_at_risk"]["revenue"] == 900.0 and overall["revenue_at_risk"]["accounts"] == 1
    assert overall["revenue_at_risk"]["accounts_any_detractor"] == 2
    assert out["items"][0]["account_id"] == "big" and out["items"][0]["band"] == "detractor"
    segments = {s["segment"]: s for s in out["segments"]}
    assert segments["smb"]["accounts"] == 2 and segments["smb"]["revenue_at_risk"]["revenue"] == 0.0
    mean = c.get("/v1/accounts/nps", params={"method": "mean"}, headers=h).json()
    big = next(i for i in mean["items"] if i["account_id"] == "big")
    assert big["score"] == pytest.approx(7.0) and big["band"] == "passive"
    # the usual filters apply
    since = c.get("/v1/accounts/nps", params={"since": "2024-02-15T00:00:00Z"}, headers=h).json()
    assert since["overall"]["respondents"] == 3


def test_mixed_currencies_need_a_choice(svc):
    c, h = svc
    _programme(c, h)
    c.patch("/v1/accounts/small", json={"currency": "NOK"}, headers=h)
    r = c.get("/v1/accounts/nps", headers=h)
    assert r.status_code == 422 and "EUR, NOK" in r.text
    r = c.get("/v1/accounts/nps", params={"currency": "EUR"}, headers=h)
    assert r.status_code == 200 and r.json()["overall"]["revenue_weighted"]["revenue"] == 900.0
    assert c.get("/v1/action-points", params={"rank_by": "revenue_at_risk"}, headers=h).status_code == 422


def test_action_points_rank_by_revenue_at_risk(svc):
    c, h = svc
    _programme(c, h)
    by_impact = c.get("/v1/action-points", params={"min_count": 1}, headers=h).json()
    r = c.get("/v1/action-points", params={"min_count": 1, "rank_by": "revenue_at_risk"}, headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["rank_by"] == "revenue_at_risk" and by_impact["rank_by"] == "impact"
    items = {p["theme"]: p for p in out["items"]}
    # the invoice complaint is big's (900); price is small's (100) and an answer without an account
    assert items["billing_payment"]["revenue_at_risk"] == 900.0 and items["billing_payment"]["accounts_at_risk"] == 1
    assert items["price_value"]["revenue_at_risk"] == 100.0
    assert out["items"][0]["theme"] == "billing_payment"
    assert by_impact["items"][0]["theme"] == "price_value"  # two detractors: it hurts NPS most
    risks = [p["revenue_at_risk"] for p in out["items"]]
    assert risks == sorted(risks, reverse=True)
    assert c.get("/v1/action-points", params={"rank_by": "revenue"}, headers=h).status_code == 422


def test_cli_imports_accounts_from_csv(tmp_path: Path, sqlite_url):
    from nps_nlp.cli import app

    path = tmp_path / "accounts.csv"
    path.write_text("Account;ARR;currency;segment;owner;customer_id\n"
                    "acct-1;48000;eur;smb;an@example.com;cust-1\n"
                    "acct-1;;;;;cust-2\n"
                    "acct-2;12,5;EUR;smb;;\n"
                    ";100;EUR;;;\n"
                    "acct-3;2000.5;EUR;enterprise;;cust-3\n", encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["accounts", "import", str(path), "--database-url", sqlite_url, "-c", "account_id=Account"])
    assert r.exit_code == 1, r.output
    assert "line 4: revenue '12,5' is not a number" in r.output and "line 5: account_id" in r.output
    assert "created 2, updated 0 of 2 accounts (3 customers); 2 bad rows" in r.output

    from sqlalchemy import select

    from api.db.models import Account, CustomerAccount
    from api.db.session import Database

    db = Database(sqlite_url)
    with db.session() as s:
        stored = {a.account_id: (a.revenue, a.currency, a.segment) for a in s.scalars(select(Account))}
        mapped = dict(s.execute(select(CustomerAccount.customer_id, CustomerAccount.account_id)).all())
    assert stored == {"acct-1": (48000.0, "EUR", "smb"), "acct-3": (2000.5, "EUR", "enterprise")}
    assert mapped == {"cust-1": "acct-1", "cust-2": "acct-1", "cust-3": "acct-3"}

    path.write_text("account_id,revenue\nacct-1,50000\n", encoding="utf-8")  # upsert: the rest stays
    r = runner.invoke(app, ["accounts", "import", str(path), "--database-url", sqlite_url])
    assert r.exit_code == 0 and "created 0, updated 1" in r.output, r.output
    with db.session() as s:
        row = s.scalar(select(Account).where(Account.account_id == "acct-1"))
        assert (row.revenue, row.segment, row.owner) == (50000.0, "smb", "an@example.com")
    db.dispose()
    bad = tmp_path / "bad.csv"
    bad.write_text("id,revenue\n1,2\n", encoding="utf-8")
    r = runner.invoke(app, ["accounts", "import", str(bad), "--database-url", sqlite_url])
    assert r.exit_code == 2 and "no account_id column" in r.output
