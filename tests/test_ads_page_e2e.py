"""The whole chain in a real browser, on the real service: a member opens a title, the
pre-roll (the example production's spot, cut by ``moviola ads creative``) plays in the page's
player, our SIMID overlay appears over it, the viewer clicks "Add NEVADA to my list", every
beacon arrives exactly once, and the next decision for that member reflects the reward.

Debian's Chromium through Playwright, ``moviola stream serve`` started for real. The
screenshots are kept in the test's folder (``overlay.png``, ``clicked.png``, ``content.png``).
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from ads_world import RATINGS, make_spot
from moviola.ads import add_campaign
from moviola.stream import _schema as t
from moviola.stream import import_ratings, import_titles, init_service, new_key, open_service
from test_stream_page import ARGS, CHROMIUM
from test_stream_server import Server, call

REPO = Path(__file__).resolve().parent.parent
SPOT = REPO / "examples" / "ads" / "nevada-spot"
TITLES = """title_id,title,year,genres,synopsis,trailer
t1,The Palace,2026,Drama|Disaster,A tower falls in ten seconds.,media/t1.mp4
t2,Nevada,2025,Drama,"Buenos Aires, a heat-drunk city.",
t3,Ofelia's Workshop,,Comedy,A workshop of clocks.,
t4,Night Train,2024,Thriller|Drama,A train that never stops.,
"""
# The pre-roll is 15 s, so only the 15 s spot fits it; the next break is 30 s, where both do.
CAMPAIGN = f"""[campaign]
id = "launch"
advertiser = "Moviola Pictures"
name = "NEVADA: now streaming"
start = 2020-01-01
end = 2099-12-31
budget_impressions = 1000
click_through = "/?title=t2"

[[creatives]]
id = "nevada-15"
name = "NEVADA, 15 s"
video = "{SPOT / 'spot.mp4'}"
simid = "{SPOT / 'simid' / 'overlay.html'}"
ad_parameters = {{ kind = "add_to_list", label = "Add NEVADA to my list", title_id = "t2" }}

