"""The catalog's lexical index and how a query's words find titles in it (no I/O).

Built once per catalog state, in memory. Every title gives its words (folded,
:mod:`._text_fold`), its genres (and a few everyday names for them: "kids" for Children's,
"romantic" for Romance) and its decade and year ("1990s", "90s", "1995"). Terms are numbered
in sorted order, so the completions of a prefix are one contiguous range of term ids.

- **Postings** are one CSR layout: for each term, the titles holding it and the term's
  score in each, BM25 over title words (k1 1.2, b 0.75) and half the term's idf for a genre
  or date word (every comedy is as much a comedy as another: members and popularity decide).
- **Typos**: symmetric deletes (SymSpell) over each term's first 8 characters, one delete
  deep from 4 characters and two from 7, kept as a sorted array of hashes. A query word's
  deletes find candidates, each confirmed by its Damerau distance on the whole word
  (:func:`._text_fold.typo_distance`) within the word's allowance.
- **Exact titles**: every title's folded words joined by spaces, with MovieLens's
  "Usual Suspects, The" also as "the usual suspects" and an alternative title in brackets
  left off too; an exact match always ranks first.
- **Facets and filters** read two small codes per title, its set of genres (one of the few
  hundred combinations a catalog holds) and its decade, so counting the titles a query
  matched is one ``bincount`` over those titles, not a pass over the whole catalog.

A query's work is proportional to the titles its words reach (the postings it reads), not
to the catalog: each word's best match per title is kept only for the titles that hold one.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._text_fold import decade_words, deletes, plain_tokens, tokens, typo_distance, typos_allowed

K1, B = 1.2, 0.75
META_WEIGHT = 0.5  # a genre or date word, against a title word's BM25
DELETE_PREFIX = 8
EXACT, PREFIX, ONE_TYPO, TWO_TYPOS = 1.0, 0.75, 0.55, 0.35  # how much each kind of match counts
PREFIX_CAP = (
    30,
    60,
    200,
)  # completions kept for a 1-, 2- and longer-character prefix (most frequent)
GENRE_ALIASES = {
    "Children's": ("children", "kids", "family"),
    "Romance": ("romantic", "romances"),
    "Animation": ("animated", "cartoon"),
    "Comedy": ("comedies", "funny"),
    "Documentary": ("documentaries",),
    "Mystery": ("mysteries",),
    "Sci-Fi": ("science",),
}
_MOVED_ARTICLE = re.compile(
    r"^(?P<rest>.+), (?P<article>the|a|an|les|la|le|l'|il|der|die|das|el)$", re.I
)
_BRACKETED = re.compile(r"\s*\([^)]*\)\s*$")

FloatArray = NDArray[np.float32]
IntArray = NDArray[np.int32]


@dataclass(frozen=True)
class CatalogTitle:
    title_id: str
    title: str
    year: int | None
    genres: tuple[str, ...]
    synopsis: str | None = None
    keywords: str | None = None

    def semantic_text(self) -> str:
        """What the sentence model reads: "title. genres. keywords. synopsis" (keywords before
        the synopsis: the model reads about 256 tokens, and they are the denser part)."""
        parts = [self.title, ", ".join(self.genres), self.keywords or "", self.synopsis or ""]
        return ". ".join(p for p in parts if p)


@dataclass(frozen=True)
class WordMatch:
    """One query word's matching terms: term id → how much the match counts (kind)."""

    word: str
    terms: dict[int, float]


