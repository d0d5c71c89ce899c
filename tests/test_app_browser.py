"""`segur app` in a real browser (Playwright + Debian's chromium): no console error, nothing
fetched from outside the app, levers → figure and table, field errors, the teaching view,
the language switch, two users at once."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.test_app_api import serve

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = os.environ.get("SEGUR_APP_SCREENSHOTS")  # a folder: save the views' screenshots there

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python not installed")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("browser") / "cache", workers=2) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Watch:
    """A browser context that records console errors and refuses every request outside the app."""

    def __init__(self, browser, app_url: str):
        self.host = urlparse(app_url).netloc
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.ctx.route("**/*", self._route)
        self.page = self.ctx.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.set_default_timeout(60_000)

    def _route(self, route):
        url = urlparse(route.request.url)
        if url.scheme in ("data", "blob") or url.netloc == self.host:
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def close(self):
        self.ctx.close()


@pytest.fixture
def watch(browser, app_url):
    w = Watch(browser, app_url)
    yield w
    w.close()


def ready(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=180_000)


def set_lever(page, selector: str, value: str) -> None:
    """Open the lever's group (a click on its summary, as a user would) and type the value."""
    if not page.locator(selector).is_visible():
        page.locator(f"details:has({selector}) > summary").click()
    page.fill(selector, value)


def run_and_wait(page, previous_key: str | None = None) -> str:
    page.click("#run")
    page.wait_for_function("k => { const p = document.querySelector('.pane.current') || document.querySelector('.pane');"
                           " return p && p.dataset.key !== k && document.getElementById('status-text').dataset.state === 'done'; }",
                           arg=previous_key or "", timeout=240_000)
    return page.locator(".pane.current").first.get_attribute("data-key")


def gp_achieved(page, slot: str = "current") -> str:
    return page.locator(f".pane.{slot} table.targets tr[data-row='gp'] td.achieved").inner_text()


def test_planner_loads_offline_with_labelled_controls(watch, app_url):
    page = watch.page
    ready(page, app_url + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    inputs = page.locator("form input, form select")
    assert inputs.count() > 10
    for i in range(inputs.count()):
        el = inputs.nth(i)
        ident = el.get_attribute("id")
        assert page.locator(f"label[for='{ident}']").count() == 1, f"input {ident} has no label"
    assert page.locator("#lv-gp-intensity").get_attribute("max") == "1"
    assert "part" in page.locator("#meta-lv-gp-intensity").text_content()  # its unit, in French
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") in ("A", "SELECT", "INPUT", "BUTTON")
    assert watch.errors == [] and watch.outside == []


def test_bad_value_shows_its_message_next_to_the_field(watch, app_url):
    page = watch.page
    ready(page, app_url + "/")
    set_lever(page, "#lv-gp-intensity", "1.7")
    page.fill("#scale", "0.9")
    page.click("#run")
    page.wait_for_selector("#error-lv-gp-intensity:not(:empty)")
    assert "au plus 1" in page.inner_text("#error-lv-gp-intensity")
    assert page.get_attribute("#lv-gp-intensity", "aria-invalid") == "true"
    assert page.inner_text("#error-scale")
    assert page.locator(".pane").count() == 0  # nothing ran
    assert watch.errors == [] or all("422" in e for e in watch.errors)  # the 422 itself is logged by chromium
    assert watch.outside == []


def test_language_switch(watch, app_url):
    page = watch.page
    ready(page, app_url + "/")
    assert "Planification" in page.inner_text("nav")
    page.click("#lang-switch")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Planner" in page.inner_text("nav") and "Uptake speed" in page.inner_text("#levers")
    page.click("#lang-switch")
    page.wait_for_selector("html[lang='fr']")
    assert watch.errors == [] and watch.outside == []


def test_teaching_steps_opens_a_patient_and_fhir(watch, app_url):
    page = watch.page
    ready(page, app_url + "/teaching")
    assert page.get_attribute("#day-label", "data-day") == "0"
    assert page.locator("button.actor").count() >= 5
    page.click("#step")
    page.wait_for_selector("#day-label[data-day='1']")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#day-label[data-day='2']")
    li = page.locator("#events li.accepted").first
    name = li.locator("button.patient").inner_text()
    li.locator("button.patient").click()
    page.wait_for_selector("#detail .timeline li")
    assert name in page.inner_text("#detail-h") and "Mon espace santé" in page.inner_text("#detail-h")
    item = page.locator("#detail .timeline li").first
    for word in ("Type", "Auteur", "Date"):
        assert word in item.inner_text()
    item.locator("button.fhir").click()
    page.wait_for_selector("#detail pre.fhir")
    assert '"resourceType": "Bundle"' in page.inner_text("#detail pre.fhir")
    page.locator("button.actor").first.click()
    page.wait_for_selector("#detail h3")
    assert "Envoyés" in page.inner_text("#detail")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "app-teaching.png"), full_page=False)
    assert watch.errors == [] and watch.outside == []


