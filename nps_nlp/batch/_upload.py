"""Loading tagged history into the service (``nps-nlp tag --to-service URL``).

The tagged output is streamed and posted in batches to ``POST {url}/v1/responses/bulk`` with
``Authorization: Bearer KEY``. The service deduplicates by ``external_id``, so an upload that failed
half-way can simply be run again: rows already stored come back as ``duplicate``. Rejected rows (no
usable text) are not sent. Transient failures (connection errors, 429 and 5xx) are retried with
exponential backoff; any other error stops the upload with the service's message.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nps_nlp.batch._rows import ColumnMap
from nps_nlp.batch._summary import iter_output_rows
from nps_nlp.errors import ConfigError, MissingDependencyError, NpsNlpError

_RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass
class UploadReport:
    """What an upload did: rows ``sent``, and per status ``created``/``duplicate``; ``skipped`` rejected rows;
    ``errors`` lists ``{"external_id", "error"}`` of rows the service refused."""

    sent: int = 0
    created: int = 0
    duplicate: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text or None


def response_payload(row: dict[str, Any], columns: ColumnMap) -> dict[str, Any]:
    """The service's bulk-item for one tagged output row."""
    score = row.get("nps_score")
    score = None if score in (None, "") else float(score)
    return {
        "external_id": _text(row.get(columns.id)) if columns.id else None,
        "score": int(score) if score is not None and score.is_integer() else score,
        "text": str(row.get(columns.text or "text") or ""),
        "timestamp": _text(row.get(columns.timestamp)) if columns.timestamp else None,
        "customer_id": _text(row.get(columns.customer)) if columns.customer else None,
        "lang": row.get("nps_lang") or None,
        "segments": {key: _text(row.get(col)) for key, col in columns.segments.items()},
    }


def _batches(path: Path, columns: ColumnMap, batch_size: int, report: UploadReport) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in iter_output_rows(path):
        if row.get("nps_status") != "ok":
            report.skipped += 1
            continue
        batch.append(response_payload(row, columns))
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def upload_to_service(path: str | Path, url: str, api_key: str | None, columns: ColumnMap, *, batch_size: int = 500,
                      client: Any = None, max_retries: int = 5, backoff_s: float = 1.0, timeout_s: float = 120.0,
                      progress: bool = True) -> UploadReport:
    """Post the tagged rows of ``path`` to the service's bulk endpoint.

    Args:
        path: a tagged output (any format, or the Ray engine's directory).
        url: the service's base URL (``http://host:8000``).
        api_key: sent as ``Authorization: Bearer KEY``.
        columns: the resolved column mapping of the tagging job.
        batch_size: responses per request.
        client: an ``httpx.Client`` (tests pass one with a mock transport).
        max_retries: retries of a request that failed transiently.
        backoff_s: first retry delay; doubles each retry (a ``Retry-After`` header wins).

    Raises:
        MissingDependencyError: httpx is not installed (``pip install 'nps-nlp[api]'``).
        NpsNlpError: the service refused a request (with its status and message) or stayed unreachable.
    """
    try:
        import httpx
    except ImportError as exc:
        raise MissingDependencyError("httpx", "api") from exc
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--to-service expects an http(s) URL such as http://localhost:8000, got {url!r}")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    endpoint = url.rstrip("/") + "/v1/responses/bulk"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    own = client is None
    client = client or httpx.Client(timeout=timeout_s)
    report = UploadReport()
    try:
        for batch in _batches(Path(path), columns, batch_size, report):
            for attempt in range(max_retries + 1):
                try:
                    response = client.post(endpoint, json={"responses": batch}, headers=headers)
                except httpx.TransportError as exc:
                    if attempt == max_retries:
                        raise NpsNlpError(f"cannot reach {endpoint} after {max_retries + 1} tries: {exc}") from exc
                    time.sleep(backoff_s * 2**attempt)
                    continue
                if response.status_code in _RETRY_STATUS and attempt < max_retries:
                    retry_after = response.headers.get("retry-after", "")
                    time.sleep(float(retry_after) if retry_after.replace(".", "", 1).isdigit() else backoff_s * 2**attempt)
                    continue
                break
            if response.status_code in (401, 403):
                raise NpsNlpError(f"{endpoint} refused the API key ({response.status_code}); pass a valid --api-key")
            if response.status_code >= 400:
                raise NpsNlpError(f"{endpoint} answered {response.status_code} after {report.sent} rows were stored: "
                                  f"{response.text[:500]}")
            report.sent += len(batch)
            for result in response.json().get("results", []):
                status = result.get("status")
                if status == "created":
                    report.created += 1
                elif status == "duplicate":
                    report.duplicate += 1
                else:
                    report.errors.append({"external_id": result.get("external_id"), "error": result.get("error")})
            if progress:
                print(f"uploaded {report.sent:,} responses ({report.created:,} new, {report.duplicate:,} duplicate, "
                      f"{len(report.errors):,} refused)", file=sys.stderr, flush=True)
    finally:
        if own:
            client.close()
    return report
