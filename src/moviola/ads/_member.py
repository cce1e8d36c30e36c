"""What an ad decision knows of a member (read from the store, kept briefly in memory).

- their attributes (age band, gender, occupation), for targeting and as features;
- the genres of the titles they rated or played (shares, and the three most watched);
- their taste as the recommender sees it: the served model's title-to-title weights are
  reduced once per model version to a few dimensions (a truncated SVD), and a member is the
  normalised mean of their titles' vectors. Without a trained model the vector is empty
  and the bandit decides from the other features.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import bindparam, select, union_all

from ..core import ProjectError
from ..stream import _schema as t
from ..stream._home import Catalog, catalog
from ..stream._members import NotFound
from ..stream._model_store import load_newest, newest_version
from ..stream._service import Service

DIMENSIONS = 8
MEMBER_TTL = 30.0  # seconds a member's features are reused
CATALOG_TTL = 10.0
MAX_CACHED = 20_000


# Built once: a decision reads a member with two statements, not their expressions rebuilt.
_MEMBER = select(t.members.c.age, t.members.c.gender, t.members.c.occupation).where(
    t.members.c.member_id == bindparam("member"))  # fmt: skip
_TITLES = union_all(
    select(t.ratings.c.title_id).where(t.ratings.c.member_id == bindparam("member")),
    select(t.events.c.title_id).where(t.events.c.member_id == bindparam("member"), t.events.c.kind == "play",
                                      t.events.c.title_id.is_not(None)),
)  # fmt: skip


@dataclass(frozen=True)
class MemberFacts:
    member_id: str
    age: int | None
    gender: str | None
    occupation: str | None
    genres: dict[str, float]  # share of their titles in each genre
    top_genres: tuple[str, ...]  # the three most watched
    vector: tuple[float, ...]  # the recommender's view of their taste (may be empty)

    @property
    def attributes(self) -> tuple[str, ...]:
        out = []
        if self.age is not None:
            out.append(f"age{min(self.age // 10 * 10, 70)}s")
        if self.gender:
            out.append(f"g_{self.gender}")
        if self.occupation:
            out.append(f"o_{self.occupation}")
        return tuple(out)


class MemberReader:
    """Member facts and catalog genres for one service, cached briefly (thread-safe)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._lock = threading.Lock()
        self._members: OrderedDict[str, tuple[float, MemberFacts]] = OrderedDict()
        self._catalog: tuple[float, Catalog] | None = None
        self._vectors: tuple[str, dict[str, int], NDArray[np.float32]] | None = None
        self._model_checked = 0.0
        self._computing = threading.Lock()  # one SVD per model version, however many ask at once

    def catalog(self) -> Catalog:
        now = time.monotonic()
        with self._lock:
            if self._catalog is not None and now - self._catalog[0] < CATALOG_TTL:
                return self._catalog[1]
        found = catalog(self.service)
        with self._lock:
            self._catalog = (now, found)
        return found

    def title_genres(self, title_id: str | None) -> tuple[str, ...]:
        if title_id is None:
            return ()
        title = self.catalog().titles.get(title_id)
        return title.genres if title is not None else ()

    def facts(self, member_id: str) -> MemberFacts:
        """The member's facts; ``NotFound`` for a member the service does not know."""
        now = time.monotonic()
        with self._lock:
            hit = self._members.get(member_id)
            if hit is not None and now - hit[0] < MEMBER_TTL:
                return hit[1]
        facts = self._read(member_id)
        with self._lock:
            self._members[member_id] = (now, facts)
            self._members.move_to_end(member_id)
            while len(self._members) > MAX_CACHED:
                self._members.popitem(last=False)
        return facts

    def forget(self, member_id: str) -> None:
        """Read the member afresh next time (after they did something)."""
        with self._lock:
            self._members.pop(member_id, None)

    def _read(self, member_id: str) -> MemberFacts:
        with self.service.engine.connect() as conn:
            row = conn.execute(_MEMBER, {"member": member_id}).first()
            if row is None:
                raise NotFound(f"unknown member {member_id[:64]!r}")
            titles = [r[0] for r in conn.execute(_TITLES, {"member": member_id})]
        titles = list(dict.fromkeys(titles))
        cat = self.catalog()
        counts: Counter[str] = Counter(g for tid in titles if tid in cat.titles for g in cat.titles[tid].genres)
        total = sum(counts.values())
        genres = {g: n / total for g, n in counts.items()} if total else {}
        top = tuple(g for g, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:3])
        return MemberFacts(member_id, row.age, row.gender, (row.occupation or None), genres, top, self._vector(titles))

    def _vector(self, titles: list[str]) -> tuple[float, ...]:
        table = self._title_vectors()
        if table is None or not titles:
            return ()
        _, index, vectors = table
        rows = [index[tid] for tid in titles if tid in index]
        if not rows:
            return ()
        mean = vectors[rows].mean(axis=0)
        norm = float(np.linalg.norm(mean))
        return tuple(round(float(x), 5) for x in (mean / norm if norm > 0 else mean))

    def _title_vectors(self) -> tuple[str, dict[str, int], NDArray[np.float32]] | None:
        """Each title's vector under the newest model (computed once per version)."""
        now = time.monotonic()
        with self._lock:
            current = self._vectors
            if current is not None and now - self._model_checked < CATALOG_TTL:
                return current
            self._model_checked = now
        version = newest_version(self.service)
        if version is None:
            return None
        if current is not None and current[0] == version.version:
            return current
        with self._computing:
            with self._lock:  # another thread may have computed it while this one waited
                current = self._vectors
            if current is not None and current[0] == version.version:
                return current
            try:
                model = load_newest(self.service)
            except ProjectError:
                return None
            table = (model.version, model.index(), title_vectors(model.weights, DIMENSIONS))
            with self._lock:
                self._vectors = table
        return table


def title_vectors(weights: NDArray[np.float32], k: int) -> NDArray[np.float32]:
    """Rows of a truncated SVD of the symmetrised title weights: titles the recommender
    relates sit close together. Deterministic (a fixed random start)."""
    from scipy.sparse.linalg import svds

    w = np.asarray(weights, dtype=np.float64)
    sym = (w + w.T) / 2
    k = max(1, min(k, sym.shape[0] - 2))
    rng = np.random.default_rng(0)
    u, s, _ = svds(sym, k=k, v0=rng.standard_normal(sym.shape[0]))
    order = np.argsort(-s)
    vectors = u[:, order] * np.sqrt(np.abs(s[order]))
    # a sign per dimension that does not depend on the solver: the largest entry positive
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(vectors.shape[1])])
    out: NDArray[np.float32] = (vectors * np.where(signs == 0, 1, signs)).astype(np.float32)
    return out
