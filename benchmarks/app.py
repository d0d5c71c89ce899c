"""`segur app` measured in the browser (Playwright + Debian's chromium), and its screenshots.

    .venv/bin/python benchmarks/app.py                 # scale 0.01, 2 workers
    .venv/bin/python benchmarks/app.py --scale 0.002   # quicker
    .venv/bin/python benchmarks/app.py --shots docs/images

Prints: first page usable (goal < 2 s); a one-replication run, click to its target table then to
its figures on screen (goal: table ≤ 5 s at scale 0.01); an N-replication run (the page's
default, 8), click to its table with bands (goal ≤ 20 s on a quiet machine) — the cache is
fresh, so the runs really run; a teaching step (goal < 300 ms). Each measured from the page
(wall clock around the clicks).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_app_api import serve  # noqa: E402
from tests.test_app_browser import ARGS, CHROMIUM  # noqa: E402


def timed_run(page, table_ready, figure: str) -> tuple[float, float]:
    """Click Run; seconds until ``table_ready()`` returns, and until the ``figure`` is drawn."""
    t0 = time.perf_counter()
    page.click("#run")
    table_ready()
    table_s = time.perf_counter() - t0
    page.wait_for_selector(f".pane.current figure[data-key='{figure}'] svg")
    return table_s, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--replications", type=int, default=8, help="the second run's replications (the page's default)")
    ap.add_argument("--shots", type=Path, default=ROOT / "docs" / "images", help="folder for the screenshots")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not installed: nothing measured", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    args.shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp) / "cache", workers=args.workers) as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(300_000)
        # the teaching world is built at start-up: wait for it first, so that it does not
        # share the cores with the measured run
        page.goto(url + "/teaching")
        page.wait_for_selector("body[data-ready='1']")

        loads = []
        for _ in range(3):
            t0 = time.perf_counter()
            page.goto(url + "/")
            page.wait_for_selector("body[data-ready='1']")
            loads.append(time.perf_counter() - t0)
        print(f"first page usable (levers drawn): median {statistics.median(loads):.2f} s over 3 loads (goal < 2 s)")

        page.fill("#scale", str(args.scale))
        page.fill("#seed", "17")
        page.fill("#replications", "1")
        table_s, run_s = timed_run(page, lambda: page.wait_for_selector(".pane.current table.targets"), "monthly")
        print(f"scale-{args.scale} run, 1 replication, click to the target table: {table_s:.1f} s (goal ≤ 5 s at 0.01); "
              f"to the figures: {run_s:.1f} s")
        page.wait_for_selector(".pane.current .downloads a[href$='results.zip']")
        page.locator(".pane.current button.pin").click()
        page.wait_for_selector(".pane.pinned")

        page.fill("#seed", "18")
        page.fill("#replications", str(args.replications))

        def banded_table() -> None:
            page.wait_for_selector(".pane.current table.targets td.reached-share")
            page.wait_for_function("[...document.querySelectorAll('.pane.current td.reached-share')].some(td => /\\(/.test(td.textContent))")

        table_s, run_s = timed_run(page, banded_table, "annualised")
        print(f"scale-{args.scale} run, {args.replications} replications, click to the table with bands: {table_s:.1f} s "
              f"(goal ≤ 20 s on a quiet machine); to the figures: {run_s:.1f} s")
        page.wait_for_selector("#compare table.compare-table")
        page.wait_for_selector(".pane.current .downloads a[href$='results.zip']")
        page.screenshot(path=str(args.shots / "app-planner.png"))

        page.goto(url + "/teaching")
        page.wait_for_selector("body[data-ready='1']")
        steps = []
        n_days = len(page.evaluate("fetch('/api/teaching/world').then(r => r.json()).then(w => w.dates)"))
        for day in range(1, n_days):
            t0 = time.perf_counter()
            page.click("#step")
            page.wait_for_selector(f"#day-label[data-day='{day}']")
            steps.append(time.perf_counter() - t0)
        print(f"teaching step (click to the day drawn): median {statistics.median(steps) * 1000:.0f} ms, "
              f"max {max(steps) * 1000:.0f} ms over {len(steps)} steps (goal < 300 ms)")
        li = page.locator("#events li.accepted").first
        li.locator("button.patient").click()
        page.wait_for_selector("#detail .timeline li")
        page.locator("#detail .timeline li button.fhir").first.click()
        page.wait_for_selector("#detail pre.fhir")
        page.screenshot(path=str(args.shots / "app-teaching.png"))
        browser.close()
    print(f"screenshots: {args.shots / 'app-planner.png'}, {args.shots / 'app-teaching.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
