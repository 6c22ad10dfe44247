"""Routing rules: which team and owner a new alert gets, and which lead an overdue one is escalated to.

Rules are tried by ``priority`` (lowest first, then by id); the first whose ``match`` holds gives the alert its
team (``team``, or the response's ``team_from`` segment value) and its owner. With no rule matching, the alert
keeps the team its themes are routed to by the taxonomy and no owner. A team's lead is the ``lead`` of the rule
that routed the alert, else of the first rule naming that team with a lead.

Rules come from ``/v1/routing/rules`` (``source="api"``) and from a YAML file named by
``NPS_ROUTING_RULES_FILE`` (``source="file"``), read at start-up: the file's rules replace those loaded from it
before; rules made through the API stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, aliased

from api.db.models import Alert, AlertEvent, Response, ResponseTheme, RoutingRule
from api.errors import ApiError, describe_errors
from api.schemas.routing import RuleIn, RulePatch
from api.settings import SEGMENTS
from nps_nlp.errors import ConfigError


def rule_out(rule: RoutingRule) -> dict[str, Any]:
    return {"id": rule.id, "priority": rule.priority, "match": dict(rule.match or {}), "team": rule.team,
            "team_from": rule.team_from, "owner": rule.owner, "lead": rule.lead, "source": rule.source,
            "created_at": rule.created_at, "updated_at": rule.updated_at}


def rules(session: Session) -> list[RoutingRule]:
    """Every rule in the order they are tried."""
    return list(session.scalars(select(RoutingRule).order_by(RoutingRule.priority, RoutingRule.id)))


def add(session: Session, body: RuleIn, source: str = "api", now: datetime | None = None) -> RoutingRule:
    now = now or datetime.now(UTC)
    rule = RoutingRule(priority=body.priority, match=body.match.model_dump(exclude_none=True), team=body.team,
                       team_from=body.team_from, owner=body.owner, lead=body.lead, source=source, created_at=now,
                       updated_at=now)
    session.add(rule)
    session.flush()
    return rule


def get(session: Session, rule_id: int) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise ApiError(404, f"no routing rule {rule_id}")
    return rule


def change(session: Session, rule_id: int, body: RulePatch) -> RoutingRule:
    """Apply a patch; the rule must still name exactly one of ``team`` and ``team_from`` (a 422 otherwise)."""
    rule = get(session, rule_id)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ApiError(422, "nothing to change: send priority, match, team, team_from, owner and/or lead")
    merged = {**rule_out(rule), **changes}
    if "team" in changes and changes["team"] is not None and "team_from" not in changes:
        merged["team_from"] = None
    if "team_from" in changes and changes["team_from"] is not None and "team" not in changes:
        merged["team"] = None
    try:
        checked = RuleIn.model_validate({k: merged[k] for k in ("priority", "match", "team", "team_from", "owner", "lead")})
    except ValidationError as exc:
        raise ApiError(422, "the changed rule is not valid", describe_errors(exc.errors())) from None
    rule.priority, rule.match = checked.priority, checked.match.model_dump(exclude_none=True)
    rule.team, rule.team_from, rule.owner, rule.lead = checked.team, checked.team_from, checked.owner, checked.lead
    rule.updated_at = datetime.now(UTC)
    session.flush()
    return rule


def read_file(path: Path) -> list[RuleIn]:
    """The rules of a YAML file: ``rules:`` followed by a list of rules (see :class:`~api.schemas.routing.RuleIn`).

    Raises:
        ConfigError: the file cannot be read or a rule is invalid (each problem names the rule's position).
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"NPS_ROUTING_RULES_FILE {path}: cannot read it ({type(exc).__name__}: {exc})") from None
    items = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"NPS_ROUTING_RULES_FILE {path}: expected a mapping with a 'rules' list, e.g. "
                          "rules: [{priority: 10, match: {theme: billing_payment}, team: finance, owner: a@example.com}]")
    out, problems = [], []
    for i, item in enumerate(items):
        try:
            out.append(RuleIn.model_validate(item))
        except ValidationError as exc:
            problems += [f"rules[{i}]: {line}" for line in describe_errors(exc.errors())]
    if problems:
        error = ConfigError(f"NPS_ROUTING_RULES_FILE {path}: {len(problems)} problem(s): " + "; ".join(problems[:10]))
        error.problems = problems  # type: ignore[attr-defined]
        raise error
    return out


def sync_file(session: Session, path: Path) -> int:
    """Replace the rules loaded from a file before with the rules of ``path``; returns how many were loaded."""
    loaded = read_file(path)
    session.execute(delete(RoutingRule).where(RoutingRule.source == "file"))
    now = datetime.now(UTC)
    for body in loaded:
        add(session, body, "file", now)
    return len(loaded)


def _matches(rule: RoutingRule, themes: set[str], level: str, segments: dict[str, str | None]) -> bool:
    for key, value in (rule.match or {}).items():
        if key == "theme":
            if value not in themes:
                return False
        elif key == "level":
            if value != level:
                return False
        elif segments.get(key) != value:
            return False
    return True


