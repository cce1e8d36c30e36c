"""The title page's ad player in a real browser (Debian's chromium through Playwright).

The page itself (index.html, app.js, ads.js, simid_host.js and the vendored video.js and
vast-client) is served, with the CSP the service should send, by a small HTTP server in a
thread that stands in for the service: a few JSON routes, ``/ads/vmap`` answering the
hand-written VMAP of each test title, the VAST documents, the IAB sample media (with byte
ranges) and a tracking endpoint that records every beacon. SIMID creatives come from a
second server on another port, so they are really cross-origin: the IAB samples
(``../shared/data/iab/simid/creatives``) and our own test creatives
(``tests/data/ads_player/creatives``).

Every VAST here (files and the ones inside the VMAPs) is checked against the IAB VAST 4.2
XSD. Test hosts: ``http://ads.invalid`` in a fixture means the page's server and
``http://creatives.invalid`` the creatives' server; the server rewrites them when serving.

Screenshots go to the test's tmp folder; a few are kept in /tmp/ads_player_shots/.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "src" / "moviola" / "stream" / "web"
DATA = Path(__file__).resolve().parent / "data" / "ads_player"
IAB = REPO.parent / "shared" / "data" / "iab"
SIMID = IAB / "simid"
VAST_XSD = IAB / "vast" / "vast_4.2.xsd"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
        "--disable-dev-shm-usage", "--disable-background-networking"]  # fmt: skip
SHOTS = Path("/tmp/ads_player_shots")
SANDBOX = "allow-scripts allow-popups allow-popups-to-escape-sandbox allow-forms"

# What the service's /static route must serve (name -> Content-Type); the same list is
# what _server.py is asked to whitelist.
STATIC = {
    "app.js": "text/javascript", "ads.js": "text/javascript", "simid_host.js": "text/javascript",
    "style.css": "text/css", "vendor/video.core.min.js": "text/javascript",
    "vendor/video-js.min.css": "text/css", "vendor/vast-client.min.js": "text/javascript",
}  # fmt: skip
# The page's CSP as the service should send it; the test adds the creatives' http origin
# to frame-src (real creatives come over https, which 'https:' already allows).
CSP = ("default-src 'self'; img-src 'self' https: data:; media-src 'self' https:; "
       "font-src 'self' data:; connect-src 'self' https:; frame-src 'self' https:{extra}; "
       "object-src 'none'; base-uri 'none'")  # fmt: skip
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html; charset=utf-8",
         ".xml": "application/xml", ".mp4": "video/mp4", ".jpg": "image/jpeg"}  # fmt: skip
CONTENT = "/media/fakeContent.mp4"
# title id -> (its VMAP fixture, or None for "no ads": /ads/vmap answers 404; its trailer)
TITLES: dict[str, tuple[str | None, str]] = {
    "t-preroll": ("preroll.xml", CONTENT),
    "t-overlay": ("overlay.xml", CONTENT),
    "t-survey": ("survey.xml", CONTENT),
    "t-silent": ("silent.xml", CONTENT),
    "t-fatal": ("fatal.xml", CONTENT),
    "t-probe": ("probe.xml", CONTENT),
    "t-empty": ("empty.xml", CONTENT),
    "t-broken": ("broken.xml", CONTENT),
    "t-midpost": ("midpost.xml", "/media/shortAd.mp4?role=content"),
    "t-badmedia": ("badmedia.xml", CONTENT),
    "t-noads": (None, CONTENT),
}
QUARTILES = ("impression", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete")
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


# ----------------------------------------------------------------- the test server


@dataclass
class Hit:
    path: str
    query: dict[str, str]


@dataclass
class Site:
    """The stand-in service (page origin) and the creatives' server (another origin)."""

    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    servers: list[ThreadingHTTPServer] = field(default_factory=list)

    def start(self) -> Site:
        for role in ("page", "creatives"):
            server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(role))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.servers[0].server_address[1]}"

    @property
    def creatives(self) -> str:
        return f"http://127.0.0.1:{self.servers[1].server_address[1]}"

    def count(self, path: str, **query: str) -> int:
        with self.lock:
            return sum(
                1
                for h in self.hits
                if h.path == path and all(h.query.get(k) == v for k, v in query.items())
            )

    def beacons(self, path: str, **query: str) -> list[dict[str, str]]:
        with self.lock:
            return [
                h.query
                for h in self.hits
                if h.path == path and all(h.query.get(k) == v for k, v in query.items())
            ]

    def wait_for(self, path: str, n: int = 1, timeout: float = 5.0, **query: str) -> None:
        """Beacons are images loaded asynchronously: wait for them to arrive."""
        end = time.monotonic() + timeout
        while self.count(path, **query) < n and time.monotonic() < end:
            time.sleep(0.05)

    def clear(self) -> None:
        with self.lock:
            self.hits.clear()

    def _handler(self, role: str) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                # chromium drops media requests it no longer needs
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    site.answer(self, role)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                site.send(self, 201, b"{}", "application/json")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str,
             headers: dict[str, str] | None = None) -> None:  # fmt: skip
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)

    def xml(self, path: Path) -> bytes:
        text = path.read_text(encoding="utf-8")
        return (
            text.replace("http://ads.invalid", self.base)
            .replace("http://creatives.invalid", self.creatives)
            .encode()
        )

    def answer(self, h: BaseHTTPRequestHandler, role: str) -> None:
        url = urlsplit(h.path)
        path, query = url.path, dict(parse_qsl(url.query, keep_blank_values=True))
        if path in ("/track", "/error"):
            with self.lock:
                self.hits.append(Hit(path, query))
            self.send(h, 200, GIF, "image/gif")
            return
        if role == "creatives":
            for prefix, root in (("/iab/", SIMID), ("/own/", DATA / "creatives")):
                if path.startswith(prefix):
                    self.file(h, root, path[len(prefix) :])
                    return
            self.send(h, 404, b"not found", "text/plain")
            return
        if path == "/":
            csp = CSP.format(extra=f" {self.creatives}")
            self.send(h, 200, (WEB / "index.html").read_bytes(), "text/html; charset=utf-8",
                      {"Content-Security-Policy": csp})  # fmt: skip
        elif path.startswith("/static/") and path[8:] in STATIC:
            self.send(h, 200, (WEB / path[8:]).read_bytes(), STATIC[path[8:]])
        elif path == "/healthz":
            self.json(h, {"ok": True, "search": False, "model": "test-model"})
        elif m := re.fullmatch(r"/members/([^/]+)/home", path):
            self.json(h, {"member_id": m[1], "rows": [], "model": "test-model"})
        elif (m := re.fullmatch(r"/titles/([^/]+)", path)) and m[1] in TITLES:
            self.json(h, {"title_id": m[1], "title": f"Title {m[1]}", "year": 2026, "genres": ["Drama"],
                          "synopsis": "A test title.", "poster": "/media/LearnMoreEndCard.jpg",
                          "trailer": TITLES[m[1]][1]})  # fmt: skip
        elif path == "/ads/vmap" and TITLES.get(query.get("title", ""), (None, ""))[0]:
            assert query.get("member") == "m1"
            fixture = TITLES[query["title"]][0]
            assert fixture is not None
            self.send(h, 200, self.xml(DATA / "vmap" / fixture), "application/xml")
        elif path.startswith("/vast/") and (DATA / "vast" / path[6:]).is_file():
            self.send(h, 200, self.xml(DATA / "vast" / path[6:]), "application/xml")
        elif path.startswith("/media/"):
            self.file(h, SIMID / "media", path[7:])
        else:
            self.send(h, 404, b'{"error": "not found"}', "application/json")

    def json(self, h: BaseHTTPRequestHandler, value: object) -> None:
        self.send(h, 200, json.dumps(value).encode(), "application/json")

    def file(self, h: BaseHTTPRequestHandler, root: Path, name: str) -> None:
        """A static file, with byte ranges (video elements seek with them)."""
        path = (root / name).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            self.send(h, 404, b"not found", "text/plain")
            return
        data = path.read_bytes()
        ctype = TYPES.get(path.suffix, "application/octet-stream")
        wanted = re.fullmatch(r"bytes=(\d*)-(\d*)", (h.headers.get("Range") or "").strip())
        if not wanted or not (wanted[1] or wanted[2]):
            self.send(h, 200, data, ctype, {"Accept-Ranges": "bytes"})
            return
        if wanted[1]:
            start = int(wanted[1])
            end = min(int(wanted[2]) if wanted[2] else len(data) - 1, len(data) - 1)
        else:  # the last N bytes
            start, end = max(0, len(data) - int(wanted[2])), len(data) - 1
        if start > end:
            self.send(h, 416, b"", ctype, {"Content-Range": f"bytes */{len(data)}"})
            return
        self.send(h, 206, data[start : end + 1], ctype,
                  {"Accept-Ranges": "bytes", "Content-Range": f"bytes {start}-{end}/{len(data)}"})  # fmt: skip


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    if not (SIMID / "creatives" / "simid_overlay.html").is_file():
        pytest.skip(f"the IAB SIMID samples are not here ({SIMID})")
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    if not CHROMIUM.is_file():
        pytest.skip(
            "Debian's chromium is not installed (apt-get install -y chromium; scripts/setup.sh does)"
        )
    with sync_api.sync_playwright() as p:
        try:
            chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        except sync_api.Error as exc:
            pytest.skip(f"chromium cannot run here: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()


# Records CSP violations in every document, before any of the page's scripts run.
CSP_PROBE = """document.addEventListener('securitypolicyviolation', (e) => {
  (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI); });"""


@dataclass
class Run:
    """One title page opened in a fresh browser context."""

    page: Any
    site: Site
    shots: Path
    problems: list[str]

    def log(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.page.evaluate(
            "() => (window.moviolaAds || {log: []}).log"
        )
        return result

    def wait_log(self, predicate: str, timeout: float = 15_000) -> dict[str, Any]:
        """Waits for a log entry matching `predicate` (a JS expression of `e`); returns it."""
        js = f"() => (window.moviolaAds?.log || []).find((e) => {predicate}) || null"
        self.page.wait_for_function(js, timeout=timeout)
        entry: dict[str, Any] = self.page.evaluate(js)
        return entry

    def index(
        self, match: Callable[[dict[str, Any]], bool], log: list[dict[str, Any]] | None = None
    ) -> int:
        entries = self.log() if log is None else log
        for i, entry in enumerate(entries):
            if match(entry):
                return i
        raise AssertionError("no such log entry")

    def video(self) -> dict[str, Any]:
        state: dict[str, Any] = self.page.evaluate(
            "() => { const v = document.querySelector('#title video');"
            " return {src: v.currentSrc, t: v.currentTime, paused: v.paused, ended: v.ended}; }"
        )
        return state

    def wait_content_playing(self, src: str = CONTENT, timeout: float = 20_000) -> None:
        self.page.wait_for_function(
            "(src) => { const v = document.querySelector('#title video');"
            " return window.moviolaAds?.state === 'content' && v && v.currentSrc.endsWith(src)"
            " && v.currentTime > 0.3 && !v.paused; }",
            arg=src,
            timeout=timeout,
        )

    def shot(self, name: str, keep: bool = False) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        if keep:
            SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SHOTS / path.name)
        return path

    def assert_clean(self, allow: tuple[str, ...] = ()) -> None:
        assert not self.problems, self.problems
        violations = [v for v in self.page.evaluate("() => window.__csp || []") if v not in allow]
        assert not violations, f"CSP violations: {violations}"


@pytest.fixture
def open_title(browser: Any, site: Site, tmp_path: Path) -> Iterator[Callable[[str], Run]]:
    contexts: list[Any] = []

    def opener(title: str) -> Run:
        site.clear()
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.add_init_script(CSP_PROBE)
        page.goto(f"{site.base}/?member=m1#/title/{title}")
        return Run(page, site, tmp_path, problems)

    yield opener
    for context in contexts:
        context.close()


def sent(e: dict[str, Any], type_: str) -> bool:
    return bool(e["kind"] == "simid-sent" and e["type"] == type_)


def received(e: dict[str, Any], type_: str) -> bool:
    return bool(e["kind"] == "simid-received" and e["type"] == type_)


# --------------------------------------------------------------------------- tests


def test_the_fixtures_are_valid_vast_4_2_and_vmap_1_0() -> None:
    etree = pytest.importorskip("lxml.etree")
    if not VAST_XSD.is_file():
        pytest.skip(f"the IAB VAST 4.2 XSD is not here ({VAST_XSD})")
    schema = etree.XMLSchema(etree.parse(str(VAST_XSD)))
    vast_tag = "{http://www.iab.com/VAST}VAST"
    vmap = "{http://www.iab.net/videosuite/vmap}"
    offset = re.compile(r"start|end|\d{2}:[0-5]\d:[0-5]\d(\.\d{3})?|\d{1,3}(\.\d+)?%|#\d+")
    checked = 0
    for path in sorted((DATA / "vast").glob("*.xml")):
        if path.name == "broken.xml":  # deliberately not XML
            continue
        root = etree.parse(str(path)).getroot()
        assert schema.validate(root), (
            path.name,
            [f"{e.line}: {e.message}" for e in schema.error_log],
        )
        checked += 1
    for path in sorted((DATA / "vmap").glob("*.xml")):
        root = etree.parse(str(path)).getroot()
        assert root.tag == f"{vmap}VMAP" and root.get("version") == "1.0", path.name
        for brk in root.iter(f"{vmap}AdBreak"):
            assert offset.fullmatch(brk.get("timeOffset", "")), (path.name, brk.get("timeOffset"))
            assert brk.get("breakType") == "linear"
            for event in brk.iter(f"{vmap}Tracking"):
                assert event.get("event") in {"breakStart", "breakEnd", "error"}
        for vast in root.iter(vast_tag):
            assert schema.validate(vast), (
                path.name,
                [f"{e.line}: {e.message}" for e in schema.error_log],
            )
            checked += 1
    assert checked >= 9


def test_a_preroll_plays_tracks_each_beacon_once_then_the_title_starts_at_zero(
    open_title: Callable[[str], Run], site: Site
) -> None:
    run = open_title("t-preroll")
    start = run.wait_log("e.kind === 'ad-start' && e.ad === 'pre-1'")
    assert start["media"].endswith("/media/shortAd.mp4")  # the MP4, not the x-flv listed first
    run.page.wait_for_function("() => { const v = document.querySelector('#title video');"
                               " return v.currentSrc.endsWith('/media/shortAd.mp4') && v.currentTime > 1; }")  # fmt: skip
    run.shot("preroll")
    resume = run.wait_log("e.kind === 'content' && e.event === 'resume'", timeout=20_000)
    assert resume["at"] == 0
    run.wait_content_playing()
    assert run.video()["t"] < 4  # from the start of the title, not from where the ad was
    run.shot("preroll-content-resumed", keep=True)

    site.wait_for("/track", e="complete", ad="pre-1")
    site.wait_for("/track", e="breakEnd", b="preroll")
    time.sleep(0.3)  # would a duplicate beacon still arrive?
    for event in QUARTILES:
        assert site.count("/track", e=event, ad="pre-1") == 1, event
    # (the end of the media is no "pause", though the element fires one before "ended")
    for event in ("pause", "resume", "skip", "click"):
        assert site.count("/track", e=event, ad="pre-1") == 0, event
    assert site.count("/track", e="breakStart", b="preroll") == 1
    assert site.count("/track", e="breakEnd", b="preroll") == 1
    assert site.count("/error") == 0

    log = run.log()
    order = [run.index(lambda e: e["kind"] == "break-start", log),
             run.index(lambda e: e["kind"] == "ad-start", log),
             run.index(lambda e: e["kind"] == "ad-impression", log),
             run.index(lambda e: e["kind"] == "ad-complete", log),
             run.index(lambda e: e["kind"] == "ad-end" and e["reason"] == "complete", log),
             run.index(lambda e: e["kind"] == "break-end", log),
             run.index(lambda e: e["kind"] == "content" and e["event"] == "resume", log)]  # fmt: skip
    assert order == sorted(order)
    run.assert_clean()


def test_the_iab_overlay_handshake_then_its_request_skip_ends_the_ad(
    open_title: Callable[[str], Run], site: Site
) -> None:
    run = open_title("t-overlay")
    run.wait_log("e.kind === 'simid' && e.event === 'visible'")
    iframe = run.page.query_selector("iframe.simid-creative")
    assert iframe.get_attribute("sandbox") == SANDBOX  # no allow-same-origin: an opaque origin
    assert iframe.get_attribute("src") == f"{site.creatives}/iab/creatives/simid_overlay.html"
    assert (
        run.page.evaluate(
            "() => getComputedStyle(document.querySelector('iframe.simid-creative')).visibility"
        )
        == "visible"
    )

    log = run.log()
    created = run.index(lambda e: e["kind"] == "simid" and e["event"] == "iframe-created", log)
    assert log[created]["visible"] is False
    session = run.index(lambda e: received(e, "createSession"), log)
    session_ok = run.index(
        lambda e: sent(e, "resolve") and e["replyTo"] == log[session]["messageId"], log
    )
    init = run.index(lambda e: sent(e, "SIMID:Player:init"), log)
    init_ok = run.index(
        lambda e: received(e, "resolve") and e["replyTo"] == log[init]["messageId"], log
    )
    impression = run.index(lambda e: e["kind"] == "ad-impression", log)
    start = run.index(lambda e: sent(e, "SIMID:Player:startCreative"), log)
    start_ok = run.index(
        lambda e: received(e, "resolve") and e["replyTo"] == log[start]["messageId"], log
    )
    visible = run.index(lambda e: e["kind"] == "simid" and e["event"] == "visible", log)
    assert created < session < session_ok < init < init_ok < impression < start < start_ok < visible
    assert log[session_ok]["messageId"] == 0  # our messageIds start at 0, as the spec says

    args = log[init]["args"]
    env = args["environmentData"]
    assert env["version"] == "1.2" and env["skippableState"] == "adHandles"
    assert (
        env["videoDimensions"]["width"] > 0 and env["creativeDimensions"] == env["videoDimensions"]
    )
    for key in ("fullscreen", "fullscreenAllowed", "variableDurationAllowed", "siteUrl", "useragent",
                "muted", "volume", "navigationSupport", "closeButtonSupport"):  # fmt: skip
        assert key in env, key
    assert "member" not in env["siteUrl"]  # the page's query (the member) stays home
    assert (
        args["creativeData"]["adParameters"]
        == '{"note":"the overlay sample ignores its parameters"}'
    )
    assert args["creativeData"]["clickThruUrl"] == f"{site.base}/landing?ad=overlay-1"
    media_events = {
        e["type"] for e in log if e["kind"] == "simid-sent" and e["type"].startswith("SIMID:Media:")
    }
    assert {"SIMID:Media:play", "SIMID:Media:playing"} <= media_events

    frame = run.page.frame_locator("iframe.simid-creative")
    # the overlay prints the ad's time: it hears SIMID:Media:timeupdate
    frame.locator("#information").filter(has_text="Current Ad Time").wait_for()
    run.shot("overlay", keep=True)
    # a narrower window shrinks the player: the creative hears SIMID:Player:resize
    run.page.set_viewport_size({"width": 800, "height": 760})
    resize = run.wait_log("e.kind === 'simid-sent' && e.type === 'SIMID:Player:resize'")
    assert resize["args"]["videoDimensions"]["width"] < env["videoDimensions"]["width"]
    assert resize["args"]["creativeDimensions"] == resize["args"]["videoDimensions"]
    assert resize["args"]["fullscreen"] is False
    frame.locator("#request_skip").click()

    run.wait_log("e.kind === 'simid' && e.event === 'unloaded'")
    log = run.log()
    request = run.index(lambda e: received(e, "SIMID:Creative:requestSkip"), log)
    hidden = run.index(lambda e: e["kind"] == "simid" and e["event"] == "hidden", log)
    resolved = run.index(
        lambda e: sent(e, "resolve") and e["replyTo"] == log[request]["messageId"], log
    )
    skipped = run.index(lambda e: sent(e, "SIMID:Player:adSkipped"), log)
    skipped_ok = run.index(
        lambda e: received(e, "resolve") and e["replyTo"] == log[skipped]["messageId"], log
    )
    unloaded = run.index(lambda e: e["kind"] == "simid" and e["event"] == "unloaded", log)
    assert request < hidden < resolved < skipped < skipped_ok < unloaded
    assert run.index(lambda e: e["kind"] == "ad-end" and e["reason"] == "skipped", log) > request

    run.wait_content_playing()
    assert run.page.query_selector("iframe.simid-creative") is None
    site.wait_for("/track", e="skip", ad="overlay-1")
    assert site.count("/track", e="skip", ad="overlay-1") == 1
    assert site.count("/track", e="interactiveStart", ad="overlay-1") == 1
    assert site.count("/track", e="impression", ad="overlay-1") == 1
    assert site.count("/track", e="complete", ad="overlay-1") == 0
    assert site.count("/error") == 0
    run.assert_clean()


def test_the_iab_survey_runs_with_its_json_ad_parameters(
    open_title: Callable[[str], Run], site: Site
) -> None:
    run = open_title("t-survey")
    run.wait_log("e.kind === 'simid' && e.event === 'visible'")
    frame = run.page.frame_locator("iframe.simid-creative")
    frame.locator("#current-question").filter(has_text="Seen this title before?").wait_for()
    assert frame.locator("#option2").inner_text() == "Not sure"
    run.page.wait_for_timeout(1200)  # the question slides in
    run.shot("survey", keep=True)
    frame.locator("#option0").click()
    frame.locator("#current-question").filter(has_text="Watch it tonight?").wait_for()
    frame.locator("#option1").click()  # the last answer: the survey asks to skip the rest

    run.wait_log("e.kind === 'simid-received' && e.type === 'SIMID:Creative:requestSkip'")
    run.wait_content_playing()
    log = run.log()
    init = next(e for e in log if e["kind"] == "simid-sent" and e["type"] == "SIMID:Player:init")
    questions = json.loads(init["args"]["creativeData"]["adParameters"])
    assert [q["question"] for q in questions] == ["Seen this title before?", "Watch it tonight?"]
    assert any(sent(e, "SIMID:Player:adSkipped") for e in log)
    site.wait_for("/track", e="skip", ad="survey-1")
    assert site.count("/track", e="skip", ad="survey-1") == 1
    assert site.count("/error") == 0
    run.assert_clean()


def test_a_creative_that_never_creates_a_session_still_lets_the_ad_and_the_title_play(
    open_title: Callable[[str], Run], site: Site
) -> None:
    run = open_title("t-silent")
    error = run.wait_log("e.kind === 'error' && e.code === 1223", timeout=6000)
    assert "createSession" in error["message"]
    run.wait_log("e.kind === 'ad-impression' && e.ad === 'silent-1'")  # the ad media plays anyway
    run.wait_content_playing()
    log = run.log()
    assert not [e for e in log if e["kind"] == "simid-sent"]  # nothing was ever posted to it
    assert run.page.query_selector("iframe.simid-creative") is None  # unloaded at the end
    site.wait_for("/error", ad="silent-1")
    assert site.beacons("/error", ad="silent-1") == [{"ad": "silent-1", "code": "1223"}]
    for event in ("impression", "start", "complete"):
        assert site.count("/track", e=event, ad="silent-1") == 1, event
    run.assert_clean()


def test_a_creative_fatal_error_reports_902_once_and_the_title_plays(
    open_title: Callable[[str], Run], site: Site
) -> None:
    run = open_title("t-fatal")
    run.wait_log("e.kind === 'simid-received' && e.type === 'SIMID:Creative:fatalError'")
    run.wait_content_playing()
    site.wait_for("/error", ad="fatal-1")
    time.sleep(0.3)
    assert site.beacons("/error", ad="fatal-1") == [
        {"ad": "fatal-1", "code": "902", "simid_code": "1104"}
    ]
    log = run.log()
    fatal = run.index(lambda e: received(e, "SIMID:Creative:fatalError"), log)
    answered = run.index(
        lambda e: sent(e, "resolve") and e["replyTo"] == log[fatal]["messageId"], log
    )
    unloaded = run.index(lambda e: e["kind"] == "simid" and e["event"] == "unloaded", log)
    ended = run.index(lambda e: e["kind"] == "ad-end" and e["reason"] == "error", log)
    assert fatal < answered < unloaded and fatal < ended
    # logged twice: the creative's failure, then the report to its Error URL
    assert [e["code"] for e in log if e["kind"] == "error"] == [902, 902]
    assert site.count("/track", e="complete", ad="fatal-1") == 0
    run.assert_clean()


def test_an_empty_vast_plays_the_title_at_once(
    open_title: Callable[[str], Run], site: Site
) -> None:
    began = time.monotonic()
    run = open_title("t-empty")
    run.wait_content_playing()
    assert time.monotonic() - began < 6
    log = run.log()
    assert not [e for e in log if e["kind"] == "ad-start"]
    assert any(e["kind"] == "break-ads" and e["count"] == 0 for e in log)
    site.wait_for("/error", ad="none")
    # vast-client's own "no ad" report (303), with code= added by the player
    assert site.beacons("/error", ad="none") == [{"ad": "none", "code": "303"}]
    assert site.count("/track", e="breakStart", b="preroll") == 1
    assert site.count("/track", e="breakEnd", b="preroll") == 1
    run.assert_clean()


def test_a_vast_that_is_not_xml_and_an_ad_tag_that_is_missing_do_not_stop_the_title(
    open_title: Callable[[str], Run], site: Site
) -> None:
    run = open_title("t-broken")
    run.wait_content_playing()
    run.wait_log("e.kind === 'break-end' && e.breakId === 'midroll'")  # at 1 s
    run.wait_content_playing()
    log = run.log()
    assert not [e for e in log if e["kind"] == "ad-start"]
    vmap_errors = {
        e["breakId"]: e["code"] for e in log if e["kind"] == "error" and e["where"] == "vmap"
    }
    assert set(vmap_errors) == {"preroll", "midroll"}
    assert vmap_errors == {"preroll": 1006, "midroll": 1008}  # not XML; not there (404)
    site.wait_for("/error", b="midroll")
    for brk, code in vmap_errors.items():
        assert site.beacons("/error", b=brk) == [{"b": brk, "code": str(code)}]
    # Chromium's <parsererror> element (in the inert document parsed from the bad VAST)
    # has inline styles, which the CSP reports; nothing on the page is affected.
    run.assert_clean(allow=("style-src-attr inline",))


def test_a_midroll_pod_plays_in_sequence_then_a_simid_postroll_to_its_end(
    open_title: Callable[[str], Run], site: Site
) -> None:
    run = open_title("t-midpost")
    first = run.wait_log("e.kind === 'ad-start'", timeout=15_000)
    assert first["ad"] == "mid-a"  # sequence 1, though the VAST lists it second
    skip = run.page.locator(".moviola-ad-skip:not([disabled])")
    skip.wait_for(timeout=5000)  # skipoffset 00:00:01
    run.shot("midroll-skippable", keep=True)
    skip.click()
    run.wait_log("e.kind === 'ad-start' && e.ad === 'mid-b'")
    resume = run.wait_log("e.kind === 'content' && e.event === 'resume'", timeout=15_000)
    assert 1.9 <= resume["at"] < 3  # back where the break interrupted the title
    run.page.wait_for_function("() => document.querySelector('#title video').currentTime > 2.2")
    run.wait_log("e.kind === 'break-start' && e.breakId === 'postroll'", timeout=15_000)
    run.wait_log("e.kind === 'simid' && e.event === 'visible' && e.ad === 'post-1'")
    run.shot("postroll-overlay")
    run.wait_log("e.kind === 'content' && e.event === 'done'", timeout=15_000)
    assert run.page.evaluate("() => window.moviolaAds.state") == "ended"
    run.wait_log("e.kind === 'simid' && e.event === 'unloaded' && e.ad === 'post-1'")

    log = run.log()
    starts = [e["ad"] for e in log if e["kind"] == "ad-start"]
    assert starts == ["mid-a", "mid-b", "post-1"]
    midroll_at = next(e for e in log if e["kind"] == "break-start" and e["breakId"] == "midroll")
    content_play = next(e for e in log if e["kind"] == "content" and e["event"] == "play")
    assert midroll_at["t"] - content_play["t"] >= 1500  # it waited for 2 s of the title
    # The SIMID post-roll ran to the end of its media: adStopped {code: 2}, then unloaded.
    post = [e for e in log if e.get("ad") == "post-1"]
    ended = run.index(
        lambda e: received(e, "SIMID:Creative:requestSkip") or sent(e, "SIMID:Player:adStopped"),
        post,
    )
    assert post[ended]["type"] == "SIMID:Player:adStopped" and post[ended]["args"] == {"code": 2}
    hidden = run.index(lambda e: e["kind"] == "simid" and e["event"] == "hidden", post)
    stopped_ok = run.index(
        lambda e: received(e, "resolve") and e["replyTo"] == post[ended]["messageId"], post
    )
    unloaded = run.index(lambda e: e["kind"] == "simid" and e["event"] == "unloaded", post)
    assert hidden < ended < stopped_ok < unloaded
    assert run.index(lambda e: e["kind"] == "ad-complete", post) < ended
    site.wait_for("/track", e="complete", ad="post-1")
    time.sleep(0.3)
    assert site.count("/track", e="interactiveStart", ad="post-1") == 1
    assert site.count("/track", e="skip", ad="mid-a") == 1
    assert site.count("/track", e="complete", ad="mid-a") == 0
    for ad in ("mid-b", "post-1"):
        for event in QUARTILES:
            assert site.count("/track", e=event, ad=ad) == 1, (ad, event)
    for brk in ("midroll", "postroll"):
        assert site.count("/track", e="breakStart", b=brk) == 1
        assert site.count("/track", e="breakEnd", b=brk) == 1
    assert site.count("/error") == 0
    run.assert_clean()


def test_every_creative_message_gets_an_answer_with_the_spec_codes(
    open_title: Callable[[str], Run], site: Site
) -> None:
    run = open_title("t-probe")
    report = run.wait_log(
        "e.kind === 'simid-log' && e.message.startsWith('PROBE ')", timeout=20_000
    )
    probe = json.loads(report["message"][len("PROBE ") :])
    answers = {
        r["name"]: (r["answer"], (r.get("value") or {}).get("errorCode")) for r in probe["results"]
    }
    assert answers == {
        "state": ("resolve", None), "tracking": ("resolve", None), "tracking-bad": ("reject", 1211),
        "pause": ("resolve", None), "pause-again": ("reject", 1200), "play": ("resolve", None),
        "volume": ("resolve", None), "volume-mute": ("resolve", None), "volume-bad": ("reject", 1211), "iab-name": ("reject", 1204),
        "resize": ("reject", 1204), "navigation-bad": ("reject", 1217), "expand": ("reject", 1204),
        "duration-bad": ("reject", 1211), "duration": ("resolve", None), "click": ("resolve", None),
        "click-again": ("reject", 1219), "log": ("resolve", None), "unknown": ("reject", 1204),
    }  # fmt: skip
    state = next(r["value"] for r in probe["results"] if r["name"] == "state")
    assert set(state) == {"currentSrc", "currentTime", "duration", "ended", "muted", "paused",
                          "volume", "fullscreen"}  # fmt: skip
    assert state["currentSrc"].endswith("/media/fakeAd.mp4") and 29 < state["duration"] < 31
    params = json.loads(probe["init"]["creativeData"]["adParameters"])  # decoded from xmlEncoded
    assert params == {"track": f"{site.base}/track?e=creative-beacon&ad=probe-1"}
    for type_ in ("SIMID:Player:init", "SIMID:Player:startCreative", "SIMID:Media:timeupdate",
                  "SIMID:Media:pause", "SIMID:Media:play", "SIMID:Media:volumechange"):  # fmt: skip
        assert type_ in probe["received"], type_

    run.wait_content_playing()  # requestStop ended the ad
    log = run.log()
    stopped = next(e for e in log if sent(e, "SIMID:Player:adStopped"))
    assert stopped["args"] == {"code": 4}  # creative-initiated
    ignored = {e.get("why") for e in log if e["kind"] == "simid" and e["event"] == "ignored"}
    assert {"not JSON", "unknown session"} <= ignored
    warning = next(e for e in log if sent(e, "SIMID:Player:log"))
    assert warning["args"]["message"].startswith("WARNING: SIMID:Creative:requestFullScreen")
    # every message the creative sent got exactly one answer
    asked = [
        e["messageId"]
        for e in log
        if e["kind"] == "simid-received" and e["type"].startswith("SIMID:Creative:")
    ]
    answered = [
        e["replyTo"]
        for e in log
        if e["kind"] == "simid-sent" and e["type"] in ("resolve", "reject")
    ]
    assert len(set(asked)) == len(asked)
    assert sorted(asked) == sorted(a for a in answered if a in asked)
    site.wait_for("/track", e="creative-beacon", ad="probe-1")
    time.sleep(0.3)
    assert site.count("/track", e="creative-beacon", ad="probe-1") == 1  # listed twice, pinged once
    assert site.count("/track", e="interactiveStart", ad="probe-1") == 1
    # the creative's pause / play / unmute / mute requests reached the VAST trackers, once each,
    # and its requestStop before the end of the media is a closeLinear
    for event in ("pause", "resume", "unmute", "mute", "closeLinear"):
        assert site.count("/track", e=event, ad="probe-1") == 1, event
    assert site.count("/error") == 0
    run.assert_clean()


def test_without_ads_the_title_plays_in_video_js_at_once(
    open_title: Callable[[str], Run], site: Site
) -> None:
    run = open_title("t-noads")  # /ads/vmap answers 404
    run.wait_content_playing()
    assert run.page.query_selector("#title .video-js video") is not None
    assert run.page.get_attribute("#title video", "src") == CONTENT
    assert [e["breaks"] for e in run.log() if e["kind"] == "vmap"] == [[]]
    run.assert_clean()


def test_ad_media_that_fails_is_reported_405_and_the_title_plays(
    open_title: Callable[[str], Run], site: Site
) -> None:
    run = open_title("t-badmedia")  # its MediaFile answers 404
    run.wait_content_playing()
    log = run.log()
    assert any(e["kind"] == "error" and e["where"] == "media" and e["code"] == 405 for e in log)
    assert any(
        e["kind"] == "ad-end" and e["ad"] == "badmedia-1" and e["reason"] == "error" for e in log
    )
    site.wait_for("/error", ad="badmedia-1")
    assert site.beacons("/error", ad="badmedia-1") == [{"ad": "badmedia-1", "code": "405"}]
    for event in ("impression", "start", "complete"):
        assert site.count("/track", e=event, ad="badmedia-1") == 0, event
    assert not run.page.is_visible(".vjs-error-display")  # video.js's error dialog was cleared
    run.assert_clean()


def test_leaving_the_title_during_an_ad_stops_the_ad_and_its_creative(
    open_title: Callable[[str], Run], site: Site
) -> None:
    run = open_title("t-overlay")
    run.wait_log("e.kind === 'simid' && e.event === 'visible'")
    run.page.evaluate("() => { location.hash = '#/'; }")  # back to the home page
    run.page.wait_for_function("() => window.moviolaAds.state === 'disposed'")
    assert run.page.query_selector("iframe.simid-creative") is None
    assert run.page.query_selector("#title .video-js") is None
    log = run.log()
    assert any(e["kind"] == "ad-end" and e["reason"] == "stopped" for e in log)
    assert any(e["kind"] == "simid" and e["event"] == "unloaded" for e in log)
    assert run.page.evaluate("() => [home.hidden, title.hidden]") == [False, True]
    run.assert_clean()
