"""GET /dashboard: the old read-only page now redirects to the team workspace, keeping its query string, and the
workspace's pages are served with a strict CSP (no inline script, nothing from another origin)."""

from __future__ import annotations

import re


def test_dashboard_redirects_to_the_workspace_with_its_filters(client):
    r = client.get("/dashboard?since=2026-11-01&channel=app", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/app/overview?since=2026-11-01&channel=app"
    assert client.get("/dashboard/static/dashboard.js", follow_redirects=False).headers["location"] == "/app/overview"
    assert "/dashboard" not in client.get("/openapi.json").json()["paths"]
    # without a session the workspace asks to sign in, and comes back to the page after
    r = client.get("/dashboard?channel=app")
    assert r.url.path == "/app/login" and "next=/app/overview%3Fchannel%3Dapp" in str(r.url)


def test_the_sign_in_page_loads_only_its_own_assets_under_a_strict_csp(client):
    page = client.get("/app/login")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assets = re.findall(r'(?:src|href)="(/app/static/[^"]+)"', page.text)
    assert {"/app/static/htmx.min.js", "/app/static/workspace.css"} <= set(assets)
    for asset in assets:
        assert client.get(asset).status_code == 200
    assert "<script>" not in page.text and not re.search(r"\son[a-z]+=", page.text)  # no inline script or handler
    assert not re.search(r'(?:src|href)="https?://', page.text)  # no CDN
    # the data behind the API still needs a key
    assert client.get("/v1/nps").status_code == 401