@dataclass
class SearchIndex:
    titles: list[CatalogTitle]
    vocabulary: list[str]  # sorted; a term's id is its place here
    term_ids: dict[str, int]
    df: IntArray  # titles holding each term
    indptr: NDArray[np.int64]  # CSR postings: term t's titles are docs[indptr[t]:indptr[t + 1]]
    docs: IntArray
    scores: FloatArray
    delete_keys: NDArray[np.int64]  # sorted hashes of the terms' deletes
    delete_terms: IntArray  # the term each key came from
    exact: dict[str, list[int]]  # folded exact title → titles
    title_terms: list[frozenset[int]]  # each title's own word terms (for "matched")
    genre_terms: dict[int, str]  # a term that names a genre → the genre
    date_terms: frozenset[int]
    genre_names: tuple[str, ...]
    genre_sets: IntArray  # each title's set of genres, as a row of ``genre_set_matrix``
    genre_set_matrix: FloatArray  # genre sets × genres, 1 where the set holds the genre
    years: IntArray  # 0 where unknown
    decades: IntArray  # each title's decade as a place in ``decade_names`` (unknown: the last + 1)
    decade_names: tuple[str, ...]  # "1990s", ... in order
    popularity: FloatArray  # ratings per title (0..1, log-scaled): the prior without a member

    @property
    def size(self) -> int:
        return len(self.titles)


def exact_keys(title: str) -> set[str]:
    """The folded forms of a title an exact query may take."""
    keys = set()
    for form in {title, _BRACKETED.sub("", title) or title}:
        keys.add(" ".join(plain_tokens(form)))
        moved = _MOVED_ARTICLE.match(form.strip())
        if moved:
            keys.add(" ".join(plain_tokens(f"{moved['article']} {moved['rest']}")))
    keys.discard("")
    return keys


def build_index(
    titles: Sequence[CatalogTitle], ratings_per_title: dict[str, int] | None = None
) -> SearchIndex:
    """The lexical index of ``titles`` (their order is the index's title numbering)."""
    n = len(titles)
    word_tf: list[dict[str, int]] = []
    meta: dict[str, set[int]] = defaultdict(set)
    genre_of_word: dict[str, str] = {}
    date_words: set[str] = set()
    exact: dict[str, list[int]] = defaultdict(list)
    for i, title in enumerate(titles):
        tf: dict[str, int] = {}
        for word in tokens(title.title):
            tf[word] = tf.get(word, 0) + 1
        word_tf.append(tf)
        for genre in title.genres:
            for word in (*tokens(genre), *GENRE_ALIASES.get(genre, ())):
                meta[word].add(i)
                genre_of_word.setdefault(word, genre)
        if title.year:
            for word in decade_words(title.year):
                meta[word].add(i)
                date_words.add(word)
        for key in exact_keys(title.title):
            exact[key].append(i)
    vocabulary = sorted({w for tf in word_tf for w in tf} | set(meta))
    term_ids = {w: t for t, w in enumerate(vocabulary)}
    df = np.zeros(len(vocabulary), dtype=np.int32)
    for tf in word_tf:
        for word in tf:
            df[term_ids[word]] += 1
    for word, holders in meta.items():
        df[term_ids[word]] = max(int(df[term_ids[word]]), len(holders))
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
    lengths = np.array([sum(tf.values()) for tf in word_tf], dtype=np.float32)
    average = float(lengths.mean()) if n else 1.0
    postings: list[dict[int, float]] = [{} for _ in vocabulary]
    for i, tf in enumerate(word_tf):
        norm = K1 * (1 - B + B * lengths[i] / max(average, 1e-9))
        for word, count in tf.items():
            t = term_ids[word]
            postings[t][i] = float(idf[t]) * count * (K1 + 1) / (count + norm)
    for word, holders in meta.items():
        t = term_ids[word]
        for i in holders:
            postings[t][i] = postings[t].get(i, 0.0) + META_WEIGHT * float(idf[t])
    indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(p) for p in postings])
    docs = np.fromiter(
        (d for p in postings for d in sorted(p)), dtype=np.int32, count=int(indptr[-1])
    )
    scores = np.fromiter(
        (p[d] for p in postings for d in sorted(p)), dtype=np.float32, count=int(indptr[-1])
    )
    keys, owners = _delete_index(vocabulary)
    genre_names = tuple(sorted({g for t in titles for g in t.genres}))
    genre_col = {g: j for j, g in enumerate(genre_names)}
    set_ids: dict[frozenset[str], int] = {}
    genre_sets = np.array(
        [set_ids.setdefault(frozenset(t.genres), len(set_ids)) for t in titles], dtype=np.int32
    )
    genre_set_matrix = np.zeros((len(set_ids), len(genre_names)), dtype=np.float32)
    for genres, row in set_ids.items():
        for genre in genres:
            genre_set_matrix[row, genre_col[genre]] = 1.0
    years = np.array([t.year or 0 for t in titles], dtype=np.int32)
    decade_values = sorted({int(y - y % 10) for y in years.tolist() if y > 0})
    decade_of = {d: j for j, d in enumerate(decade_values)}
    decades = np.array(
        [decade_of[y - y % 10] if y > 0 else len(decade_values) for y in years.tolist()],
        dtype=np.int32,
    )
    counts = np.array(
        [(ratings_per_title or {}).get(t.title_id, 0) for t in titles], dtype=np.float32
    )
    popularity = np.log1p(counts) / max(float(np.log1p(counts.max())) if n else 1.0, 1e-9)
    return SearchIndex(
        titles=list(titles), vocabulary=vocabulary, term_ids=term_ids, df=df, indptr=indptr, docs=docs,
        scores=scores, delete_keys=keys, delete_terms=owners, exact=dict(exact),
        title_terms=[frozenset(term_ids[w] for w in tf) for tf in word_tf],
        genre_terms={term_ids[w]: g for w, g in genre_of_word.items()},
        date_terms=frozenset(term_ids[w] for w in date_words), genre_names=genre_names,
        genre_sets=genre_sets, genre_set_matrix=genre_set_matrix, years=years, decades=decades,
        decade_names=tuple(f"{d}s" for d in decade_values), popularity=popularity.astype(np.float32),
    )  # fmt: skip