[[creatives]]
id = "plain-30"
name = "A plain 30 s spot"
video = "plain-30.mp4"
"""
SEEN = {"impression", "creativeView", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete",
        "interactiveStart", "interaction"}  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path, str]]:
    root = tmp_path_factory.mktemp("ads-e2e")
    svc = init_service(root / "svc")
    make_spot(svc.path("media", "t1.mp4"), 6.0, (640, 360), colour=(30, 60, 90))
    (root / "titles.csv").write_text(TITLES, encoding="utf-8")
    (root / "ratings.csv").write_text(RATINGS, encoding="utf-8")
    import_titles(svc, root / "titles.csv")
    import_ratings(svc, root / "ratings.csv")
    make_spot(root / "plain-30.mp4", 30.0, (320, 180), colour=(90, 90, 90))
    (root / "launch.toml").write_text(CAMPAIGN, encoding="utf-8")
    add_campaign(svc, root / "launch.toml")
    (svc.root / "ads.toml").write_text("[ads]\npreroll_seconds = 15\n", encoding="utf-8")
    key = new_key(svc).secret
    server = Server(svc.root).start()
    yield server, svc.root, key
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; scripts/setup.sh does)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=[*ARGS, "--autoplay-policy=no-user-gesture-required"])  # fmt: skip
        yield chromium
        chromium.close()


def test_a_member_sees_the_preroll_clicks_the_overlay_and_the_next_decision_learned_it(
    site: tuple[Server, Path, str], browser: Any, tmp_path: Path
) -> None:
    server, root, key = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    beacons: list[tuple[str, str]] = []

    def seen(request: Any) -> None:
        parts = urlsplit(request.url).path.split("/")
        if parts[1:3] == ["ads", "t"]:
            beacons.append((parts[3], parts[4]))

    page.on("request", seen)
    page.goto(f"{server.base}/?member=m1#/title/t1")

    # the pre-roll plays with our overlay over it, shown only once the handshake is done
    page.wait_for_function("() => window.moviolaAds && window.moviolaAds.state === 'ad'", timeout=30_000)
    frame = page.frame_locator("iframe[sandbox]")
    button = frame.locator("button.choice")
    button.wait_for(state="visible", timeout=30_000)
    assert "Add NEVADA to my list" in button.inner_text()
    page.wait_for_timeout(800)
    page.screenshot(path=str(tmp_path / "overlay.png"))
    button.click()
    frame.locator("#status").filter(has_text="Added").wait_for(timeout=10_000)
    page.screenshot(path=str(tmp_path / "clicked.png"))

    # the ad ends and the title plays
    page.wait_for_function("() => window.moviolaAds.state === 'content'", timeout=60_000)
    page.wait_for_function("() => { const v = document.querySelector('#title video'); "
                           "return v && !v.paused && v.currentTime > 0.5; }", timeout=30_000)  # fmt: skip
    page.screenshot(path=str(tmp_path / "content.png"))
    log = page.evaluate("() => window.moviolaAds.log.map(e => e.kind)")
    assert "error" not in log and not problems, (log, problems)

    # every beacon once, all of one decision; the store holds each once, joined to it
    counts = Counter(event for _, event in beacons)
    assert set(counts) >= SEEN, counts
    assert all(n == 1 for n in counts.values()), counts
    sid = {s for s, _ in beacons}.pop()
    assert len({s for s, _ in beacons}) == 1
    with open_service(root).engine.connect() as conn:
        kinds = Counter(r[0] for r in conn.execute(select(t.events.c.kind).where(t.events.c.ad_serving_id == sid)))
        reward = conn.execute(select(t.ad_rewards.c.reward).where(t.ad_rewards.c.serving_id == sid)).scalar()
    assert kinds["ad_interaction"] == 1 and kinds["ad_complete"] == 1 and max(kinds.values()) == 1
    assert reward == 4.0  # complete 1 + interaction 3 (the default reward definition)

    # the next decision for this member, with both creatives in play, prefers the rewarded one
    _, first, _ = call(server, "GET", f"/ads/decisions/{sid}", key=key)
    assert first["creative_id"] == "nevada-15" and first["model_version"].endswith("+0")
    status, body, headers = call(server, "GET", "/ads/vast?member=m1&title=t4&seconds=30")
    assert status == 200 and headers["x-moviola-ads"] == "1"
    nxt = body.decode().split("<AdServingId>")[1].split("</AdServingId>")[0]
    _, second, _ = call(server, "GET", f"/ads/decisions/{nxt}", key=key)
    assert second["model_version"].endswith("+1")  # it learned that one reward
    assert set(second["probabilities"]) == {"nevada-15", "plain-30"}
    assert second["probabilities"]["nevada-15"] > 0.9 > 0.5  # an untrained model would split 0.5 / 0.5


IAB = Path(os.environ.get("MOVIOLA_IAB_DIR", REPO.parent / "shared" / "data" / "iab")) / "simid"


@pytest.fixture(scope="module")
def iab_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A service whose only campaign is made of files we did not write: the IAB's sample
    media and its SIMID survey creative, laid out as the IAB ships them (the creative loads
    ``../simid_protocol.js`` from the folder above its own)."""
    if not (IAB / "creatives" / "survey.html").is_file():
        pytest.skip(f"the IAB SIMID samples are not at {IAB} (set MOVIOLA_IAB_DIR)")
    root = tmp_path_factory.mktemp("ads-iab")
    pack = root / "iab"
    shutil.copytree(IAB, pack)
    (pack / "campaign.toml").write_text("""[campaign]
id = "iab"
advertiser = "IAB Tech Lab samples"
name = "SIMID survey"
start = 2020-01-01
end = 2099-12-31
budget_impressions = 100

[[creatives]]
id = "iab-survey"
video = "media/shortAd.mp4"
simid = "creatives/survey.html"
ad_parameters = '[{"question": "Which do you prefer?", "answers": ["Snow", "Rain", "Sun"]}]'
""", encoding="utf-8")  # fmt: skip
    svc = init_service(root / "svc")
    make_spot(svc.path("media", "t1.mp4"), 6.0, (640, 360), colour=(30, 60, 90))
    (root / "titles.csv").write_text(TITLES, encoding="utf-8")
    (root / "ratings.csv").write_text(RATINGS, encoding="utf-8")
    import_titles(svc, root / "titles.csv")
    import_ratings(svc, root / "ratings.csv")
    add_campaign(svc, pack / "campaign.toml")
    server = Server(svc.root).start()
    yield server, svc.root
    server.stop()


def test_the_iab_survey_creative_runs_from_the_service_and_its_answer_ends_the_ad(
    iab_site: tuple[Server, Path], browser: Any, tmp_path: Path
) -> None:
    server, root = iab_site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    beacons: list[str] = []
    page.on("request", lambda r: beacons.append(urlsplit(r.url).path.split("/")[4])
            if urlsplit(r.url).path.startswith("/ads/t/") else None)  # fmt: skip
    page.goto(f"{server.base}/?member=m2#/title/t1")

    frame = page.frame_locator("iframe[sandbox]")
    answer = frame.locator("#option1")
    answer.wait_for(state="visible", timeout=30_000)
    assert frame.locator("#current-question").inner_text() == "Which do you prefer?"
    page.wait_for_timeout(1200)  # the survey slides its question in
    page.screenshot(path=str(tmp_path / "iab-survey.png"))
    answer.click()  # the last answer: the survey asks the player to skip the rest of the ad

    page.wait_for_function("() => window.moviolaAds.state === 'content'", timeout=30_000)
    log = page.evaluate("() => window.moviolaAds.log")
    assert "error" not in [e["kind"] for e in log] and not problems, (log, problems)
    assert any(e.get("type") == "SIMID:Creative:requestSkip" for e in log)
    counts = Counter(beacons)
    assert {"impression", "start", "interactiveStart", "skip"} <= set(counts) and max(counts.values()) == 1, counts
    assert "complete" not in counts
    with open_service(root).engine.connect() as conn:
        reward = conn.execute(select(t.ad_rewards.c.reward, t.ad_rewards.c.events)).one()
    assert "skip" in reward.events.split(",") and reward.reward == 0.0  # skipped: no completion
