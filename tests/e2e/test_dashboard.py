"""The operator's dashboard in real headless Chromium, against a real `renderhub serve` on the
fake backend: it lists a live session across accounts with its lease counting down, stops it
with its button, charts the usage, lists the accounts with their quotas, and asks for the
admin token again when the server refuses the one it has."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.conftest import API
from tests.e2e.browser import chromium
from tests.e2e.server import ServerProcess, SignedIn, free_port
from tests.e2e.test_inspector_page import colour_pixels, until

pytestmark = pytest.mark.e2e

STANDARD_BARS = (79, 157, 222)  # dashboard.js: the Standard series' colour
QUOTAS = {"maxStandardSessions": 2, "maxPremiumSessions": 0, "maxLeaseMinutes": 240}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    environment = {
        "RENDERHUB_BACKEND": "fake",
        "RENDERHUB_FAKE_JOURNAL": str(tmp_path / "journal.jsonl"),
        "RENDERHUB_PRICE_STANDARD_HOUR": "3.0",
        "RENDERHUB_ALLOW_STORAGE": json.dumps([f"{storage(tmp_path)}/"]),
    }
    server = ServerProcess(tmp_path / "data", free_port(), env=environment)
    try:
        server.start()
        yield server
    finally:
        server.terminate()


def storage(tmp_path: Path) -> str:
    return (tmp_path / "storage").as_uri()


def admin_token(server: ServerProcess) -> str:
    """The token the server's first start wrote (docs/admin-api.md, "Credential")."""
    return (server.data_dir / "admin-token").read_text().strip()


def acme(server: ServerProcess) -> SignedIn:
    """An account named "acme" with quotas, made through the admin API, and signed in."""
    made = httpx.post(
        f"{server.url}/admin/accounts",
        json={"name": "acme", "quotas": QUOTAS},
        headers={"Authorization": f"Bearer {admin_token(server)}"},
    )
    assert made.status_code == 201, made.text
    account_id, key = made.json()["accountId"], made.json()["primaryKey"]
    token = httpx.get(
        f"{server.url}/Accounts/{account_id}/token",
        headers={"Authorization": f"Bearer {account_id}:{key}"},
    ).json()["AccessToken"]
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    return SignedIn(account_id, token, client)


def failed_conversion(client: httpx.Client, account_id: str, tmp_path: Path) -> dict:
    """A conversion of a model that is not in its container: it fails, with its error."""
    (tmp_path / "storage" / "input").mkdir(parents=True)
    (tmp_path / "storage" / "output").mkdir(parents=True)
    url = f"/accounts/{account_id}/conversions/no-such-model?{API}"
    settings = {
        "inputLocation": {
            "storageContainerUri": f"{storage(tmp_path)}/input",
            "storageContainerReadListSas": "?sv=2021&sig=READSECRET",
            "relativeInputAssetPath": "missing.glb",
        },
        "outputLocation": {"storageContainerUri": f"{storage(tmp_path)}/output"},
    }
    assert client.put(url, json={"settings": settings}).status_code in (200, 201)
    give_up = time.monotonic() + 20
    while (conversion := client.get(url).json())["status"] not in ("Failed", "Succeeded"):
        assert time.monotonic() < give_up, conversion
        time.sleep(0.1)
    return conversion


def ready_session(client: httpx.Client, account_id: str, name: str) -> str:
    url = f"/accounts/{account_id}/sessions/{name}?{API}"
    assert client.put(url, json={"maxLeaseTimeMinutes": 30, "size": "Standard"}).status_code == 201
    give_up = time.monotonic() + 15
    while client.get(url).json()["status"] != "Ready":
        assert time.monotonic() < give_up, "the session never got Ready"
        time.sleep(0.05)
    return url


def row_of(page: Page, session_id: str) -> str:
    return f'#sessions tr[data-session-id="{session_id}"]'


