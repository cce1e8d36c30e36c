"""The streaming service's folder and store: one schema on SQLite and PostgreSQL, versioned
by Alembic; catalogs and ratings imported whole or not at all, the same file twice a
no-op; MovieLens 100K read from the recbole wheel.

Every test that touches data runs on both stores: the embedded SQLite (WAL) and a real
PostgreSQL 15 server started on loopback for the session (``postgres_server``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

import moviola.stream
from moviola.core import InputError, ProjectError
from moviola.stream import (
    SERVICE_FILE,
    Service,
    import_ratings,
    import_titles,
    init_service,
    load_movielens,
    open_service,
    store_revision,
)

TITLES = """title_id,title,year,genres,synopsis
t1,The Palace,2026,Drama|Disaster,A tower falls in ten seconds.
t2,Nevada,2025,Drama,"Buenos Aires, a heat-drunk city."
t3,Ofelia's Workshop,,Comedy,
"""
RATINGS = """member_id,title_id,rating,timestamp
m1,t1,5,1700000000
m1,t2,3.5,2024-03-01T12:00:00Z
m2,t1,4,1700000100
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Service:
    """A new service on each store."""
    db = request.getfixturevalue("postgres_db") if request.param == "postgresql" else None
    return init_service(tmp_path / "svc", db=db)


def counts(service: Service) -> dict[str, int]:
    with service.engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() or 0)
                for t in ("titles", "title_genres", "members", "ratings", "imports")}  # fmt: skip


def csv_file(tmp_path: Path, name: str, body: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode(encoding))
    return path


# ---- the folder and the store ------------------------------------------------------------------


def test_a_new_service_has_its_manifest_a_wal_store_and_the_newest_schema(tmp_path: Path) -> None:
    svc = init_service(tmp_path / "svc")

    assert (tmp_path / "svc" / SERVICE_FILE).is_file()
    assert (tmp_path / "svc" / "store.sqlite3").is_file()
    assert store_revision(svc) == "0003"
    with svc.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert open_service(tmp_path / "svc").name == "svc"


