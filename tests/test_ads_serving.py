"""Serving ads: campaigns in, VAST 4.2 and VMAP 1.0 out (valid against the IAB's schema and
the rules the schema does not check), beacons counted once and joined to their decision,
hard caps that hold under concurrent workers, and a next decision that reflects the reward.

The VAST schema is the IAB's (``../shared/data/iab/vast/vast_4.2.xsd``, read in place under
its terms, never copied into the repository).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from ads_world import campaign_toml, make_service, make_spot
from moviola.ads import (
    VAST_NS,
    VMAP_NS,
    AdsConfig,
    AdServer,
    add_campaign,
    list_campaigns,
    pace_limit,
    plan_breaks,
    vast_problems,
    vmap_problems,
)
from moviola.stream import Service, new_key, open_service
from moviola.stream import _schema as t
from test_stream_server import Server, call

REPO = Path(__file__).resolve().parent.parent
IAB = Path(os.environ.get("MOVIOLA_IAB_DIR", REPO.parent / "shared" / "data" / "iab"))
XSD = IAB / "vast" / "vast_4.2.xsd"
N = f"{{{VAST_NS}}}"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    if not XSD.is_file():
        pytest.skip(f"the IAB VAST 4.2 schema is not at {XSD} (set MOVIOLA_IAB_DIR)")
    return etree.XMLSchema(etree.parse(str(XSD)))


def valid(schema: etree.XMLSchema, data: bytes) -> list[str]:
    """Everything wrong with a VAST document: the schema's errors and the spec's rules."""
    doc = etree.fromstring(data)
    errors = [] if schema.validate(doc) else [f"{e.line}: {e.message}" for e in schema.error_log]
    return errors + vast_problems(data)


@pytest.fixture(scope="module")
def spots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spots")
    make_spot(folder / "a15.mp4", 15)
    make_spot(folder / "b15.mp4", 15, colour=(40, 80, 200))
    make_spot(folder / "c30.mp4", 30, colour=(30, 160, 60))
    (folder / "simid").mkdir()
    (folder / "simid" / "overlay.html").write_text("<!doctype html><title>overlay</title>", encoding="utf-8")
    return folder


def write_campaign(folder: Path, cid: str, creatives: list[tuple[str, str, str | None]], **kw: object) -> Path:
    path = folder / f"{cid}.toml"
    path.write_text(campaign_toml(cid, creatives, **kw), encoding="utf-8")  # type: ignore[arg-type]
    return path


@pytest.fixture
def service(tmp_path: Path, spots: Path) -> Service:
    svc = make_service(tmp_path / "svc")
    add_campaign(svc, write_campaign(spots, "acme", [("a15", "a15.mp4", "simid/overlay.html"), ("c30", "c30.mp4", None)]))
    add_campaign(svc, write_campaign(spots, "blue", [("b15", "b15.mp4", None)]))
    return svc


# ---- campaigns -----------------------------------------------------------------------------


def test_a_campaign_is_added_with_its_creatives_probed_and_copied_once(service: Service, spots: Path) -> None:
    found = {c["campaign_id"]: c for c in list_campaigns(service)}

    assert set(found) == {"acme", "blue"}
    a15 = next(k for k in found["acme"]["creatives"] if k["creative_id"] == "a15")
    assert a15["duration_ms"] == 15000 and (a15["width"], a15["height"]) == (320, 180)
    assert re.fullmatch(r"avc1\.[0-9a-f]{6}", a15["codec"])
    assert (service.root / a15["media"]).is_file() and (service.root / a15["simid"]).is_file()
    again = add_campaign(service, spots / "acme.toml")
    assert not again.new


# ---- VAST ------------------------------------------------------------------------------------


def test_a_pod_is_valid_vast_4_2_with_every_element_the_issue_names(service: Service, schema: etree.XMLSchema) -> None:
    from moviola.ads import Signer, vast_document

    ads = AdServer(service, seed=3)
    pod = ads.decide("m1", "preroll", title_id="t1", seconds=30)
    signer = Signer.for_service(service)
    data = vast_document(pod, "http://127.0.0.1:1", lambda s, e: f"http://127.0.0.1:1/ads/t/{s}/{e}?s={signer.sign(s)}")

    assert valid(schema, data) == []
    root = etree.fromstring(data)
    ads_el = root.findall(N + "Ad")
    assert len(ads_el) == 2 and [a.get("sequence") for a in ads_el] == ["1", "2"]  # a pod of two
    for ad in ads_el:
        inline = ad.find(N + "InLine")
        assert inline is not None
        for tag in ("AdSystem", "AdTitle", "AdServingId", "Impression", "Error", "Creatives"):
            assert inline.find(N + tag) is not None, tag
        linear = inline.find(f"{N}Creatives/{N}Creative/{N}Linear")
        assert linear is not None and linear.findtext(N + "Duration") in ("00:00:15.000", "00:00:30.000")
        events = {x.get("event") for x in linear.iter(N + "Tracking")}
        assert {"start", "firstQuartile", "midpoint", "thirdQuartile", "complete", "pause", "mute"} <= events
        assert inline.find(f"{N}Creatives/{N}Creative/{N}UniversalAdId") is not None
    simid = root.findall(f".//{N}InteractiveCreativeFile")
    if simid:  # the interactive creative: SIMID, HTML, its parameters carry this decision's beacon
        assert simid[0].get("apiFramework") == "SIMID" and simid[0].get("type") == "text/html"
        params = json.loads(root.findtext(f".//{N}AdParameters") or "{}")
        assert params["kind"] == "add_to_list" and "/interaction?s=" in params["track"]["interaction"]
        assert "interactiveStart" in {x.get("event") for x in root.iter(N + "Tracking")}


def test_nothing_eligible_is_the_empty_vast_and_it_validates(service: Service, schema: etree.XMLSchema) -> None:
    from moviola.ads import set_paused

    set_paused(service, "acme", True)
    set_paused(service, "blue", True)
    ads = AdServer(service, seed=1)
    pod = ads.decide("m1", "preroll")
    from moviola.ads import vast_document

    data = vast_document(pod, "http://x", lambda s, e: "http://x/")
    assert pod.decisions == () and pod.reason == "no campaign targets this member now"
    assert etree.fromstring(data).findall(N + "Ad") == []
    assert valid(schema, data) == []


def test_the_vmap_of_a_feature_has_pre_mid_and_post_rolls_within_the_ad_load() -> None:
    config = AdsConfig()
    breaks = plan_breaks(100 * 60, config)

    assert breaks[0].break_id == "preroll" and breaks[-1].break_id == "postroll"
    assert any(b.break_id.startswith("midroll") for b in breaks)
    assert sum(b.seconds for b in breaks) <= config.ad_seconds(100 * 60) + 1e-6  # 4 minutes an hour
    assert [b.break_id for b in plan_breaks(120, config)] == ["preroll"]  # a short film: its spot only
    assert plan_breaks(120, config)[0].seconds == 30


def test_pacing_spreads_a_daily_goal_over_the_local_day() -> None:
    from moviola.ads import LiveCampaign, Targeting

    c = LiveCampaign("c", "a", "n", 0, 2**40, 10**6, 2400, False, "UTC", None, None, Targeting(), (), ())
    midnight = 1_767_225_600  # 2026-01-01 00:00 UTC

    assert pace_limit(2400, c, midnight) == 100  # an hour ahead of the line
    assert pace_limit(2400, c, midnight + 12 * 3600) == 1300
    assert pace_limit(2400, c, midnight + 23.5 * 3600) == 2400  # never past the goal


# ---- over HTTP: the served documents, the collector ---------------------------------------------


@pytest.fixture
def served(service: Service) -> Iterator[tuple[Server, Service]]:
    server = Server(service.root).start()
    try:
        yield server, service
    finally:
        server.stop()


def test_served_vast_and_vmap_validate_and_bad_requests_are_clear(served: tuple[Server, Service],
                                                                  schema: etree.XMLSchema) -> None:  # fmt: skip
    server, _ = served
    status, body, headers = call(server, "GET", "/ads/vmap?member=m1&title=t2")
    assert status == 200 and headers["content-type"].startswith("application/xml")
    assert vmap_problems(body) == []
    tags = [e.text for e in etree.fromstring(body).iter(f"{{{VMAP_NS}}}AdTagURI")]
    assert tags and all(x and x.startswith(server.base + "/ads/vast?") for x in tags)
    for tag in tags[:2]:
        status, vast, _ = call(server, "GET", str(tag).removeprefix(server.base))
        assert status == 200 and valid(schema, vast) == []

    assert call(server, "GET", "/ads/vast?member=nobody")[0:2] == (404, {"error": "unknown member 'nobody'"})
    assert call(server, "GET", "/ads/vast?member=m1&title=nope")[0] == 404
    status, body, _ = call(server, "GET", "/ads/vast?member=m1&slot=sideways")
    assert status == 422 and "slot" in body["error"]


def _urls(data: bytes) -> dict[str, str]:
    root = etree.fromstring(data)
    ad = root.find(N + "Ad")
    assert ad is not None
    out = {x.get("event") or "": (x.text or "").strip() for x in ad.iter(N + "Tracking")}
    out["impression"] = (ad.findtext(f".//{N}Impression") or "").strip()
    out["click"] = (ad.findtext(f".//{N}ClickTracking") or "").strip()
    out["error"] = (ad.findtext(f".//{N}Error") or "").strip()
    out["serving_id"] = ad.findtext(f".//{N}AdServingId") or ""
    return out


def test_each_beacon_counts_once_joins_its_decision_and_forgeries_are_refused(served: tuple[Server, Service]) -> None:
    server, service = served
    _, vast, _ = call(server, "GET", "/ads/vast?member=m2&title=t3&seconds=15")
    urls = _urls(vast)
    sid = urls["serving_id"]
    for event in ("impression", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete"):
        assert call(server, "GET", urls[event].removeprefix(server.base))[0] == 204
    status, _, headers = call(server, "GET", urls["complete"].removeprefix(server.base))  # replayed
    assert status == 204 and headers["x-moviola-new"] == "false"

    forged = urls["complete"].removeprefix(server.base).replace(sid, "0" * 32)
    assert call(server, "GET", forged)[0] == 403
    bad_sig = re.sub(r"s=[^&]+", "s=AAAAAAAAAAAAAAAAAAAAAA", urls["start"].removeprefix(server.base))
    assert call(server, "GET", bad_sig)[0] == 403
    assert call(server, "GET", f"/ads/t/{sid}/explode?s=x")[0] == 422

    with service.engine.connect() as conn:
        kinds = [r[0] for r in conn.execute(select(t.events.c.kind).where(t.events.c.ad_serving_id == sid))]
        reward = conn.execute(select(t.ad_rewards.c.reward).where(t.ad_rewards.c.serving_id == sid)).scalar()
    assert sorted(kinds) == sorted(["ad_impression", "ad_start", "ad_first_quartile", "ad_midpoint",
                                    "ad_third_quartile", "ad_complete"])  # fmt: skip
    assert reward == AdsConfig().reward.complete  # closed once, on complete


def test_the_next_decision_reflects_the_reward(served: tuple[Server, Service]) -> None:
    server, service = served
    key = new_key(service).secret

    def decide() -> tuple[str, dict[str, float], str]:
        _, vast, _ = call(server, "GET", "/ads/vast?member=m3&title=t4&seconds=15")
        sid = _urls(vast)["serving_id"]
        _, d, _ = call(server, "GET", f"/ads/decisions/{sid}", key=key)
        return sid, d["probabilities"], d["creative_id"]

    sid, before, chosen = decide()
    from moviola.ads import Signer

    s = Signer.for_service(service).sign(sid)
    for event in ("impression", "interaction", "complete"):
        assert call(server, "GET", f"/ads/t/{sid}/{event}?s={s}")[0] == 204

    _, after, _ = decide()
    assert after[chosen] > before[chosen]  # rewarded: more likely next time for this member


# ---- hard rules under concurrency ------------------------------------------------------------------


def _hammer(root: str, member: str, n: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ads = AdServer(open_service(root))
    served = 0
    for _ in range(n):
        served += len(ads.decide(member, "preroll", seconds=15).decisions)
    out.put(served)


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_no_cap_or_budget_is_exceeded_by_four_workers_at_once(store: str, tmp_path: Path, spots: Path,
                                                              request: pytest.FixtureRequest) -> None:  # fmt: skip
    db = request.getfixturevalue("postgres_db") if store == "postgresql" else None
    svc = make_service(tmp_path / "svc", db=db)
    caps = '[[caps]]\nper = "member"\nmax = 3\nwindow = "1d"\n'
    add_campaign(svc, write_campaign(spots, "capped", [("k1", "a15.mp4", None)], caps=caps))
    add_campaign(svc, write_campaign(spots, "small", [("k2", "b15.mp4", None)], budget=7))
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    workers = [ctx.Process(target=_hammer, args=(str(svc.root), m, 10, out)) for m in ("m1", "m1", "m2", "m2")]
    for w in workers:
        w.start()
    served = sum(out.get(timeout=120) for _ in workers)
    for w in workers:
        w.join(30)

    with svc.engine.connect() as conn:
        by = dict(conn.execute(select(t.ad_decisions.c.campaign_id, func.count()).group_by(t.ad_decisions.c.campaign_id)).all())  # type: ignore[arg-type]
        per_member = dict(conn.execute(select(t.ad_decisions.c.member_id, func.count()).where(
            t.ad_decisions.c.campaign_id == "capped").group_by(t.ad_decisions.c.member_id)).all())  # type: ignore[arg-type]
    assert per_member == {"m1": 3, "m2": 3}  # 3 a member a day, though 20 requests each came at once
    assert by["small"] == 7  # the budget, exactly
    assert served == sum(by.values())


def test_a_sweep_just_after_a_window_ends_keeps_its_counter(tmp_path: Path, spots: Path) -> None:
    from moviola.ads import sweep

    svc = make_service(tmp_path / "svc")
    caps = '[[caps]]\nper = "campaign"\nmax = 2\nwindow = "1h"\n'
    add_campaign(svc, write_campaign(spots, "hourly", [("h1", "a15.mp4", None)], caps=caps))
    ads = AdServer(svc, seed=2)
    end = 1_772_409_600  # an hour's end
    served = [len(ads.decide(m, "preroll", seconds=15, now=end - 10).decisions) for m in ("m1", "m2", "m3")]
    sweep(svc, ads.config, now=end + 1)  # another worker's sweep, a second after the hour

    late = ads.decide("m3", "preroll", seconds=15, now=end - 5)  # a request begun before the hour's end
    assert served == [1, 1, 0] and late.decisions == ()


def test_the_hour_feature_names_the_right_part_of_the_day() -> None:
    from moviola.ads._bandit import daypart

    assert [daypart(h) for h in (0, 5, 6, 11, 12, 17, 18, 23)] == [
        "night", "night", "morning", "morning", "afternoon", "afternoon", "evening", "evening"]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), [
    ("[ads]\npod = 1\n", r"ads\.toml: ads\.pod: unknown setting"),
    ("[ads]\npod_size = 1.5\n", r"ads\.pod_size: must be a whole number"),
    ("[ads]\nepsilon = 2\n", r"ads\.epsilon: 2 is outside 0\.\.1"),
    ("[ads]\nexploration = \"greedy\"\n", r"ads\.exploration: 'greedy' is not softmax or epsilon"),
    ("[ads.reward]\nclicks = 1\n", r"ads\.reward\.clicks: unknown setting"),
    ("[ads\n", r"ads\.toml: not TOML"),
])  # fmt: skip
def test_a_bad_ads_toml_is_refused_naming_the_setting(tmp_path: Path, body: str, message: str) -> None:
    from moviola.ads import read_config
    from moviola.core import InputError

    (tmp_path / "ads.toml").write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_config(tmp_path)
