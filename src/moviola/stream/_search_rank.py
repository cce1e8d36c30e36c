"""One query's ranking: words, meaning, the member (or popularity), filters, facets (no I/O).

A title's relevance is the square of the share c of the query's words it matched, plus
c/2 times its lexical score against the best title's, plus ``SEMANTIC_WEIGHT`` times how close it is in meaning.
So a title matching every word ranks above one matching fewer, and meaning fills in where
words do not reach ("buildings falling down"). Then a prior, the same size for every
matched title: the member's scores from the served model (``MEMBER_WEIGHT``), or, without a
member, the title's popularity (``POPULARITY_WEIGHT``), the same for everyone. A broad
query ("comedy", "90s") matches many titles equally well, so the prior orders them; a
specific one is decided by its words. An exact title match always ranks first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._search_index import LexicalScores, SearchIndex, matched_words

SEMANTIC_WEIGHT = 0.6
MEMBER_WEIGHT = 0.45
POPULARITY_WEIGHT = 0.15
EXACT_BONUS = 10.0

FloatArray = NDArray[np.float32]


@dataclass(frozen=True)
class Filters:
    genres: tuple[str, ...] = ()  # any of these (as the catalog spells them, case folded)
    years: tuple[int, int] | None = None  # inclusive

    def mask(self, index: SearchIndex) -> NDArray[np.bool_] | None:
        keep: NDArray[np.bool_] | None = None
        if self.genres:
            wanted = {g.casefold() for g in self.genres}
            cols = [j for j, g in enumerate(index.genre_names) if g.casefold() in wanted]
            keep = (
                index.genre_matrix[:, cols].sum(axis=1) > 0
                if cols
                else np.zeros(index.size, dtype=bool)
            )
        if self.years is not None:
            lo, hi = self.years
            in_range = (index.years >= lo) & (index.years <= hi)
            keep = in_range if keep is None else keep & in_range
        return keep


@dataclass(frozen=True)
class Hit:
    doc: int
    score: float
    matched: list[str]


@dataclass(frozen=True)
class Ranking:
    hits: list[Hit]
    total: int  # titles matched (after filters)
    facets: dict[str, dict[str, int]]


def rank_query(index: SearchIndex, lexical: LexicalScores, exact: list[int], *, k: int,
               semantic: tuple[NDArray[np.int64], FloatArray] | None = None,
               personal: FloatArray | None = None, filters: Filters = Filters()) -> Ranking:  # fmt: skip
    """The k best titles for one query, with facets over every title it matched."""
    relevance = lexical.coverage**2
    top = float(lexical.score.max()) if index.size else 0.0
    if top > 0:
        relevance += 0.5 * lexical.coverage * lexical.score / top
    from_meaning = np.zeros(index.size, dtype=np.float32)
    if semantic is not None:
        docs, strength = semantic
        from_meaning[docs] = strength
        relevance += SEMANTIC_WEIGHT * from_meaning
    matched = relevance > 0
    keep = filters.mask(index)
    if keep is not None:
        matched &= keep
    if personal is not None:
        mine = np.clip(personal, 0.0, None)
        best = float(mine[matched].max()) if matched.any() else 0.0
        prior = MEMBER_WEIGHT * (mine / best if best > 0 else mine)
    else:
        prior = POPULARITY_WEIGHT * index.popularity
    final = np.where(matched, relevance + prior, -np.inf).astype(np.float32)
    for doc in exact:
        if matched[doc]:
            final[doc] += EXACT_BONUS
    total = int(matched.sum())
    count = min(k, total)
    best_docs = np.argpartition(-final, count - 1)[:count] if count else np.zeros(0, dtype=np.int64)
    best_docs = best_docs[np.lexsort((best_docs, -final[best_docs]))]
    hits = []
    for doc in best_docs.tolist():
        said = matched_words(index, doc, lexical.words)
        if not said or (lexical.coverage[doc] == 0 and from_meaning[doc] > 0):
            said.append("semantic")
        hits.append(Hit(doc, float(final[doc]), said))
    return Ranking(hits, total, facets(index, matched))


def facets(index: SearchIndex, matched: NDArray[np.bool_]) -> dict[str, dict[str, int]]:
    """Matched titles counted by genre and by decade (most first)."""
    # einsum, not BLAS: see _search_semantic._dot
    by_genre = np.einsum("i,ij->j", matched.astype(np.float32), index.genre_matrix)
    genres = {g: int(c) for g, c in zip(index.genre_names, by_genre.tolist(), strict=True) if c > 0}
    years = index.years[matched & (index.years > 0)]
    decades, counts = np.unique(years - years % 10, return_counts=True)
    by_decade = {f"{int(d)}s": int(c) for d, c in zip(decades, counts, strict=True)}
    return {"genre": dict(sorted(genres.items(), key=lambda kv: (-kv[1], kv[0]))),
            "decade": dict(sorted(by_decade.items(), key=lambda kv: (-kv[1], kv[0])))}  # fmt: skip