def resolve(session: Session, row: Response, data: dict[str, Any]) -> tuple[RoutingRule, str] | None:
    """The first rule that matches the answer and the team it names, or ``None``. A ``team_from`` rule whose
    segment is empty on this answer does not match."""
    themes = {t["theme"] for t in data.get("themes", []) if t.get("theme")}
    segments = {k: getattr(row, k) for k in SEGMENTS}
    for rule in rules(session):
        if not _matches(rule, themes, row.urgency_level, segments):
            continue
        team = rule.team or (segments.get(rule.team_from) if rule.team_from else None)
        if team:
            return rule, team
    return None


def assign(session: Session, alert: Alert, row: Response, data: dict[str, Any], now: datetime) -> None:
    """Give a new alert its team and owner from the rules (an owner marks it ``assigned``), with history entries
    that name the rule."""
    found = resolve(session, row, data)
    if found is None:
        return
    rule, team = found
    alert.team, alert.rule_id = team, rule.id
    if rule.owner:
        alert.owner, alert.status = rule.owner, "assigned"
        note = f"routing rule {rule.id} (team {team})"
        alert.events.append(AlertEvent(at=now, actor="routing", kind="owner", old=None, new=rule.owner, note=note))
        alert.events.append(AlertEvent(at=now, actor="routing", kind="status", old="new", new="assigned", note=note))


def lead_for(session: Session, alert: Alert) -> str | None:
    """The lead of the rule that routed the alert, else of the first rule naming the alert's team with a lead."""
    rule = session.get(RoutingRule, alert.rule_id) if alert.rule_id is not None else None
    if rule is not None and rule.lead:
        return rule.lead
    if alert.team is None:
        return None
    return session.scalar(select(RoutingRule.lead).where(RoutingRule.team == alert.team, RoutingRule.lead.is_not(None))
                          .order_by(RoutingRule.priority, RoutingRule.id).limit(1))


def team_exists(session: Session, team: str, taxonomy_teams: set[str]) -> bool:
    """A team the taxonomy names, that themes or alerts were routed to, that a rule names, or that answered
    customers (a value of the responses' ``team`` segment)."""
    if team in taxonomy_teams:
        return True
    probes = (select(ResponseTheme.id).where(ResponseTheme.team == team), select(Response.id).where(Response.team == team),
              select(Alert.id).where(Alert.team == team), select(RoutingRule.id).where(RoutingRule.team == team))
    return any(session.scalar(q.limit(1)) is not None for q in probes)


def team_feed(session: Session, team: str, kind: str | None, filters: Any, limit: int, offset: int) -> dict[str, Any]:
    """A team's answers, newest first: those with a theme routed to the team (one item per such theme) and those
    the team handled (its ``team`` segment; one item per answer, with its first theme if any). ``kind`` keeps
    only items of that theme kind."""
    other = aliased(ResponseTheme)
    routed = select(other.id).where(other.team == team, other.response_id == Response.id).correlate(Response)
    base = (select(Response, ResponseTheme).outerjoin(ResponseTheme, ResponseTheme.response_id == Response.id)
            .where(or_(ResponseTheme.team == team,
                       (Response.team == team) & ~routed.exists()
                       & or_(ResponseTheme.id.is_(None), ResponseTheme.id == _first_theme_id()))))
    if kind:
        base = base.where(ResponseTheme.kind == kind)
    base = filters.apply(base)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(Response.timestamp.desc(), Response.id.desc(), ResponseTheme.id)
                           .limit(limit).offset(offset)).all()
    return {"team": team, "total": total, "items": [_feed_item(resp, theme, team) for resp, theme in rows]}


def _first_theme_id() -> Any:
    inner = aliased(ResponseTheme)
    return select(func.min(inner.id)).where(inner.response_id == Response.id).correlate(Response).scalar_subquery()


def _feed_item(resp: Response, theme: ResponseTheme | None, team: str) -> dict[str, Any]:
    via = "theme" if theme is not None and theme.team == team else "segment"
    evidence = None
    if theme is not None:
        evidence = next((t.get("evidence") for t in (resp.analysis or {}).get("themes", []) if t["theme"] == theme.theme), None)
    return {"response_id": resp.id, "external_id": resp.external_id, "timestamp": resp.timestamp, "score": resp.score,
            "lang": resp.lang, "theme": theme.theme if theme else None, "kind": theme.kind if theme else None,
            "sentiment": theme.sentiment if theme else resp.sentiment, "confidence": theme.confidence if theme else None,
            "text": resp.text, "evidence": evidence, "via": via}


def known_teams(session: Session, taxonomy_teams: Sequence[str]) -> list[str]:
    """Team names for a 404 message: the taxonomy's and the rules' teams."""
    named = set(session.scalars(select(RoutingRule.team).where(RoutingRule.team.is_not(None))))
    return sorted(set(taxonomy_teams) | {t for t in named if t})


def load_file(db: Any, path: Path) -> int:
    """:func:`sync_file` in its own transaction (the service's start-up)."""
    with db.session() as session:
        return sync_file(session, path)
