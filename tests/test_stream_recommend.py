"""Recommendations: the evaluation protocol, the metrics, EASE, model versions and
``moviola stream eval / train / recommend``.

The services are tiny and made through the real imports: 30 titles in two tastes (ta0-ta14
and tb0-tb14) and 40 members who each rate titles of one taste, plus tb0-tb2, which nearly
everyone rated (so popularity and personal taste disagree).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from moviola.stream import (
    Interactions,
    Service,
    fit_served,
    import_ratings,
    import_titles,
    init_service,
    load_newest,
    newest_version,
    ranking_metrics,
    read_interactions,
    recommend,
    split_per_member,
    train,
    train_count,
)
from moviola.stream._models import fit_ease, session_gram, top_k

TASTES = {"a": [f"ta{i}" for i in range(15)], "b": [f"tb{i}" for i in range(15)]}
POPULAR = ["tb0", "tb1", "tb2"]


def make_service(root: Path, db: str | None = None, members: int = 40) -> Service:
    svc = init_service(root / "svc", db=db)
    titles = root / "titles.csv"
    titles.write_text("title_id,title,year,genres\n" + "".join(
        f"{tid},Title {tid.upper()},2000,{'Drama' if tid.startswith('ta') else 'Comedy'}\n"
        for ids in TASTES.values() for tid in ids), encoding="utf-8")  # fmt: skip
    rng = random.Random(7)
    lines = ["member_id,title_id,rating,timestamp"]
    for m in range(members):
        taste = TASTES["a" if m % 2 == 0 else "b"]
        chosen = set(rng.sample(taste, 8)) | {p for p in POPULAR if rng.random() < 0.6}
        lines += [f"m{m},{tid},{rng.randint(1, 5)},{1_700_000_000 + m * 100 + i}" for i, tid in enumerate(sorted(chosen))]
    ratings = root / "ratings.csv"
    ratings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_titles(svc, titles)
    import_ratings(svc, ratings)
    return svc


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return make_service(tmp_path)


def rated(svc: Service, member: str) -> set[str]:
    data = read_interactions(svc)
    m = data.members.index(member)
    return {data.titles[i] for i in data.title[data.member == m]}


def add_member(svc: Service, member: str) -> None:
    """A member with no ratings yet (as a sign-up would make one)."""
    from sqlalchemy import insert

    from moviola.stream._schema import members

    with svc.engine.begin() as conn:
        conn.execute(insert(members).values(member_id=member, created_at=0))


# ---- the split -------------------------------------------------------------------------------


def test_each_member_keeps_three_quarters_of_their_ratings_for_training(service: Service) -> None:
    data = read_interactions(service)
    train_mask = split_per_member(data)

    for m in range(len(data.members)):
        mine = data.member == m
        n = int(mine.sum())
        assert int(train_mask[mine].sum()) == train_count(n) == round(0.75 * n + 1e-9)
        train_titles = set(data.title[mine & train_mask])
        test_titles = set(data.title[mine & ~train_mask])
        assert train_titles.isdisjoint(test_titles) and test_titles


def test_the_split_is_the_same_for_the_same_seed_and_differs_for_another(service: Service) -> None:
    data = read_interactions(service)

    assert np.array_equal(split_per_member(data, seed=42), split_per_member(data, seed=42))
    assert not np.array_equal(split_per_member(data, seed=42), split_per_member(data, seed=1))


def test_the_split_ignores_the_order_the_ratings_came_in() -> None:
    rows = [(f"m{m}", f"t{t}", 0) for m in range(5) for t in range(12)]

    a = Interactions.from_rows(rows)
    b = Interactions.from_rows(reversed(rows))

    pairs = lambda d, mask: {(d.members[m], d.titles[t]) for m, t in zip(d.member[mask], d.title[mask], strict=True)}  # noqa: E731
    assert pairs(a, split_per_member(a)) == pairs(b, split_per_member(b))


def test_training_counts_round_half_up_and_keep_one_title_on_each_side() -> None:
    assert [train_count(n) for n in (1, 2, 3, 4, 6, 10, 20)] == [1, 1, 2, 3, 5, 8, 15]


def test_a_validation_split_is_carved_from_the_training_part_only(service: Service) -> None:
    data = read_interactions(service)
    train_mask = split_per_member(data)

    fit_part = split_per_member(data, seed=43, within=train_mask)

    assert not (fit_part & ~train_mask).any()
    assert 0.5 < fit_part.sum() / train_mask.sum() < 0.85


# ---- the metrics ----------------------------------------------------------------------------


def test_metrics_on_a_hand_computed_example() -> None:
    # member 1: hits at places 1 and 3 of 3, relevant {a, c, x}; member 2: no hit of 1 relevant
    result = ranking_metrics([["a", "b", "c"], ["p", "q", "r"]], [{"a", "c", "x"}, {"z"}], k=3)

    dcg = 1 + 1 / np.log2(4)
    idcg = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    assert result.ndcg == pytest.approx((dcg / idcg + 0) / 2)
    assert result.precision == pytest.approx((2 / 3 + 0) / 2)
    assert result.recall == pytest.approx((2 / 3 + 0) / 2)
    assert result.map == pytest.approx(((1 / 1 + 2 / 3) / 3 + 0) / 2)  # AP@k divides by min(k, |R|)
    assert result.members == 2


def test_members_with_nothing_held_out_are_not_averaged_and_a_short_relevant_set_can_score_one() -> None:
    result = ranking_metrics([["a", "b"], ["c"]], [{"a"}, set()], k=2)

    assert (result.ndcg, result.map, result.recall, result.precision, result.members) == (1.0, 1.0, 1.0, 0.5, 1)


# ---- EASE -----------------------------------------------------------------------------------


def test_ease_matches_the_least_squares_problem_it_solves_column_by_column() -> None:
    rng = np.random.default_rng(0)
    X = (rng.random((30, 8)) < 0.4).astype(np.float64)
    lam = 3.0

    B = fit_ease(csr_matrix(X), lam)

    for j in range(X.shape[1]):  # min ||X_j - X_-j b||² + λ||b||², with B_jj = 0
        others = [i for i in range(X.shape[1]) if i != j]
        A = X[:, others]
        b = np.linalg.solve(A.T @ A + lam * np.eye(len(others)), A.T @ X[:, j])
        assert np.allclose(B[others, j], b, atol=1e-5)
        assert B[j, j] == 0


def test_top_k_leaves_out_what_the_member_has_seen_and_breaks_ties_by_position() -> None:
    scores = np.array([[5.0, 4.0, 4.0, 1.0]])

    assert top_k(scores, csr_matrix(np.array([[1, 0, 0, 0]])), 2).tolist() == [[1, 2]]
    assert top_k(scores, csr_matrix(np.array([[1, 1, 1, 0]])), 2).tolist() == [[3, -1]]


def test_the_served_model_chooses_its_settings_on_validation_and_learns_the_tastes(service: Service) -> None:
    data = read_interactions(service)

    model = fit_served(data)

    tried = set(model.validation)
    assert {"lambda=50", "lambda=1200"} <= tried  # plain EASE's grid
    assert any("session=" in label for label in tried) and any("als=" in label for label in tried)
    assert any(label.startswith("few-titles lambda=") for label in tried)
    chosen = model.settings.label
    assert chosen in model.validation
    assert model.validation[chosen] == max(v for k, v in model.validation.items() if not k.startswith("few"))
    for weights in (model.weights, model.few):
        a, b = data.titles.index("ta0"), data.titles.index("ta1")
        c = data.titles.index("tb5")
        assert weights[a, b] > weights[a, c]  # same taste weighs more


def test_titles_chosen_within_minutes_of_each_other_count_more_than_titles_days_apart() -> None:
    # member 0 rated titles 0 and 1 a minute apart; member 1 rated titles 0 and 2 two days apart
    member = np.array([0, 0, 1, 1])
    title = np.array([0, 1, 0, 2])
    ts = np.array([0, 60, 0, 2 * 86400])

    g = session_gram(member, title, ts, 3, tau=150.0)

    assert g[0, 1] == pytest.approx(np.exp(-60 / 150)) and g[0, 1] == g[1, 0]
    assert g[0, 2] < 1e-100
    assert g[0, 0] == 2.0  # each title with itself, once per member
    assert session_gram(member[:0], title[:0], ts[:0], 3, tau=150.0).sum() == 0


def test_a_member_with_few_titles_is_scored_with_the_few_titles_matrix(service: Service) -> None:
    data = read_interactions(service)
    model = fit_served(data)
    X = csr_matrix(np.eye(2, len(data.titles), dtype=np.float32))  # two members with one title each
    X_many = csr_matrix(np.ones((1, len(data.titles)), dtype=np.float32))

    assert np.allclose(model.scores(X), X @ model.few)
    assert np.allclose(model.scores(X_many), X_many @ model.weights)
    assert not np.allclose(model.few, model.weights)


def test_training_learns_from_plays_as_well_as_ratings(service: Service) -> None:
    from moviola.stream import Event, record_event

    record_event(service, Event("e1", "newcomer", "play", title_id="ta3", ts=1_700_000_000))
    record_event(service, Event("e2", "newcomer", "play", title_id="ta4", ts=1_700_000_060))
    record_event(service, Event("e3", "newcomer", "click", title_id="ta5", ts=1_700_000_090))

    assert rated(service, "newcomer") == {"ta3", "ta4"}  # a click is not a choice


# ---- eval, train and recommend through the CLI ----------------------------------------------


def test_eval_prints_the_four_metrics_for_the_served_model_and_the_baselines(service: Service, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("stream", "eval", service.root, "--json")

    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["protocol"]["seed"] == 42 and report["protocol"]["k"] == 10
    assert [row["model"] for row in report["models"]] == ["served", "popularity", "bpr", "als"]
    for row in report["models"]:
        assert {"ndcg@10", "precision@10", "recall@10", "map@10"} <= set(row)
        assert 0 <= row["ndcg@10"] <= 1
    served, popular = report["models"][0], report["models"][1]
    assert served["ndcg@10"] > popular["ndcg@10"]


def test_without_a_model_recommend_says_to_train_in_one_line(service: Service, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("stream", "recommend", service.root, "--member", "m0", "--json")

    assert result.code == 3
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1 and "moviola stream train" in result.err


def test_train_records_a_version_and_recommend_names_it(service: Service, run_cli) -> None:  # type: ignore[no-untyped-def]
    trained = run_cli("stream", "train", service.root, "--json")
    assert trained.code == 0, trained.err
    version = json.loads(trained.out)["version"]
    assert (service.root / "models" / version / "model.npz").is_file()
    assert not [p for p in (service.root / "models").iterdir() if p.name.startswith(".")]

    result = run_cli("stream", "recommend", service.root, "--member", "m0", "--k", "5", "--json")

    assert result.code == 0, result.err
    answer = json.loads(result.out)
    assert list(answer) == ["member", "model", "items"]
    assert answer["member"] == "m0" and answer["model"] == version
    assert len(answer["items"]) == 5
    for item in answer["items"]:
        assert list(item) == ["title_id", "title", "score", "because"]
        assert item["title"] == f"Title {item['title_id'].upper()}"
        assert item["because"].startswith("because you rated Title ")
    assert not {i["title_id"] for i in answer["items"]} & rated(service, "m0")
    assert {i["title_id"] for i in answer["items"]} <= set(TASTES["a"])  # m0's taste, not the popular tb0-2


def test_a_newer_version_is_served_as_soon_as_it_is_trained(service: Service) -> None:
    first = train(service)
    assert recommend(service, "m1")["model"] == first.version

    second = train(service)

    assert second.version > first.version
    assert newest_version(service) is not None and newest_version(service).version == second.version  # type: ignore[union-attr]
    assert recommend(service, "m1")["model"] == second.version == load_newest(service).version


def test_picks_give_a_new_member_personal_titles_without_retraining(service: Service, run_cli) -> None:  # type: ignore[no-untyped-def]
    version = train(service).version
    add_member(service, "quiet")  # known, no ratings: popular titles

    result = run_cli("stream", "recommend", service.root, "--member", "newcomer", "--picks", "ta0,ta1,ta2", "--k", "5", "--json")

    assert result.code == 0, result.err
    answer = json.loads(result.out)
    assert answer["member"] == "newcomer" and answer["model"] == version
    ids = [i["title_id"] for i in answer["items"]]
    assert not set(ids) & {"ta0", "ta1", "ta2"}
    by_popularity = [i["title_id"] for i in recommend(service, "quiet", k=5)["items"]]
    assert ids != by_popularity and sum(i in TASTES["a"] for i in ids) > sum(i in TASTES["a"] for i in by_popularity)
    assert all(i["because"].startswith("because you picked Title TA") for i in answer["items"])
    assert newest_version(service).version == version  # type: ignore[union-attr]  # nothing retrained
    assert len(list((service.root / "models").iterdir())) == 1


def test_a_known_member_without_ratings_gets_popular_titles_said_to_be_popular(service: Service, tmp_path: Path) -> None:
    train(service)
    add_member(service, "quiet")

    answer = recommend(service, "quiet", k=3)

    assert sorted(i["title_id"] for i in answer["items"]) == POPULAR
    assert all(i["because"].startswith("popular on this service") for i in answer["items"])


def test_members_file_prints_one_json_object_a_line(service: Service, tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    train(service)
    ids = tmp_path / "members.txt"
    ids.write_text("m0\n\nm1\nm2\n", encoding="utf-8")

    result = run_cli("stream", "recommend", service.root, "--members", ids, "--k", "3")

    assert result.code == 0, result.err
    answers = [json.loads(line) for line in result.out.splitlines()]
    assert [a["member"] for a in answers] == ["m0", "m1", "m2"]
    assert all(len(a["items"]) == 3 for a in answers)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--member", "stranger"], 2, "unknown member 'stranger'"),
        (["--member", "new", "--picks", "ta0,nope"], 2, "title 'nope' is not in the catalog"),
        (["--member", "new", "--picks", " , "], 2, "--picks: give title ids"),
        (["--member", "m0", "--k", "0"], 2, "--k must be between 1 and 100"),
        (["--member", "m0", "--members", "x.txt"], 2, "either --member ID or --members FILE"),
        ([], 2, "either --member ID or --members FILE"),
    ],
)
def test_bad_requests_are_one_line_with_an_exit_code(service: Service, run_cli, args: list[str], code: int,  # type: ignore[no-untyped-def]
                                                     says: str) -> None:  # fmt: skip
    train(service)

    result = run_cli("stream", "recommend", service.root, *args, "--json")

    assert result.code == code
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1 and says in result.err
    assert "Traceback" not in result.err


def test_an_unknown_member_in_a_members_file_names_its_line(service: Service, tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    train(service)
    ids = tmp_path / "members.txt"
    ids.write_text("m0\nghost\n", encoding="utf-8")

    result = run_cli("stream", "recommend", service.root, "--members", ids)

    assert result.code == 2 and result.out == ""
    assert result.err.strip().endswith(f"{ids}: line 2: unknown member 'ghost'")


def test_train_on_a_service_without_ratings_is_one_line(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    init_service(tmp_path / "empty")

    result = run_cli("stream", "train", tmp_path / "empty")

    assert result.code == 3 and "has no ratings or plays yet" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_train_and_recommend_on_postgresql(tmp_path: Path, postgres_db: str) -> None:
    svc = make_service(tmp_path, db=postgres_db, members=12)

    version = train(svc).version
    answer = recommend(svc, "m0", k=3)

    assert answer["model"] == version and len(answer["items"]) == 3
    assert not {i["title_id"] for i in answer["items"]} & rated(svc, "m0")
