"""`segur app` in a real browser (Playwright + Debian's chromium): no console error, nothing
fetched from outside the app, levers → figure and table, field errors, the teaching view,
the language switch, two users at once."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.test_app_api import serve

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ISO_DAY = re.compile(r"\b\d{4}-\d\d-\d\d\b")
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

    def __init__(self, browser, app_url: str, width: int = 1400, height: int = 1000):
        self.host = urlparse(app_url).netloc
        self.ctx = browser.new_context(viewport={"width": width, "height": height})
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
    assert "Planner" in page.inner_text("nav") and "How fast equipped facilities" in page.inner_text("#levers")
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


ISO_MONTH = re.compile(r"\b\d{4}-\d\d\b")


FRENCH_MONTH = r"(janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre) \d{4}"
FRENCH_DATE = r"\b\d{1,2} " + FRENCH_MONTH
FRENCH_DAY = r"(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) " + FRENCH_DATE
SHORTHAND = re.compile(r"\[[IV]\]|domain §|\bS\d+\b")


def test_levers_say_what_they_do_and_which_ones_matter(watch, app_url):
    page = watch.page
    ready(page, app_url + "/")
    assert "Niveau de départ" in page.text_content("label[for='lv-gp-intensity']")
    ranked = page.locator("#lever-effects ol.effects li")
    assert ranked.count() >= 3
    sizes = [max(abs(float(x.replace("\u2212", "-").replace(",", ".").strip(" %\u00a0+"))) for x in
                 ranked.nth(i).locator(".effect").inner_text().split("/")) for i in range(ranked.count())]
    assert sizes == sorted(sizes, reverse=True)  # the levers that matter most come first
    assert re.search(r"calculée le \d{1,2} \w+ \d{4} par", page.inner_text("#lever-effects"))
    set_lever(page, "#lv-gp-intensity", page.input_value("#lv-gp-intensity"))  # open GP's group
    line = page.inner_text("#effect-lv-gp-intensity")
    assert line.startswith("Effet sur le total national des 12 derniers mois") and "%" in line
    assert watch.errors == [] and watch.outside == []


def test_a_french_reader_reads_french_and_the_switch_gives_english(watch, app_url):
    page = watch.page
    ready(page, app_url + "/")
    desc = page.inner_text("#scenario-description")
    assert desc.startswith("Vague 1 seule") and "Wave" not in desc
    metas = page.locator("#levers p.meta")
    assert metas.count() > 10
    for i in range(metas.count()):
        text = metas.nth(i).text_content()
        assert not SHORTHAND.search(text), text
    assert "hypothèse de modélisation" in page.inner_text("#levers")
    page.select_option("#scenario", "gp_fast")
    page.wait_for_function("document.getElementById('scenario-description').textContent.startsWith('Vague 2')")
    page.click("#lang-switch")
    page.wait_for_selector("body[data-ready='1']")
    assert page.inner_text("#scenario-description").startswith("wave2 with GP uptake")
    assert "Start level" in page.inner_text("#levers")
    assert watch.errors == [] and watch.outside == []


def test_the_teaching_panel_has_a_legend_french_dates_and_refusals_in_words(watch, app_url):
    page = watch.page
    ready(page, app_url + "/teaching")
    legend = page.inner_text("#legend")
    for sign, words in (("✓", "acceptés par le DMP"), ("✗", "refusés"), ("✉", "messages MSSanté")):
        assert sign in legend and words in legend
    assert re.search(FRENCH_DAY, page.inner_text("#day-label")), page.inner_text("#day-label")
    while page.locator("#events li.rejected").count() == 0:  # a day with a refusal
        assert not page.locator("#step").is_disabled(), "the demo week has no refusal"
        n = int(page.get_attribute("#day-label", "data-day"))
        page.click("#step")
        page.wait_for_selector(f"#day-label[data-day='{n + 1}']")
    event = page.locator("#events li.rejected").first
    doc = event.get_attribute("data-doc")
    event.locator("button.patient").click()
    page.wait_for_selector(f"#detail .not-shown li[data-doc='{doc}'] .refusal")
    detail = page.inner_text("#detail")
    assert re.search(FRENCH_DATE, detail) and not re.search(r"\b\d{4}-\d\d-\d\d\b", detail)
    refusal = page.locator(f"#detail .not-shown li[data-doc='{doc}'] .refusal").inner_text()
    head, _, reason = refusal.partition(":")
    assert head.strip() == "refusé par le DMP" and len(reason.split()) >= 4, refusal  # the reason in words
    assert "Documents qui n'ont pas atteint son Mon espace santé" in detail
    assert watch.errors == [] and watch.outside == []


@pytest.fixture(scope="module")
def compared(browser, app_url):
    """A planner at 1280 px: a 2-replication run pinned, then the same with GP's start level at 0.8."""
    w = Watch(browser, app_url, width=1280, height=900)
    page = w.page
    ready(page, app_url + "/")
    page.fill("#scale", "0.002")
    page.fill("#seed", "3")
    page.fill("#replications", "2")
    first = run_and_wait(page)
    w.before = {"gp": gp_achieved(page), "fig": page.locator(".pane.current figure[data-key='monthly'] svg").inner_html()}
    page.locator(".pane.current button.pin").click()
    page.wait_for_selector(".pane.pinned")
    set_lever(page, "#lv-gp-intensity", "0.8")
    w.second = run_and_wait(page, first)
    w.first = first
    page.wait_for_selector("#compare table.compare-table")
    page.wait_for_selector(".pane.current figure[data-key='annualised'] svg")
    yield w
    w.close()


