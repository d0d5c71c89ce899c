"""The HTML report in a real browser: headless Chromium loads it offline, without console errors,
every figure decodes, and the target table names every sector. A screenshot is left in the
test's temporary folder (its path is printed; run with -s to see it).

Needs Chromium (Debian: ``apt-get install chromium``); skipped with the reason when absent.
"""

from __future__ import annotations

import pytest

from reports import i18n
from tests.support_browser import Browser, find_chromium

CHROMIUM = find_chromium()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian: apt-get install chromium)")]

IMAGES_JS = """Promise.all([...document.images].map(img => img.decode()
    .then(() => ({w: img.naturalWidth, h: img.naturalHeight, alt: img.alt}))
    .catch(() => ({w: 0, h: 0, alt: img.alt}))))"""
TABLE_JS = "[...document.querySelectorAll('#target-table tbody tr .row-label')].map(c => c.textContent)"


def test_report_loads_offline_in_chromium(small_report, small_results, tmp_path):
    page = small_report / "report.html"
    n_figures = len(list((small_report / "figures").glob("*.png")))
    with Browser(CHROMIUM, width=1280, height=900) as browser:
        browser.open(page.as_uri())
        images = browser.evaluate(IMAGES_JS)
        rows = browser.evaluate(TABLE_JS)
        title = browser.evaluate("document.title")
        errors = browser.console_errors()
        urls = browser.requested_urls()
        shot = browser.screenshot(tmp_path / "report.png")
    print(f"screenshot: {shot}")

    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in urls), [u[:80] for u in urls]
    assert len(images) == n_figures == 6
    for img in images:
        assert img["w"] > 300 and img["h"] > 200, img["alt"][:60]
        assert len(img["alt"]) > 40
    scen = small_results.manifest["scenario"]
    for sector in small_results.manifest["sectors"]:
        assert i18n.sector_label(sector, "fr", scen) in rows
    assert small_results.manifest["scenario_name"] in title
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == 1280 and height > 2000  # the whole page, figures included
