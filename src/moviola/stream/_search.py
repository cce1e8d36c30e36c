"""``moviola stream search``: one query against the catalog, for everyone or for a member (I/O).

:func:`search` is what the CLI and the HTTP server call per request. The catalog's index
(:mod:`._search_index`, and the titles' vectors, :mod:`._search_semantic`) is built once per
catalog state and kept in memory; the state is a fingerprint read from the store (titles:
count and newest ``added_at``; genre rows; imports: count and newest), checked again when
the last check is older than ``max_staleness`` seconds (default 1), so new titles are found
within a second without reading the catalog on every request.

A member's titles (ratings, and plays and clicks from events) are read per request and scored
by the newest served model (:func:`._model_store.load_newest`, kept in memory), so the
ranking follows what they watched; without a member, popularity orders equally good
matches, the same for everyone. That read is one statement (the member, their titles and the
newest model version in one round trip); the model is loaded again only when the version
changes.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import bindparam, desc, func, literal_column, select, union_all

from ..core import InputError, ProjectError
from ..core._textio import CONTROL_CHARS
from ..script._embedding import Embedder
from . import _schema as t
from ._members import NotFound
from ._model_store import TrainedModel, load_newest
from ._schema import ID_PATTERN
from ._search_embeddings import (
    loaded_embedder,
    model_label,
    query_vector,
    search_embedder,
    title_vectors,
    why_not,
)
from ._search_index import CatalogTitle, SearchIndex, build_index, lexical_scores
from ._search_rank import Filters, rank_query
from ._search_semantic import SemanticIndex, build_semantic, nearest_titles, semantic_strength
from ._service import Service
from ._text_fold import plain_tokens, tokens

MAX_QUERY = 200  # characters
MAX_WORDS = 16
MAX_K = 100
HISTORY_EVENTS = ("play", "click")
_YEARS = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?$")


@dataclass
class _CatalogState:
    fingerprint: str
    checked_at: float
    index: SearchIndex
    semantic: dict[str, SemanticIndex] = field(default_factory=dict)  # by model label
    model_positions: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # model version → catalog rows
    model: TrainedModel | None = None  # the newest model as last loaded


@dataclass(frozen=True)
class SearchInfo:
    """How one search went, for the server's ``Server-Timing`` header (not in the answer)."""

    vector_cached: bool | None  # the query's vector came from the cache (None: no meaning pass)


_STATES: dict[str, _CatalogState] = {}
_LOCK = threading.Lock()
_BUILD = threading.Lock()  # one index build at a time: concurrent searches wait, not build it again
_KEYS: dict[Path, str] = {}  # an absolute service folder → its resolved path (a state's key)


def parse_years(text: str) -> tuple[int, int]:
    """``1995`` or ``1990-1999`` → an inclusive range."""
    m = _YEARS.match(text)
    if not m or int(m[2] or m[1]) < int(m[1]):
        raise InputError(
            f"--year: {text[:40]!r} is not a year or a range of years (e.g. 1995 or 1990-1999)"
        )
    return int(m[1]), int(m[2] or m[1])


def check_query(query: str, where: Path | None = None) -> str:
    """The query, stripped; refused when empty, too long or holding control characters."""
    if len(query) > MAX_QUERY:
        raise InputError(
            f"the query is too long ({len(query):,} characters; at most {MAX_QUERY})", where
        )
    if CONTROL_CHARS.search(query):
        raise InputError("the query holds control characters; give words to search for", where)
    stripped = " ".join(query.split())
    if not stripped:
        raise InputError("the query is empty; give words to search for", where)
    return stripped