@pytest.mark.slow
def test_moving_a_lever_changes_the_figure_and_table(compared):
    page = compared.page
    assert compared.second != compared.first
    assert gp_achieved(page, "pinned") == compared.before["gp"]
    assert gp_achieved(page) != compared.before["gp"]
    assert page.locator(".pane.current figure[data-key='monthly'] svg").inner_html() != compared.before["fig"]
    page.wait_for_selector(".pane.current .downloads a[href$='results.zip']", timeout=120_000)
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "app-planner.png"), full_page=False)
    assert compared.errors == [] and compared.outside == []


@pytest.mark.slow
def test_the_target_table_gives_the_month_band_and_the_share_of_replications(compared):
    page = compared.page
    table = page.locator(".pane.current table.targets")
    head = table.locator("thead").inner_text()
    assert "médiane [p5 – p95]" in head and "Réplications qui l'atteignent" in head
    rows = table.locator("tbody tr")
    with_target = 0
    for i in range(rows.count()):
        reached = rows.nth(i).locator("td.reached .band").inner_text()
        share = rows.nth(i).locator("td.reached-share").inner_text()
        if reached == "—":
            continue
        with_target += 1
        assert re.fullmatch(r"\d+(,\d)?\s%\s\(sur 2\)", share), share
        assert re.search(FRENCH_MONTH, reached) or "non atteint fin" in reached, reached
        if "[" in reached:  # median [p5 – p95]
            assert re.fullmatch(r".+ \[.+ – .+\]", reached), reached
        # the band shown carries the structural discrepancy; the model's alone is under it
        alone = rows.nth(i).locator("td.reached .model-alone").inner_text()
        assert alone.startswith("modèle seul :") and re.search(r"\(\d+(,\d)?\s%\)$", alone), alone
    assert with_target >= 4
    assert not ISO_MONTH.search(table.inner_text())  # months as "mai 2023", never 2023-05
    pane = page.locator(".pane.current")
    assert "écart structurel du modèle (baseline.discrepancy.csv" in pane.locator(".disc-note").inner_text()
    parts = pane.locator(".band-parts").inner_text()  # parameters, seeds, discrepancy
    assert "paramètres 0\u00a0%" in parts and re.search(r"aléa \d+\s%, écart structurel \d+\s%", parts), parts


