"""Careless or hostile use of ``moviola ads``: one line each, its exit code, nothing written
(no creative copied into the service, no campaign row)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import func, select

from ads_world import campaign_toml, make_spot
from conftest import RunCli
from hostile import Hostile, check_case
from moviola.ads import add_campaign
from moviola.stream import _schema as t
from moviola.stream import init_service, open_service

STORE = ("svc/store.sqlite3", "svc/store.sqlite3-*", "svc/ads-secret")
GOOD = [("k1", "spot.mp4", None)]


def _mpeg4(path: Path) -> Path:
    """An MP4 whose video is MPEG-4 Part 2, not H.264."""
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("mpeg4", rate=24)
        s.width, s.height, s.pix_fmt = 160, 96, "yuv420p"
        for i in range(48):
            frame = av.VideoFrame.from_ndarray(np.full((96, 160, 3), i * 4, np.uint8), format="rgb24")
            frame.pts = i
            for p in s.encode(frame.reformat(format="yuv420p")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def adding(body: str | Callable[[Path], str], *, video: Callable[[Path], object] | None = None,
           first: str | None = None) -> Callable[[Path], Sequence[str | Path]]:  # fmt: skip
    def setup(tmp: Path) -> Sequence[str | Path]:
        init_service(tmp / "svc")
        (video or (lambda p: make_spot(p / "spot.mp4", 2.0, (64, 36))))(tmp)
        if first is not None:
            (tmp / "first.toml").write_text(first, encoding="utf-8")
            add_campaign(open_service(tmp / "svc"), tmp / "first.toml")
        (tmp / "c.toml").write_text(body(tmp) if callable(body) else body, encoding="utf-8")
        return ["ads", "campaign", "add", tmp / "svc", tmp / "c.toml"]

    return setup


def edit(old: str, new: str, creatives: list[tuple[str, str, str | None]] = GOOD) -> str:
    body = campaign_toml("c1", creatives)
    assert old in body
    return body.replace(old, new)


CASES = [
    Hostile("campaign-missing-file", lambda tmp: (init_service(tmp / "svc"), ["ads", "campaign", "add", tmp / "svc", tmp / "no.toml"])[1],
            2, r"no\.toml: no such file", STORE),  # fmt: skip
    Hostile("campaign-not-toml", adding("[campaign\nid = 1"), 2, r"c\.toml: not TOML", STORE),
    Hostile("campaign-no-campaign-table", adding("[[creatives]]\nid = \"x\"\nvideo = \"spot.mp4\"\n"), 2,
            r"c\.toml: \[campaign\]: missing", STORE),  # fmt: skip
    Hostile("campaign-unknown-field", adding(edit("budget_impressions", "budget_impresions")), 2,
            r"c\.toml: \[campaign\]: unknown field 'budget_impresions'", STORE),  # fmt: skip
    Hostile("campaign-ends-before-start", adding(edit("end = 2099-12-31", "end = 2019-01-01")), 2,
            r"campaign\.end: the flight ends before it starts", STORE),  # fmt: skip
    Hostile("campaign-bad-date", adding(edit("start = 2020-01-01", 'start = "next tuesday"')), 2,
            r"campaign\.start: 'next tuesday' is not a date", STORE),  # fmt: skip
    Hostile("campaign-zero-budget", adding(edit("budget_impressions = 100000", "budget_impressions = 0")), 2,
            r"campaign\.budget_impressions: must be a whole number of at least 1", STORE),  # fmt: skip
    Hostile("campaign-bad-cap-window", adding(campaign_toml("c1", GOOD, caps='[[caps]]\nper = "member"\nmax = 3\nwindow = "fortnight"\n')),
            2, r"caps\[1\]\.window: 'fortnight' is not one of", STORE),  # fmt: skip
    Hostile("campaign-bad-hours", adding(campaign_toml("c1", GOOD, extra='[targeting]\nhours = ["25-3"]\n')), 2,
            r"targeting\.hours: '25-3' is not an hour", STORE),  # fmt: skip
    Hostile("campaign-javascript-click", adding(edit('click_through = "/?title=t1"', 'click_through = "javascript:alert(1)"')),
            2, r"campaign\.click_through: .* must be an http\(s\):// URL", STORE),  # fmt: skip
    Hostile("creative-missing-video", adding(campaign_toml("c1", [("k1", "gone.mp4", None)])), 2,
            r"gone\.mp4: no such file \(the creative's video\)", STORE),  # fmt: skip
    Hostile("creative-not-a-movie", adding(campaign_toml("c1", [("k1", "fake.mp4", None)]),
                                           video=lambda p: (p / "fake.mp4").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))),
            2, r"fake\.mp4: (is .*, not MP4|not a readable movie)", STORE),  # fmt: skip
    Hostile("creative-not-h264", adding(campaign_toml("c1", [("k1", "m4v.mp4", None)]), video=lambda p: _mpeg4(p / "m4v.mp4")),
            2, r"m4v\.mp4: its video is mpeg4, not H\.264", STORE),  # fmt: skip
    Hostile("creative-simid-missing", adding(campaign_toml("c1", [("k1", "spot.mp4", "simid/gone.html")])), 2,
            r"gone\.html: creative k1: its SIMID HTML is missing", STORE),  # fmt: skip
    Hostile("creative-simid-loads-from-far-out", adding(campaign_toml("c1", [("k1", "spot.mp4", "a/b/o.html")]),
                                                        video=lambda p: (make_spot(p / "spot.mp4", 2.0, (64, 36)),
                                                                         (p / "a" / "b").mkdir(parents=True),
                                                                         (p / "a" / "b" / "o.html").write_text('<script src="../../x.js"></script>'))),
            2, r"o\.html: it loads '\.\./\.\./x\.js', which is missing", STORE),  # fmt: skip
    Hostile("creative-id-taken", adding(campaign_toml("c2", GOOD), first=campaign_toml("c1", GOOD)), 2,
            r"c\.toml: creative 'k1' belongs to campaign 'c1' already", (*STORE, "svc/ads/*", "svc/ads/**")),  # fmt: skip
    Hostile("creative-id-twice", adding(campaign_toml("c1", [("k1", "spot.mp4", None), ("k1", "spot.mp4", None)])), 2,
            r"creatives\[2\]\.id: 'k1' is given twice", STORE),  # fmt: skip
    Hostile("pause-unknown", lambda tmp: (init_service(tmp / "svc"), ["ads", "campaign", "pause", tmp / "svc", "nope"])[1],
            2, r"no campaign 'nope'", STORE),  # fmt: skip
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_ads(case: Hostile, run_cli: RunCli, tmp_path: Path) -> None:
    check_case(case, run_cli, tmp_path)
    svc = tmp_path / "svc"
    if (svc / "service.toml").is_file():
        with open_service(svc).engine.connect() as conn:
            campaigns = conn.execute(select(func.count()).select_from(t.ad_campaigns)).scalar()
        assert campaigns == (1 if case.id == "creative-id-taken" else 0)
        copied = [p for p in (svc / "ads").glob("*")] if (svc / "ads").is_dir() else []
        assert len(copied) == (1 if case.id == "creative-id-taken" else 0), copied
