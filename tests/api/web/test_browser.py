"""The workspace in a real browser: Debian's chromium driven by Selenium against a real uvicorn server (SQLite,
the fake pipeline). A team lead resolves an urgent alert in at most three clicks from the sign-in page, an agent
takes an alert from assigned to resolved, an action item is updated, a filter change changes every panel, the
exports a team lead downloads (CSV and XLSX, opened) hold their team's rows that pass the filters, and nobody sees
another team's data. Screenshots of each page go to ``NPS_SCREENSHOTS`` (docs/screenshots/ holds them)."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from workspace_data import PASSWORD, seed

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if CHROMIUM is None or DRIVER is None:
    pytest.skip("no chromium/chromedriver on this machine: apt-get install -y chromium chromium-driver (.ci/run does it)",
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra: pip install -e '.[dev]'")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

# screenshots of each page: to NPS_SCREENSHOTS when set (docs/screenshots/ is made with
# NPS_SCREENSHOTS=docs/screenshots), else to a temporary folder, so a test run leaves the checkout as it was
SHOTS_DIR = os.environ.get("NPS_SCREENSHOTS")
IT_ONLY, FINANCE_ONLY = "full outage", "lawyer"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real uvicorn server on a free port with a seeded SQLite database and the fake pipeline."""
    import httpx
    import uvicorn
    from api_fakes import FakePipeline

    from api.main import create_app
    from api.settings import ServiceSettings

    tmp = tmp_path_factory.mktemp("browser")
    settings = ServiceSettings(database_url=f"sqlite:///{tmp / 'nps.db'}", registry_dir=tmp / "registry", model_poll_s=0)
    app = create_app(settings, pipeline=FakePipeline())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with httpx.Client(base_url=base, timeout=60) as http:
        seed(http, db=app.state.nps.db)
    try:
        yield {"base": base, "db": app.state.nps.db}
    finally:
        uv.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # downloads land without asking (the folder is set per test, see _download)
    options.add_experimental_option("prefs", {"download.prompt_for_download": False, "download.directory_upgrade": True})
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1360,1000",
                "--lang=en-GB"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


class Clicks:
    """Counts the clicks a person makes."""

    def __init__(self, driver: Any) -> None:
        self.driver, self.n = driver, 0

    def click(self, element: Any) -> None:
        self.n += 1
        element.click()


def _wait(driver: Any, condition: Any, timeout: float = 20) -> Any:
    return WebDriverWait(driver, timeout).until(condition)


def _sign_in(driver: Any, base: str, username: str, clicks: Clicks | None = None) -> None:
    driver.delete_all_cookies()
    driver.get(base + "/app/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    button = driver.find_element(By.ID, "sign-in")
    (clicks.click if clicks else lambda e: e.click())(button)
    _wait(driver, EC.presence_of_element_located((By.ID, "logout")))


def _shot(driver: Any, name: str) -> None:
    global SHOTS_DIR
    if SHOTS_DIR is None:
        SHOTS_DIR = tempfile.mkdtemp(prefix="nps-screenshots-")
    shots = Path(SHOTS_DIR)
    shots.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1360, min(max(height, 700), 4000))
    assert driver.save_screenshot(str(shots / f"{name}.png"))
    driver.set_window_size(1360, 1000)


def _no_console_errors(driver: Any) -> None:
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors  # a CSP violation or a broken script shows here


def _alert_row(driver: Any, alert_id: int) -> Any:
    return driver.find_element(By.ID, f"alert-{alert_id}")


def _first_open_alert(db: Any, team: str, level: str | None = None) -> int:
    from api.db.models import Alert

    with db.session() as s:
        query = select(Alert.id).where(Alert.team == team, Alert.status == "new")
        if level:
            query = query.where(Alert.level == level)
        return s.scalar(query.order_by(Alert.id))


