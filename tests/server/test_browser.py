"""The web page in real headless Chromium (Debian's `chromium`, driven by the pinned playwright):
search in English and Chinese, apply a facet, upload a photo, click a result, and find that click in
the store's feedback log. Screenshots (desktop and phone width) go to tests/artifacts/."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from shoplens.feedback.log import FeedbackLog

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]


def chromium_path() -> str:
    path = os.environ.get("SHOPLENS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("Debian's chromium is not installed (scripts/setup.sh installs it); CI must run the browser test")
    pytest.skip("chromium is not installed here; run scripts/setup.sh (apt install chromium)")


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True, args=ARGS)
        yield b
        b.close()


def _search(page, text: str) -> dict:
    with page.expect_response(lambda r: "/search" in r.url and r.request.method == "GET") as resp:
        page.fill("#q", text)
        page.press("#q", "Enter")
    assert resp.value.status == 200
    page.wait_for_selector("[data-testid=result]")
    return resp.value.json()


def _events(store: Path, query_id: str, action: str, deadline_s: float = 15) -> list[dict]:
    """Beacons are sent asynchronously: poll the log until the event lands."""
    end = time.monotonic() + deadline_s
    while True:
        got = [
            e for e in FeedbackLog(store).to_ubi() if e.get("action_name") == action and e.get("query_id") == query_id
        ]
        if got or time.monotonic() > end:
            return got
        time.sleep(0.2)


def test_shopper_searches_filters_uploads_and_clicks(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    assert "搜索" in page.get_attribute("#q", "placeholder")

    en = _search(page, "men black shoes")
    assert page.locator("[data-testid=result]").count() == len(en["results"]) > 0
    assert en["query_id"] and _events(server.store, en["query_id"], "impression")
    first = page.locator("[data-testid=result]").first
    assert first.locator("img").get_attribute("loading") == "lazy"
    page.screenshot(path=str(ARTIFACTS / "search-desktop.png"))

    zh = _search(page, "男士 黑色 运动鞋")
    assert sum(r["attributes"].get("gender") == "Men" for r in zh["results"]) >= len(zh["results"]) // 2
    assert page.locator("#understood .pill").count() >= 1  # what the page read from the Chinese query

    facet = page.locator('#facets input[data-field="gender"]').first
    value = facet.get_attribute("data-value")
    with page.expect_response(lambda r: "/search" in r.url) as resp:
        facet.check()
    filtered = resp.value.json()
    assert filtered["results"] and all(r["attributes"]["gender"] == value for r in filtered["results"])
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=result]').length === n", arg=len(filtered["results"])
    )

    page.locator(".card .why").first.click()
    assert page.locator(".card .explain").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "search-facet-explain-desktop.png"))

    from .test_api import products_with_photos

    target = products_with_photos(server, 3)[2]
    page.fill("#q", "")  # a photo alone (words in the box would go with it)
    with page.expect_response(lambda r: "/search" in r.url and r.request.method == "POST") as resp:
        page.set_input_files("#photo", target.images[0])
    photo = resp.value.json()
    assert photo["results"][0]["id"] == target.id
    page.wait_for_selector(f'[data-testid=result][data-id="{target.id}"]')
    assert page.locator("#photo-chip").is_visible()
    page.screenshot(path=str(ARTIFACTS / "photo-search-desktop.png"))

    clicked = page.locator("[data-testid=result]").nth(1)
    clicked_id = clicked.get_attribute("data-id")
    clicked.locator(".card-open").click()
    page.wait_for_selector("#detail:not([hidden])")
    page.screenshot(path=str(ARTIFACTS / "product-detail-desktop.png"))
    page.wait_for_timeout(300)
    page.click("#detail-close")
    clicks = _events(server.store, photo["query_id"], "click")
    assert [c["event_attributes"]["object"]["object_id"] for c in clicks] == [clicked_id]
    assert clicks[0]["event_attributes"]["position"]["ordinal"] == 1
    dwell = _events(server.store, photo["query_id"], "dwell")
    assert dwell and dwell[0]["event_attributes"]["dwell_time"] >= 300
    assert not errors, errors
    page.close()


def test_phone_width_is_usable(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page.goto(server.url + "/")
    page.screenshot(path=str(ARTIFACTS / "welcome-phone.png"))
    _search(page, "women red dress")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"
    box = page.locator("[data-testid=result]").first.bounding_box()
    assert box and box["width"] < 390 / 2 + 10  # two cards a row
    assert not page.locator("#filters").is_visible()
    page.screenshot(path=str(ARTIFACTS / "search-phone.png"))
    page.click("#toggle-filters")
    assert page.locator("#filters").is_visible()
    page.screenshot(path=str(ARTIFACTS / "filters-phone.png"))
    page.close()


def test_api_docs_render_offline(browser, server):
    """Swagger UI comes from a wheel, not a CDN, and must understand FastAPI's OpenAPI 3.1."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock-summary-path >> text=/search", timeout=30_000)
    assert page.locator(".opblock").count() >= 8 and not failed, failed
    page.close()