def search(service: Service, query: str, member: str | None = None, k: int = 10,
           genres: Sequence[str] | None = None, years: tuple[int, int] | None = None, *,
           semantic: bool = True, max_staleness: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """``{"query", "member", "model", "semantic", "results": [{"title_id", "title", "year",
    "score", "matched"}], "total", "facets"}`` for one query."""
    return search_with_info(service, query, member, k, genres, years, semantic=semantic,
                            max_staleness=max_staleness)[0]  # fmt: skip


def search_with_info(service: Service, query: str, member: str | None = None, k: int = 10,
                     genres: Sequence[str] | None = None, years: tuple[int, int] | None = None, *,
                     semantic: bool = True, max_staleness: float = 1.0,
                     ) -> tuple[dict[str, Any], SearchInfo]:  # fmt: skip
    """:func:`search`'s answer, and how it went. An unknown member is :class:`NotFound`
    (an :class:`InputError`: one line and exit 2 for the command, 404 for the server)."""
    text = check_query(query, service.root)
    if not 1 <= k <= MAX_K:
        raise InputError(f"--k must be between 1 and {MAX_K}, not {k}", service.root)
    if member is not None and not ID_PATTERN.match(member):
        raise InputError(f"--member: {member[:40]!r} is not a member id", service.root)
    if years is not None and years[0] > years[1]:
        raise InputError(
            f"--year: {years[0]}-{years[1]} is not a range (the first year is later)", service.root
        )
    state = _state(service, max_staleness)
    personal, model_version = None, None
    if member is not None:  # first: an unknown member costs no ranking
        personal, model_version = _member_scores(service, state, member)
    index = state.index
    words = tokens(text)[:MAX_WORDS]
    lexical = lexical_scores(index, words)
    exact = index.exact.get(" ".join(plain_tokens(text)), [])
    meaning, cached = None, None
    embedder = search_embedder() if semantic and index.size else None
    if embedder is not None and words:
        label = model_label(embedder)
        with _LOCK:
            semantic_index = state.semantic.get(label)
        if semantic_index is None:
            semantic_index = _semantic_index(service, state, embedder, label)
        vector, cached = query_vector(embedder, " ".join(text.split()[:MAX_WORDS]))
        docs, cosines = nearest_titles(semantic_index, vector)
        meaning = (docs, semantic_strength(cosines))
    ranking = rank_query(index, lexical, exact, k=k, semantic=meaning, personal=personal,
                         filters=Filters(tuple(genres or ()), years))  # fmt: skip
    results = [{"title_id": index.titles[h.doc].title_id, "title": index.titles[h.doc].title,
                "year": index.titles[h.doc].year, "score": round(h.score, 4), "matched": h.matched}
               for h in ranking.hits]  # fmt: skip
    answer: dict[str, Any] = {"query": text, "member": member, "model": model_version,
                              "semantic": embedder is not None, "results": results,
                              "total": ranking.total, "facets": ranking.facets}  # fmt: skip
    if semantic and embedder is None and index.size:
        answer["semantic_unavailable"] = why_not() or "the sentence model is not loaded"
    return answer, SearchInfo(cached)


def _semantic_index(
    service: Service, state: _CatalogState, embedder: Embedder, label: str
) -> SemanticIndex:
    """The titles' vectors and their inverted file, built once (others wait for it)."""
    with _BUILD:
        with _LOCK:
            found = state.semantic.get(label)
        if found is None:
            texts = [title.semantic_text() for title in state.index.titles]
            found = build_semantic(title_vectors(service, texts, state.fingerprint, embedder))
            with _LOCK:
                state.semantic[label] = found
    return found


def search_ready(service: Service, max_staleness: float = 1.0) -> bool:
    """Whether a search now would find the catalog's index built and current, and the
    sentence model loaded with the titles' vectors: then it builds nothing (the server runs
    it on its event loop; else on a thread). Checks the catalog's fingerprint when the last
    check is older than ``max_staleness`` seconds, as the search would."""
    key = _key(service)
    with _LOCK:
        state = _STATES.get(key)
    if state is None:
        return False
    now = time.monotonic()
    if now - state.checked_at > max_staleness:
        if _fingerprint(service) != state.fingerprint:
            return False
        state.checked_at = now
    embedder = loaded_embedder()
    if embedder is None:
        return why_not() is not None  # not loaded yet: not ready; failed: words only, ready
    with _LOCK:
        return model_label(embedder) in state.semantic or not state.index.size


def _fingerprint(service: Service) -> str:
    with service.engine.connect() as conn:
        titles = conn.execute(
            select(func.count(), func.max(t.titles.c.added_at)).select_from(t.titles)
        ).one()
        genres = conn.execute(select(func.count()).select_from(t.title_genres)).scalar()
        imports = conn.execute(
            select(func.count(), func.max(t.imports.c.imported_at)).select_from(t.imports)
        ).one()
    return f"titles {titles[0]}@{titles[1]} genres {genres} imports {imports[0]}@{imports[1]}"


def _key(service: Service) -> str:
    """The state's key: the store's URL, or the folder resolved (once per absolute folder:
    resolving costs more than a cached search's ranking)."""
    if service.db:
        return service.db
    if not service.root.is_absolute():
        return str(service.root.resolve())
    with _LOCK:
        found = _KEYS.get(service.root)
    if found is None:
        found = str(service.root.resolve())
        with _LOCK:
            if len(_KEYS) > 1000:
                _KEYS.clear()
            _KEYS[service.root] = found
    return found


def _state(service: Service, max_staleness: float) -> _CatalogState:
    key = _key(service)
    now = time.monotonic()
    with _LOCK:
        state = _STATES.get(key)
    if state is not None and now - state.checked_at <= max_staleness:
        return state
    fingerprint = _fingerprint(service)
    if state is not None and state.fingerprint == fingerprint:
        state.checked_at = now
        return state
    with _BUILD:
        with _LOCK:
            state = _STATES.get(key)
        if state is not None and state.fingerprint == fingerprint:
            return state  # built while this search waited
        fresh = _CatalogState(fingerprint, now, build_index(*_read_catalog(service)))
        with _LOCK:
            _STATES[key] = fresh
    return fresh


def _read_catalog(service: Service) -> tuple[list[CatalogTitle], dict[str, int]]:
    genres: dict[str, list[str]] = {}
    with service.engine.connect() as conn:
        for tid, genre in conn.execute(select(t.title_genres.c.title_id, t.title_genres.c.genre)
                                       .order_by(t.title_genres.c.title_id, t.title_genres.c.genre)):  # fmt: skip
            genres.setdefault(tid, []).append(genre)
        rows = conn.execute(select(t.titles.c.title_id, t.titles.c.title, t.titles.c.year, t.titles.c.synopsis,
                                   t.titles.c.keywords).order_by(t.titles.c.title_id)).all()  # fmt: skip
        counts = {tid: int(n) for tid, n in conn.execute(
            select(t.ratings.c.title_id, func.count()).group_by(t.ratings.c.title_id))}  # fmt: skip
    titles = [CatalogTitle(tid, title, year, tuple(genres.get(tid, ())), synopsis, keywords)
              for tid, title, year, synopsis, keywords in rows]  # fmt: skip
    return titles, counts


def _member_scores(
    service: Service, state: _CatalogState, member: str
) -> tuple[np.ndarray | None, str | None]:
    """The member's score for every catalog title from the newest model, and its version
    (None, None without a model; None and the version when the model knows none of their titles)."""
    history, version = _history(service, member)
    if version is None:
        return None, None
    model = state.model
    if model is None or model.version != version:
        try:
            model = load_newest(service)
        except ProjectError:
            return None, None
        state.model = model
    positions = _positions(state, model)
    rows = model.index()
    known = [i for i in (rows.get(tid) for tid in history) if i is not None]
    if not known:
        return None, model.version
    mine = sorted(set(known))
    by_model = model.matrix_for(len(mine))[mine].sum(axis=0)
    scores = np.zeros(state.index.size, dtype=np.float32)
    inside = positions >= 0
    scores[positions[inside]] = by_model[inside]
    return scores, model.version


def _positions(state: _CatalogState, model: TrainedModel) -> np.ndarray:
    """For each of the model's titles, its row in the catalog's index (-1: not in it)."""
    with _LOCK:
        found = state.model_positions.get(model.version)
    if found is None:
        rows = {title.title_id: i for i, title in enumerate(state.index.titles)}
        found = np.array([rows.get(tid, -1) for tid in model.titles], dtype=np.int64)
        with _LOCK:
            state.model_positions = {model.version: found}
    return found


_MEMBER = bindparam("member", type_=t.members.c.member_id.type)
_NEWEST = (
    select(t.model_versions.c.version)
    .order_by(desc(t.model_versions.c.created_at), desc(t.model_versions.c.version))
    .limit(1)
    .scalar_subquery()
)
# One round trip: the member (kind 0), their rated (1), played or clicked (2) titles, and the
# newest model version (3). Built once: building a statement costs more than running it.
_MEMBER_READ = union_all(
    select(literal_column("0").label("kind"), t.members.c.member_id.label("value"))
    .where(t.members.c.member_id == _MEMBER),
    select(literal_column("1"), t.ratings.c.title_id).where(t.ratings.c.member_id == _MEMBER),
    select(literal_column("2"), t.events.c.title_id).where(
        (t.events.c.member_id == _MEMBER) & t.events.c.kind.in_(HISTORY_EVENTS)
        & t.events.c.title_id.is_not(None)),
    select(literal_column("3"), _NEWEST),
)  # fmt: skip


def _history(service: Service, member: str) -> tuple[list[str], str | None]:
    """The titles the member rated, played or clicked, and the newest model version (None:
    none trained); an unknown member is refused."""
    with service.engine.connect() as conn:
        rows = conn.execute(_MEMBER_READ, {"member": member}).all()
    if not any(kind == 0 for kind, _ in rows):
        raise NotFound(f"unknown member {member[:64]!r}", service.root)
    version = next((value for kind, value in rows if kind == 3), None)
    rated = [value for kind, value in rows if kind == 1]
    seen = [value for kind, value in rows if kind == 2]
    return list(dict.fromkeys([*rated, *seen])), version
