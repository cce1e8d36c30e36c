"""The HTTP server: FastAPI on uvicorn (``moviola stream serve``).

Reads (``GET /members/...``, ``/titles/...``, ``/search``) are rate limited per client
address with a token bucket (:class:`RateLimit`; 429 with ``Retry-After`` when empty).
Writes (``POST /events``, ``DELETE /members/{id}``) need an API key. Every error is a
status with ``{"error": "..."}``. Request bodies above :data:`MAX_BODY` bytes are refused
(413). Nothing is pinned at start: each request reads the newest model version and the
catalog as they are now.

``GET /search`` is the busiest read, so a plain request (``q``, ``member``, ``k``, ``genre``,
``year``, each well formed) is answered by :class:`SearchFastPath`, an ASGI layer inside the
rate limit that calls the search on the event loop and writes its JSON: FastAPI's
per-request machinery (dependencies, validating parameters and the answer, a thread hop) cost
as much as a cached search. Anything else (a missing or malformed parameter, ``HEAD``) goes
on to the FastAPI route, which validates and answers as always; errors are the same
``{"error": ...}`` from the same handlers. While the catalog's index is being built (the
first search, or a changed catalog) searches run on a thread as before, so the server keeps
answering. Each search's answer carries ``Server-Timing: search;dur=MS, vector;desc=cached|embedded|none``
(the time spent searching, and whether the query's vector came from the cache).
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from ..core import InputError, MoviolaError, ProjectError, StorageError
from ._events import Event, record_event
from ._home import catalog, home, poster_file, title_details
from ._keys import KeyRefused, check_key
from ._members import NotFound, delete_member, require_member
from ._model_store import newest_version
from ._recommend import MAX_K, recommend
from ._schema import ID_PATTERN
from ._service import Service, open_service, ping

MAX_BODY = 16 * 1024
ENV_SERVICE = "MOVIOLA_STREAM_SERVICE"
ENV_RATE = "MOVIOLA_STREAM_RATE"  # reads a second per client, refilled steadily
ENV_BURST = "MOVIOLA_STREAM_BURST"  # reads a client may make at once
DEFAULT_RATE = 50.0
DEFAULT_BURST = 200.0
LIMITED = ("/members/", "/titles/", "/search")
WEB = "web"
WEB_FILES = {
    "app.js": "text/javascript", "ads.js": "text/javascript", "simid_host.js": "text/javascript",
    "style.css": "text/css", "vendor/video.core.min.js": "text/javascript",
    "vendor/video-js.min.css": "text/css", "vendor/vast-client.min.js": "text/javascript",
}  # fmt: skip
# The page's policy: video.js's icon font is a data: URL in its CSS; third-party VAST tags and
# SIMID creatives are fetched and framed over https; nothing inline runs.
PAGE_CSP = ("default-src 'self'; img-src 'self' https: data:; media-src 'self' https:; font-src 'self' data:; "
            "connect-src 'self' https:; frame-src 'self' https:; object-src 'none'; base-uri 'none'")
log = logging.getLogger("moviola.stream")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class EventIn(BaseModel):
    """One event, as a client sends it."""

    event_id: str = Field(
        min_length=1, max_length=64, description="Chosen by the client; a replay counts once."
    )
    member_id: str = Field(min_length=1, max_length=64, description="Created on their first event.")
    kind: str = Field(
        min_length=1, max_length=32, description="play, click, search, rate, or ad_*."
    )
    session_id: str | None = Field(default=None, max_length=64)
    title_id: str | None = Field(
        default=None, max_length=64, description="Needed for play, click, rate."
    )
    query: str | None = Field(default=None, max_length=1000, description="Needed for search.")
    value: float | None = Field(
        default=None, description="A rating in (0, 10] for rate; a fraction watched..."
    )
    ad_serving_id: str | None = Field(default=None, max_length=64)
    ts: int | None = Field(default=None, description="Epoch seconds; now if left out.")


async def _json_error(
    send: Send, status: int, message: str, headers: dict[str, str] | None = None
) -> None:
    body = JSONResponse({"error": message}, status_code=status, headers=headers)
    await send({"type": "http.response.start", "status": status, "headers": body.raw_headers})
    await send({"type": "http.response.body", "body": body.body})


class BodyLimit:
    """Refuse request bodies larger than ``limit`` bytes (413), declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _json_error(send, 413, f"the request body is larger than {self.limit:,} bytes")
            return
        seen = 0

        async def limited() -> MutableMapping[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, f"the request body is larger than {self.limit:,} bytes")
            return message

        await self.app(scope, limited, send)


