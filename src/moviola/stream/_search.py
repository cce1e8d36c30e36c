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
matches, the same for everyone.
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
from sqlalchemy import func, select

from ..core import InputError, ProjectError
from ..core._textio import CONTROL_CHARS
from . import _schema as t
from ._model_store import TrainedModel, load_newest
from ._schema import ID_PATTERN
from ._search_embeddings import embed_query, model_label, search_embedder, title_vectors, why_not
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


_STATES: dict[str, _CatalogState] = {}
_LOCK = threading.Lock()


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
    index = state.index
    words = tokens(text)[:MAX_WORDS]
    lexical = lexical_scores(index, words)
    exact = index.exact.get(" ".join(plain_tokens(text)), [])
    meaning = None
    embedder = search_embedder() if semantic and index.size else None
    if embedder is not None and words:
        label = model_label(embedder)
        with _LOCK:
            semantic_index = state.semantic.get(label)
        if semantic_index is None:
            texts = [title.semantic_text() for title in index.titles]
            semantic_index = build_semantic(
                title_vectors(service, texts, state.fingerprint, embedder)
            )
            with _LOCK:
                state.semantic[label] = semantic_index
        docs, cosines = nearest_titles(
            semantic_index, embed_query(embedder, " ".join(text.split()[:MAX_WORDS]))
        )
        meaning = (docs, semantic_strength(cosines))
    personal, model_version = None, None
    if member is not None:
        personal, model_version = _member_scores(service, state, member)
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
    return answer


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


def _state(service: Service, max_staleness: float) -> _CatalogState:
    key = service.db or str(service.root.resolve())
    now = time.monotonic()
    with _LOCK:
        state = _STATES.get(key)
    if state is not None and now - state.checked_at <= max_staleness:
        return state
    fingerprint = _fingerprint(service)
    if state is not None and state.fingerprint == fingerprint:
        state.checked_at = now
        return state
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
        rows = conn.execute(select(t.titles.c.title_id, t.titles.c.title, t.titles.c.year, t.titles.c.synopsis)
                            .order_by(t.titles.c.title_id)).all()  # fmt: skip
        counts = {tid: int(n) for tid, n in conn.execute(
            select(t.ratings.c.title_id, func.count()).group_by(t.ratings.c.title_id))}  # fmt: skip
    titles = [CatalogTitle(tid, title, year, tuple(genres.get(tid, ())), synopsis)
              for tid, title, year, synopsis in rows]  # fmt: skip
    return titles, counts


def _member_scores(
    service: Service, state: _CatalogState, member: str
) -> tuple[np.ndarray | None, str | None]:
    """The member's score for every catalog title from the newest model, and its version
    (None, None without a model; None and the version when the model knows none of their titles)."""
    history = _history(service, member)
    try:
        model = load_newest(service)
    except ProjectError:
        return None, None
    positions = _positions(state, model)
    rows = model.index()
    known = [i for i in (rows.get(tid) for tid in history) if i is not None]
    if not known:
        return None, model.version
    by_model = model.weights[sorted(set(known))].sum(axis=0)
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


def _history(service: Service, member: str) -> list[str]:
    """The titles the member rated, played or clicked; an unknown member is refused."""
    with service.engine.connect() as conn:
        if (
            conn.execute(
                select(t.members.c.member_id).where(t.members.c.member_id == member)
            ).first()
            is None
        ):
            raise InputError(f"unknown member {member!r}", service.root)
        rated = [
            r[0]
            for r in conn.execute(
                select(t.ratings.c.title_id).where(t.ratings.c.member_id == member)
            )
        ]
        seen = [r[0] for r in conn.execute(select(t.events.c.title_id).where(
            (t.events.c.member_id == member) & t.events.c.kind.in_(HISTORY_EVENTS) & t.events.c.title_id.is_not(None)))]  # fmt: skip
    return list(dict.fromkeys([*rated, *seen]))