@pytest.mark.slow
def test_the_gap_to_the_published_figures_is_stated_beside_them(compared):
    page = compared.page
    fig = page.locator(".pane.current figure[data-key='annualised']")
    gap = fig.locator(".gap[data-group='documents']")
    text = gap.inner_text()
    assert "Écart aux chiffres publiés" in text and re.search(r"médiane de [+−]?\d+(,\d)?\s%", text), text
    gap.locator("summary").click()
    rows = gap.locator("table.gap-rows tbody tr")
    assert rows.count() >= 5
    assert re.search(r"[+−]?\d+(,\d)?\s%", rows.first.locator("td").last.inner_text())
    assert page.locator(".pane.current figure[data-key='profiles'] .gap[data-group='profiles']").count() == 1
    # how far the calibrated model was from the figures it was fitted to (the committed discrepancy file)
    fit = fig.locator(".in-sample").inner_text()
    assert "Écart du modèle calibré" in fit and "baseline.posterior.csv" in fit, fit
    assert re.search(r"en médiane de \d+(,\d)?\s%", fit) and "tous secteurs" in fit, fit
    assert not re.search(r"\b(biology|gp|hospital|radiology)\b", fit), fit  # sectors by their French names
    assert re.search(r"jusqu'au \d{1,2}(er)? \w+ \d{4}", fit) and not ISO_DAY.search(fit), fit  # dates in words


@pytest.mark.slow
def test_captions_stand_above_their_figures_and_the_bands_legend_is_whole(compared):
    page = compared.page
    figs = page.locator(".pane.current figure")
    assert figs.count() >= 4
    for i in range(figs.count()):
        cap = figs.nth(i).locator("figcaption").bounding_box()
        svg = figs.nth(i).locator("svg").first.bounding_box()
        assert cap["y"] + cap["height"] <= svg["y"] + 1, i
    inside = page.evaluate("""() => {
        const svg = document.querySelector(".pane.current figure[data-key='annualised'] svg");
        const box = svg.getBoundingClientRect();
        return [...svg.querySelectorAll("text")].every((t) => { const r = t.getBoundingClientRect();
            return r.width === 0 || (r.left >= box.left - 1 && r.right <= box.right + 1 && r.bottom <= box.bottom + 1); });
    }""")
    assert inside, "a text of the bands figure (its legend) falls outside the figure"


@pytest.mark.slow
def test_compare_is_side_by_side_at_1280_px_with_differences_and_overlaid_curves(compared):
    page = compared.page
    a = page.locator(".pane.pinned").bounding_box()
    b = page.locator(".pane.current").bounding_box()
    assert abs(a["y"] - b["y"]) < 2 and a["x"] + a["width"] <= b["x"] and b["x"] + b["width"] <= 1280
    table = page.locator("#compare table.compare-table")
    assert "Différence" in table.locator("thead").inner_text()
    gp = table.locator("tr[data-row='gp']")
    assert re.fullmatch(r"([+−]\d+(,\d)?|0)\s%", gp.locator("td.diff").inner_text()), gp.inner_text()
    assert gp.locator("td").nth(1).inner_text() != gp.locator("td").nth(2).inner_text()
    pinned_d = page.locator("#overlay-chart path.pinned-line").get_attribute("d")
    current_d = page.locator("#overlay-chart path.current-line").get_attribute("d")
    assert pinned_d and current_d and pinned_d != current_d
    page.select_option("#overlay-row", "gp")
    page.wait_for_function("d => document.querySelector('#overlay-chart path.current-line').getAttribute('d') !== d", arg=current_d)
    assert page.locator("#overlay-chart line.target").count() == 1  # the GP target drawn over both curves
    assert compared.errors == [] and compared.outside == []


@pytest.mark.slow
def test_two_users_at_once_get_their_own_results(browser, app_url):
    a, b = Watch(browser, app_url), Watch(browser, app_url)
    try:
        for w, value in ((a, "0.15"), (b, "0.45")):
            ready(w.page, app_url + "/")
            w.page.fill("#scale", "0.002")
            w.page.fill("#seed", "4")
            w.page.fill("#replications", "1")
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
        w.page.fill("#replications", "1")
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
