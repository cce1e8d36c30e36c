"""A small world for the ads tests: a service with a few titles and members, real H.264
spots made here with PyAV, and campaign files that name them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moviola.core._media import atomic_movie, encode_frame, finish_movie, open_h264
from moviola.stream import Service, import_ratings, import_titles, init_service

TITLES = """title_id,title,year,genres,synopsis
t1,The Palace,2026,Drama|Disaster,A tower falls in ten seconds.
t2,Nevada,2025,Drama,"Buenos Aires, a heat-drunk city."
t3,Ofelia's Workshop,,Comedy,A workshop of clocks.
t4,Night Train,2024,Thriller|Drama,A train that never stops.
"""
RATINGS = """member_id,title_id,rating,timestamp
m1,t1,5,1700000000
m1,t2,3.5,1700000100
m2,t3,4,1700000100
m3,t4,4,1700000200
m3,t1,2,1700000300
"""


def make_spot(path: Path, seconds: float = 15.0, size: tuple[int, int] = (320, 180), fps: int = 24,
              colour: tuple[int, int, int] = (200, 80, 40)) -> Path:  # fmt: skip
    """A real H.264 MP4 of ``seconds``: a colour field with a moving bar."""
    width, height = size

    def write(tmp: Path) -> None:
        container, stream = open_h264(tmp, fps, width, height)
        for i in range(round(seconds * fps)):
            frame = np.empty((height, width, 3), np.uint8)
            frame[:] = colour
            x = (i * 4) % width
            frame[:, x : x + 8] = 255
            encode_frame(container, stream, frame, i)
        finish_movie(container, stream)

    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_movie(path, write)


def make_service(root: Path, db: str | None = None) -> Service:
    svc = init_service(root, db=db)
    root.joinpath("titles.csv").write_text(TITLES, encoding="utf-8")
    root.joinpath("ratings.csv").write_text(RATINGS, encoding="utf-8")
    import_titles(svc, root / "titles.csv")
    import_ratings(svc, root / "ratings.csv")
    return svc


def campaign_toml(cid: str, creatives: list[tuple[str, str, str | None]], *, budget: int = 100000,
                  extra: str = "", daily_goal: int | None = None, caps: str = "") -> str:  # fmt: skip
    """A campaign file body; ``creatives``: (id, video path, SIMID html path or None)."""
    lines = ["[campaign]", f'id = "{cid}"', 'advertiser = "Acme"', f'name = "{cid} campaign"',
             "start = 2020-01-01", "end = 2099-12-31", f"budget_impressions = {budget}",
             'click_through = "/?title=t1"']  # fmt: skip
    if daily_goal:
        lines.append(f"daily_goal = {daily_goal}")
    lines.append(extra)
    lines.append(caps)
    for crid, video, simid in creatives:
        lines += ["[[creatives]]", f'id = "{crid}"', f'video = "{video}"']
        if simid:
            lines += [f'simid = "{simid}"', 'ad_parameters = { kind = "add_to_list", label = "Add it" }']
    return "\n".join(lines) + "\n"
