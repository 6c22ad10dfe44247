"""Loading tagged rows into the service through its bulk endpoint (a fake transport, not the service)."""

from __future__ import annotations

import json

import httpx
import pytest
from batch_helpers import FakePipeline, write_csv

from nps_nlp.batch import ColumnMap, tag_file
from nps_nlp.batch._upload import upload_to_service
from nps_nlp.errors import NpsNlpError


@pytest.fixture
def tagged(tmp_path, rows):
    columns = ColumnMap(segments={"channel": "channel"})
    return tag_file(write_csv(tmp_path / "in.csv", rows), tmp_path / "out.csv", pipeline=FakePipeline(),
                    columns=columns, progress=False)


class FakeService:
    """Stores responses by external_id; can fail the first calls with a status."""

    def __init__(self, fail_first: int = 0, fail_status: int = 503) -> None:
        self.stored: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.fail_first, self.fail_status = fail_first, fail_status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/responses/bulk"
        if request.headers.get("authorization") != "Bearer secret":
            return httpx.Response(401, json={"detail": "bad key"})
        if self.fail_first:
            self.fail_first -= 1
            return httpx.Response(self.fail_status, headers={"retry-after": "0"}, json={"detail": "busy"})
        body = json.loads(request.content)
        self.requests.append(body)
        results = []
        for i, item in enumerate(body["responses"]):
            if item["external_id"] in self.stored:
                results.append({"index": i, "external_id": item["external_id"], "status": "duplicate", "error": None})
            else:
                self.stored[item["external_id"]] = item
                results.append({"index": i, "external_id": item["external_id"], "status": "created", "error": None})
        return httpx.Response(200, json={"results": results})


def _client(service: FakeService) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(service), base_url="http://svc")


def test_upload_sends_tagged_rows_in_batches_and_is_idempotent(tagged) -> None:
    service = FakeService()
    report = upload_to_service(tagged.output, "http://svc", "secret", tagged.columns, batch_size=10,
                               client=_client(service), progress=False)
    assert (report.sent, report.created, report.duplicate, report.skipped) == (26, 26, 0, 4)
    assert [len(r["responses"]) for r in service.requests] == [10, 10, 6]
    item = service.stored["r000"]
    assert item == {"external_id": "r000", "score": 0, "text": "The invoice was wrong again #0",
                    "timestamp": "2024-01-01T10:00:00Z", "customer_id": None, "lang": "en", "segments": {"channel": "app"}}
    again = upload_to_service(tagged.output, "http://svc", "secret", tagged.columns, client=_client(service), progress=False)
    assert (again.created, again.duplicate) == (0, 26)


def test_upload_retries_transient_failures(tagged) -> None:
    service = FakeService(fail_first=2)
    report = upload_to_service(tagged.output, "http://svc", "secret", tagged.columns, client=_client(service),
                               backoff_s=0, progress=False)
    assert report.created == 26 and len(service.requests) == 1


def test_upload_errors_are_clear(tagged) -> None:
    with pytest.raises(NpsNlpError, match="refused the API key"):
        upload_to_service(tagged.output, "http://svc", "wrong", tagged.columns, client=_client(FakeService()), progress=False)
    with pytest.raises(NpsNlpError, match="answered 503"):
        upload_to_service(tagged.output, "http://svc", "secret", tagged.columns, client=_client(FakeService(fail_first=9)),
                          max_retries=1, backoff_s=0, progress=False)
    with pytest.raises(NpsNlpError, match="http"):
        upload_to_service(tagged.output, "svc:8000", "secret", tagged.columns, progress=False)