@dataclass
class RateLimit:
    """A token bucket per client address: ``burst`` reads at once, ``rate`` a second after."""

    rate: float = DEFAULT_RATE
    burst: float = DEFAULT_BURST

    def __post_init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the read may go ahead, else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if len(self._buckets) > 100_000:  # forget clients whose buckets are full again
                self._buckets = {
                    k: v
                    for k, v in self._buckets.items()
                    if v[0] + (now - v[1]) * self.rate < self.burst
                }
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate if self.rate > 0 else math.inf


class RateLimited:
    def __init__(self, app: ASGIApp, limit: RateLimit) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and scope["path"].startswith(LIMITED)
        ):
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = self.limit.take(str(client))
            if wait > 0:
                retry = str(max(1, math.ceil(wait))) if math.isfinite(wait) else "3600"
                await _json_error(send, 429, "too many requests; slow down", {"Retry-After": retry})
                return
        await self.app(scope, receive, send)


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _writer(request: Request, x_api_key: Annotated[str | None, Header()] = None,
            authorization: Annotated[str | None, Header()] = None) -> str:  # fmt: skip
    """The key id of the request's API key (``X-API-Key`` or ``Authorization: Bearer``)."""
    presented = x_api_key
    if presented is None and authorization and authorization.lower().startswith("bearer "):
        presented = authorization[7:].strip()
    return check_key(request.app.state.service, presented)


Svc = Annotated[Service, Depends(_service)]
Writer = Annotated[str, Depends(_writer)]


def search_function() -> Callable[..., dict[str, Any]] | None:
    """The search library function, where this Moviola has one."""
    from .. import stream

    found = getattr(stream, "search", None) if "search" in getattr(stream, "__all__", ()) else None
    return found if callable(found) else None


def _error_response(exc: MoviolaError) -> JSONResponse:
    """A deliberate error as its status and ``{"error": ...}`` (the route and the fast path)."""
    status = _status(exc)
    if status >= 500:
        log.error("%s", exc)
    headers = {"WWW-Authenticate": 'Bearer realm="moviola"'} if status == 401 else None
    return JSONResponse({"error": exc.message}, status_code=status, headers=headers)


def _status(exc: MoviolaError) -> int:
    declared = getattr(exc, "http_status", None)  # an error that names its own (the ads' Forged: 403)
    if isinstance(declared, int):
        return declared
    if isinstance(exc, KeyRefused):
        return 401
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, ProjectError | StorageError):
        return 503
    return 500


