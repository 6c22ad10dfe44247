"""GET /dashboard: the page and its assets are served with a strict CSP, and what its script reads exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parents[2] / "api" / "dashboard"
SCRIPT = (ASSETS / "dashboard.js").read_text(encoding="utf-8")


def test_page_and_assets_are_served_without_a_key_with_a_strict_csp(client):
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    for asset, kind in re.findall(r'(?:src|href)="(/dashboard/static/[^"]+\.(js|css))"', page.text):
        response = client.get(asset)
        assert response.status_code == 200
        assert ("javascript" if kind == "js" else "css") in response.headers["content-type"]
    assert "<script>" not in page.text  # no inline script: the CSP would block it
    assert client.get("/dashboard/static/../settings.py").status_code == 404
    # the data behind it still needs a key
    assert client.get("/v1/nps").status_code == 401
    assert "/dashboard" not in client.get("/openapi.json").json()["paths"]


def test_every_endpoint_and_field_the_script_reads_exists(client):
    schema = client.get("/openapi.json").json()
    called = set(re.findall(r'get\("(/v1/[^"]+)"', SCRIPT))
    assert called == {"/v1/nps", "/v1/action-points", "/v1/action-points/passives", "/v1/alerts", "/v1/teams"}
    for path in called:
        assert "get" in schema["paths"][path], path
    components = schema["components"]["schemas"]

    def fields(name: str) -> set[str]:
        return set(components[name]["properties"])

    # the fields dashboard.js reads from each response, by the schema that carries them
    read = {
        "NpsOut": {"overall", "change", "trend"},
        "NpsSummaryOut": {"nps", "ci_low", "ci_high", "n", "promoters", "passives", "detractors"},
        "NpsChangeOut": {"delta", "ci_low", "ci_high", "significant"},
        "NpsPeriodOut": {"period", "nps", "ci_low", "ci_high", "n"},
        "ActionPointOut": {"label", "team", "count", "share", "negative", "neutral", "positive", "nps_with",
                           "nps_without", "impact", "impact_ci", "quotes"},
        "QuoteOut": {"text", "lang", "score"},
        "PassiveDriverOut": {"label", "team", "passive_share", "promoter_share", "gap", "quotes"},
        "AlertOut": {"level", "score", "text", "reasons", "team", "status", "due_at", "overdue"},
        "UrgencyReasonOut": {"label"},
        "TeamOut": {"team", "problems", "praise", "open_alerts", "overdue_alerts"},
    }
    for name, used in read.items():
        assert used <= fields(name), (name, used - fields(name))
        for field in used - {"overall", "change", "trend", "quotes", "reasons", "impact_ci"}:
            assert re.search(rf"\.{field}\b", SCRIPT), f"{name}.{field} is listed here but not read by the script"
    # query parameters it sends are accepted
    params = {p["name"] for path in called for p in schema["paths"][path]["get"].get("parameters", [])}
    sent = {"period", "n_quotes", "open_only", "limit", "since", "until", "country", "channel", "touchpoint", "team"}
    assert all(re.search(rf"\b{name}\b", SCRIPT) for name in sent) and sent <= params


def test_script_never_inserts_html():
    assert "innerHTML" not in SCRIPT and "insertAdjacentHTML" not in SCRIPT and "document.write" not in SCRIPT


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: cannot syntax-check the script")
def test_script_parses():
    subprocess.run(["node", "--check", str(ASSETS / "dashboard.js")], check=True)
