"""Fixtures for the workspace: a seeded app with the fake pipeline, and a client signed in as one of its users."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from workspace_data import seed, sign_in


@pytest.fixture
def workspace(make_client: Callable[..., TestClient], sqlite_url: str) -> TestClient:
    """A seeded service on SQLite (no one signed in)."""
    client = make_client(sqlite_url)
    seed(client)
    return client


@pytest.fixture
def as_user(workspace: TestClient) -> Callable[[str], TestClient]:
    """``as_user("lena")`` -> the workspace client signed in as lena (one client, one user at a time)."""

    def login(username: str) -> TestClient:
        workspace.cookies.clear()
        r = sign_in(workspace, username)
        assert r.status_code == 303, r.text
        return workspace

    return login
