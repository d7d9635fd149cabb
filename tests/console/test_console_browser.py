"""The console in Debian's headless Chromium, driven by Playwright, against a real ``promojobs serve``.

The server runs without a worker and a ``promojobs worker`` process is started only once the page is
watching, so the bar can only reach 100 % through the server-sent events, never by a page load.
Screenshots go to $PROMOJOBS_CONSOLE_SCREENSHOTS (docs/img for docs/console.md) or the test's tmp dir.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from promojobs import bootstrap
from promojobs.config import Settings
from tests.conftest import IN_CI
from tests.served import Served, spawn_worker, start_serve
from tests.support import PROMOTION, PostgresDatabases, database_url_for

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not IN_CI, reason="Debian's chromium is not installed (make test installs it)"
)
LOGIN_FAILURES_ALLOWED = 4


@pytest.fixture
def served(tmp_path: Path, pg_databases: PostgresDatabases) -> Iterator[Served]:
    for url in database_url_for("sqlite", tmp_path, pg_databases):
        settings = {"worker_batch_size": 20_000, "login_max_failures": LOGIN_FAILURES_ALLOWED}
        server = start_serve(url, tmp_path / "data", settings, worker=False)
        yield server
        server.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PROMOJOBS_CONSOLE_SCREENSHOTS", tmp_path / "shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _bootstrap(served: Served) -> dict[str, str]:
    return dict(json.loads((served.data_dir / "bootstrap-client.json").read_text()))


def _other_store_promotion(served: Served) -> str:
    token = served.tokens(["other-store"])["other-store"]
    response = httpx.post(
        f"{served.base_url}/v2/promotions",
        json={"data": {**PROMOTION, "name": "Not yours"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _sign_in(page: Page, served: Served, secret: str) -> None:
    page.goto(f"{served.base_url}/console")
    page.get_by_label("Client id").fill(_bootstrap(served)["client_id"])
    page.get_by_label("Client secret").fill(secret)
    page.get_by_role("button", name="Sign in").click()


def test_console__sign_in_create_generate_live_export_download_cancel(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    other = _other_store_promotion(served)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()

    # Wrong credentials: Elastic Path's words, the status of the token endpoint.
    _sign_in(page, served, "not-the-secret")
    expect(page.get_by_role("alert")).to_have_text("Unauthorized: Invalid client credentials")
    page.screenshot(path=str(shots / "console-login.png"))

    # Sign in with the keyboard alone: the id field has the focus, Tab to the secret, Enter to submit.
    page.get_by_label("Client id").fill("")
    page.get_by_label("Client id").focus()
    page.keyboard.type(_bootstrap(served)["client_id"])
    page.keyboard.press("Tab")
    page.keyboard.type(_bootstrap(served)["client_secret"])
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/console/promotions$"))
    session = next(c for c in context.cookies() if c["name"] == "pj_session")
    assert (
        session["httpOnly"] and session["sameSite"] == "Strict" and not session["secure"]
    )  # plain http here
    assert 3500 < session["expires"] - time.time() <= 3600  # ends with the token (1 h by default)

    # Create a promotion.
    page.get_by_label("Name").fill("Summer")
    page.get_by_label("Start").fill("2026-01-01")
    page.get_by_label("End").fill("2030-01-01")
    page.get_by_role("button", name="Create promotion").click()
    expect(page.get_by_role("status")).to_have_text("Promotion created.")
    promotion_url = page.url.split("?")[0]

    # The keyspace verdict, before submitting (the API's rule).
    count = page.get_by_label("Number of codes")
    count.fill("2000000")
    expect(page.locator("#keyspace")).to_contain_text("Use code_length 9 or more.")
    expect(page.get_by_role("button", name="Generate codes")).to_be_disabled()
    count.fill("200000")
    expect(page.locator("#keyspace")).to_have_text(
        "200,000 codes fit: each is 9 characters long, like XXXX-XXXX."
    )
    page.get_by_role("button", name="Generate codes").click()
    expect(page.locator("#job-status")).to_have_text("pending")

    # The bar reaches 100 % through the server's events alone: same document, no load.
    page.evaluate(
        """() => { window.sameDocument = true; window.seen = [];
           new MutationObserver(() => window.seen.push(document.getElementById('job-bar').value))
             .observe(document.getElementById('job-bar'), {attributes: true}); }"""
    )
    worker = spawn_worker(served.database_url, served.data_dir, {"worker_batch_size": 20_000})
    try:
        expect(page.locator("#job-status")).to_have_text("completed", timeout=120_000)
        expect(page.locator("#job-counts")).to_have_text("200,000 of 200,000 codes (100 %)")
        assert page.evaluate("document.getElementById('job-bar').value") == 200_000
        assert page.evaluate("window.sameDocument") is True
        seen = page.evaluate("window.seen")
        assert seen == sorted(seen) and seen[-1] == 200_000
        expect(page.get_by_role("button", name="Cancel job")).to_be_hidden()

        # Export, then download the file when the button appears.
        page.get_by_role("button", name="Export codes").click()
        download_link = page.get_by_role("link", name="Download CSV")
        expect(download_link).to_be_visible(timeout=120_000)
        expect(page.get_by_role("link", name="Download", exact=True)).to_be_visible()  # in the jobs table too
        page.screenshot(path=str(shots / "console-export.png"), full_page=True)
        with page.expect_download() as download:
            download_link.click()
        saved = tmp_path / "codes.csv"
        download.value.save_as(saved)
        lines = saved.read_text().splitlines()
        assert lines[0] == "code,uses,max_uses,consume_unit,user,created_at" and len(lines) == 200_001

        # Cancel a running job, after a confirmation.
        page.get_by_label("Number of codes").fill("5000000")
        page.get_by_label("Random characters (8 to 16)").fill("12")
        page.get_by_role("button", name="Generate codes").click()
        expect(page.locator("#job-status")).to_have_text("processing", timeout=120_000)
        expect(page.locator("#job-counts")).not_to_have_text(re.compile(r"^0 of"), timeout=120_000)
        expect(page.locator("#job-rate")).to_contain_text("codes/s")
        page.screenshot(path=str(shots / "console-progress.png"))
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.get_by_role("button", name="Cancel job").click()
        expect(page.locator("#job-status")).not_to_have_text(re.compile("cancel"))  # dismissed: nothing sent
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Cancel job").click()
        expect(page.get_by_role("status")).to_have_text("Cancel requested.")
        expect(page.locator("#job-status")).to_have_text("cancelled", timeout=120_000)
        expect(page.locator("#job-error")).to_contain_text("generated codes deleted")
    finally:
        worker.stop()

    # Another store's promotion is not reachable, and not listed.
    response = page.goto(f"{served.base_url}/console/promotions/{other}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_have_text("Not Found: promotion not found")
    page.goto(f"{served.base_url}/console/promotions")
    expect(page.get_by_role("link", name="Not yours")).to_have_count(0)
    expect(page.get_by_role("row")).to_have_count(2)  # the header and Summer
    expect(page.get_by_role("cell", name="200,000")).to_be_visible()  # its codes, the cancelled job's gone
    page.screenshot(path=str(shots / "console-promotions.png"))

    # A form without the CSRF token (or with a made-up one) is refused, and changes nothing.
    forged: list[dict[str, str | float | bool]] = [
        {"name": "Forged", "amount": "1"},
        {"name": "Forged", "amount": "1", "csrf_token": "0" * 64},
    ]
    for form in forged:
        refused = page.request.post(f"{served.base_url}/console/promotions", form=form, max_redirects=0)
        assert refused.status == 403 and "security token" in refused.text()
    page.reload()
    expect(page.get_by_role("link", name="Forged")).to_have_count(0)

    # Readable on a phone: nothing wider than the screen.
    phone = browser.new_context(storage_state=context.storage_state(), viewport={"width": 390, "height": 844})
    phone_page = phone.new_page()
    phone_page.goto(promotion_url)
    assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone_page.screenshot(path=str(shots / "console-phone.png"), full_page=True)
    phone.close()

    # Signing out ends the session.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(f"{served.base_url}/console/promotions")
    expect(page).to_have_url(re.compile(r"/console/login"))
    context.close()


def test_console__a_token_that_stops_working_ends_the_session_and_logins_are_throttled(
    served: Served, browser: Browser
) -> None:
    context = browser.new_context()
    page = context.new_page()
    admin = bootstrap.build(Settings(database_url=served.database_url, data_dir=served.data_dir / "admin"))
    try:
        client = admin.auth.create_client("short-lived")
        _sign_in_without_using_the_token(page, context, served, client.client_id, client.client_secret)
        assert admin.auth.revoke_client(client.client_id)  # as its expiry would: the API now answers 401
    finally:
        admin.database.dispose()
    page.goto(f"{served.base_url}/console/promotions")
    expect(page).to_have_url(re.compile(r"/console/login\?ended=1"))
    expect(page.get_by_role("status")).to_have_text("Your session has ended. Sign in again.")
    assert not [c for c in context.cookies() if c["name"] == "pj_session"]

    # The token endpoint's throttle: past the failures allowed, even the right secret waits.
    for _ in range(LOGIN_FAILURES_ALLOWED):
        _sign_in(page, served, "wrong")
        expect(page.get_by_role("alert")).to_have_text("Unauthorized: Invalid client credentials")
    _sign_in(page, served, _bootstrap(served)["client_secret"])
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")
    context.close()


def _sign_in_without_using_the_token(
    page: Page, context: BrowserContext, served: Served, client_id: str, secret: str
) -> None:
    """Post the sign-in form but do not follow the redirect, so no page has used (and cached) the token."""
    page.goto(f"{served.base_url}/console/login")
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert csrf
    signed_in = page.request.post(
        f"{served.base_url}/console/login",
        form={"csrf_token": csrf, "client_id": client_id, "client_secret": secret},
        max_redirects=0,
    )
    assert signed_in.status == 303, signed_in.text()
    assert any(c["name"] == "pj_session" for c in context.cookies())
