"""Search at 100,000 titles: speed, typo recall, exact titles, personalization lift.

The catalog: MovieLens 100K's 1,682 real titles (``load_movielens``) plus generated ones up to
100,000, imported through ``import_titles`` like any catalog: 1-4 words drawn from the real
titles' words and from invented ones (so the vocabulary grows as a real catalog's does),
1-3 MovieLens genres, a year from 1920 to 2024 (seed 7).

1. Build: the lexical index, the titles' embeddings (MiniLM, ONNX int8) and the inverted file.
2. Speed, in process, ``search()`` as the server calls it: p50/p95 over a mix of queries (real
   titles with typos, prefixes as typed, genres and decades, descriptions), words only and
   hybrid, beside a naive baseline from the same run (SQL ``LIKE '%word%'`` for every word,
   on the same store). Goal: hybrid p95 ≤ 15 ms on 2 cores. Each query runs twice, so with
   the cache of recent query vectors on, most hybrid timings reuse the query's vector; the
   hybrid is also timed with that cache off (every query embedded, as new queries are).
3. Typo recall@10 on real titles with generated typos (each word of 5+ characters gets one
   typo, 9+ up to two: a swap, deletion, insertion or substitution), beside the same titles
   typed correctly and the LIKE baseline. Goal ≥ 0.95. Exact titles first: every real title
   typed as stored must rank first (a title of the same name counts). Goal 100%.
4. Personalization lift, on the MovieLens catalog alone: each member's ratings split 75/25
   (seed 42); the served model (EASE, λ on validation) and popularity fitted on the 75;
   broad queries (genres, decades); NDCG@10 against the member's held-out titles the query
   matches, titles rated in training left out, with the member and without. Goal ≥ +20%.

    .venv/bin/python benchmarks/stream_search.py [--titles 100000] [--no-model]
"""

from __future__ import annotations

import argparse
import os
import random
import string
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import and_, select

from moviola.stream import (
    Service,
    import_titles,
    init_service,
    load_movielens,
    ranking_metrics,
    read_interactions,
    search,
    split_per_member,
)
from moviola.stream import _schema as t
from moviola.stream._search import _STATES
from moviola.stream._search_embeddings import ENV_QUERY_CACHE, query_cache_info
from moviola.stream._search_index import build_index, lexical_scores
from moviola.stream._search_rank import rank_query
from moviola.stream._search_semantic import nearest_titles, semantic_strength
from moviola.stream._served import fit_served
from moviola.stream._text_fold import fold, tokens

GENRES = ["Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
          "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War",
          "Western"]  # fmt: skip
BROAD = ["comedy", "drama", "action", "thriller", "romance", "sci-fi", "horror", "adventure", "crime",
         "children", "war", "90s", "80s", "70s"]  # fmt: skip
DESCRIPTIONS = ["buildings falling down", "a volcano erupts", "space adventure with robots",
                "gangsters in new york", "a love story in paris", "talking animals"]  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def invented_words(rng: random.Random, count: int) -> list[str]:
    syllables = [a + b for a in "bcdfghklmnprstvz" for b in "aeiou"] + [
        "ar",
        "en",
        "or",
        "is",
        "ul",
    ]
    return list({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize()
                 for _ in range(count)})  # fmt: skip


def movielens_and_generated(folder: Path, titles: int) -> tuple[Service, list[tuple[str, str]], Path]:
    """A service in ``folder`` with MovieLens loaded, its real (id, title) pairs, and a CSV
    of generated titles that brings the catalog to ``titles`` (not imported yet)."""
    svc = init_service(folder / "svc")
    load_movielens(svc)
    with svc.engine.connect() as conn:
        real = [(str(a), str(b)) for a, b in conn.execute(select(t.titles.c.title_id, t.titles.c.title))]
    generated = folder / "generated.csv"
    generated_catalog(generated, [b for _, b in real], titles - len(real))
    return svc, real, generated


