"""Accounts (revenue, currency, segment, owner), the customers that belong to them, and NPS per account."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import InputModel
from api.schemas.insights import NpsSummaryOut

AccountMethod = Literal["latest", "mean"]
Currency = str

_EXAMPLE: dict[str, Any] = {"account_id": "acct-981", "name": "Bakkerij Jansen BV", "revenue": 48000.0, "currency": "EUR",
                            "segment": "smb", "owner": "an@example.com", "customers": ["cust-1", "cust-2"]}


class AccountIn(InputModel):
    """An account. ``revenue`` is a yearly figure (revenue or ARR) in ``currency`` (ISO 4217, e.g. EUR);
    ``customers`` are customer ids (a response's ``customer_id``) that belong to the account."""

    account_id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=300)
    revenue: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    currency: Currency | None = Field(default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code such as EUR")
    segment: str | None = Field(default=None, max_length=100)
    owner: str | None = Field(default=None, max_length=200)
    customers: list[str] = Field(default_factory=list, max_length=10_000, description="customer ids to map here")

    model_config = {"json_schema_extra": {"examples": [_EXAMPLE]}}


class AccountPatch(InputModel):
    """Fields to change; ``customers`` are added to the account (a customer moves from its old account)."""

    name: str | None = Field(default=None, max_length=300)
    revenue: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    currency: Currency | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    segment: str | None = Field(default=None, max_length=100)
    owner: str | None = Field(default=None, max_length=200)
    customers: list[str] | None = Field(default=None, max_length=10_000)


class AccountBulkIn(InputModel):
    """Accounts to create or update by ``account_id`` (upsert); each item is checked on its own."""

    unchecked = frozenset({"accounts"})

    accounts: list[Any] = Field(min_length=1, max_length=10_000,
                                json_schema_extra={"items": {"$ref": "#/components/schemas/AccountIn"}})


class AccountOut(BaseModel):
    account_id: str
    name: str | None
    revenue: float | None
    currency: str | None
    segment: str | None
    owner: str | None
    customers: list[str]
    created_at: datetime
    updated_at: datetime


class AccountListOut(BaseModel):
    total: int
    items: list[AccountOut]


class AccountBulkItemOut(BaseModel):
    index: int
    account_id: str | None
    status: Literal["created", "updated", "error"]
    error: str | None = None


class AccountBulkOut(BaseModel):
    results: list[AccountBulkItemOut]
    created: int
    updated: int
    errors: int


class RevenueWeightedOut(BaseModel):
    nps: float | None = Field(description="100 * (promoter revenue - detractor revenue) / revenue; accounts counted "
                                          "by their account-level band")
    ci_low: float | None = Field(description="bootstrap interval over accounts (95%)")
    ci_high: float | None
    revenue: float
    accounts: int
    accounts_without_revenue: int
    revenue_by_band: dict[str, float]
    too_few: bool = Field(description="fewer than 30 accounts with revenue: read the figure with care")
    reason: str | None


class RevenueAtRiskOut(BaseModel):
    revenue: float = Field(description="revenue of accounts whose account-level band is detractor")
    accounts: int
    accounts_without_revenue: int
    share: float | None = Field(description="of all known revenue")
    detractor_answers: int
    revenue_any_detractor: float = Field(description="revenue of accounts with at least one detractor respondent")
    accounts_any_detractor: int


class AccountFiguresOut(BaseModel):
    accounts: int
    respondents: int
    respondent_nps: NpsSummaryOut = Field(description="every answer counts once")
    account_nps: NpsSummaryOut = Field(description="every account counts once, by its account score")
    revenue_weighted: RevenueWeightedOut
    revenue_at_risk: RevenueAtRiskOut


class AccountSegmentOut(AccountFiguresOut):
    segment: str | None


class AccountNpsItemOut(BaseModel):
    account_id: str
    name: str | None
    segment: str | None
    owner: str | None
    revenue: float | None
    currency: str | None
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float = Field(description="respondent NPS within the account")
    score: float = Field(description="the account score: latest answer or mean")
    band: Literal["detractor", "passive", "promoter"]


class AccountNpsOut(BaseModel):
    method: AccountMethod
    currency: str | None = Field(description="the currency of the revenue figures")
    overall: AccountFiguresOut
    segments: list[AccountSegmentOut]
    items: list[AccountNpsItemOut] = Field(description="accounts with answers, largest revenue at risk first")
    unassigned_answers: int = Field(description="answers in the filter with no account (no account_id, "
                                                "customer not mapped)")
