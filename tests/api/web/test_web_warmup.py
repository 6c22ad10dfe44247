"""The workspace's start-up warm-up (api.web.warmup): it counts the views people open first, so that their first
view after a start counts nothing more, with the figures a cold service counts; the service starts it in the
background and works without it."""

from __future__ import annotations

import gc
import re
import time

from workspace_data import seed, sign_in

from api.web import warmup
from api.web.warmup import warm

# the first view of each, by the user who opens it (lena, finn and aga land on their team's page)
FIRST_VIEWS = [("admin", "/app/overview"), ("admin", "/app/overview?period=week"), ("admin", "/app/teams/finance"),
               ("admin", "/app/leaderboard"), ("lena", "/app/teams/it-operations"), ("lena", "/app/overview"),
               ("finn", "/app/teams/finance"), ("aga", "/app/teams/it-operations"), ("ann", "/app/overview")]


def _panels(html: str) -> dict[str, str]:
    """The page's panels, less what differs from one sign-in or minute to the next (the CSRF token, "as of")."""
    found = dict(re.findall(r'<section class="panel[^"]*" id="(panel-[a-z-]+)">(.*?)</section>', html, re.S))
    return {name: re.sub(r'name="csrf_token" value="[^"]*"|<p class="legend">.*?</p>', "", body, flags=re.S)
            for name, body in found.items()}


def _views(client) -> dict[tuple[str, str], dict[str, str]]:
    out = {}
    for user, path in FIRST_VIEWS:
        client.cookies.clear()
        assert sign_in(client, user).status_code == 303
        page = client.get(path)
        assert page.status_code == 200, (user, path)
        out[user, path] = _panels(page.text)
    return out


def _counted(client) -> set:
    return set(client.app.state.workspace_cache.tallies.items)


def test_after_the_warm_up_the_first_views_count_nothing_more_and_show_the_same_figures(make_client, sqlite_url):
    client = make_client(sqlite_url, workspace_warmup=False)
    seed(client)
    done = warm(client.app)
    assert done["templates"] >= 10 and done["views"] >= 10
    counted = _counted(client)
    warmed = _views(client)
    assert _counted(client) == counted  # every tally these views read was counted by the warm-up
    client.app.state.workspace_cache.tallies.clear()
    client.app.state.workspace_cache.panels.items.clear()
    assert _views(client) == warmed  # counted afresh: the same figures


def test_the_service_warms_up_in_the_background_after_it_starts(make_client, sqlite_url):
    """...and then freezes the heap: the counted views and compiled templates stay for the service's life, and a
    full garbage collection that walked them would stall the requests in flight."""
    gc.unfreeze()
    client = make_client(sqlite_url)
    deadline = time.monotonic() + 30
    while client.app.state.workspace_warmup is None and time.monotonic() < deadline:
        time.sleep(0.02)
    done = client.app.state.workspace_warmup
    assert done is not None and "failed" not in done and done["templates"] >= 10
    cache = client.app.state.workspace_cache
    tracked = {id(o) for o in gc.get_objects()}  # frozen objects are in none of the collector's generations
    assert gc.get_freeze_count() > 0 and id(cache) not in tracked and id(cache.tallies) not in tracked


def test_a_failed_warm_up_leaves_the_views_to_be_counted_when_opened(make_client, sqlite_url, monkeypatch):
    def broken(app, stop=None):
        raise RuntimeError("database gone")

    monkeypatch.setattr(warmup, "warm", broken)
    client = make_client(sqlite_url)
    deadline = time.monotonic() + 30
    while client.app.state.workspace_warmup is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert client.app.state.workspace_warmup == {"failed": True}
    seed(client)
    assert sign_in(client, "admin").status_code == 303 and client.get("/app/overview").status_code == 200
