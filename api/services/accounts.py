"""Accounts and the customers that belong to them: upsert, read, and the revenue figures (maths in
``nps_nlp.revenue``).

A response belongs to the account it was sent with (``account_id`` on ingest), else to the account its
``customer_id`` is mapped to (``customer_accounts``); the mapping is read when a figure is computed, so accounts
imported after the answers count too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.db.models import Account, CustomerAccount, Response
from api.errors import ApiError, describe_errors
from api.schemas.accounts import AccountIn, AccountPatch
from api.services.queries import Filters
from nps_nlp.revenue import (
    AccountMethod,
    account_scores,
    check_currency,
    rank_by_revenue_at_risk,
    segment_summaries,
    summary,
    theme_revenue_at_risk,
)

ATTRIBUTES: tuple[str, ...] = ("name", "revenue", "currency", "segment", "owner")


def customers_of(session: Session, account_ids: Sequence[str]) -> dict[str, list[str]]:
    """``account_id -> [customer ids]`` (sorted)."""
    out: dict[str, list[str]] = {a: [] for a in account_ids}
    ids = list(account_ids)
    for i in range(0, len(ids), 500):
        rows = session.execute(select(CustomerAccount.account_id, CustomerAccount.customer_id)
                               .where(CustomerAccount.account_id.in_(ids[i:i + 500])).order_by(CustomerAccount.customer_id))
        for account, customer in rows:
            out[account].append(customer)
    return out


def account_out(account: Account, customers: list[str]) -> dict[str, Any]:
    return {"account_id": account.account_id, **{k: getattr(account, k) for k in ATTRIBUTES}, "customers": customers,
            "created_at": account.created_at, "updated_at": account.updated_at}


def map_customers(session: Session, account_id: str, customers: Sequence[str]) -> None:
    """Map each customer to ``account_id`` (a customer mapped elsewhere moves)."""
    for customer in dict.fromkeys(customers):
        row = session.get(CustomerAccount, customer)
        if row is None:
            session.add(CustomerAccount(customer_id=customer, account_id=account_id))
        else:
            row.account_id = account_id
    session.flush()


def upsert(session: Session, item: AccountIn, now: datetime | None = None) -> str:
    """Create or update the account ``item.account_id`` (fields sent replace the stored ones; customers are added).
    Returns ``created`` or ``updated``."""
    now = now or datetime.now(UTC)
    row = session.scalar(select(Account).where(Account.account_id == item.account_id))
    sent = item.model_dump(exclude_unset=True)
    status = "updated"
    if row is None:
        row = Account(account_id=item.account_id, created_at=now)
        session.add(row)
        status = "created"
    for name in ATTRIBUTES:
        if name in sent or status == "created":
            setattr(row, name, getattr(item, name))
    row.updated_at = now
    session.flush()
    map_customers(session, item.account_id, item.customers)
    return status


def bulk_upsert(session: Session, items: Sequence[Any]) -> list[dict[str, Any]]:
    """Upsert each item (checked on its own: a bad one is reported with its problems, the good ones are stored)."""
    results = []
    now = datetime.now(UTC)
    for index, raw in enumerate(items):
        account_id = raw.get("account_id") if isinstance(raw, dict) else None
        try:
            item = AccountIn.model_validate(raw)
        except ValidationError as exc:
            results.append({"index": index, "account_id": account_id if isinstance(account_id, str) else None,
                            "status": "error", "error": "; ".join(describe_errors(exc.errors()))})
            continue
        with session.begin_nested():
            results.append({"index": index, "account_id": item.account_id, "status": upsert(session, item, now)})
    return results


def find(session: Session, account_id: str) -> Account | None:
    return session.scalar(select(Account).where(Account.account_id == account_id))


def get(session: Session, account_id: str) -> Account:
    """The account, or a 404 :class:`ApiError`."""
    row = find(session, account_id)
    if row is None:
        raise ApiError(404, f"no account {account_id!r}")
    return row


def patch(session: Session, account_id: str, body: AccountPatch) -> Account:
    row = get(session, account_id)
    changes = body.model_dump(exclude_unset=True)
    customers = changes.pop("customers", None)
    if not changes and not customers:
        raise ApiError(422, f"nothing to change: send {', '.join(ATTRIBUTES)} and/or customers")
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = datetime.now(UTC)
    session.flush()
    if customers:
        map_customers(session, account_id, customers)
    return row


def remove(session: Session, account_id: str) -> None:
    """Delete an account and its customer mappings (answers stay; they no longer count for an account)."""
    row = get(session, account_id)
    session.execute(delete(CustomerAccount).where(CustomerAccount.account_id == account_id))
    session.delete(row)
    session.flush()


def listing(session: Session, segment: str | None, owner: str | None, limit: int, offset: int) -> dict[str, Any]:
    query = select(Account)
    if segment is not None:
        query = query.where(Account.segment == segment)
    if owner is not None:
        query = query.where(Account.owner == owner)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(Account.account_id).limit(limit).offset(offset)))
    customers = customers_of(session, [r.account_id for r in rows])
    return {"total": total, "items": [account_out(r, customers[r.account_id]) for r in rows]}


def account_answers(session: Session, filters: Filters, themes: bool = False) -> list[dict[str, Any]]:
    """The filtered answers with their account (sent with the answer, else the customer's mapped account)."""
    account = func.coalesce(Response.account_id, CustomerAccount.account_id)
    columns = [Response.score, Response.timestamp, account] + ([Response.analysis] if themes else [])
    query = filters.apply(select(*columns).outerjoin(CustomerAccount, CustomerAccount.customer_id == Response.customer_id))
    out = []
    for row in session.execute(query.order_by(Response.timestamp, Response.id)):
        answer: dict[str, Any] = {"score": row[0], "timestamp": row[1], "account_id": row[2]}
        if themes:
            analysis: Any = row[3] or {}
            answer["themes"] = analysis.get("themes", [])
        out.append(answer)
    return out


def attributes(session: Session, currency: str | None) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Every account's attributes and the currency of the revenue figures. With ``currency`` chosen, revenues in
    another currency count as unknown.

    Raises:
        DataValidationError: revenues in several currencies and no ``currency`` chosen (a 422).
    """
    attrs = {row.account_id: {k: getattr(row, k) for k in ATTRIBUTES} for row in session.scalars(select(Account))}
    chosen = check_currency(attrs, currency)
    if currency is not None:
        for a in attrs.values():
            if a["currency"] != currency:
                a["revenue"] = None
    return attrs, chosen


def nps_report(session: Session, filters: Filters, method: AccountMethod, currency: str | None,
               limit: int) -> dict[str, Any]:
    """NPS per account and segment with revenue-weighted NPS and revenue at risk (see ``nps_nlp.revenue``)."""
    answers = account_answers(session, filters)
    attrs, chosen = attributes(session, currency)
    scores = account_scores(answers, attrs, method)
    ranked = sorted(scores, key=lambda a: (a.band != "detractor", -(a.revenue or 0.0), a.account_id))
    items = [{**a.to_dict(), **{k: attrs.get(a.account_id, {}).get(k) for k in ("name", "owner", "currency")}}
             for a in ranked[:limit]]
    return {"method": method, "currency": chosen, "overall": summary(scores), "segments": segment_summaries(scores),
            "items": items, "unassigned_answers": sum(1 for a in answers if a["account_id"] is None)}


def with_revenue_at_risk(session: Session, filters: Filters, points: list[dict[str, Any]], currency: str | None,
                         rank_by: str) -> list[dict[str, Any]]:
    """Action points with ``revenue_at_risk``, ``accounts_at_risk`` and ``currency`` added; ranked by revenue at
    risk when ``rank_by == "revenue_at_risk"`` (else left in their order)."""
    attrs, chosen = attributes(session, currency)
    # without any account nothing is at risk: the answers need not be read again
    risk = theme_revenue_at_risk(account_answers(session, filters, themes=True), attrs) if attrs else {}
    empty = {"revenue_at_risk": 0.0, "accounts_at_risk": 0}
    out = [{**p, **{k: risk.get(p["theme"], empty)[k] for k in empty}, "currency": chosen} for p in points]
    return [dict(p) for p in rank_by_revenue_at_risk(out)] if rank_by == "revenue_at_risk" else out
