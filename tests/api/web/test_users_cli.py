"""``nps-nlp users create|list|set-password|add-team``: passwords from stdin, stored as argon2 hashes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nps_nlp.cli import app


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'users.db'}"


def test_create_list_set_password_and_add_team(url):
    runner = CliRunner()
    r = runner.invoke(app, ["users", "create", "anna", "--role", "team_lead", "-t", "finance", "--name", "Anna",
                            "--password-stdin", "--database-url", url], input="first-password-1\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "add-team", "anna", "digital", "--database-url", url])
    assert r.exit_code == 0 and "digital, finance" in r.output
    r = runner.invoke(app, ["users", "list", "--database-url", url])
    assert "anna" in r.output and "team_lead" in r.output and "first-password" not in r.output
    r = runner.invoke(app, ["users", "set-password", "anna", "--password-stdin", "--database-url", url], input="second-password-2\n")
    assert r.exit_code == 0, r.output
    from api.db.session import Database
    from api.services.users import authenticate

    db = Database(url)
    with db.session() as s:
        assert authenticate(s, "anna", "first-password-1") is None
        user = authenticate(s, "anna", "second-password-2")
        assert user is not None and user.password_hash.startswith("$argon2id$") and user.session_epoch == 1
    db.dispose()


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["create", "x", "--role", "agent"], "long-enough-pw\n", "username"),
    (["create", "bob", "--role", "boss"], "long-enough-pw\n", "role must be one of"),
    (["create", "bob", "--role", "agent"], "short\n", "at least 10 characters"),
    (["create", "bob", "--role", "agent", "--timezone", "Moon/Base"], "long-enough-pw\n", "unknown time zone"),
    (["set-password", "nobody"], "long-enough-pw\n", "no user"),
])
def test_bad_input_is_a_clear_error(url, args, stdin, message):
    r = CliRunner().invoke(app, ["users", *args, "--password-stdin", "--database-url", url], input=stdin)
    assert r.exit_code != 0 and message in r.output
