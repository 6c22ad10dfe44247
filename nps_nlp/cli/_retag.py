"""``nps-nlp retag``: re-tag the service's stored answers with its served model, with a progress bar.

The job runs inside the service (``POST /v1/retag``), which resumes it after a restart; this command starts one
(or follows ``--job``) and shows its progress until it ends.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from nps_nlp.cli.common import app, err, fail
from nps_nlp.errors import MissingDependencyError, NpsNlpError


def _client(url: str) -> Any:
    """An HTTP client for the service at ``url`` (tests replace this)."""
    try:
        import httpx
    except ImportError as exc:
        raise MissingDependencyError("httpx", "api") from exc
    return httpx.Client(base_url=url.rstrip("/"), timeout=30.0)


def _check(response: Any, what: str) -> dict[str, Any]:
    if response.status_code in (401, 403):
        raise NpsNlpError(f"{what}: the service refused the API key ({response.status_code}); pass an admin --api-key")
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise NpsNlpError(f"{what}: {response.status_code} {str(detail)[:300]}")
    data: dict[str, Any] = response.json()
    return data


@app.command()
def retag(
    service: Annotated[str, typer.Option("--service", help="The service's base URL.")] = "http://127.0.0.1:8000",
    api_key: Annotated[str | None, typer.Option(envvar="NPS_API_KEY", help="An admin API key (or NPS_API_KEY).")] = None,
    model_id: Annotated[str | None, typer.Option(help="Refuse unless the service serves this model.")] = None,
    all_answers: Annotated[bool, typer.Option("--all", help="Also answers already tagged by the served model.")] = False,
    job: Annotated[int | None, typer.Option(min=1, help="Follow this job instead of starting one.")] = None,
    wait: Annotated[bool, typer.Option(help="Follow the job until it ends (--no-wait: start it and return).")] = True,
    poll_s: Annotated[float, typer.Option(min=0.05, help="Seconds between progress reads.")] = 1.0,
) -> None:
    """Re-tag stored answers with the model the service serves (after `nps-nlp models promote`): sentiment,
    themes, urgency and alerts follow; each answer's history says which model re-tagged it. Ingest keeps working."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        client = _client(service)
        if job is None:
            body: dict[str, Any] = {"all": all_answers, **({"model_id": model_id} if model_id else {})}
            state = _check(client.post("/v1/retag", json=body, headers=headers), "starting the job")
            err.print(f"re-tagging job {state['id']}: {state['total']:,} answers with model {state['model_id']}")
        else:
            state = _check(client.get(f"/v1/retag/{job}", headers=headers), f"job {job}")
        if wait:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=err, transient=False) as progress:
                task = progress.add_task(f"job {state['id']}", total=state["total"] or 1, completed=state["done"])
                while state["status"] == "running":
                    time.sleep(poll_s)
                    state = _check(client.get(f"/v1/retag/{state['id']}", headers=headers), f"job {state['id']}")
                    progress.update(task, total=max(state["total"], state["done"]) or 1, completed=state["done"])
    except NpsNlpError as exc:
        fail(exc)
        return
    err.print(f"job {state['id']} {state['status']}: {state['done']:,} of {state['total']:,} answers, "
              f"{state['changed']:,} changed, {state['alerts_opened']:,} alerts opened, "
              f"{state['alerts_cleared']:,} no longer urgent" + (f"; {state['error']}" if state.get("error") else ""))
    if state["status"] in ("failed", "superseded"):
        raise typer.Exit(code=1)
