"""The HTTP server, started for real (``moviola stream serve`` in a subprocess on a free
loopback port) against a small service made with the real imports, ``publish`` and
``moviola stream train``: every endpoint, bad input, keys, events that survive ``kill -9``,
replays counted once, and forgetting a member.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select, text

from moviola.cli import main
from moviola.core import init_project
from moviola.core._media import encode_frame, finish_movie, open_h264
from moviola.script import import_script
from moviola.stream import _schema as t
from moviola.stream import (
    import_ratings,
    import_titles,
    init_service,
    new_key,
    newest_version,
    open_service,
    publish,
    train,
)

REPO = Path(__file__).resolve().parent.parent
ROOFTOP = REPO / "tests" / "data" / "previs" / "rooftop.fountain"
TASTES = {"a": [f"ta{i}" for i in range(15)], "b": [f"tb{i}" for i in range(15)]}
HOSTILE = '<img src=x onerror="window.__xss=1">\'; DROP TABLE titles;--'
FORGET = "forget-me-please"


def _movie(path: Path, frames: int = 72) -> Path:
    """A real H.264 movie (3 s): a bright block crossing a dark frame."""
    path.parent.mkdir(parents=True, exist_ok=True)
    container, stream = open_h264(path, 24, 320, 180)
    for i in range(frames):
        picture = np.full((180, 320, 3), 30, np.uint8)
        x = 10 + (i * 4) % 240
        picture[60:120, x : x + 60] = (240, 200, 60)
        encode_frame(container, stream, picture, i)
    finish_movie(container, stream)
    return path


def build_service(root: Path) -> tuple[Path, str]:
    """A service: 31 titles in two tastes (one with a hostile name), 41 members, a published
    production with key art and a trailer, one trained model; returns (folder, API key)."""
    svc = init_service(root / "svc")
    titles = root / "titles.csv"
    rows = [f"{tid},Title {tid.upper()},{1990 + i},{'Drama|Thriller' if tid.startswith('ta') else 'Comedy'}"
            for ids in TASTES.values() for i, tid in enumerate(ids)]  # fmt: skip
    rows.append('x1,"' + HOSTILE.replace('"', '""') + '",1999,Drama')
    titles.write_text("title_id,title,year,genres\n" + "\n".join(rows) + "\n", encoding="utf-8")
    rng = random.Random(7)
    lines = ["member_id,title_id,rating,timestamp"]
    for m in range(40):
        taste = TASTES["a" if m % 2 == 0 else "b"]
        chosen = set(rng.sample(taste, 7)) | {
            p for p in ("tb0", "tb1", "tb2") if rng.random() < 0.6
        }
        lines += [
            f"m{m},{tid},{rng.randint(3, 5)},{1_700_000_000 + m * 100 + i}"
            for i, tid in enumerate(sorted(chosen))
        ]
    lines += [f"{FORGET},{tid},5,1700009999" for tid in ("ta0", "ta1", "ta2", "tb14")]
    ratings = root / "ratings.csv"
    ratings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_titles(svc, titles)
    import_ratings(svc, ratings)
    film = root / "film"
    import_script(init_project(film, name="Rooftop"), ROOFTOP)
    _movie(film / "vfx" / "palace" / "render" / "palace_review.mp4")
    publish(film, svc, genres=["Drama", "Disaster"], year=2026)
    assert main(["stream", "train", str(svc.root)]) == 0
    return svc.root, new_key(svc).secret


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``moviola stream serve`` in a subprocess."""

    def __init__(self, service: Path, *extra: str, port: int | None = None) -> None:
        self.service, self.extra = service, extra
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moviola", "stream", "serve", str(self.service), "--port", str(self.port), *self.extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"the server stopped: {self.proc.stdout.read().decode() if self.proc.stdout else ''}"
                )
            with contextlib.suppress(OSError):
                if call(self, "GET", "/healthz")[0] == 200:
                    return self
            time.sleep(0.1)
        raise AssertionError("the server did not answer within 30 s")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()


