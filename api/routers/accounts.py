"""Accounts: create, read, update, delete, bulk upsert, and NPS per account with revenue figures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from api.deps import AdminKey, IngestKey, ReadKey, SessionDep
from api.errors import ApiError
from api.routers.common import ERRORS, FiltersDep, Limit, Name, Offset
from api.schemas.accounts import (
    AccountBulkIn,
    AccountBulkOut,
    AccountIn,
    AccountListOut,
    AccountMethod,
    AccountNpsOut,
    AccountOut,
    AccountPatch,
)
from api.services import accounts

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

AccountId = Annotated[str, Path(min_length=1, max_length=200, description="the account's account_id")]
CurrencyQuery = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$", description="revenue figures in this currency only "
                                            "(needed when accounts use several)")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "unknown account"}}


@router.get("", response_model=AccountListOut, responses=ERRORS)
def list_accounts(session: SessionDep, _: ReadKey, segment: Name = None, owner: Name = None, limit: Limit = 100,
                  offset: Offset = 0) -> AccountListOut:
    """Accounts by ``account_id``, filterable by segment and owner, with their customers."""
    return AccountListOut.model_validate(accounts.listing(session, segment, owner, limit, offset))


@router.post("", response_model=AccountOut, status_code=201, responses={**ERRORS, 409: {"description": "exists"}})
def create_account(body: AccountIn, session: SessionDep, _: IngestKey) -> AccountOut:
    """Create an account (409 when the ``account_id`` exists: change it with PATCH or upsert with ``/bulk``)."""
    if accounts.find(session, body.account_id) is not None:
        raise ApiError(409, f"account {body.account_id!r} exists; change it with PATCH /v1/accounts/{{account_id}} "
                            "or upsert with POST /v1/accounts/bulk")
    accounts.upsert(session, body)
    row = accounts.get(session, body.account_id)
    return AccountOut.model_validate(accounts.account_out(row, accounts.customers_of(session, [row.account_id])[row.account_id]))


@router.post("/bulk", response_model=AccountBulkOut, responses=ERRORS)
def bulk_upsert(body: AccountBulkIn, session: SessionDep, _: IngestKey) -> AccountBulkOut:
    """Create or update many accounts by ``account_id``; each item gets ``created``, ``updated`` or ``error``
    (with the problem); the good items are stored even when others are bad."""
    results = accounts.bulk_upsert(session, body.accounts)
    count = {s: sum(1 for r in results if r["status"] == s) for s in ("created", "updated", "error")}
    return AccountBulkOut.model_validate({"results": results, "created": count["created"], "updated": count["updated"],
                                         "errors": count["error"]})


@router.get("/nps", response_model=AccountNpsOut, responses=ERRORS)
def get_account_nps(session: SessionDep, filters: FiltersDep, _: ReadKey,
                    method: Annotated[AccountMethod, Query(description="account score: the latest answer or the mean")] = "latest",
                    currency: CurrencyQuery = None, limit: Limit = 100) -> AccountNpsOut:
    """NPS per account and per account segment: respondent NPS (every answer once), account-level NPS (every
    account once, by its latest or mean score), revenue-weighted NPS and revenue at risk from detractor accounts.
    Accounts are listed detractors first, largest revenue first."""
    return AccountNpsOut.model_validate(accounts.nps_report(session, filters, method, currency, limit))


@router.get("/{account_id}", response_model=AccountOut, responses={**ERRORS, **NOT_FOUND})
def get_account(account_id: AccountId, session: SessionDep, _: ReadKey) -> AccountOut:
    row = accounts.get(session, account_id)
    return AccountOut.model_validate(accounts.account_out(row, accounts.customers_of(session, [account_id])[account_id]))


@router.patch("/{account_id}", response_model=AccountOut, responses={**ERRORS, **NOT_FOUND})
def update_account(account_id: AccountId, body: AccountPatch, session: SessionDep, _: IngestKey) -> AccountOut:
    """Change an account's attributes; ``customers`` are added to it."""
    row = accounts.patch(session, account_id, body)
    return AccountOut.model_validate(accounts.account_out(row, accounts.customers_of(session, [account_id])[account_id]))


@router.delete("/{account_id}", status_code=204, response_class=Response, responses={**ERRORS, **NOT_FOUND})
def delete_account(account_id: AccountId, session: SessionDep, _: AdminKey) -> Response:
    """Delete an account and its customer mappings; its answers stay."""
    accounts.remove(session, account_id)
    return Response(status_code=204)