def test_the_dashboard_lists_a_live_session_and_stops_it(
    server: ServerProcess, tmp_path: Path
) -> None:
    signed_in = acme(server)
    url = ready_session(signed_in.client, signed_in.account_id, "dashed")
    conversion = failed_conversion(signed_in.client, signed_in.account_id, tmp_path)
    assert conversion["status"] == "Failed", conversion
    token = admin_token(server)
    admin = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    first = next(a for a in admin.get("/admin/accounts").json()["accounts"] if a["name"] != "acme")
    assert admin.post(f"/admin/accounts/{first['accountId']}:disable").status_code == 200

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server.url}/admin/dashboard#token={token}")
        assert "token" not in page.url, "the token is taken out of the address"
        row = row_of(page, "dashed")
        until(page, f"document.querySelector('{row}')")
        until(page, "document.querySelector('#usage-chart canvas')")
        cells = page.locator(f"{row} td").all_inner_texts()
        assert cells[1:4] == ["acme", "Standard", "Ready"], cells
        assert re.fullmatch(r"(29m|30m) \d\ds", cells[4]), cells
        assert re.fullmatch(r"127\.0\.0\.1:\d+", cells[5]), cells
        first_left = cells[4]
        until(page, f"document.querySelector('{row} .lease').textContent !== '{first_left}'", 3)

        account = page.locator(f'#accounts tr[data-account-id="{signed_in.account_id}"] td')
        texts = account.all_inner_texts()
        assert texts[0] == "acme" and texts[3] == "Enabled", texts
        assert texts[4:] == ["1 of 2", "0 (none allowed)", "4h 00m", "0 (no limit)"], texts
        disabled = page.locator(f'#accounts tr[data-account-id="{first["accountId"]}"] td')
        assert re.fullmatch(
            r"Disabled since \d\d?:\d\d:\d\d( [AP]M)?", disabled.nth(3).inner_text()
        )
        assert page.inner_text("#tile-accounts-detail") == "1 disabled"
        failed = page.locator('#conversions tr[data-conversion-id="no-such-model"] td')
        texts = failed.all_inner_texts()
        assert texts[1:3] == ["acme", "Failed"] and texts[5] == "input/missing.glb", texts
        assert conversion["error"]["message"] in texts[6], texts
        assert "READSECRET" not in page.content()
        assert page.inner_text("#tile-sessions") == "1"
        painted, bars = colour_pixels(page, "usage-chart", STANDARD_BARS)
        assert painted > 1000 and bars > 20, "today's Ready time is not drawn"
        totals = page.locator("#usage > table > tbody tr").all_inner_texts()
        assert len(totals) == 1 and re.fullmatch(
            r"acme\tStandard\t\d+s\t0\.00\t\$0\.0\d", totals[0]
        ), totals
        assert re.search(r"Total\s+\d+s\s+0\.00\s+\$0\.0\d", page.inner_text("#usage"))
        assert "Standard" in page.inner_text("#usage-chart .u-legend"), "the chart's legend"
        text = page.inner_text("body")
        assert not re.search(r"\d{4}-\d\d-\d\dT", text), "times are shown local and readable"
        page.screenshot(path=tmp_path / "dashboard.png", full_page=True)

        page.click(f"{row} button.stop")
        until(
            page,
            f"['Stopping', 'Stopped'].includes(document.querySelector('{row}')?.dataset.status)",
        )
        status = signed_in.client.get(url).json()["status"]
        assert status in ("Stopping", "Stopped"), status
        until(page, f"!document.querySelector('{row}')", seconds=20)
        assert page.is_visible("#sessions .empty")
        assert page.inner_text("#tile-sessions") == "0"
        page.screenshot(path=tmp_path / "dashboard-stopped.png", full_page=True)
    assert signed_in.client.get(url).json()["status"] == "Stopped"


def test_the_dashboard_asks_for_a_token_until_the_server_takes_one(
    server: ServerProcess, tmp_path: Path
) -> None:
    signed_in = acme(server)
    token = admin_token(server)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 700})
        page.goto(f"{server.url}/admin/dashboard")
        assert page.is_visible("#signin") and not page.is_visible("#board")

        page.fill("#token", "rhadm_" + "x" * 43)
        page.click("#signin button")
        until(page, "document.querySelector('#signin-reason.refused')")
        assert "refused this admin token" in page.inner_text("#signin-reason")

        page.fill("#token", signed_in.token)  # an account's access token
        page.click("#signin button")
        until(page, "document.querySelector('#signin-reason').textContent.includes('access token')")
        assert "use an admin token" in page.inner_text("#signin-reason")
        page.screenshot(path=tmp_path / "dashboard-refused.png")
        assert page.evaluate("sessionStorage.getItem('renderhub.adminToken')") is None

        page.fill("#token", token)
        page.click("#signin button")
        until(page, "document.querySelector('#accounts tbody tr')")
        assert page.is_visible("#board") and not page.is_visible("#signin")
        page.reload()  # the tab keeps the token
        until(page, "document.querySelector('#accounts tbody tr')")
        page.click("#forget")
        assert page.is_visible("#signin")
        assert page.evaluate("sessionStorage.getItem('renderhub.adminToken')") is None
