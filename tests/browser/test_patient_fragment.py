"""The Patient page's timeline controls rerun the timeline only (a fragment): changing the
period or the results shown never runs the page again (issue 19 item 4, issue 20 item 6).

The server logs one line per page run and one per timeline drawn (``DASHBOARD_LOG=INFO``;
counts and timings only, dashboard/log_config.py); the test counts them around each click.
"""

from __future__ import annotations

import threading
import time

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, start_app, stop_app, wait_for_app


class ServerLog:
    """The server's output, read as it comes (the pipe is drained by a thread)."""

    def __init__(self, proc) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._drain, args=(proc,), daemon=True)
        self._thread.start()

    def _drain(self, proc) -> None:
        for raw in proc.stdout:
            self.lines.append(raw.decode(errors="replace"))

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def wait_for(self, text: str, at_least: int, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while self.count(text) < at_least and time.time() < deadline:
            time.sleep(0.05)
        assert self.count(text) >= at_least, f"{text!r}: {self.count(text)} < {at_least}\n" + "".join(self.lines[-20:])


def _x_range(page):
    return page.evaluate(
        """() => { const el = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
                   return el && el.layout && el.layout.xaxis ? JSON.stringify(el.layout.xaxis.range || null) : null; }"""
    )


def _panels(page) -> int:
    return page.evaluate(
        """() => { const el = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
                   return el ? (el.layout.annotations || []).filter(a => (a.text || '').includes('(')).length : -1; }"""
    )


def test_the_timeline_controls_rerun_the_timeline_only(chromium):
    proc, url = start_app({"DASHBOARD_LOG": "INFO"})
    log = ServerLog(proc)
    try:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        wait_for_app(page)
        page.get_by_role("button", name="Load sample panel").click()
        wait_for_app(page, 60_000)
        page.get_by_role("link", name="Patient").click()
        wait_for_app(page, 60_000)
        expect(page.locator("[data-testid='stPlotlyChart']")).to_be_visible()
        log.wait_for("timeline drawn", 1)
        pages, timelines, before = log.count("page patient ran"), log.count("timeline drawn"), _x_range(page)

        page.get_by_role("radio", name="3 months").click()  # the period
        log.wait_for("timeline drawn", timelines + 1)
        wait_for_app(page)
        page.wait_for_function(
            """(before) => { const el = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
                             return el && JSON.stringify(el.layout.xaxis.range || null) !== before; }""",
            arg=before,
        )
        assert log.count("page patient ran") == pages, "the period reran the whole page"

        shown = _panels(page)
        page.locator("[data-testid='stMultiSelect'] button[aria-label='Remove Hb']").click()  # one result less
        log.wait_for("timeline drawn", timelines + 2)
        wait_for_app(page)
        page.wait_for_function(
            """(n) => { const el = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
                        return el && (el.layout.annotations || []).filter(a => (a.text || '').includes('(')).length < n; }""",
            arg=shown,
        )
        assert log.count("page patient ran") == pages, "the results shown reran the whole page"
        screenshot(page, "patient_fragment_3_months")

        page.get_by_role("link", name="Panel").click()  # another page is a full run, as before
        wait_for_app(page)
        page.get_by_role("link", name="Patient").click()
        wait_for_app(page)
        log.wait_for("page patient ran", pages + 1)
        assert page.locator("[data-testid='stException']").count() == 0
        context.close()
    finally:
        stop_app(proc)
