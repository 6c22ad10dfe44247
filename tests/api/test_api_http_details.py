"""HTTP details a client relies on: the Allow header of a 405, and a 404 for a team nobody knows."""

import pytest


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("post", "/v1/alerts/1", {"GET", "PATCH"}),
    ("delete", "/v1/responses/abc", {"GET", "PUT"}),
    ("put", "/v1/classify", {"POST"}),
])
def test_405_names_every_method_of_the_path(client, admin, method, path, allowed):
    r = client.request(method.upper(), path, headers=admin)
    assert r.status_code == 405 and r.json()["detail"]
    assert set(r.headers["allow"].split(", ")) == allowed


def test_unknown_team_feed_is_a_404_that_names_the_teams(client, admin):
    r = client.get("/v1/teams/support-nowhere/feed", headers=admin)
    assert r.status_code == 404
    assert "unknown team" in r.json()["detail"] and "finance" in r.json()["detail"]
    # a team of the taxonomy with nothing routed to it yet is an empty feed, not an error
    r = client.get("/v1/teams/finance/feed", headers=admin)
    assert r.status_code == 200 and r.json()["total"] == 0