def test_a_store_at_an_older_revision_is_brought_to_the_newest_when_opened(service: Service, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    import_titles(service, csv_file(tmp_path, "titles.csv", TITLES))
    config = Config()
    config.set_main_option("script_location", str(Path(moviola.stream.__file__).parent / "migrations"))
    with service.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")  # as a service made before keywords existed
    assert store_revision(service) == "0001"

    again = open_service(service.root)

    assert store_revision(again) == "0003"
    with again.engine.connect() as conn:  # the titles are kept; the new column is there, empty
        assert conn.execute(text("SELECT count(*) FROM titles WHERE keywords IS NULL")).scalar() == 3


def test_a_service_on_postgresql_keeps_its_url_without_a_password(tmp_path: Path, postgres_db: str) -> None:
    svc = init_service(tmp_path / "svc", db=postgres_db)

    assert store_revision(svc) == "0003"
    assert not (tmp_path / "svc" / "store.sqlite3").exists()
    assert postgres_db in (tmp_path / "svc" / SERVICE_FILE).read_text(encoding="utf-8")
    assert open_service(tmp_path / "svc").db == postgres_db


def test_an_existing_service_is_never_initialised_again(tmp_path: Path) -> None:
    init_service(tmp_path / "svc")
    with pytest.raises(ProjectError, match="already a Moviola service"):
        init_service(tmp_path / "svc")


def test_a_store_that_cannot_be_reached_leaves_no_service(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="cannot open the store"):
        init_service(tmp_path / "svc", db="postgresql://nobody@127.0.0.1:1/none")
    assert not (tmp_path / "svc" / SERVICE_FILE).exists()


def test_a_store_from_a_newer_moviola_is_refused(tmp_path: Path) -> None:
    svc = init_service(tmp_path / "svc")
    with svc.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(ProjectError, match="schema revision 9999, written by a newer Moviola"):
        open_service(tmp_path / "svc")


# ---- catalogs and ratings ----------------------------------------------------------------------


def test_titles_and_ratings_land_and_the_same_files_again_change_nothing(service: Service, tmp_path: Path) -> None:
    titles = csv_file(tmp_path, "titles.csv", TITLES)
    ratings = csv_file(tmp_path, "ratings.csv", RATINGS)

    assert import_titles(service, titles).new
    assert import_ratings(service, ratings).new
    first = counts(service)
    assert first == {"titles": 3, "title_genres": 4, "members": 2, "ratings": 3, "imports": 2}
    assert not import_titles(service, titles).new
    assert not import_ratings(service, ratings).new
    assert counts(service) == first
    with service.engine.connect() as conn:
        row = conn.execute(text("SELECT title, year, synopsis FROM titles WHERE title_id = 't3'")).one()
        ts = conn.execute(text("SELECT ts FROM ratings WHERE member_id = 'm1' AND title_id = 't2'")).scalar()
    assert tuple(row) == ("Ofelia's Workshop", None, None)
    assert ts == 1709294400  # the ISO date, in epoch seconds


def test_a_catalog_may_carry_keywords_for_search(service: Service, tmp_path: Path) -> None:
    body = ("title_id,title,year,genres,synopsis,keywords\n"
            't9,Inferno,1974,Action|Drama,A fire in a tower.,"skyscraper fire; building collapse"\n')  # fmt: skip

    import_titles(service, csv_file(tmp_path, "k.csv", body))

    with service.engine.connect() as conn:
        assert conn.execute(text("SELECT keywords FROM titles WHERE title_id = 't9'")).scalar() == (
            "skyscraper fire; building collapse")  # fmt: skip


def test_a_changed_catalog_updates_the_titles_it_names(service: Service, tmp_path: Path) -> None:
    import_titles(service, csv_file(tmp_path, "a.csv", TITLES))
    import_titles(service, csv_file(tmp_path, "b.csv", "title_id,title,year,genres\nt1,The Palace (Director's Cut),2026,Drama\n"))

    with service.engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM titles WHERE title_id = 't1'")).scalar() == "The Palace (Director's Cut)"
        assert [r[0] for r in conn.execute(text("SELECT genre FROM title_genres WHERE title_id = 't1'"))] == ["Drama"]
    assert counts(service)["titles"] == 3


BAD_TITLES: list[tuple[str, str, str]] = [
    ("missing-column", "title_id,title,genres\nt1,A,Drama\n", r"line 1: the header lacks year"),
    ("unknown-column", "title_id,title,year,genres,rating\nt1,A,2020,Drama,5\n", r"line 1: unknown column 'rating'"),
    ("empty-title", "title_id,title,year,genres\nt1,,2020,Drama\n", r"line 2: title is empty"),
    ("bad-year", "title_id,title,year,genres\nt1,A,20x0,Drama\n", r"line 2: year '20x0' is not a year"),
    ("duplicate-id", "title_id,title,year,genres\nt1,A,2020,Drama\nt1,B,2021,Drama\n", r"line 3: title_id 't1' appears twice"),
    ("too-few-fields", "title_id,title,year,genres\nt1,A,2020\n", r"line 2: 4 fields expected"),
    ("control-characters", "title_id,title,year,genres\n\"t\x01\",A,2020,Drama\n", r"not text \(control characters\)"),
    ("id-too-long", "title_id,title,year,genres\n" + "x" * 65 + ",A,2020,Drama\n", r"line 2: title_id .* is not an id"),
    ("only-a-header", "title_id,title,year,genres\n", r"holds no titles"),
    ("sql-in-a-title-is-just-text", "title_id,title,year,genres\nt9,\"x'); DROP TABLE titles;--\",2020,Drama\n", ""),
]


@pytest.mark.parametrize(("case", "body", "words"), BAD_TITLES, ids=[c[0] for c in BAD_TITLES])
def test_a_bad_catalog_is_refused_with_its_line_and_nothing_lands(
    service: Service, tmp_path: Path, case: str, body: str, words: str
) -> None:
    import_titles(service, csv_file(tmp_path, "good.csv", TITLES))
    before = counts(service)
    path = csv_file(tmp_path, "bad.csv", body)

    if not words:  # a hostile-looking title is stored as the text it is
        import_titles(service, path)
        with service.engine.connect() as conn:
            assert conn.execute(text("SELECT title FROM titles WHERE title_id = 't9'")).scalar() == "x'); DROP TABLE titles;--"
        return
    with pytest.raises(InputError, match=words) as err:
        import_titles(service, path)
    assert str(err.value).startswith(str(path))
    assert counts(service) == before


def test_ratings_for_a_title_not_in_the_catalog_are_refused_and_none_land(service: Service, tmp_path: Path) -> None:
    import_titles(service, csv_file(tmp_path, "titles.csv", TITLES))
    before = counts(service)
    path = csv_file(tmp_path, "ratings.csv", RATINGS + "m3,nope,4,1700000000\n")

    with pytest.raises(InputError, match=r"line 5: title_id 'nope' is not in the catalog"):
        import_ratings(service, path)
    assert counts(service) == before  # not even the three good rows, nor member m3


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("member_id,title_id,rating,timestamp\nm1,t1,11,1700000000\n", r"line 2: rating '11' is not a number"),
        ("member_id,title_id,rating,timestamp\nm1,t1,nan,1700000000\n", r"line 2: rating 'nan'"),
        ("member_id,title_id,rating,timestamp\nm1,t1,4,yesterday\n", r"line 2: timestamp 'yesterday'"),
        ("member,title,stars\nm1,t1,4\n", r"line 1: the header lacks member_id"),
    ],
)
def test_bad_ratings_are_refused_with_their_line(tmp_path: Path, body: str, words: str) -> None:
    svc = init_service(tmp_path / "svc")
    import_titles(svc, csv_file(tmp_path, "titles.csv", TITLES))
    with pytest.raises(InputError, match=words):
        import_ratings(svc, csv_file(tmp_path, "r.csv", body))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_a_catalog_in_the_encodings_spreadsheets_write_is_read(tmp_path: Path, encoding: str) -> None:
    svc = init_service(tmp_path / "svc")
    import_titles(svc, csv_file(tmp_path, "t.csv", "title_id,title,year,genres\nt1,Señor Café,2020,Comedy\n", encoding))
    with svc.engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM titles")).scalar() == "Señor Café"


