"""Security in a real browser: hostile data stays text, nothing leaves the machine.

One app runs under ``strace`` (every connect/sendto/sendmsg of the server and its
children is logged) while a Chromium session whose every request is intercepted
uploads hostile exports and walks through the pages.  Then:

* no script ran (no dialog), no element was injected, the hostile strings are shown as
  written;
* the browser asked for nothing but the app on 127.0.0.1;
* the server tried to reach no address but loopback (a DNS lookup would show as a
  connect to the resolver).

Separate apps check the upload limits, XSRF and that an error shows no data.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ROOT, screenshot, start_app, stop_app, wait_for_app
from tests.security.hostile import (
    FORMULA_ID,
    MD_IMAGE_ID,
    MD_LINK_ID,
    PATIENT_IDS,
    XSS_ID,
    doses_csv,
    labs_csv,
    patients_csv,
)

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


class Guard:
    """Records what a browser context asked for, and every dialog a page opened."""

    def __init__(self, context) -> None:
        self.outside: list[str] = []
        self.inside = 0
        self.dialogs: list[str] = []
        context.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if urlparse(url).hostname in LOCAL_HOSTS:
            self.inside += 1
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def watch(self, page) -> None:
        page.on("dialog", self._dialog)
        page.on(
            "websocket", lambda ws: None if urlparse(ws.url).hostname in LOCAL_HOSTS else self.outside.append(ws.url)
        )

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


class TracedApp:
    def __init__(self, tmp: Path) -> None:
        if not shutil.which("strace"):
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail("strace is not installed: apt-get install strace (scripts/test.sh does)")
            pytest.skip("strace is not installed (apt-get install strace)")
        self.log = tmp / "server.strace"
        prefix = [
            "strace",
            "-f",
            "-qq",
            "--seccomp-bpf",
            "-yy",  # sockets shown with their protocol and inode
            "-e",
            "trace=connect,sendto,sendmsg,sendmmsg,bind",
            "-o",
            str(self.log),
        ]
        env = {"DASHBOARD_WORKSPACE": str(tmp / "workspace")}
        self.proc, self.url = start_app(env, prefix=prefix)
        self.port = urlparse(self.url).port

    def stop(self) -> None:
        """Stop the server first, then strace (killing strace alone would leave the
        server running, detached and with its traced system calls failing)."""
        if self.proc.poll() is not None:
            return
        for pid in _children(self.proc.pid):
            _terminate(pid)
        stop_app(self.proc)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _terminate(pid: int, timeout: float = 15) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _state(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]).lower()
    except (OSError, IndexError):
        return "zombie"


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    app = TracedApp(tmp_path_factory.mktemp("traced"))
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def guarded(chromium, traced):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    guard = Guard(context)
    page = context.new_page()
    page.set_default_timeout(30_000)
    guard.watch(page)
    page.goto(traced.url)
    wait_for_app(page)
    try:
        yield page, guard
    finally:
        context.close()


def assert_nothing_injected(page, guard: Guard) -> None:
    assert guard.dialogs == [], f"a script ran: {guard.dialogs}"
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("img[src*='evil.invalid']").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator("a[href*='evil.invalid']").count() == 0
    assert page.evaluate("() => [...document.scripts].filter(s => s.text.includes('alert(')).length") == 0
    assert page.locator("[data-testid='stException']").count() == 0


def goto(page, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).first.click()
    wait_for_app(page)


def choose_patient(page, pid: str) -> None:
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Patient").first
    # after the chart was hovered (page scrolled down to it) a click can land while the
    # page scrolls back and leave the box focused but closed: typing into the box's search
    # opens it whatever happened, filters to the patient, and Enter picks the match
    box.scroll_into_view_if_needed()
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(pid)
    option = page.get_by_role("option").filter(has_text=pid).first
    option.wait_for(state="visible")
    page.keyboard.press("Enter")
    wait_for_app(page)


def test_hostile_ids_and_names_are_shown_as_text(guarded):
    page, guard = guarded
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[
            {"name": XSS_ID + ".csv", "mimeType": "text/csv", "buffer": labs_csv()},
            {"name": "patients.csv", "mimeType": "text/csv", "buffer": patients_csv()},
            {"name": "doses.csv", "mimeType": "text/csv", "buffer": doses_csv()},
        ]
    )
    wait_for_app(page)
    expect(page.get_by_text("Import report")).to_be_visible()
    # the file name with markup is shown literally in the report's expander
    expect(page.get_by_text(XSS_ID + ".csv: 8 accepted", exact=False).first).to_be_visible()
    assert_nothing_injected(page, guard)

    goto(page, "Panel")
    expect(page.get_by_text("4 of 4 patients shown")).to_be_visible()
    assert_nothing_injected(page, guard)

    goto(page, "Patient")
    for pid in PATIENT_IDS:
        choose_patient(page, pid)
        expect(page.get_by_role("combobox", name="Patient")).to_have_value(re.compile(re.escape(pid)))
        expect(page.locator("[data-testid='stPlotlyChart']").first).to_be_visible()
        page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first.hover()  # hover labels carry data too
        assert_nothing_injected(page, guard)
    choose_patient(page, XSS_ID)
    # the diagnosis "<script>alert(3)</script>" is a visible string, not a script
    expect(page.get_by_text("<script>alert(3)</script>", exact=False).first).to_be_visible()
    choose_patient(page, MD_LINK_ID)
    expect(page.get_by_text(":red[alarm] $x^2$", exact=False).first).to_be_visible()
    screenshot(page, "security_hostile_patient")
    assert_nothing_injected(page, guard)
    assert guard.outside == []


def test_exports_from_the_browser_are_neutralised(guarded):
    page, guard = guarded
    goto(page, "Workspace")
    page.get_by_role("tab", name="Export").click()
    wait_for_app(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Panel (CSV)").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    assert "'" + FORMULA_ID.replace('"', '""') in text  # kept and inert (CSV-quoted)
    assert "\n=" not in text and ",=" not in text and '"=' not in text
    assert MD_IMAGE_ID in text
    # the patient summary PDF: its timeline picture is drawn by kaleido with Chromium,
    # started by the server (watched by strace too)
    with page.expect_download(timeout=120_000) as dl:
        page.get_by_role("button", name="Patient summary (PDF)").click()
    pdf = Path(dl.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and b"/JavaScript" not in pdf and b"/URI" not in pdf
    assert dl.value.suggested_filename.startswith("summary_") and "<" not in dl.value.suggested_filename
    assert_nothing_injected(page, guard)
    assert guard.outside == []


def test_the_sample_and_every_page_stay_on_this_machine(guarded):
    page, guard = guarded
    goto(page, "Home")
    page.get_by_role("button", name="Load sample panel").click()
    wait_for_app(page)
    for name in ("Panel", "Patient", "Compare", "Dosing", "Rules", "Workspace", "Home"):
        goto(page, name)
        assert page.locator("[data-testid='stException']").count() == 0, name
    assert guard.inside > 10  # the interception saw the app's own traffic
    assert guard.outside == [], guard.outside


def _is_local(address: str) -> bool:
    return address.startswith(("127.", "::ffff:127.")) or address in ("::1", "0.0.0.0", "::")


_SOCKET = re.compile(r"^\d+\s+(connect|sendto|sendmsg|sendmmsg)\(\d+<(\w+)[^>]*?\[(\d+)")


def outbound_attempts(log: str) -> list[str]:
    """The lines of an ``strace -f -yy`` log that tried to reach a non-loopback address.

    Any TCP connect, and any send to such an address, counts.  A UDP ``connect`` on
    whose socket nothing is ever sent is not traffic: it only asks the kernel for a
    route, as Chromium does to learn whether IPv6 works (its probe of
    2001:4860:4860::8888; no packet leaves the machine).
    """
    found: list[str] = []
    probes: dict[str, str] = {}  # socket inode -> its UDP connect
    sent: set[str] = set()  # inodes of the sockets something was sent on
    for line in log.splitlines():
        m = _SOCKET.match(line)
        if not m:
            continue
        call, proto, inode = m.groups()
        addresses = re.findall(r'inet_addr\("([^"]+)"\)', line) + re.findall(r'inet_pton\(AF_INET6, "([^"]+)"', line)
        outside = [a for a in addresses if not _is_local(a)]
        if call.startswith("send"):
            sent.add(inode)
            if outside:
                found.append(line)
        elif outside:
            if proto.startswith("UDP"):
                probes[inode] = line
            else:
                found.append(line)
    return found + [line for inode, line in probes.items() if inode in sent]


def test_outbound_attempts_are_recognised():
    log = """\
