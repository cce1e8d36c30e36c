"""Careless or hostile use of ``moviola stream``: one line each, its exit code, nothing written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from hostile import Hostile, check_case
from moviola.stream import init_service

HEADER = "title_id,title,year,genres\n"


def service(tmp: Path) -> Path:
    init_service(tmp / "svc")
    return tmp / "svc"


def importing(name: str, body: bytes, command: str = "import-titles") -> Any:
    def setup(tmp: Path) -> Sequence[str | Path]:
        root = service(tmp)
        (tmp / name).write_bytes(body)
        return ["stream", command, root, tmp / name]

    return setup


def not_a_service(tmp: Path) -> Sequence[str | Path]:
    (tmp / "folder").mkdir()
    return ["stream", "load-movielens", tmp / "folder"]


def init_twice(tmp: Path) -> Sequence[str | Path]:
    return ["stream", "init", service(tmp)]


def init_with_a_bad_url(tmp: Path) -> Sequence[str | Path]:
    return ["stream", "init", tmp / "svc", "--db", "mysql://root@localhost/x"]


def init_unreachable(tmp: Path) -> Sequence[str | Path]:
    return ["stream", "init", tmp / "svc", "--db", "postgresql://nobody@127.0.0.1:1/none"]


# SQLite's own files change when a connection opens and closes (its WAL is checkpointed):
# bytes, not data. That no row lands is checked in test_stream_store.py, on both stores.
STORE = ("svc/store.sqlite3", "svc/store.sqlite3-*")

CASES = [
    Hostile("titles-missing-file", lambda tmp: ["stream", "import-titles", service(tmp), tmp / "nope.csv"],
            2, r"nope\.csv: no such file", STORE),  # fmt: skip
    Hostile("titles-empty-file", importing("t.csv", b""), 2, r"t\.csv", STORE),
    Hostile("titles-binary", importing("t.csv", bytes(range(256)) * 4), 2, r"t\.csv: .*binary", STORE),
    Hostile("titles-bad-header", importing("t.csv", b"id,name\n1,A\n"), 2, r"t\.csv: line 1: the header lacks title_id", STORE),
    Hostile("titles-bad-year", importing("t.csv", (HEADER + "t1,A,MMXX,Drama\n").encode()), 2,
            r"t\.csv: line 2: year 'MMXX' is not a year", STORE),  # fmt: skip
    Hostile("ratings-before-titles", importing("r.csv", b"member_id,title_id,rating,timestamp\nm1,t1,4,1\n",
                                               "import-ratings"), 2, r"r\.csv: line 2: title_id 't1' is not in the catalog", STORE),  # fmt: skip
    Hostile("not-a-service", not_a_service, 3, r"folder: not a Moviola service"),
    Hostile("init-twice", init_twice, 3, r"svc: already a Moviola service", STORE),
    Hostile("init-not-postgresql", init_with_a_bad_url, 3, r"--db must be a postgresql:// URL"),
    Hostile("init-unreachable-store", init_unreachable, 3,
            r"cannot open the store postgresql://nobody@127\.0\.0\.1:1/none"),  # fmt: skip
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_use_of_the_stream_commands_is_one_line(case: Hostile, run_cli: Any, tmp_path: Path) -> None:
    check_case(case, run_cli, tmp_path)


def test_the_cli_imports_and_says_so_in_json(run_cli: Any, tmp_path: Path) -> None:
    root = tmp_path / "svc"
    assert run_cli("stream", "init", root).code == 0
    titles = tmp_path / "titles.csv"
    titles.write_text(HEADER + "t1,The Palace,2026,Drama|Disaster\n", encoding="utf-8")

    first = run_cli("stream", "import-titles", root, titles, "--json")
    again = run_cli("stream", "import-titles", root, titles, "--json")

    assert json.loads(first.out) == {"kind": "titles", "file": str(titles), "rows": 1, "new": True}
    assert json.loads(again.out)["new"] is False