def _delete_index(vocabulary: Sequence[str]) -> tuple[NDArray[np.int64], IntArray]:
    keys: list[int] = []
    owners: list[int] = []
    for t, word in enumerate(vocabulary):
        if len(word) < 4 or any(c.isdigit() for c in word):
            continue
        for variant in deletes(word[:DELETE_PREFIX], 2 if len(word) >= 7 else 1):
            keys.append(hash(variant))
            owners.append(t)
    key_array = np.array(keys, dtype=np.int64)
    order = np.argsort(key_array, kind="stable")
    return key_array[order], np.array(owners, dtype=np.int32)[order]


def match_word(index: SearchIndex, word: str, *, as_prefix: bool) -> WordMatch:
    """The terms a query word matches: itself, its typo variants within its allowance and,
    for the word being typed, its completions."""
    found: dict[int, float] = {}
    exact = index.term_ids.get(word)
    if exact is not None:
        found[exact] = EXACT
    allowance = typos_allowed(word)
    if allowance:
        wanted = np.array(
            sorted({hash(v) for v in deletes(word[:DELETE_PREFIX], allowance)}), dtype=np.int64
        )
        lo = np.searchsorted(index.delete_keys, wanted, side="left")
        hi = np.searchsorted(index.delete_keys, wanted, side="right")
        candidates = {
            int(t) for a, b in zip(lo, hi, strict=True) if b > a for t in index.delete_terms[a:b]
        }
        for t in candidates:
            if t in found:
                continue
            distance = typo_distance(word, index.vocabulary[t], allowance)
            if distance == 1:
                found[t] = ONE_TYPO
            elif distance == 2:
                found[t] = TWO_TYPOS
    if as_prefix:
        lo_t = bisect.bisect_left(index.vocabulary, word)
        hi_t = bisect.bisect_left(index.vocabulary, word + "\U0010ffff")
        completions = np.arange(lo_t, hi_t)
        cap = PREFIX_CAP[min(len(word), len(PREFIX_CAP)) - 1]
        if len(completions) > cap:
            completions = completions[np.argsort(-index.df[lo_t:hi_t], kind="stable")[:cap]]
        for t in completions.tolist():
            if t not in found:
                found[t] = PREFIX * (0.8 + 0.2 * len(word) / len(index.vocabulary[t]))
    return WordMatch(word, found)


