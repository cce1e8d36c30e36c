"""The HTTP API on PostgreSQL: the same real server (``moviola stream serve`` in a
subprocess) over a service whose store is a real PostgreSQL 15 started on loopback for the
session (``postgres_db``): reads, search, keyed writes, replays counted once, this
session's plays changing the next home page, an event that survives ``kill -9``, and
forgetting a member.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from moviola.stream import _schema as t
from moviola.stream import import_ratings, import_titles, init_service, new_key, open_service, train
from test_stream_server import Server, call

TASTES = {"a": [f"ta{i}" for i in range(12)], "b": [f"tb{i}" for i in range(12)]}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, postgres_server: str) -> tuple[Path, str]:
    import psycopg

    db_name = "http_api"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name}")
        conn.execute(f"CREATE DATABASE {db_name}")
    url = postgres_server.rsplit("/", 1)[0] + "/" + db_name
    root = tmp_path_factory.mktemp("pg-http")
    svc = init_service(root / "svc", db=url)
    titles = root / "titles.csv"
    titles.write_text("title_id,title,year,genres,synopsis\n" + "".join(
        f"{tid},Title {tid.upper()},{1990 + i},{'Drama' if tid.startswith('ta') else 'Comedy'},"
        f"{'A tower falls in the night' if tid == 'ta0' else 'People talk'}\n"
        for ids in TASTES.values() for i, tid in enumerate(ids)), encoding="utf-8")  # fmt: skip
    rng = random.Random(3)
    lines = ["member_id,title_id,rating,timestamp"]
    for m in range(24):
        chosen = rng.sample(TASTES["a" if m % 2 == 0 else "b"], 6)
        lines += [f"m{m},{tid},4,{1_700_000_000 + m * 1000 + i * 30}" for i, tid in enumerate(chosen)]
    ratings = root / "ratings.csv"
    ratings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_titles(svc, titles)
    import_ratings(svc, ratings)
    train(svc)
    secret = new_key(svc).secret
    svc.engine.dispose()
    return svc.root, secret


@pytest.fixture(scope="module")
def server(built: tuple[Path, str]) -> Iterator[Server]:
    running = Server(built[0]).start()
    yield running
    running.stop()


def event(event_id: str, member: str, kind: str = "play", **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "member_id": member, "kind": kind, **fields}


def count_events(service: Path, event_id: str) -> int:
    svc = open_service(service)
    try:
        with svc.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.events)
                                    .where(t.events.c.event_id == event_id)).scalar_one())  # fmt: skip
    finally:
        svc.engine.dispose()


def test_reads_answer_from_postgresql(server: Server) -> None:
    status, health, _ = call(server, "GET", "/healthz")
    assert status == 200 and health["model"]

    status, recs, _ = call(server, "GET", "/members/m0/recommendations?k=5")
    assert status == 200 and recs["member"] == "m0" and recs["model"] == health["model"]
    assert len(recs["items"]) == 5 and all(i["title_id"].startswith("ta") for i in recs["items"][:3])

    status, home, _ = call(server, "GET", "/members/m0/home")
    assert status == 200 and home["rows"]
    ids = [i["title_id"] for row in home["rows"] for i in row["items"]]
    assert len(ids) == len(set(ids))

    status, title, _ = call(server, "GET", "/titles/ta3")
    assert status == 200 and title["title"] == "Title TA3"

    status, found, _ = call(server, "GET", "/search?q=title%20ta3&k=3")
    assert status == 200 and found["results"][0]["title_id"] == "ta3"


def test_keyed_writes_count_a_replay_once_and_need_the_key(server: Server, built: tuple[Path, str]) -> None:
    service, key = built
    body = event("pg-once", "m1", title_id="tb3")

    assert call(server, "POST", "/events", body)[0] == 401
    first = call(server, "POST", "/events", body, key=key)
    again = call(server, "POST", "/events", body, key=key)

    assert first[0] == 201 and first[1]["new"] is True
    assert again[1]["new"] is False
    assert count_events(service, "pg-once") == 1


def test_this_sessions_plays_change_the_next_home_page(server: Server, built: tuple[Path, str]) -> None:
    _, key = built
    before = call(server, "GET", "/members/m2/home")[1]
    for i, tid in enumerate(("tb5", "tb6", "tb7")):
        assert call(server, "POST", "/events", event(f"pg-play-{i}", "m2", title_id=tid, session_id="s-pg"),
                    key=key)[0] == 201  # fmt: skip
    start = time.monotonic()
    after = call(server, "GET", "/members/m2/home")[1]

    assert time.monotonic() - start < 1.0
    assert after["rows"] != before["rows"]
    assert any(row["id"].startswith("because-tb") for row in after["rows"])


def test_an_acknowledged_event_survives_kill_9(built: tuple[Path, str]) -> None:
    service, key = built
    running = Server(service).start()
    try:
        assert call(running, "POST", "/events", event("pg-durable", "m3", title_id="ta1"), key=key)[0] == 201
        running.kill()
        assert count_events(service, "pg-durable") == 1
    finally:
        running.stop()


def test_deleting_a_member_removes_them_from_every_answer(server: Server, built: tuple[Path, str]) -> None:
    service, key = built
    assert call(server, "GET", "/members/m5/home")[0] == 200

    status, answer, _ = call(server, "DELETE", "/members/m5", key=key)

    assert status == 200 and answer["deleted"]["ratings"] == 6
    assert call(server, "GET", "/members/m5/recommendations")[0] == 404
    assert call(server, "GET", "/members/m5/home")[0] == 404
    svc = open_service(service)
    try:
        with svc.engine.connect() as conn:
            for table in (t.ratings, t.events, t.members):
                assert conn.execute(select(func.count()).select_from(table)
                                    .where(table.c.member_id == "m5")).scalar_one() == 0  # fmt: skip
    finally:
        svc.engine.dispose()
