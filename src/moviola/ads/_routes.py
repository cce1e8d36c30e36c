"""The ad endpoints of ``moviola stream serve`` (mounted by the stream server):

- ``GET /ads/vast?member=&slot=&title=&seconds=``: VAST 4.2 for one break (an empty VAST when
  nothing is eligible; 404 for an unknown member or title: the player then plays the title);
- ``GET /ads/vmap?member=&title=``: VMAP 1.0, the title's pre-, mid- and post-roll breaks;
- ``GET /ads/t/{serving_id}/{event}?s=SIGNATURE[&code=][&v=]``: the collector (204);
- ``GET /ads/files/{path}``: creatives' MP4s (with byte ranges) and SIMID files;
- ``GET /ads/decisions/{serving_id}`` (API key): a decision, its propensity, its reward.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from starlette.datastructures import QueryParams

from ..core import MoviolaError
from ..stream import _schema as t
from ..stream._members import NotFound
from ..stream._service import Service
from ._decide import AdServer
from ._tracking import Signer, record_beacon
from ._vast import vast_document
from ._vmap import plan_breaks, vmap_document

XML = "application/xml; charset=utf-8"
NO_STORE = {"Cache-Control": "no-store"}
_SERVERS: dict[str, AdServer] = {}
_LOCK = threading.Lock()


def ad_server(service: Service) -> AdServer:
    """This process's ad server for the service (one policy per worker)."""
    key = str(service.root.resolve())
    with _LOCK:
        found = _SERVERS.get(key)
        if found is None:
            found = _SERVERS[key] = AdServer(service)
    return found


def _tracker(signer: Signer, base: str) -> Any:
    return lambda sid, event: f"{base}/ads/t/{sid}/{event}?s={signer.sign(sid)}"


def vast_answer(ads: AdServer, signer: Signer, base: str, member: str, slot: str, title: str | None,
                seconds: float | None) -> Response:  # fmt: skip
    """One break's VAST answer (the route's and the fast path's)."""
    pod = ads.decide(member, slot, title_id=title, seconds=seconds)
    headers = {**NO_STORE, "X-Moviola-Ads": str(len(pod.decisions))}
    if pod.reason:
        headers["X-Moviola-No-Ad"] = pod.reason
    return Response(vast_document(pod, base, _tracker(signer, base)), media_type=XML, headers=headers)


def beacon_answer(ads: AdServer, signer: Signer, serving_id: str, event: str, signature: str,
                  code: int | None, choice: str | None) -> Response:  # fmt: skip
    """One beacon recorded (the route's and the fast path's): 204."""
    done = record_beacon(ads.service, signer, ads.config, serving_id, event, signature,
                         value=float(code) if code is not None else None, detail=choice)  # fmt: skip
    if done.closed:
        ads.learner.pending = True  # learn it before this worker's next decision
    return Response(status_code=204, headers={**NO_STORE, "X-Moviola-New": str(done.new).lower()})


_ONCE = {"member": 64, "slot": 16, "title": 64, "seconds": 12}  # GET /ads/vast: parameter → longest value
_SECONDS = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3})?$")
_BEACON = re.compile(r"^/ads/t/([0-9a-f]{32})/([A-Za-z]{1,24})$")


class AdsFastPath:
    """``GET /ads/vast`` and the beacons without FastAPI's per-request work (validation,
    dependencies, a thread hop): with every request deciding, that work cost as much as the
    decision. Plain, well-formed requests are answered here, on the event loop; anything else
    goes on to the routes, which validate and explain. Errors are the same ``{"error": ...}``."""

    def __init__(self, app: Any, ads: AdServer, signer: Signer, error: Callable[[Any], Response]) -> None:
        self.app, self.ads, self.signer, self.error = app, ads, signer, error

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        answer = None
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            if path == "/ads/vast":
                answer = self._vast(scope)
            elif path.startswith("/ads/t/"):
                answer = self._beacon(scope, path)
        if answer is None:
            await self.app(scope, receive, send)
            return
        await answer(scope, receive, send)

    def _params(self, scope: Any, allowed: dict[str, int]) -> dict[str, str] | None:
        found: dict[str, str] = {}
        for key, value in QueryParams(scope["query_string"]).multi_items():
            if key not in allowed or key in found or len(value) > allowed[key]:
                return None
            found[key] = value
        return found

    def _vast(self, scope: Any) -> Response | None:
        p = self._params(scope, _ONCE)
        if p is None or not p.get("member") or ("seconds" in p and not _SECONDS.match(p["seconds"])):
            return None
        seconds = float(p["seconds"]) if "seconds" in p else None
        if seconds is not None and not 1 <= seconds <= 600:
            return None
        base = _scope_base(scope)
        try:
            return vast_answer(self.ads, self.signer, base, p["member"], p.get("slot", "preroll"), p.get("title"), seconds)
        except MoviolaError as exc:
            return self.error(exc)

    def _beacon(self, scope: Any, path: str) -> Response | None:
        m = _BEACON.match(path)
        p = self._params(scope, {"s": 64, "code": 5, "v": 200})
        if m is None or p is None or "s" not in p or ("code" in p and not p["code"].isdigit()):
            return None
        try:
            return beacon_answer(self.ads, self.signer, m[1], m[2], p["s"], int(p["code"]) if "code" in p else None,
                                 p.get("v"))  # fmt: skip
        except MoviolaError as exc:
            return self.error(exc)