@pytest.mark.slow
def test_moving_a_lever_changes_the_figure_and_table_then_compare(watch, app_url):
    page = watch.page
    ready(page, app_url + "/")
    page.fill("#scale", "0.002")
    page.fill("#seed", "3")
    first = run_and_wait(page)
    before = gp_achieved(page)
    fig_before = page.locator(".pane.current figure[data-key='monthly'] svg").inner_html()
    page.locator(".pane.current button.pin").click()
    page.wait_for_selector(".pane.pinned")
    set_lever(page, "#lv-gp-intensity", "0.6")
    second = run_and_wait(page, first)
    assert second != first
    assert page.locator(".pane").count() == 2  # pinned and current, side by side
    after = gp_achieved(page)
    assert gp_achieved(page, "pinned") == before
    assert after != before
    assert page.locator(".pane.current figure[data-key='monthly'] svg").inner_html() != fig_before
    page.wait_for_selector(".pane.current .downloads a[href$='results.zip']", timeout=120_000)
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "app-planner.png"), full_page=False)
    assert watch.errors == [] and watch.outside == []


@pytest.mark.slow
def test_two_users_at_once_get_their_own_results(browser, app_url):
    a, b = Watch(browser, app_url), Watch(browser, app_url)
    try:
        for w, value in ((a, "0.15"), (b, "0.45")):
            ready(w.page, app_url + "/")
            w.page.fill("#scale", "0.002")
            w.page.fill("#seed", "4")
            set_lever(w.page, "#lv-biology-intensity", value)
        a.page.click("#run")
        b.page.click("#run")
        for w in (a, b):
            w.page.wait_for_function("document.getElementById('status-text').dataset.state === 'done'", timeout=300_000)
            w.page.wait_for_selector(".pane.current")
        ka = a.page.locator(".pane.current").get_attribute("data-key")
        kb = b.page.locator(".pane.current").get_attribute("data-key")
        assert ka != kb
        row = ".pane.current table.targets tr[data-row='biology'] td.achieved"
        assert a.page.inner_text(row) != b.page.inner_text(row)
        assert a.errors == [] and b.errors == [] and a.outside == [] and b.outside == []
    finally:
        a.close()
        b.close()


def test_closing_the_page_cancels_its_run(browser, app_url):
    httpx = pytest.importorskip("httpx")
    w = Watch(browser, app_url)
    try:
        ready(w.page, app_url + "/")
        w.page.fill("#scale", "0.002")
        w.page.fill("#seed", "987")  # a run nobody else asks for
        with w.page.expect_response(lambda r: "/api/runs?" in r.url and r.request.method == "POST") as resp:
            w.page.click("#run")
        job = resp.value.json()
        assert job["state"] in ("queued", "running")
        w.page.wait_for_function("['queued', 'running'].includes(document.getElementById('status-text').dataset.state)")
        assert w.page.inner_text("#status-text")  # its place in the queue or its progress is shown
        w.page.close(run_before_unload=True)
        deadline = time.monotonic() + 15
        while (st := httpx.get(f"{app_url}/api/jobs/{job['id']}").json())["state"] != "cancelled":
            assert time.monotonic() < deadline, st
            time.sleep(0.2)
    finally:
        w.close()