def generated_catalog(path: Path, real_titles: list[str], count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    real_words = sorted(
        {w for title in real_titles for w in title.replace(",", " ").split() if w.isalpha()}
    )
    words = real_words + invented_words(rng, 30_000)
    lines = ["title_id,title,year,genres"]
    for i in range(count):
        title = " ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
        genres = "|".join(rng.sample(GENRES, rng.randint(1, 3)))
        lines.append(f'gen{i},"{title}",{rng.randint(1920, 2024)},{genres}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def with_typos(title: str, rng: random.Random) -> str | None:
    """The title with one typo in each word of 5+ characters (up to two from 9); None when none has 5."""
    out, changed = [], False
    for word in title.split():
        letters = [c for c in word if c.isalpha()]
        if len(letters) < 5 or not word.isalpha():
            out.append(word)
            continue
        for _ in range(2 if len(word) >= 9 and rng.random() < 0.5 else 1):
            i = rng.randrange(1, len(word) - 1)
            kind = rng.choice(["swap", "delete", "insert", "substitute"])
            if kind == "swap":
                word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            elif kind == "delete":
                word = word[:i] + word[i + 1 :]
            elif kind == "insert":
                word = word[:i] + rng.choice(string.ascii_lowercase) + word[i:]
            else:
                word = word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1 :]
        out.append(word)
        changed = True
    return " ".join(out) if changed else None


def like_search(svc: object, query: str, k: int = 10) -> list[str]:
    """The naive baseline: every word a ``LIKE '%word%'`` on the title."""
    words = query.split()
    cond = and_(*(t.titles.c.title.ilike(f"%{w}%") for w in words))
    with svc.engine.connect() as conn:  # type: ignore[attr-defined]
        return [r[0] for r in conn.execute(select(t.titles.c.title_id).where(cond).limit(k))]


def speed(
    svc: object, real: list[tuple[str, str]], semantic: bool, vector_cache: bool = True
) -> None:
    """p50/p95 of ``search()`` over the query mix, each query twice; with ``vector_cache``
    False the server's cache of recent query vectors is off, so every query is embedded."""
    rng = random.Random(11)
    sample = rng.sample(real, 150)
    queries = [q for _, title in sample if (q := with_typos(title, rng))][:60]
    queries += [title[: max(3, len(title) // 2)] for _, title in sample[:60]]  # as typed, half-way
    queries += BROAD + DESCRIPTIONS
    if not vector_cache:
        os.environ[ENV_QUERY_CACHE] = "0"
    try:
        for q in queries[:20]:
            search(svc, q, semantic=semantic)  # type: ignore[arg-type]  # warm
        hits, misses = query_cache_info()
        timings = []
        for q in queries * 2:
            start = time.perf_counter()
            search(svc, q, semantic=semantic)  # type: ignore[arg-type]
            timings.append(time.perf_counter() - start)
        hits, misses = query_cache_info()[0] - hits, query_cache_info()[1] - misses
    finally:
        os.environ.pop(ENV_QUERY_CACHE, None)
    label = "words only"
    if semantic:
        label = "hybrid, vectors cached" if vector_cache else "hybrid, no vector cache"
    cached = f"; query vectors: {hits} cached, {misses} embedded" if semantic else ""
    print(f"  search() {label:<24} p50 {percentile(timings, 50):6.2f} ms  p95 {percentile(timings, 95):6.2f} ms"
          f"  ({len(timings)} queries{cached})")  # fmt: skip
    like = []
    for q in queries[:60]:
        start = time.perf_counter()
        like_search(svc, q)
        like.append(time.perf_counter() - start)
    if not semantic:
        print(f"  baseline SQL LIKE '%word%'         p50 {percentile(like, 50):6.2f} ms  "
              f"p95 {percentile(like, 95):6.2f} ms")  # fmt: skip


def quality(svc: object, real: list[tuple[str, str]], semantic: bool) -> None:
    rng = random.Random(5)
    found = clean = like_found = typo_total = exact_first = 0
    for n, (tid, title) in enumerate(real):
        answer = search(svc, title, semantic=semantic)  # type: ignore[arg-type]
        top = answer["results"]
        exact_first += bool(top) and fold(" ".join(tokens(top[0]["title"]))) == fold(
            " ".join(tokens(title))
        )
        typed = with_typos(title, rng)
        if typed is None:
            continue
        typo_total += 1
        clean += tid in {r["title_id"] for r in top}
        found += tid in {r["title_id"] for r in search(svc, typed, semantic=semantic)["results"]}  # type: ignore[arg-type]
        if n % 5 == 0:
            like_found += tid in like_search(svc, typed)
    print(
        f"  exact titles first: {exact_first}/{len(real)} = {exact_first / len(real):.1%} (goal 100%)"
    )
    print(f"  typo recall@10: {found / typo_total:.3f} on {typo_total} real titles with typos (goal >= 0.95); "
          f"typed correctly {clean / typo_total:.3f}; LIKE baseline {like_found / max(1, typo_total // 5):.3f} "
          f"(every 5th)")  # fmt: skip


def lift(semantic: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        svc = init_service(os.path.join(tmp, "ml"))
        load_movielens(svc)
        data = read_interactions(svc)
        search(svc, "warm", semantic=semantic)
        state = next(s for k, s in _STATES.items() if k == str(svc.root.resolve()))
        svc.engine.dispose()
    train = split_per_member(data, seed=42)
    served = fit_served(data, train)
    counts = np.bincount(data.title[train], minlength=len(data.titles))
    train_counts = {data.titles[i]: int(c) for i, c in enumerate(counts)}
    index = build_index(state.index.titles, train_counts)  # popularity from the training part only
    row = {title.title_id: i for i, title in enumerate(index.titles)}
    to_index = np.array([row[tid] for tid in data.titles])
    semantic_index = next(iter(state.semantic.values()), None)
    from moviola.stream._search_embeddings import embed_query, search_embedder

    embedder = search_embedder() if semantic else None
    plain, personal_lists, truth = [], [], []
    for query in BROAD:
        lexical = lexical_scores(index, tokens(query))
        meaning = None
        if embedder is not None and semantic_index is not None:
            docs, cos = nearest_titles(semantic_index, embed_query(embedder, query))
            meaning = (docs, semantic_strength(cos))
        matched = lexical.coverage > 0
        anyone = rank_query(index, lexical, [], k=index.size, semantic=meaning)
        anyone_order = [h.doc for h in anyone.hits]
        for m in range(len(data.members)):
            mine = data.member == m
            seen = set(to_index[data.title[mine & train]].tolist())
            held = {int(to_index[x]) for x in data.title[mine & ~train]}
            relevant = {d for d in held if matched[d]}
            if not relevant:
                continue
            scores = np.zeros(index.size, dtype=np.float32)
            history = sorted(set(data.title[mine & train].tolist()))
            scores[to_index] = served.weights[history].sum(axis=0)
            ranked = rank_query(
                index, lexical, [], k=len(seen) + 10, semantic=meaning, personal=scores
            )
            personal_lists.append([h.doc for h in ranked.hits if h.doc not in seen][:10])
            plain.append([d for d in anyone_order if d not in seen][:10])
            truth.append(relevant)
    base = ranking_metrics(plain, truth).ndcg
    mine_ndcg = ranking_metrics(personal_lists, truth).ndcg
    print(f"  broad queries {', '.join(BROAD)}: {len(truth):,} member-query pairs")
    print(f"  NDCG@10 with the member {mine_ndcg:.4f} vs the same search without {base:.4f}: "
          f"lift {mine_ndcg / base - 1:+.1%} (goal >= +20%)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--no-model", action="store_true")
    args = parser.parse_args()
    semantic = not args.no_model
    print(
        f"cores: {len(os.sched_getaffinity(0))}; catalog {args.titles:,} titles; semantic: {semantic}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        svc, real, generated = movielens_and_generated(Path(tmp), args.titles)
        start = time.perf_counter()
        import_titles(svc, generated)
        print(
            f"import of {args.titles - len(real):,} generated titles: {time.perf_counter() - start:.1f} s"
        )
        start = time.perf_counter()
        search(svc, "warm", semantic=False)
        state = next(iter(_STATES.values()))
        print(f"lexical index build (read the catalog, index): {time.perf_counter() - start:.1f} s; "
              f"{len(state.index.vocabulary):,} terms, {len(state.index.docs):,} postings, "
              f"{len(state.index.delete_keys):,} typo keys")  # fmt: skip
        if semantic:
            start = time.perf_counter()
            search(svc, "warm", semantic=True)
            print(
                f"semantic build (embed every title, inverted file): {time.perf_counter() - start:.1f} s"
            )
            start = time.perf_counter()
            _STATES.clear()
            search(svc, "warm", semantic=True)
            print(
                f"rebuild with the embeddings cached (.npy in models/search): {time.perf_counter() - start:.1f} s"
            )
        print("speed (in process, one query at a time):")
        speed(svc, real, semantic=False)
        if semantic:
            speed(svc, real, semantic=True)
            speed(svc, real, semantic=True, vector_cache=False)
        print("quality on the 1,682 real titles inside the 100k catalog:")
        quality(svc, real, semantic)
        svc.engine.dispose()
    _STATES.clear()
    print("personalization lift (MovieLens catalog, 75/25 split, seed 42):")
    lift(semantic)


if __name__ == "__main__":
    main()