def test_a_team_lead_resolves_an_urgent_alert_in_at_most_three_clicks(server, browser):
    from api.db.models import Alert

    base, db = server["base"], server["db"]
    clicks = Clicks(browser)
    browser.delete_all_cookies()
    browser.get(base + "/app/login")
    _shot(browser, "login")
    _sign_in(browser, base, "lena", clicks)
    assert browser.current_url.endswith("/app/teams/it-operations")  # a lead with one team lands on its page
    _no_console_errors(browser)
    _shot(browser, "team")
    first = browser.find_element(By.CSS_SELECTOR, "#panel-alerts li.alert")  # the queue: most severe first
    alert_id = int(first.get_attribute("id").split("-")[1])
    first.find_element(By.CSS_SELECTOR, ".resolve-form input.note").send_keys("Called the customer, outage credit given")
    clicks.click(first.find_element(By.CSS_SELECTOR, "button.resolve"))
    _wait(browser, EC.staleness_of(first))
    _wait(browser, lambda d: f'id="alert-{alert_id}"' in d.find_element(By.CSS_SELECTOR, "details.resolved").get_attribute("innerHTML"))
    assert clicks.n <= 3, f"{clicks.n} clicks from sign-in to resolved"
    with db.session() as s:
        alert = s.get(Alert, alert_id)
        assert (alert.status, alert.owner) == ("resolved", "lena")
        assert alert.events[-1].note == "Called the customer, outage credit given" and alert.events[-1].actor == "lena"
    _no_console_errors(browser)


def test_an_agent_takes_an_assigned_alert_to_resolved(server, browser):
    from api.db.models import Alert

    base, db = server["base"], server["db"]
    alert_id = _first_open_alert(db, "it-operations")
    _sign_in(browser, base, "lena")
    row = _alert_row(browser, alert_id)
    Select(row.find_element(By.CSS_SELECTOR, "select.assign-to")).select_by_value("aga")
    row.find_element(By.CSS_SELECTOR, "button.assign").click()
    _wait(browser, EC.staleness_of(row))  # htmx swapped the page in
    _wait(browser, lambda d: "Owner: aga" in d.find_element(By.ID, f"alert-{alert_id}").text)
    _sign_in(browser, base, "aga")
    assert browser.current_url.endswith("/app/teams/it-operations")
    rows = browser.find_elements(By.CSS_SELECTOR, "#panel-alerts > ul.alerts > li.alert")
    assert [r.get_attribute("id") for r in rows] == [f"alert-{alert_id}"]  # only what is assigned to the agent
    rows[0].find_element(By.CSS_SELECTOR, "button.contacted").click()
    _wait(browser, EC.staleness_of(rows[0]))
    _wait(browser, lambda d: "contacted" in d.find_element(By.ID, f"alert-{alert_id}").find_element(By.CSS_SELECTOR, ".status").text)
    row = _alert_row(browser, alert_id)
    row.find_element(By.CSS_SELECTOR, ".resolve-form input.note").send_keys("Spoke to the customer")
    row.find_element(By.CSS_SELECTOR, "button.resolve").click()
    _wait(browser, EC.staleness_of(row))
    _wait(browser, EC.presence_of_element_located((By.ID, "no-alerts")))
    with db.session() as s:
        alert = s.get(Alert, alert_id)
        steps = [(e.kind, e.new, e.actor) for e in alert.events if e.kind in ("owner", "status")]
    assert steps == [("owner", "aga", "lena"), ("status", "assigned", "lena"), ("status", "contacted", "aga"),
                     ("status", "resolved", "aga")]