def call(server: Server, method: str, path: str, body: Any = None, *, key: str | None = None,
         headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
    """(status, JSON body or bytes, headers) of one request."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(server.base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key is not None:
        request.add_header("X-API-Key", key)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, payload, got = answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        status, payload, got = exc.code, exc.read(), dict(exc.headers)
    if got.get("content-type", "").startswith("application/json"):
        return status, json.loads(payload), got
    return status, payload, got


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return build_service(tmp_path_factory.mktemp("stream-server"))


@pytest.fixture(scope="module")
def server(built: tuple[Path, str]) -> Iterator[Server]:
    running = Server(built[0]).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def key(built: tuple[Path, str]) -> str:
    return built[1]


def event(event_id: str, member: str = "m0", kind: str = "play", **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "member_id": member, "kind": kind, **fields}


def count_events(service: Path, event_id: str) -> int:
    with open_service(service).engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(t.events).where(t.events.c.event_id == event_id)
            ).scalar_one()
        )


def test_health_docs_and_the_openapi_schema(server: Server, built: tuple[Path, str]) -> None:
    status, body, _ = call(server, "GET", "/healthz")
    version = newest_version(open_service(built[0]))
    assert (
        status == 200
        and body["status"] == "ok"
        and version is not None
        and body["model"] == version.version
    )
    status, page, _headers = call(server, "GET", "/docs")
    assert status == 200 and b"swagger" in page.lower()
    status, schema, _ = call(server, "GET", "/openapi.json")
    assert {"/members/{member_id}/recommendations", "/members/{member_id}/home", "/titles/{title_id}", "/events",
            "/members/{member_id}", "/healthz"} <= set(schema["paths"])  # fmt: skip


def test_recommendations_are_the_json_of_the_cli(server: Server, built: tuple[Path, str],
                                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    status, body, _ = call(server, "GET", "/members/m0/recommendations?k=5")
    capsys.readouterr()
    assert main(["stream", "recommend", str(built[0]), "--member", "m0", "--k", "5", "--json"]) == 0
    assert status == 200 and body == json.loads(capsys.readouterr().out)
    assert len(body["items"]) == 5 and body["model"]
    assert call(server, "GET", "/members/m0/recommendations?k=0")[0] == 422
    assert call(server, "GET", "/members/m0/recommendations?k=abc")[0] == 422


def test_home_rows_never_repeat_a_title_and_say_why(server: Server) -> None:
    status, body, _ = call(server, "GET", "/members/m0/home?per_row=4")
    assert status == 200 and body["member"] == "m0" and body["model"]
    ids = [r["id"] for r in body["rows"]]
    assert ids[0] == "top-picks" and ids[-1] == "new-arrivals"
    assert any(i.startswith("because-") for i in ids) and any(i.startswith("genre-") for i in ids)
    seen = [item["title_id"] for row in body["rows"] for item in row["items"]]
    assert len(seen) == len(set(seen))
    because = next(r for r in body["rows"] if r["id"].startswith("because-"))
    assert because["title"].startswith("Because you watched ") and because["reason"]
    assert all(item["poster"] for row in body["rows"] for item in row["items"])
    arrivals = next(r for r in body["rows"] if r["id"] == "new-arrivals")
    assert arrivals["items"][0]["title_id"] == "mv-rooftop"  # published last
    top = body["rows"][0]["items"]
    assert sum(i["title_id"].startswith("ta") for i in top) > len(top) / 2  # m0 likes taste a


def test_this_sessions_plays_change_the_next_home_page_within_a_second(
    server: Server, key: str
) -> None:
    before = call(server, "GET", "/members/m1/home?session=s-m1&per_row=5")[1]  # m1 likes taste b
    start = time.monotonic()
    assert (
        call(
            server,
            "POST",
            "/events",
            event("e-m1-play", "m1", "play", title_id="ta5", session_id="s-m1"),
            key=key,
        )[0]
        == 201
    )
    after = call(server, "GET", "/members/m1/home?session=s-m1&per_row=5")[1]
    assert time.monotonic() - start < 1.0
    assert after["rows"] != before["rows"]
    assert any(r["id"] == "because-ta5" for r in after["rows"])
    top = [i["title_id"] for i in after["rows"][0]["items"]]
    assert "ta5" not in top and sum(x.startswith("ta") for x in top) > sum(
        i["title_id"].startswith("ta") for i in before["rows"][0]["items"]
    )


def test_a_new_member_is_made_by_their_first_event_and_gets_personal_rows(
    server: Server, key: str
) -> None:
    assert call(server, "GET", "/members/newbie/home")[0] == 404
    for n, tid in enumerate(("ta1", "ta2", "ta3")):
        assert call(server, "POST", "/events", event(f"e-newbie-{n}", "newbie", "play", title_id=tid, session_id="s-nb"),
                    key=key)[0] == 201  # fmt: skip
    body = call(server, "GET", "/members/newbie/home?session=s-nb&per_row=5")[1]
    top = [i["title_id"] for i in body["rows"][0]["items"]]
    assert sum(x.startswith("ta") for x in top) >= len(top) - 3 and not {"ta1", "ta2", "ta3"} & set(
        top
    )
    assert (
        call(
            server,
            "POST",
            "/events",
            event("e-newbie-r", "newbie", "rate", title_id="ta4", value=4.5),
            key=key,
        )[0]
        == 201
    )
    recs = call(server, "GET", "/members/newbie/recommendations")[1]
    assert "ta4" not in [i["title_id"] for i in recs["items"]]  # a rate event is a rating at once


def test_titles_with_poster_and_trailer_urls(server: Server, built: tuple[Path, str]) -> None:
    status, body, _ = call(server, "GET", "/titles/mv-rooftop")
    assert (
        status == 200
        and body["poster"] == "/posters/mv-rooftop.jpg"
        and body["trailer"] == "/media/mv-rooftop-trailer.mp4"
    )
    assert body["synopsis"] and body["genres"] == ["Disaster", "Drama"]
    status, data, headers = call(server, "GET", body["poster"])
    assert status == 200 and data == (built[0] / "posters" / "mv-rooftop.jpg").read_bytes()
    status, part, headers = call(server, "GET", body["trailer"], headers={"Range": "bytes=0-99"})
    assert status == 206 and len(part) == 100 and headers["content-type"] == "video/mp4"


def test_a_title_without_art_gets_a_typographic_poster_made_once_and_kept(
    server: Server, built: tuple[Path, str]
) -> None:
    body = call(server, "GET", "/titles/ta7")[1]
    assert body["poster"] == "/titles/ta7/poster" and body["trailer"] is None
    first = call(server, "GET", body["poster"])
    assert (
        first[0] == 200
        and first[2]["content-type"] == "image/jpeg"
        and first[1][:3] == b"\xff\xd8\xff"
    )
    kept = list((built[0] / "posters").glob("typo-*.jpg"))
    assert any(p.read_bytes() == first[1] for p in kept)
    assert call(server, "GET", body["poster"])[1] == first[1]


@pytest.mark.parametrize("path", ["/posters/../service.toml", "/posters/%2e%2e/service.toml", "/media/..%2fstore.sqlite3",
                                  "/posters/%2e%2e%2f%2e%2e%2fetc/passwd", "/media//etc/passwd", "/posters/"])  # fmt: skip
def test_media_refuses_paths_out_of_its_folder(server: Server, path: str) -> None:
    status, body, _ = call(server, "GET", path)
    assert status == 404 and isinstance(body, dict) and "error" in body


def test_writes_need_a_valid_key(server: Server, key: str) -> None:
    for headers in ({}, {"X-API-Key": "mvk_000000000000_nope"}, {"X-API-Key": key + "x"}, {"Authorization": "Basic abc"},
                    {"X-API-Key": "'; DROP TABLE api_keys;--"}):  # fmt: skip
        status, body, got = call(server, "POST", "/events", event("e-nokey"), headers=headers)
        assert (
            status == 401 and body["error"] and got.get("www-authenticate", "").startswith("Bearer")
        )
        assert call(server, "DELETE", "/members/m3", headers=headers)[0] == 401
    assert (
        call(
            server,
            "POST",
            "/events",
            event("e-bearer", title_id="ta1"),
            headers={"Authorization": f"Bearer {key}"},
        )[0]
        == 201
    )


@pytest.mark.parametrize(("raw", "word"), [
    (b"{not json", "json"),
    (b"[]", "body"),
    (json.dumps({"member_id": "m0", "kind": "play", "title_id": "ta1"}).encode(), "event_id"),
    (json.dumps({"event_id": "e-x1", "kind": "play"}).encode(), "member_id"),
    (json.dumps(event("e-x2", kind="dance", title_id="ta1")).encode(), "kind"),
    (json.dumps(event("e-x3", kind="play")).encode(), "title_id"),
    (json.dumps(event("e-x4", kind="rate", title_id="ta1", value=11)).encode(), "value"),
    (json.dumps(event("e-x5", kind="search")).encode(), "query"),
    (json.dumps(event("e-x6", title_id="nope")).encode(), "catalog"),
    (json.dumps(event("e-x7", title_id="ta1", ts="yesterday")).encode(), "ts"),
    (json.dumps(event("e\x01bad", title_id="ta1")).encode(), "event_id"),
])  # fmt: skip
def test_malformed_events_are_422_with_the_field(
    server: Server, key: str, raw: bytes, word: str
) -> None:
    status, body, _ = call(server, "POST", "/events", raw=raw, key=key)
    assert status == 422 and word in body["error"].lower() and "\n" not in body["error"]


def test_oversized_bodies_are_refused(server: Server, key: str, built: tuple[Path, str]) -> None:
    big = json.dumps(event("e-big", title_id="ta1", query="x" * 20_000)).encode()
    status, body, _ = call(server, "POST", "/events", raw=big, key=key)
    assert status == 413 and "larger" in body["error"]
    assert count_events(built[0], "e-big") == 0


def test_a_replayed_event_counts_once(server: Server, key: str, built: tuple[Path, str]) -> None:
    first = call(server, "POST", "/events", event("e-dup", title_id="ta9"), key=key)
    again = call(server, "POST", "/events", event("e-dup", title_id="ta9"), key=key)
    assert (first[0], first[1]["new"]) == (201, True) and (again[0], again[1]["new"]) == (
        200,
        False,
    )
    assert count_events(built[0], "e-dup") == 1


def test_unknown_ids_and_routes_are_404_json(server: Server, key: str) -> None:
    for method, path in (("GET", "/members/nobody/home"), ("GET", "/members/nobody/recommendations"),
                         ("GET", "/titles/nope"), ("GET", "/titles/nope/poster"), ("DELETE", "/members/nobody"),
                         ("GET", "/no/such/route"), ("GET", "/static/../service.toml")):  # fmt: skip
        status, body, _ = call(server, method, path, key=key)
        assert status == 404 and body["error"], path


def test_ids_with_a_slash_work_in_every_route(server: Server, key: str) -> None:
    member, quoted = "team/anna", urllib.request.quote("team/anna", safe="")
    assert call(server, "POST", "/events", event("e-slash-1", member=member, title_id="ta2"), key=key)[0] == 201
    assert call(server, "POST", "/events", event("e-slash-2", member=member, title_id="ta4"), key=key)[0] == 201

    status, recs, _ = call(server, "GET", f"/members/{quoted}/recommendations?k=3")
    assert status == 200 and recs["member"] == member and len(recs["items"]) == 3
    status, home, _ = call(server, "GET", f"/members/{quoted}/home")
    assert status == 200 and home["member"] == member
    assert call(server, "GET", "/titles/ta2/poster")[0] == 200  # the poster route still wins over ":path"
    status, gone, _ = call(server, "DELETE", f"/members/{quoted}", key=key)
    assert status == 200 and gone["member"] == member and gone["deleted"]["events"] == 2
    assert call(server, "GET", f"/members/{quoted}/home")[0] == 404


def test_injection_in_ids_is_only_data(server: Server, built: tuple[Path, str]) -> None:
    status, body, _ = call(server, "GET", "/titles/" + urllib.request.quote("x1' OR '1'='1"))
    assert status == 404
    body = call(server, "GET", "/titles/x1")[1]
    assert body["title"] == HOSTILE  # returned as data; the page sets it as text
    with open_service(built[0]).engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM titles")).scalar_one() == 32


def test_a_new_model_version_is_served_without_a_restart(
    server: Server, built: tuple[Path, str]
) -> None:
    before = call(server, "GET", "/members/m2/recommendations")[1]["model"]
    version = train(open_service(built[0]))
    assert version.version != before
    assert call(server, "GET", "/members/m2/recommendations")[1]["model"] == version.version
    assert call(server, "GET", "/members/m2/home")[1]["model"] == version.version
    assert call(server, "GET", "/healthz")[1]["model"] == version.version


def test_an_acknowledged_event_survives_kill_9(built: tuple[Path, str], key: str) -> None:
    own = Server(built[0]).start()
    try:
        status, body, _ = call(
            own, "POST", "/events", event("e-kill", "m4", title_id="ta2", session_id="k"), key=key
        )
        assert status == 201 and body["new"]
        own.kill()
        assert count_events(built[0], "e-kill") == 1
        own = Server(built[0], port=own.port).start()
        status, body, _ = call(
            own, "POST", "/events", event("e-kill", "m4", title_id="ta2", session_id="k"), key=key
        )
        assert (status, body["new"]) == (200, False)  # the restarted server holds it
    finally:
        own.stop()


def test_reads_are_rate_limited_per_client(built: tuple[Path, str]) -> None:
    limited = Server(built[0], "--rate", "0.5", "--burst", "3").start()
    try:
        answers = [call(limited, "GET", "/titles/ta1") for _ in range(5)]
        assert [a[0] for a in answers[:3]] == [200, 200, 200]
        status, body, headers = answers[3]
        assert status == 429 and "too many" in body["error"] and int(headers["retry-after"]) >= 1
        assert call(limited, "GET", "/healthz")[0] == 200  # not a limited read
    finally:
        limited.stop()


def test_deleting_a_member_removes_them_from_everything(
    server: Server, key: str, built: tuple[Path, str]
) -> None:
    root = built[0]
    assert (
        call(
            server,
            "POST",
            "/events",
            event("e-forget", FORGET, title_id="ta3", session_id="f"),
            key=key,
        )[0]
        == 201
    )
    version = newest_version(open_service(root))
    assert version is not None
    with np.load(version.path / "model.npz") as npz:
        popularity_before, titles = npz["popularity"].copy(), [str(x) for x in npz["titles"]]
        assert {"weights", "popularity", "titles"} <= set(npz.files)
        shapes = {npz[name].shape for name in npz.files}
        assert shapes <= {
            (len(titles),),
            (len(titles), len(titles)),
        }  # per title, title x title: no member rows
    for model_file in version.path.iterdir():
        assert FORGET.encode() not in model_file.read_bytes()
    status, body, _ = call(server, "DELETE", f"/members/{FORGET}?retrain=true", key=key)
    assert status == 200 and body["deleted"] == {"ratings": 4, "events": 1} and body["model"]
    with open_service(root).engine.connect() as conn:
        for table in (t.members, t.ratings, t.events):
            assert (
                conn.execute(
                    select(func.count()).select_from(table).where(table.c.member_id == FORGET)
                ).scalar_one()
                == 0
            )
    assert call(server, "GET", f"/members/{FORGET}/home")[0] == 404
    assert call(server, "GET", f"/members/{FORGET}/recommendations")[0] == 404
    assert call(server, "DELETE", f"/members/{FORGET}", key=key)[0] == 404
    retrained = newest_version(open_service(root))
    assert retrained is not None and retrained.version == body["model"]
    assert call(server, "GET", "/members/m0/home")[1]["model"] == retrained.version
    with np.load(retrained.path / "model.npz") as npz:
        gone = np.zeros(len(titles), np.float32)
        gone[[titles.index(x) for x in ("ta0", "ta1", "ta2", "tb14")]] = 1
        assert [str(x) for x in npz["titles"]] == titles
        np.testing.assert_array_equal(
            npz["popularity"], popularity_before - gone
        )  # their ratings are out


def test_cli_key_new_prints_the_secret_once_and_stores_its_digest(built: tuple[Path, str],
                                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    capsys.readouterr()
    assert main(["stream", "key", "new", str(built[0]), "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    with open_service(built[0]).engine.connect() as conn:
        digest = conn.execute(
            select(t.api_keys.c.digest).where(t.api_keys.c.key_id == made["key_id"])
        ).scalar_one()
    assert digest == hashlib.sha256(made["secret"].encode()).hexdigest()
    store = b"".join(p.read_bytes() for p in built[0].glob("store.sqlite3*"))
    assert made["secret"].encode() not in store
    assert main(["stream", "key", "revoke", str(built[0]), made["key_id"]]) == 0


def test_cli_errors_are_one_line(
    built: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["stream", "members", "delete", str(built[0]), "nobody"]) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and "unknown member 'nobody'" in err[0]
    assert main(["stream", "serve", str(tmp_path / "none")]) == 3
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and "no such folder" in err[0]
    assert main(["stream", "serve", str(built[0]), "--workers", "0"]) == 2


def test_search_is_served_when_the_library_has_it(server: Server) -> None:
    from moviola import stream

    status, body, _ = call(server, "GET", "/search?q=title%20ta&k=3")
    if "search" not in stream.__all__:
        assert status == 404
        return
    assert status == 200 and body["results"] and len(body["results"]) <= 3
    status, body, _ = call(
        server, "GET", "/search?q=comedy&member=m0&k=5&genre=Comedy&year=1990-2010"
    )
    assert status == 200 and body["member"] == "m0" and body["model"]
    assert call(server, "GET", "/search?q=x&member=nobody")[0] == 404
    for bad in ("q=", "q=" + "a" * 10_000, "q=%00", "q=a&year=soon", "q=a&k=0"):
        status, body, _ = call(server, "GET", "/search?" + bad)
        assert status == 422 and body["error"], bad
    status, body, _ = call(server, "GET", "/search?q=" + urllib.request.quote(HOSTILE))
    assert status == 200  # the query is only words to look for


def _headers(got: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in got.items()}


def test_a_plain_search_is_answered_by_the_fast_path_as_the_library_answers(server: Server,
                                                                           built: tuple[Path, str]) -> None:  # fmt: skip
    from moviola import stream

    if "search" not in stream.__all__:
        pytest.skip("this Moviola has no search")
    path = "/search?q=comedy&member=m0&k=5&genre=Comedy&year=1990-2010"
    status, body, got = call(server, "GET", path)
    timing = _headers(got).get("server-timing", "")
    assert status == 200 and re.fullmatch(
        r"search;dur=[0-9.]+, vector;desc=(cached|embedded|none)", timing
    )
    assert body == stream.search(open_service(built[0]), "comedy", member="m0", k=5, genres=["Comedy"],
                                 years=(1990, 2010))  # fmt: skip
    again = _headers(call(server, "GET", path)[2])["server-timing"]
    assert again.endswith(
        "desc=cached" if body["semantic"] else "desc=none"
    )  # the query's vector kept
    status, routed, got = call(
        server, "GET", path + "&k=5"
    )  # not plain (k twice): the FastAPI route
    assert status == 200 and "server-timing" not in _headers(got) and routed == body
    for bad in ("/search?q=alien&member=%01", "/search?q=alien&member=%01&k=5&k=5"):  # either way
        status, body, _ = call(server, "GET", bad)
        assert status == 404 and body == {"error": "unknown member '\\x01'"}, bad


@pytest.mark.parametrize(("query", "plain"), [
    (b"q=alien", True),
    (b"q=alien&k=100&member=m0&genre=Drama&genre=Comedy&year=1990-1999", True),
    (b"q=", True),  # plain: the library refuses it, as the route would (422)
    (b"", False), (b"k=5", False), (b"q=a&k=0", False), (b"q=a&k=101", False), (b"q=a&k=ten", False),
    (b"q=a&k=%2B5", False), (b"q=a&q=b", False), (b"q=a&other=1", False), (b"q=" + b"a" * 1001, False),
    (b"q=a&member=" + b"m" * 65, False), (b"q=a&year=1990-19999", False),
])  # fmt: skip
def test_only_plain_search_requests_take_the_fast_path(query: bytes, plain: bool) -> None:
    from moviola.stream._server import plain_search_params

    found = plain_search_params(query)
    assert (found is not None) is plain
    if query.startswith(b"q=alien&k=100"):
        assert found is not None and (found.q, found.member, found.k, found.genres, found.year) == (
            "alien", "m0", 100, ["Drama", "Comedy"], "1990-1999")  # fmt: skip