def create_app(
    root: str | Path, *, rate: float = DEFAULT_RATE, burst: float = DEFAULT_BURST
) -> FastAPI:
    """The service's HTTP API and page, for the service folder ``root``."""
    service = open_service(root)
    app = FastAPI(title=f"Moviola stream: {service.name}", version="1",
                  description="Recommendations, home rows, titles and events of a Moviola streaming service. "
                              "Errors are {\"error\": \"...\"} with the status.")  # fmt: skip
    app.state.service = service

    @app.exception_handler(MoviolaError)
    async def _moviola(_: Request, exc: MoviolaError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for error in exc.errors()[:5]:
            where = ".".join(str(x) for x in error.get("loc", ()) if x != "body") or "body"
            parts.append(f"{where}: {error.get('msg', 'invalid')}")
        return JSONResponse({"error": " ".join("; ".join(parts).split())[:500]}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        return JSONResponse({"error": "not found" if exc.status_code == 404 else message},
                            status_code=exc.status_code, headers=exc.headers)  # fmt: skip

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, OperationalError):
            log.error("the store cannot be reached: %s", " ".join(str(exc).split())[:300])
            return JSONResponse(
                {"error": "the store cannot be reached; try again later"}, status_code=503
            )
        log.exception("a bug in Moviola's server")
        return JSONResponse(
            {"error": "internal error (a bug in Moviola; see the server's log)"}, status_code=500
        )

    @app.get(
        "/healthz", tags=["service"], summary="Is the service up, and which model does it serve"
    )
    def healthz(service: Svc) -> dict[str, Any]:
        ping(service)
        version = newest_version(service)
        return {"status": "ok", "service": service.name, "model": version.version if version else None,
                "store": "postgresql" if service.db else "sqlite", "search": search_function() is not None}  # fmt: skip

    @app.get("/members/{member_id:path}/recommendations", tags=["members"],
             summary="A member's top titles (the JSON of 'moviola stream recommend --json')")  # fmt: skip
    def recommendations(
        member_id: str, service: Svc, k: Annotated[int, Query(ge=1, le=MAX_K)] = 10
    ) -> dict[str, Any]:
        require_member(service, member_id)
        return recommend(service, member_id, k=k)

    @app.get("/members/{member_id:path}/home", tags=["members"], summary="A member's home page, as rows")
    def home_rows(member_id: str, service: Svc,
                  session: Annotated[str | None, Query(max_length=64, description="This visit's session id: its plays "
                                                       "and clicks shape the rows at once.")] = None,
                  per_row: Annotated[int, Query(ge=1, le=50, description="Titles a row.")] = 12) -> dict[str, Any]:  # fmt: skip
        return home(service, member_id, session=session, row=per_row)

    @app.delete("/members/{member_id:path}", tags=["members"],
                summary="Forget a member: ratings, events and row (needs the API key)")  # fmt: skip
    def forget(member_id: str, service: Svc, _key: Writer,
               retrain: Annotated[bool, Query(description="Train a new model version without them now.")] = False,
               ) -> dict[str, Any]:  # fmt: skip
        done = delete_member(service, member_id, retrain=retrain)
        return {"member": done.member, "deleted": {"ratings": done.ratings, "events": done.events},
                "model": done.model.version if done.model else None}  # fmt: skip

    @app.get("/titles/{title_id:path}/poster", tags=["titles"], response_class=FileResponse,
             summary="A title's poster (a typographic one made and kept for titles without art)")  # fmt: skip
    def poster(title_id: str, service: Svc) -> FileResponse:
        return FileResponse(poster_file(service, title_id), media_type="image/jpeg",
                            headers={"Cache-Control": "public, max-age=3600"})  # fmt: skip

    # Ids may hold "/" (an encoded %2F arrives decoded), so ids are ":path"; the poster route
    # comes first, or "/titles/x/poster" would be read as the title "x/poster".
    @app.get(
        "/titles/{title_id:path}", tags=["titles"], summary="A title, with its poster and trailer URLs"
    )
    def title(title_id: str, service: Svc) -> dict[str, Any]:
        return title_details(service, title_id)

    @app.post("/events", tags=["events"], status_code=201,
              summary="Record an event (needs the API key); a replayed event_id counts once")  # fmt: skip
    def events(event: EventIn, service: Svc, _key: Writer, response: Response) -> dict[str, Any]:
        new = record_event(service, Event(**event.model_dump()))
        if not new:
            response.status_code = 200
        return {"event_id": event.event_id, "new": new}

    found = search_function()
    if found is not None:
        search = found

        @app.get(
            "/search",
            tags=["search"],
            summary="Search the catalog (the JSON of 'moviola stream search --json')",
        )
        def search_titles(service: Svc, q: Annotated[str, Query(max_length=1000)],
                          member: Annotated[str | None, Query(max_length=64)] = None,
                          k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
                          genre: Annotated[list[str] | None, Query(description="Only these genres (repeat).")] = None,
                          year: Annotated[str | None, Query(max_length=9, description="1995 or 1990-1999.")] = None,
                          ) -> dict[str, Any]:  # fmt: skip
            from ._search import parse_years

            if member is not None:
                _known_id(member)
            years = parse_years(year) if year is not None else None
            return search(service, q, member=member, k=k, genres=genre or None, years=years)

    for folder in ("posters", "media"):
        _media_route(app, service, folder)

    from ..ads._routes import mount as mount_ads  # the service's ads: VAST, VMAP, the collector

    mount_ads(app, service, _writer, _error_response)

    web = resources.files("moviola.stream").joinpath(WEB)

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return Response(web.joinpath("index.html").read_bytes(), media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": PAGE_CSP})  # fmt: skip

    @app.get("/static/{name:path}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in WEB_FILES:
            raise NotFound(f"no such file {name[:64]!r}")
        return Response(web.joinpath(name).read_bytes(), media_type=WEB_FILES[name])

    catalog(service)  # warm the catalog before the first request
    if found is not None:
        app.add_middleware(SearchFastPath, service=service)
    app.add_middleware(RateLimited, limit=RateLimit(rate, burst))
    app.add_middleware(BodyLimit)
    return app


def _known_id(member: str) -> None:
    """A member id that cannot exist (not 1-64 printable characters) is unknown: 404, as
    the store would say, not the library's 422 for a malformed id."""
    if not ID_PATTERN.match(member):
        raise NotFound(f"unknown member {member[:64]!r}")


_DIGITS = re.compile(r"^[0-9]{1,3}$")
_SEARCH_ONCE = {"q": 1000, "member": 64, "k": 3, "year": 9}  # parameter → longest value


@dataclass(frozen=True)
class _SearchParams:
    q: str
    member: str | None
    k: int
    genres: list[str] | None
    year: str | None


def plain_search_params(query_string: bytes) -> _SearchParams | None:
    """The parameters of a plain ``GET /search`` (each known, given once, well formed, as the
    route's declaration allows), else None: the route then validates and explains."""
    params = QueryParams(query_string)  # as Starlette reads them for the route
    once: dict[str, str] = {}
    genres: list[str] = []
    for key, value in params.multi_items():
        if key == "genre":
            genres.append(value)
        elif key in _SEARCH_ONCE and key not in once and len(value) <= _SEARCH_ONCE[key]:
            once[key] = value
        else:
            return None
    k = once.get("k", "10")
    if "q" not in once or not _DIGITS.match(k) or not 1 <= int(k) <= MAX_K:
        return None
    return _SearchParams(once["q"], once.get("member"), int(k), genres or None, once.get("year"))


class SearchFastPath:
    """``GET /search`` without FastAPI's per-request work (see the module's docstring)."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/search":
            await self.app(scope, receive, send)
            return
        params = plain_search_params(scope["query_string"])
        if params is None:
            await self.app(scope, receive, send)
            return
        from ._search import search_ready

        try:
            if search_ready(self.service):
                response = self._answer(params)
            else:  # the index is being built: keep the event loop free meanwhile
                response = await run_in_threadpool(self._answer, params)
        except MoviolaError as exc:
            response = _error_response(exc)
        await response(scope, receive, send)

    def _answer(self, params: _SearchParams) -> Response:
        from ._search import parse_years, search_with_info

        start = time.perf_counter()
        if params.member is not None:
            _known_id(params.member)
        years = parse_years(params.year) if params.year is not None else None
        answer, info = search_with_info(self.service, params.q, member=params.member, k=params.k,
                                        genres=params.genres, years=years)  # fmt: skip
        took = (time.perf_counter() - start) * 1000
        vector = (
            "none" if info.vector_cached is None else "cached" if info.vector_cached else "embedded"
        )
        return JSONResponse(
            answer, headers={"Server-Timing": f"search;dur={took:.2f}, vector;desc={vector}"}
        )


def _media_route(app: FastAPI, service: Service, folder: str) -> None:
    base = service.path(folder).resolve()

    @app.get(f"/{folder}/{{name:path}}", include_in_schema=False, name=f"{folder}_file")
    def media(name: str) -> FileResponse:
        path = (base / name).resolve()
        if (
            not path.is_relative_to(base)
            or not path.is_file()
            or any(p.startswith(".") for p in Path(name).parts)
        ):
            raise NotFound(f"no such file {name[:64]!r}")
        return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


def app_from_env() -> FastAPI:
    """The app for uvicorn's workers: the service and limits from the environment."""
    root = os.environ.get(ENV_SERVICE)
    if not root:
        raise ProjectError(
            f"{ENV_SERVICE} is not set (start the server with 'moviola stream serve SERVICE')"
        )
    return create_app(root, rate=float(os.environ.get(ENV_RATE, DEFAULT_RATE)),
                      burst=float(os.environ.get(ENV_BURST, DEFAULT_BURST)))  # fmt: skip


def serve(root: str | Path, *, host: str = "127.0.0.1", port: int = 8700, workers: int = 1,
          rate: float = DEFAULT_RATE, burst: float = DEFAULT_BURST) -> None:  # fmt: skip
    """Run the server until interrupted (``workers`` processes share the port)."""
    import uvicorn

    service = open_service(root)  # refuse a bad folder in one line, before any worker starts
    if not 1 <= workers <= 64:
        raise InputError(f"--workers must be between 1 and 64, not {workers}")
    if rate <= 0 or burst < 1:
        raise InputError("--rate must be above 0 and --burst at least 1")
    os.environ[ENV_SERVICE] = str(service.root.resolve())
    os.environ[ENV_RATE], os.environ[ENV_BURST] = str(rate), str(burst)
    uvicorn.run("moviola.stream._server:app_from_env", factory=True, host=host, port=port, workers=workers,
                access_log=False, log_level="info", timeout_graceful_shutdown=5)  # fmt: skip