def test_a_team_lead_creates_and_updates_an_action_item(server, browser):
    from api.db.models import ActionItem

    base, db = server["base"], server["db"]
    _sign_in(browser, base, "lena")
    form = browser.find_element(By.ID, "new-item")
    form.find_element(By.NAME, "title").send_keys("Live status page")
    form.find_element(By.NAME, "owner").send_keys("lena")
    browser.find_element(By.ID, "create-item").click()
    _wait(browser, EC.staleness_of(form))
    _wait(browser, lambda d: "Live status page" in d.find_element(By.ID, "panel-items").text)
    row = browser.find_element(By.CSS_SELECTOR, "#panel-items tr[id^=item-]")
    item_id = int(row.get_attribute("id").split("-")[1])
    progress = row.find_element(By.CSS_SELECTOR, "input.progress")
    progress.clear()
    progress.send_keys("60")
    row.find_element(By.CSS_SELECTOR, "input.note").send_keys("vendor chosen")
    row.find_element(By.CSS_SELECTOR, "button.save-item").click()
    _wait(browser, EC.staleness_of(row))
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, f"#item-{item_id} input.progress").get_attribute("value") == "60")
    with db.session() as s:
        item = s.get(ActionItem, item_id)
        assert (item.progress, item.status, item.notes[-1]["note"], item.notes[-1]["by"]) == (60, "in_progress", "vendor chosen", "lena")
    _shot(browser, "team-action-items")


def _panel_texts(driver: Any) -> dict[str, str]:
    return {p.get_attribute("id"): p.text for p in driver.find_elements(By.CSS_SELECTOR, "section.panel[id^=panel-]")}


def test_changing_a_filter_changes_every_panel(server, browser):
    base = server["base"]
    _sign_in(browser, base, "admin")
    browser.get(base + "/app/overview")
    _shot(browser, "overview")
    before = _panel_texts(browser)
    assert set(before) == {"panel-nps", "panel-trend", "panel-actions", "panel-passives", "panel-teams"}
    Select(browser.find_element(By.ID, "filter-channel")).select_by_value("app")
    apply = browser.find_element(By.ID, "apply-filters")
    apply.click()
    _wait(browser, EC.staleness_of(apply))
    _wait(browser, lambda d: "channel=app" in d.current_url)
    _wait(browser, lambda d: _panel_texts(d)["panel-nps"] != before["panel-nps"])
    after = _panel_texts(browser)
    assert [name for name in before if before[name] == after[name]] == []
    _no_console_errors(browser)
    # the address carries the view: opening it again shows the same panels
    browser.get(browser.current_url)
    assert _panel_texts(browser) == after
    browser.get(base + "/app/admin/users")
    _shot(browser, "users")


def test_a_team_lead_never_sees_another_teams_data(server, browser):
    base = server["base"]
    _sign_in(browser, base, "finn")
    assert browser.current_url.endswith("/app/teams/finance")
    for path in ("/app/teams/finance", "/app/overview", "/app/overview?period=day", "/app/me"):
        browser.get(base + path)
        assert IT_ONLY not in browser.page_source and "/app/teams/it-operations" not in browser.page_source, path
    browser.get(base + "/app/teams/it-operations")
    assert browser.find_element(By.ID, "error").is_displayed() and IT_ONLY not in browser.page_source
    _shot(browser, "not-your-team")


def test_the_interface_in_norwegian(server, browser):
    base = server["base"]
    _sign_in(browser, base, "dina")
    browser.get(base + "/app/me")
    Select(browser.find_element(By.ID, "pref-lang")).select_by_value("nb")
    form = browser.find_element(By.ID, "save-me")
    form.click()
    _wait(browser, EC.staleness_of(form))
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Innstillinger")
    browser.get(base + "/app/teams/digital")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nb"
    assert "Åpne varsler" in browser.page_source and "Problemer" in browser.page_source
    _shot(browser, "team-nb")


def _download(driver: Any, link_id: str, folder: Path, timeout: float = 30) -> Path:
    """Click the link ``link_id`` with Chromium saving downloads into ``folder`` (empty); the downloaded file once
    Chromium has finished writing it (it writes to a ``.crdownload`` file and renames that at the end)."""
    folder.mkdir(parents=True)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    driver.find_element(By.ID, link_id).click()

    def finished(_: Any) -> Path | bool:
        files = [p for p in folder.iterdir() if not p.name.startswith(".")]
        done = [p for p in files if p.suffix != ".crdownload"]
        return done[0] if len(done) == 1 and len(files) == 1 and done[0].stat().st_size > 0 else False

    return _wait(driver, finished, timeout)


