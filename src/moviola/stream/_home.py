"""A member's home page as rows, and the catalog's title cards (I/O).

Rows, in order, none repeating another's titles, titles the member rated or played left out:

1. **Top picks** — the newest model's scores for the member's titles (ratings and plays,
   read from the store now) plus this session's plays and clicks, which weigh
   :data:`SESSION_WEIGHT` times as much: a title played a moment ago changes the next
   home page at once, without retraining.
2. **Because you watched X** — for the newest title of this session (else the member's
   latest favourite rating), the titles the model puts closest to X; a second such row for
   the one before.
3. **Genres ranked for the member** — genres weighed by the member's titles (this
   session's counting more); each row ranked by the member's scores.
4. **New arrivals** — the titles added to the catalog last (newest year first among titles
   added together).

A member with no titles the model knows gets popular titles and genres. Every answer
names the model version it used.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from sqlalchemy import func, select

from . import _schema as t
from ._events import event_titles, session_titles
from ._members import NotFound, require_member
from ._model_store import TrainedModel, load_newest
from ._posters import typographic_poster, write_poster
from ._recommend import _histories
from ._service import Service

ROW = 12
SESSION_WEIGHT = 3.0
GENRE_ROWS = 3
BECAUSE_ROWS = 2


@dataclass(frozen=True)
class Title:
    title_id: str
    title: str
    year: int | None
    genres: tuple[str, ...]
    synopsis: str | None
    poster: str | None
    trailer: str | None
    source: str
    added_at: int


@dataclass(frozen=True)
class Catalog:
    titles: dict[str, Title]
    by_genre: dict[str, list[str]]
    newest: list[str]  # title ids, newest first


_CACHE: dict[str, tuple[tuple[Any, ...], Catalog]] = {}
_LOCK = threading.Lock()


def catalog(service: Service) -> Catalog:
    """The catalog, read once and again only when it changed (kept per service)."""
    with service.engine.connect() as conn:
        stamp = (*conn.execute(select(func.count(), func.max(t.titles.c.added_at)).select_from(t.titles)).one(),
                 conn.execute(select(func.count()).select_from(t.title_genres)).scalar_one(),
                 conn.execute(select(func.max(t.imports.c.imported_at), func.count()).select_from(t.imports)).one())  # fmt: skip
        key = str(service.root.resolve())
        with _LOCK:
            cached = _CACHE.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        genres: dict[str, list[str]] = {}
        for tid, genre in conn.execute(select(t.title_genres.c.title_id, t.title_genres.c.genre)):
            genres.setdefault(tid, []).append(genre)
        titles = {r.title_id: Title(r.title_id, r.title, r.year, tuple(sorted(genres.get(r.title_id, []))), r.synopsis,
                                    r.poster, r.trailer, r.source, int(r.added_at))
                  for r in conn.execute(select(t.titles))}  # fmt: skip
    by_genre: dict[str, list[str]] = {}
    for tid in sorted(titles):
        for genre in titles[tid].genres:
            by_genre.setdefault(genre, []).append(tid)
    newest = sorted(titles, key=lambda x: (-titles[x].added_at, -(titles[x].year or 0), x))
    result = Catalog(titles, by_genre, newest)
    with _LOCK:
        _CACHE[key] = (stamp, result)
    return result


def _local(service: Service, rel: str | None) -> str | None:
    """``rel`` when it names a file inside the service folder."""
    if not rel or "://" in rel:
        return None
    root = service.root.resolve()
    path = (root / rel).resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) and path.is_file() else None


def poster_url(service: Service, title: Title) -> str:
    if title.poster and title.poster.startswith(("https://", "http://")):
        return title.poster
    local = _local(service, title.poster)
    if local is not None:
        return "/" + quote(local)
    return f"/titles/{quote(title.title_id, safe='')}/poster"


def trailer_url(service: Service, title: Title) -> str | None:
    if title.trailer and title.trailer.startswith(("https://", "http://")):
        return title.trailer
    local = _local(service, title.trailer)
    return "/" + quote(local) if local is not None else None


def poster_file(service: Service, title_id: str) -> Path:
    """The title's poster file: its own, else a typographic one made now and kept in
    ``posters/`` (named by a digest of the id, so any id makes a safe file name)."""
    title = catalog(service).titles.get(title_id)
    if title is None:
        raise NotFound(f"unknown title {title_id[:64]!r}")
    local = _local(service, title.poster)
    if local is not None:
        return service.path(local)
    digest = hashlib.sha256(f"{title.title_id}\0{title.title}\0{title.year}\0{'|'.join(title.genres)}".encode()).hexdigest()
    path = service.path("posters", f"typo-{digest[:24]}.jpg")
    if not path.is_file():
        write_poster(path, typographic_poster(title.title_id, title.title, title.year, list(title.genres)),
                     service.stamp("moviola stream serve"), f"typographic poster for {title.title}")
    return path


def card(service: Service, title: Title, because: str | None = None, score: float | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"title_id": title.title_id, "title": title.title, "year": title.year,
                            "genres": list(title.genres), "poster": poster_url(service, title)}  # fmt: skip
    if score is not None:
        item["score"] = round(score, 4)
    if because is not None:
        item["because"] = because
    return item


def title_details(service: Service, title_id: str) -> dict[str, Any]:
    """``{"title_id", "title", "year", "genres", "synopsis", "poster", "trailer", "source"}``."""
    title = catalog(service).titles.get(title_id)
    if title is None:
        raise NotFound(f"unknown title {title_id[:64]!r}")
    return {**card(service, title), "synopsis": title.synopsis, "trailer": trailer_url(service, title),
            "source": title.source}  # fmt: skip


def home(service: Service, member: str, *, session: str | None = None, row: int = ROW) -> dict[str, Any]:
    """``{"member", "model", "session", "rows": [{"id", "title", "reason", "items": [...]}]}``."""
    require_member(service, member)
    model = load_newest(service)
    cat = catalog(service)
    index = model.index()
    rated = _histories(service, [member]).get(member, [])
    played = event_titles(service, member, ("play",))
    now = [x for x in session_titles(service, member, session) if x in cat.titles]
    watched = set(rated) | set(played)
    base = [index[x] for x in dict.fromkeys([*rated, *played]) if x in index]
    recent = [index[x] for x in now if x in index]
    scores = _scores(model, base, recent)
    blocked = np.zeros(len(model.titles), dtype=bool)
    blocked[[index[x] for x in watched if x in index]] = True
    shown: set[str] = set()
    rows: list[dict[str, Any]] = []
    names = {x: cat.titles[x].title for x in cat.titles}

    def take(order: np.ndarray, because: Any, limit: int) -> list[dict[str, Any]]:
        items = []
        for j in order:
            tid = model.titles[int(j)]
            if blocked[j] or tid in shown or tid not in cat.titles or not np.isfinite(scores[j]):
                continue
            items.append(card(service, cat.titles[tid], because(int(j)), float(scores[j])))
            shown.add(tid)
            if len(items) == limit:
                break
        return items

    history = [*base, *recent]
    mine = list(dict.fromkeys(history))
    if mine:
        def reason(j: int) -> str:
            source = model.titles[mine[int(np.argmax(model.matrix_for(len(mine))[mine, j]))]]
            verb = "watched" if source in played or source in now else "rated"
            return f"because you {verb} {names.get(source, source)}"
    else:
        def reason(j: int) -> str:
            return f"popular on this service (rated by {round(float(model.popularity[j])):,} members)"
    order = np.argsort(-scores, kind="stable")
    items = take(order, reason, row)
    rows.append({"id": "top-picks", "title": "Top picks for you",
                 "reason": ("ranked for you from what you rated and watched" + (", this session most" if recent else ""))
                 if mine else "popular on this service", "items": items})  # fmt: skip
    for anchor in _anchors(service, member, now, rated, index)[:BECAUSE_ROWS]:
        name = names.get(model.titles[anchor], model.titles[anchor])
        near = np.argsort(-model.weights[anchor].astype(np.float64), kind="stable")
        near = near[near != anchor]
        items = take(near, lambda _j, name=name: f"because you watched {name}", row)
        if items:
            rows.append({"id": f"because-{model.titles[anchor]}", "title": f"Because you watched {name}",
                         "reason": f"members who watched {name} also watched these", "anchor": model.titles[anchor],
                         "items": items})  # fmt: skip
    for genre, why in _genres(cat, model, mine, recent)[:GENRE_ROWS]:
        members_of = np.array([index[x] for x in cat.by_genre.get(genre, []) if x in index], dtype=np.int64)
        order = members_of[np.argsort(-scores[members_of], kind="stable")] if len(members_of) else members_of
        items = take(order, lambda _j, genre=genre: f"{genre}, ranked for you", row)
        if len(items) >= 3:
            rows.append({"id": f"genre-{genre}", "title": genre, "reason": why, "items": items})
        else:
            shown.difference_update(i["title_id"] for i in items)
    arrivals = []
    for tid in cat.newest:
        if tid in shown or tid in watched:
            continue
        arrivals.append(card(service, cat.titles[tid], "new on this service"))
        shown.add(tid)
        if len(arrivals) == row:
            break
    rows.append({"id": "new-arrivals", "title": "New arrivals", "reason": "added to the catalog last",
                 "items": arrivals})  # fmt: skip
    return {"member": member, "model": model.version, "session": session, "rows": [r for r in rows if r["items"]]}


def _scores(model: TrainedModel, base: list[int], recent: list[int]) -> np.ndarray:
    if not base and not recent:
        return model.popularity.astype(np.float64)
    scores = np.zeros(len(model.titles), dtype=np.float64)
    weights = model.matrix_for(len(set(base) | set(recent)))
    if base:
        scores += weights[sorted(set(base))].sum(axis=0)
    if recent:
        scores += SESSION_WEIGHT * weights[sorted(set(recent))].sum(axis=0)
    return scores


def _anchors(service: Service, member: str, now: list[str], rated: list[str], index: dict[str, int]) -> list[int]:
    """The titles 'because you watched' rows are about: this session's, newest first, then
    the member's latest best-rated titles."""
    found = [index[x] for x in now if x in index]
    if len(found) < BECAUSE_ROWS and rated:
        with service.engine.connect() as conn:
            rows = conn.execute(select(t.ratings.c.title_id).where(t.ratings.c.member_id == member)
                                .order_by(t.ratings.c.rating.desc(), t.ratings.c.ts.desc(), t.ratings.c.title_id)
                                .limit(10)).all()  # fmt: skip
        found += [index[r[0]] for r in rows if r[0] in index]
    return list(dict.fromkeys(found))


def _genres(cat: Catalog, model: TrainedModel, mine: list[int], recent: list[int]) -> list[tuple[str, str]]:
    """Genres ranked for the member, each with the reason."""
    weight: dict[str, float] = {}
    if mine:
        for j in mine:
            title = cat.titles.get(model.titles[j])
            for genre in title.genres if title else ():
                weight[genre] = weight.get(genre, 0.0) + (SESSION_WEIGHT if j in recent else 1.0)
        total = sum(1 for j in mine if cat.titles.get(model.titles[j]))
        return [(g, f"{round(100 * w / max(1.0, total + (SESSION_WEIGHT - 1) * len(recent)))}% of what you watch is {g}")
                for g, w in sorted(weight.items(), key=lambda x: (-x[1], x[0]))]  # fmt: skip
    index = model.index()
    for genre, ids in cat.by_genre.items():
        weight[genre] = float(sum(model.popularity[index[x]] for x in ids if x in index))
    return [(g, f"{g} is popular on this service") for g, _ in sorted(weight.items(), key=lambda x: (-x[1], x[0]))]