@dataclass(frozen=True)
class LexicalScores:
    words: list[WordMatch]
    coverage: FloatArray  # the share of the query's words each title matched (0..1)
    score: FloatArray  # the sum over query words of the best weighted BM25 of a matched term
    docs: NDArray[np.int64]  # the titles that matched a word (coverage > 0), in catalog order


def lexical_scores(index: SearchIndex, words: Sequence[str]) -> LexicalScores:
    """Each title's coverage and score for the query ``words`` (the last one as typed)."""
    n = index.size
    coverage = np.zeros(n, dtype=np.float32)
    total = np.zeros(n, dtype=np.float32)
    matches = [match_word(index, w, as_prefix=i == len(words) - 1) for i, w in enumerate(words)]
    reached = []
    for match in matches:
        docs, best = _best_per_title(index, match.terms.items())
        coverage[docs] += best > 0
        total[docs] += best
        reached.append(docs[best > 0])
    found = sorted_union(reached)
    if words:
        coverage[found] /= len(words)
    return LexicalScores(matches, coverage, total, found)


def sorted_union(parts: Sequence[NDArray[np.integer[Any]]]) -> NDArray[np.int64]:
    """The union of sorted arrays of title numbers, sorted (a merge of sorted runs: the
    stable sort merges them in about linear time, where a pass over every title would
    cost the catalog's size)."""
    if not parts:
        return np.zeros(0, dtype=np.int64)
    joined = np.concatenate(parts).astype(np.int64, copy=False)
    if len(parts) == 1:
        return joined
    joined.sort(kind="stable")
    keep = np.ones(len(joined), dtype=bool)
    keep[1:] = joined[1:] != joined[:-1]
    return joined[keep]


def _best_per_title(
    index: SearchIndex, terms: Iterable[tuple[int, float]]
) -> tuple[IntArray, FloatArray]:
    """The titles holding any of ``terms`` (each once) and each one's best weighted score."""
    items = list(terms)
    if not items:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    if len(items) == 1:
        t, weight = items[0]
        a, b = index.indptr[t], index.indptr[t + 1]
        return index.docs[a:b], index.scores[a:b] * np.float32(weight)
    docs = np.concatenate([index.docs[index.indptr[t] : index.indptr[t + 1]] for t, _ in items])
    scores = np.concatenate(
        [index.scores[index.indptr[t] : index.indptr[t + 1]] * np.float32(w) for t, w in items]
    )
    # One sort by (title, score): a positive float32's bits order as the float does, so the
    # last entry of each title's run holds its best score.
    keys = np.sort((docs.astype(np.int64) << 32) | scores.view(np.uint32).astype(np.int64))
    last = np.ones(len(keys), dtype=bool)
    last[:-1] = (keys[1:] >> 32) != (keys[:-1] >> 32)
    kept = keys[last]
    return (kept >> 32).astype(np.int32), (kept & 0xFFFFFFFF).astype(np.uint32).view(np.float32)


def matched_words(index: SearchIndex, doc: int, words: Sequence[WordMatch]) -> list[str]:
    """What in title ``doc`` the query matched: its words, "genre:X", "year:…" (in query order)."""
    said: list[str] = []
    own = index.title_terms[doc]
    title = index.titles[doc]
    for match in words:
        hits = [t for t in match.terms if t in own]
        if hits:
            said.append(index.vocabulary[max(hits, key=lambda t: match.terms[t])])
            continue
        genres = [
            index.genre_terms[t]
            for t in match.terms
            if t in index.genre_terms and index.genre_terms[t] in title.genres
        ]
        if genres:
            said.append(f"genre:{genres[0]}")
            continue
        if title.year and any(t in index.date_terms and index.vocabulary[t] in set(decade_words(title.year))
                              for t in match.terms):  # fmt: skip
            said.append(f"year:{title.year}")
    return list(dict.fromkeys(said))
