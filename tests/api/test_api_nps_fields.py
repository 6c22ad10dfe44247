"""The insights schemas copy the library's result classes by hand: none of their fields may be dropped.

NpsSummaryOut, NpsPeriodOut, NpsChangeOut, PassiveDriverOut, ActionPointOut and QuoteOut must carry every field
of nps_nlp's NpsSummary, NpsChange, PassiveDriver, ActionPoint and Quote, so a field added to the library
without its schema fails here instead of silently vanishing from the API. The too_few/reason/gap_ci fields
are also checked over HTTP."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import auth, new_key

from api.schemas.insights import (
    ActionPointOut,
    NpsChangeOut,
    NpsPeriodOut,
    NpsSummaryOut,
    PassiveDriverOut,
    QuoteOut,
)
from nps_nlp.action_points import ActionPoint, PassiveDriver, Quote, passive_drivers
from nps_nlp.nps import NpsChange, NpsSummary, nps, nps_change, nps_trend

# schema -> (library class, the fields only the service adds)
MIRRORS = {
    NpsSummaryOut: (NpsSummary, set()),
    NpsPeriodOut: (NpsSummary, {"period", "change"}),
    NpsChangeOut: (NpsChange, set()),
    PassiveDriverOut: (PassiveDriver, set()),
    ActionPointOut: (ActionPoint, {"assignments", "revenue_at_risk", "accounts_at_risk", "currency"}),
    QuoteOut: (Quote, set()),
}


@pytest.mark.parametrize("schema", list(MIRRORS), ids=lambda s: s.__name__)
def test_every_library_field_is_in_its_schema(schema):
    library, service_only = MIRRORS[schema]
    names = {f.name for f in dataclasses.fields(library)}
    missing = names - set(schema.model_fields)
    assert not missing, f"{schema.__name__} lacks {library.__name__} field(s) {sorted(missing)}: add them to api/schemas/insights.py"
    assert set(schema.model_fields) - names == service_only


def _tagged(n_passive: int, n_promoter: int) -> list[dict]:
    app = [{"theme": "website_app", "sentiment": "negative"}]
    return ([{"id": f"pa{i}", "score": 8, "text": "the app is slow", "themes": app} for i in range(n_passive)]
            + [{"id": f"pr{i}", "score": 10, "text": "great staff", "themes": []} for i in range(n_promoter)])


@pytest.mark.parametrize("n", [0, 3, 40])
def test_library_results_pass_through_the_schemas_unchanged(n):
    few, many = [10, 9, 7, 3][: min(n, 4)], [10, 9, 8, 6, 2] * max(n, 1)
    summary = nps(few)
    assert NpsSummaryOut.model_validate(summary.to_dict()).model_dump() == summary.to_dict()
    change = nps_change(few, many)
    assert NpsChangeOut.model_validate(change.to_dict()).model_dump() == change.to_dict()
    for period in nps_trend(many, ["2024-04-02T00:00:00Z"] * len(many), "month"):
        assert NpsPeriodOut.model_validate(period).model_dump() == period
    for driver in passive_drivers(_tagged(max(n, 2), max(n, 1))):
        out = PassiveDriverOut.model_validate(driver.to_dict()).model_dump()
        assert out == {**driver.to_dict(), "gap_ci": tuple(driver.gap_ci)}


def test_too_few_reason_and_gap_ci_reach_the_api(client):
    h = auth(new_key(client, "admin", name="ops"))
    items = []
    for month in ("2024-04", "2024-05"):
        for i in range(35):
            items.append({"external_id": f"{month}-pa{i}", "score": 8, "text": "the app is slow",
                          "timestamp": f"{month}-10T09:00:00Z", "segments": {"team": "big"}})
            items.append({"external_id": f"{month}-pr{i}", "score": 10, "text": "great staff",
                          "timestamp": f"{month}-10T09:00:00Z", "segments": {"team": "big"}})
    for i, score in enumerate([8, 8, 10, 3]):
        for month in ("2024-04", "2024-05"):
            items.append({"external_id": f"{month}-small{i}", "score": score,
                          "text": "great staff" if score >= 9 else "the app is slow",
                          "timestamp": f"{month}-12T09:00:00Z", "segments": {"team": "small"}})
    assert client.post("/v1/responses/bulk", json={"responses": items}, headers=h).json()["created"] == len(items)

    small = client.get("/v1/nps", params={"team": "small"}, headers=h).json()
    assert small["overall"]["too_few"] is True and small["overall"]["min_n"] == 30
    assert small["overall"]["interval"] == "adjusted-wald" and "too few answers" in small["overall"]["reason"]
    assert small["change"]["too_few"] is True and small["change"]["significant"] is False
    assert small["change"]["reason"].startswith("too few answers: 4 now, 4 before")
    assert all(t["too_few"] and t["reason"] for t in small["trend"])
    big = client.get("/v1/nps", params={"team": "big"}, headers=h).json()
    assert big["overall"]["too_few"] is False and big["overall"]["reason"] is None
    assert big["change"]["too_few"] is False and big["change"]["reason"] is None

    drivers = client.get("/v1/action-points/passives", params={"team": "big"}, headers=h).json()["items"]
    app = next(d for d in drivers if d["theme"] == "website_app")
    assert app["gap_ci"][0] <= app["gap"] <= app["gap_ci"][1] and app["gap_ci"][0] > 0
    assert app["significant"] is True and app["too_few"] is False and app["reason"] is None
    few = client.get("/v1/action-points/passives", params={"team": "small"}, headers=h).json()["items"]
    assert few and all(d["too_few"] and not d["significant"] and "too few answers" in d["reason"] for d in few)


def test_the_schema_declares_the_reason_and_the_gap_interval(client):
    """The fields clients (and the workspace pages, tested in tests/api/web) read to tell "too few answers" from
    "not significant" are declared in the OpenAPI document."""
    components = client.get("/openapi.json").json()["components"]["schemas"]
    for name, used in {"NpsChangeOut": {"too_few", "reason", "significant"},
                       "PassiveDriverOut": {"too_few", "reason", "significant", "gap_ci"}}.items():
        assert used <= set(components[name]["properties"]), (name, used - set(components[name]["properties"]))