10 connect(18<UDPv6:[501]>, {sa_family=AF_INET6, sin6_port=htons(443), inet_pton(AF_INET6, "2001:4860:4860::8888", &sin6_addr)}, 28) = 0
11 connect(7<TCP:[502]>, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
12 connect(5<UDP:[503]>, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0
14 sendmmsg(5<UDP:[503->504]>, [{msg_hdr={...}}], 2, MSG_NOSIGNAL) = 2
13 connect(9<TCP:[505]>, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("93.184.216.34")}, 16 <unfinished ...>
13 <... connect resumed>) = -1 EINPROGRESS
15 sendto(3<UDP:[506]>, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(123), sin_addr=inet_addr("192.0.2.1")}, 16) = 1
"""
    found = outbound_attempts(log)
    # the TCP connect, the UDP send and the DNS query (a connect, then a send); not the probe
    assert len(found) == 3, found
    assert "93.184.216.34" in found[0] and "192.0.2.1" in found[1] and "10.255.255.53" in found[2]


def test_the_server_tried_no_outbound_connection(traced, guarded):
    """Last of the traced session: stop the server and read what it (and the Chromium it
    started for the PDF picture) tried."""
    traced.stop()
    log = traced.log.read_text(errors="replace")
    assert re.search(rf"bind\(.*htons\({traced.port}\)", log), "the trace did not see the server bind its port"
    assert sum(1 for line in log.splitlines() if _SOCKET.match(line)) > 10, "no socket call was parsed"
    assert outbound_attempts(log) == []


# --------------------------------------------------------------------------- separate apps


@pytest.fixture(scope="module")
def limited_app():
    proc, url = start_app({"STREAMLIT_SERVER_MAX_UPLOAD_SIZE": "1", "DASHBOARD_MAX_ROWS": "5"})
    try:
        yield url
    finally:
        stop_app(proc)


def test_upload_limits_are_stated_and_enforced(chromium, limited_app):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(limited_app)
        wait_for_app(page)
        expect(page.get_by_text("Up to 1 MB and 5 rows per file", exact=False)).to_be_visible()
        big = b"patient_id,collected_at,test,value,unit\n" + b"P1,2024-03-05,WBC,4.5,10^9/L\n" * 60_000  # 1.8 MB
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            files=[{"name": "too_big.csv", "mimeType": "text/csv", "buffer": big}]
        )
        expect(page.get_by_text(re.compile(r"File must be 1(\.0)?\s?MB or smaller"))).to_be_visible()
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            files=[{"name": "too_long.csv", "mimeType": "text/csv", "buffer": big[:400]}]
        )
        wait_for_app(page)
        expect(page.get_by_text("the limit is 5 rows per file", exact=False).first).to_be_visible()
        expect(page.get_by_text("split the export", exact=False).first).to_be_visible()
        screenshot(page, "security_upload_limits")
    finally:
        context.close()


def test_uploads_without_the_xsrf_token_are_refused(app_url):
    """XSRF protection is on: an upload without the cookie-bound token is refused."""
    request = urllib.request.Request(
        f"{app_url}/_stcore/upload_file/some-session/some-file",
        data=b"x",
        method="PUT",
        headers={"Content-Type": "text/csv"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert err.value.code in (400, 403)
    assert b"xsrf" in err.value.read().lower() or err.value.code == 403


@pytest.fixture(scope="module")
def crash_app():
    proc, url = start_app(script=ROOT / "tests" / "browser" / "apps" / "crash.py")
    try:
        yield url
    finally:
        stop_app(proc)


def test_an_error_shows_no_data_and_no_traceback(chromium, crash_app):
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(crash_app)
        wait_for_app(page)
        page.get_by_role("button", name="Fail").click()
        wait_for_app(page)
        expect(page.locator("[data-testid='stException']").first).to_be_attached()
        body = page.locator("body").inner_text()
        for secret in ("MRN-0012-SECRET", "Jane Doe", "ValueError", "Traceback", "could not grade", "crash.py"):
            assert secret not in body, secret
        screenshot(page, "security_error_page")
    finally:
        context.close()