def _open_export(path: Path) -> list[dict[str, Any]]:
    """The rows of a downloaded CSV (csv module) or XLSX (openpyxl) export, as dicts by column name."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    try:
        header, *rows = book.worksheets[0].iter_rows(values_only=True)
        return [dict(zip(header, row, strict=True)) for row in rows]
    finally:
        book.close()


def _expected_ids(db: Any, kind: str, team: str, channel: str, since: date) -> set[int]:
    """Ids of what an export of ``team``'s ``kind`` filtered to ``channel`` from ``since`` on holds, read from the
    database directly (the answers are at 11:00 UTC, so the day bound in any European zone is the same)."""
    from api.db.models import ActionItem, Alert, Response
    from api.services.queries import in_teams

    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    with db.session() as s:
        if kind == "responses":
            query = select(Response.id).where(in_teams([team]), Response.channel == channel, Response.timestamp >= start)
        elif kind == "alerts":
            query = (select(Alert.id).join(Response, Alert.response_id == Response.id)
                     .where(Alert.team == team, Response.channel == channel, Response.timestamp >= start))
        else:  # action items have no channel: the team and the period (on created_at) apply
            query = select(ActionItem.id).where(ActionItem.team == team, ActionItem.created_at >= start)
        return set(s.scalars(query))


def test_a_team_lead_downloads_the_filtered_exports_and_opens_them(server, browser, tmp_path):
    from api.db.models import ActionItem, Response
    from api.services.exports import COLUMNS

    base, db = server["base"], server["db"]
    since = datetime.now(UTC).date() - timedelta(days=9)
    with db.session() as s:  # the filter and the team both matter: other teams' answers and items pass the filter
        assert s.scalar(select(Response.id).where(Response.text.contains(FINANCE_ONLY), Response.channel == "app",
                                                  Response.timestamp >= datetime.combine(since, datetime.min.time(), UTC)))
        s.add_all([ActionItem(theme="outage", team="it-operations", title="Status page", owner="lena"),
                   ActionItem(theme="billing", team="finance", title="Invoice check", owner="finn")])
    browser.get_log("browser")  # drop messages earlier tests left (a 404 they meant to get)
    _sign_in(browser, base, "lena")
    Select(browser.find_element(By.ID, "filter-channel")).select_by_value("app")
    browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.NAME, "since"), since.isoformat())
    apply = browser.find_element(By.ID, "apply-filters")
    apply.click()
    _wait(browser, EC.staleness_of(apply))
    _wait(browser, lambda d: "channel=app" in d.current_url and f"since={since}" in d.current_url)
    opened: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for kind, fmt in (("responses", "csv"), ("responses", "xlsx"), ("alerts", "csv"), ("alerts", "xlsx"), ("action_items", "csv")):
        path = _download(browser, f"export-{kind}-{fmt}", tmp_path / f"{kind}-{fmt}")
        assert path.name.startswith(f"{kind}_{since}_") and path.suffix == f".{fmt}", path.name
        rows = opened[kind, fmt] = _open_export(path)
        assert rows and tuple(rows[0]) == COLUMNS[kind], (kind, fmt)  # type: ignore[index]
        assert {int(r["id"]) for r in rows} == _expected_ids(db, kind, "it-operations", "app", since), (kind, fmt)
        if kind != "responses":
            assert all(r["team"] == "it-operations" for r in rows), (kind, fmt)
        if kind != "action_items":
            assert all(r["channel"] == "app" and date.fromisoformat(r["timestamp"][:10]) >= since for r in rows), (kind, fmt)
            assert any(IT_ONLY in r["text"] for r in rows) and not any(FINANCE_ONLY in r["text"] for r in rows), (kind, fmt)
    for kind in ("responses", "alerts"):  # the two formats hold the same rows, and the same text
        assert [(int(r["id"]), r["text"]) for r in opened[kind, "csv"]] == [(r["id"], r["text"]) for r in opened[kind, "xlsx"]]
    _no_console_errors(browser)
