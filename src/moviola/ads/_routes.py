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
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select

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


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def mount(app: FastAPI, service: Service, writer: Callable[..., str]) -> None:
    """Add the ad endpoints to the stream server's app (``writer``: its API-key dependency)."""
    signer = Signer.for_service(service)
    ads = ad_server(service)
    base_dir = service.path("ads").resolve()

    def tracker(base: str) -> Any:
        return lambda sid, event: f"{base}/ads/t/{sid}/{event}?s={signer.sign(sid)}"

    @app.get("/ads/vast", tags=["ads"], response_class=Response,
             summary="VAST 4.2 for one ad break of a member (empty when nothing is eligible)")  # fmt: skip
    def vast(request: Request, member: Annotated[str, Query(min_length=1, max_length=64)],
             slot: Annotated[str, Query(max_length=16, description="preroll, midroll-N or postroll")] = "preroll",
             title: Annotated[str | None, Query(max_length=64, description="The title being watched.")] = None,
             seconds: Annotated[float | None, Query(ge=1, le=600, description="The break's length, at most.")] = None,
             ) -> Response:  # fmt: skip
        pod = ads.decide(member, slot, title_id=title, seconds=seconds)
        headers = {**NO_STORE, "X-Moviola-Ads": str(len(pod.decisions))}
        if pod.reason:
            headers["X-Moviola-No-Ad"] = pod.reason
        return Response(vast_document(pod, _base(request), tracker(_base(request))), media_type=XML, headers=headers)

    @app.get("/ads/vmap", tags=["ads"], response_class=Response,
             summary="VMAP 1.0: a title's pre-, mid- and post-roll breaks for a member")  # fmt: skip
    def vmap(request: Request, member: Annotated[str, Query(min_length=1, max_length=64)],
             title: Annotated[str, Query(min_length=1, max_length=64)]) -> Response:  # fmt: skip
        ads.check_title(title)
        ads.members.facts(member)  # 404 for an unknown member
        breaks = plan_breaks(ads.content_seconds(title), ads.config)
        body = vmap_document(breaks, f"{_base(request)}/ads/vast", {"member": member, "title": title})
        return Response(body, media_type=XML, headers=NO_STORE)

    @app.get("/ads/t/{serving_id}/{event}", tags=["ads"], status_code=204, response_class=Response,
             summary="The collector: a tracking beacon, counted once")  # fmt: skip
    def beacon(serving_id: str, event: str, s: Annotated[str, Query(max_length=64)],
               code: Annotated[int | None, Query(ge=0, le=99999, description="An error's code.")] = None,
               v: Annotated[str | None, Query(max_length=200, description="What the viewer chose.")] = None,
               ) -> Response:  # fmt: skip
        done = record_beacon(service, signer, ads.config, serving_id, event, s,
                             value=float(code) if code is not None else None, detail=v)  # fmt: skip
        if done.closed:
            ads.learner.pending = True  # learn it before this worker's next decision
        return Response(status_code=204, headers={**NO_STORE, "X-Moviola-New": str(done.new).lower()})

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