def _scope_base(scope: Any) -> str:
    """The request's scheme and host, as ``Request.base_url`` gives them."""
    headers = dict(scope["headers"])
    host = headers.get(b"host", b"").decode("latin-1")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}".rstrip("/")


def mount(app: FastAPI, service: Service, writer: Callable[..., str], error: Callable[[Any], Response]) -> None:
    """Add the ad endpoints to the stream server's app (``writer``: its API-key dependency;
    ``error``: its answer for a deliberate error)."""
    signer = Signer.for_service(service)
    ads = ad_server(service)
    base_dir = service.path("ads").resolve()

    @app.get("/ads/vast", tags=["ads"], response_class=Response,
             summary="VAST 4.2 for one ad break of a member (empty when nothing is eligible)")  # fmt: skip
    def vast(request: Request, member: Annotated[str, Query(min_length=1, max_length=64)],
             slot: Annotated[str, Query(max_length=16, description="preroll, midroll-N or postroll")] = "preroll",
             title: Annotated[str | None, Query(max_length=64, description="The title being watched.")] = None,
             seconds: Annotated[float | None, Query(ge=1, le=600, description="The break's length, at most.")] = None,
             ) -> Response:  # fmt: skip
        return vast_answer(ads, signer, _scope_base(request.scope), member, slot, title, seconds)

    @app.get("/ads/vmap", tags=["ads"], response_class=Response,
             summary="VMAP 1.0: a title's pre-, mid- and post-roll breaks for a member")  # fmt: skip
    def vmap(request: Request, member: Annotated[str, Query(min_length=1, max_length=64)],
             title: Annotated[str, Query(min_length=1, max_length=64)]) -> Response:  # fmt: skip
        ads.check_title(title)
        ads.members.facts(member)  # 404 for an unknown member
        breaks = plan_breaks(ads.content_seconds(title), ads.config)
        body = vmap_document(breaks, f"{_scope_base(request.scope)}/ads/vast", {"member": member, "title": title})
        return Response(body, media_type=XML, headers=NO_STORE)

    @app.get("/ads/t/{serving_id}/{event}", tags=["ads"], status_code=204, response_class=Response,
             summary="The collector: a tracking beacon, counted once")  # fmt: skip
    def beacon(serving_id: str, event: str, s: Annotated[str, Query(max_length=64)],
               code: Annotated[int | None, Query(ge=0, le=99999, description="An error's code.")] = None,
               v: Annotated[str | None, Query(max_length=200, description="What the viewer chose.")] = None,
               ) -> Response:  # fmt: skip
        return beacon_answer(ads, signer, serving_id, event, s, code, v)

    @app.get("/ads/files/{path:path}", include_in_schema=False)
    def files(path: str) -> FileResponse:
        target = (base_dir / path).resolve()
        if not target.is_relative_to(base_dir) or not target.is_file() or any(p.startswith(".") for p in Path(path).parts):
            raise NotFound(f"no such file {path[:64]!r}")
        return FileResponse(target, headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/ads/decisions/{serving_id}", tags=["ads"], summary="A decision and its reward (needs the API key)")
    def decision(serving_id: str, _key: str = Depends(writer)) -> dict[str, Any]:
        d, r = t.ad_decisions.c, t.ad_rewards.c
        with service.engine.connect() as conn:
            row = conn.execute(select(t.ad_decisions, r.reward, r.events, r.seq).select_from(
                t.ad_decisions.outerjoin(t.ad_rewards, r.serving_id == d.serving_id)).where(d.serving_id == serving_id)).first()  # fmt: skip
        if row is None:
            raise NotFound(f"no decision {serving_id[:64]!r}")
        out = dict(row._mapping)
        context = json.loads(out.pop("context"))
        out["probabilities"] = dict(zip(context["creatives"], context["probabilities"], strict=True))
        out["features"] = context["shared"]
        return out

    app.add_middleware(AdsFastPath, ads=ads, signer=signer, error=error)