def test_binary_bytes_are_not_a_catalog(tmp_path: Path) -> None:
    svc = init_service(tmp_path / "svc")
    path = tmp_path / "t.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError):
        import_titles(svc, path)


# ---- MovieLens 100K ----------------------------------------------------------------------------


def test_movielens_100k_loads_members_titles_and_ratings_once(service: Service) -> None:
    assert load_movielens(service).new
    assert counts(service) | {"title_genres": 0} == {
        "titles": 1682, "title_genres": 0, "members": 943, "ratings": 100_000, "imports": 1}  # fmt: skip
    assert not load_movielens(service).new
    with service.engine.connect() as conn:
        toy = conn.execute(text("SELECT title, year FROM titles WHERE title_id = 'ml1'")).one()
        genres = {r[0] for r in conn.execute(text("SELECT genre FROM title_genres WHERE title_id = 'ml1'"))}
        member = conn.execute(text("SELECT age, gender, occupation FROM members WHERE member_id = 'u1'")).one()
    assert tuple(toy) == ("Toy Story", 1995)
    assert genres == {"Animation", "Children's", "Comedy"}
    assert tuple(member) == (24, "M", "technician")


def test_movielens_is_read_in_place_never_copied_into_the_repository() -> None:
    import subprocess

    from moviola.stream import movielens_files

    for path in movielens_files().values():
        assert "site-packages" in path.parts  # inside the installed wheel
    repo = Path(__file__).resolve().parent.parent
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert not [f for f in listed if "ml-100k" in f or f.endswith((".inter", ".item"))]
