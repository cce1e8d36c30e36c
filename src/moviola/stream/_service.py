"""The service folder: ``service.toml``, its store (SQLite inside the folder, or PostgreSQL),
and the store's migrations.

Layout::

    service.toml        name, created, the store's URL (no password: libpq reads
                        PGPASSWORD or ~/.pgpass), format
    store.sqlite3       the embedded store (WAL), when no --db was given
    models/             trained model versions (written by ``stream train``)
    posters/            generated and published posters
    media/              published trailers

The schema is the same on both stores and versioned with Alembic; opening a service
brings its store to the current revision, and a store written by a newer Moviola is
refused.
"""

from __future__ import annotations

import contextlib
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from ..core import DependencyError, ProjectError, now_iso, write_bytes_atomic
from ..provenance import Claim, Credentials, Stamp, credentials_for

SERVICE_FILE = "service.toml"
SERVICE_FORMAT = 1
SQLITE_FILE = "store.sqlite3"
SUBDIRS = ("models", "posters", "media")


@dataclass
class Service:
    """A streaming service folder and its store."""

    root: Path
    name: str
    created: str
    db: str = ""  # "" = the embedded SQLite store; else a postgresql:// URL
    _engine: Engine | None = field(default=None, repr=False)

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    @property
    def store_label(self) -> str:
        """Where the data lives, for messages (never with a password)."""
        return str(self.path(SQLITE_FILE)) if not self.db else _redact(self.db)

    @cached_property
    def engine(self) -> Engine:
        return _engine(self)

    @cached_property
    def credentials(self) -> Credentials:
        """What the service signs the pictures it makes with: this account's key set."""
        return credentials_for(None)

    def stamp(self, command: str) -> Stamp:
        return Stamp(self.credentials, Claim("service picture", command=command, details={"service": self.name}))

    def save(self) -> None:
        data: dict[str, Any] = {
            "moviola": {"format": SERVICE_FORMAT},
            "service": {"name": self.name, "created": self.created},
            "store": {"url": self.db} if self.db else {"sqlite": SQLITE_FILE},
        }
        header = "# Moviola streaming service. Human-readable; edit with care.\n"
        write_bytes_atomic(self.path(SERVICE_FILE), (header + tomli_w.dumps(data)).encode("utf-8"))


def _redact(url: str) -> str:
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, cred = head.partition("://")
    return f"{scheme}://{cred.split(':')[0]}@{tail}"


def _sqlalchemy_url(db: str) -> str:
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    return db


def _engine(service: Service) -> Engine:
    if not service.db:
        engine = create_engine(f"sqlite:///{service.path(SQLITE_FILE)}")

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi: Any, _: Any) -> None:
            cur = dbapi.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
            cur.execute("PRAGMA synchronous=NORMAL")  # an acknowledged write survives kill -9
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        return engine
    try:
        return create_engine(_sqlalchemy_url(service.db), pool_pre_ping=True)
    except ImportError as exc:  # psycopg is the 'postgres' extra
        raise DependencyError("a PostgreSQL store needs psycopg 3: pip install 'moviola[postgres]'",
                              service.path(SERVICE_FILE)) from exc  # fmt: skip
    except SQLAlchemyError as exc:
        raise ProjectError(f"cannot use the store {service.store_label}: {exc}", service.path(SERVICE_FILE)) from exc


def init_service(root: str | Path, db: str | None = None, name: str | None = None) -> Service:
    """Create a service folder (refusing one that already holds a service) and its store."""
    path = Path(root)
    if path.exists() and not path.is_dir():
        raise ProjectError("exists and is not a folder", path)
    if (path / SERVICE_FILE).exists():
        raise ProjectError("already a Moviola service (service.toml exists)", path)
    if db and not db.startswith(("postgresql://", "postgres://")):
        raise ProjectError(f"--db must be a postgresql:// URL, not {_redact(db)!r}", path)
    made = [p for p in (path, *(path / sub for sub in SUBDIRS)) if not p.exists()]
    try:
        for folder in made:
            folder.mkdir(parents=True)
        service = Service(path, name or path.resolve().name, now_iso(), db or "")
        migrate(service)  # before service.toml: a store that cannot be reached leaves no service
        service.save()
    except OSError as exc:
        _take_back(made, path)
        raise ProjectError(f"cannot create the service: {exc.strerror or exc}", path) from exc
    except BaseException:
        _take_back(made, path)
        raise
    return service


def _take_back(made: list[Path], root: Path) -> None:
    """Remove what a refused ``init`` created (the folders it made, the SQLite files)."""
    for leftover in (SQLITE_FILE, f"{SQLITE_FILE}-wal", f"{SQLITE_FILE}-shm"):  # no service was
        (root / leftover).unlink(missing_ok=True)  # there (init refuses one), so the store is ours
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()


def open_service(root: str | Path) -> Service:
    """Open the service in ``root`` and bring its store to the current schema."""
    path = Path(root)
    manifest = path / SERVICE_FILE
    if not path.is_dir():
        raise ProjectError("no such folder", path)
    if not manifest.is_file():
        raise ProjectError("not a Moviola service (no service.toml); create one with "
                           "'moviola stream init'", path)  # fmt: skip
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
        fmt = data.get("moviola", {}).get("format", 1)
        if not isinstance(fmt, int) or fmt > SERVICE_FORMAT:
            raise ProjectError(f"service format {fmt} is newer than this Moviola reads", manifest)
        info = data["service"]
        service = Service(path, str(info["name"]), str(info.get("created", "")),
                          str(data.get("store", {}).get("url", "")))  # fmt: skip
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ProjectError(f"service.toml cannot be read: {exc}", manifest) from exc
    for sub in SUBDIRS:
        service.path(sub).mkdir(exist_ok=True)
    migrate(service)
    return service


def migrate(service: Service) -> str:
    """Bring the store to the newest schema revision (Alembic); returns the revision."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head() or ""
    try:
        with service.engine.begin() as conn:
            current = _current_revision(conn)
            known = {s.revision for s in ScriptDirectory.from_config(config).walk_revisions()}
            if current and current not in known:
                raise ProjectError(f"the store is at schema revision {current}, written by a newer "
                                   "Moviola; upgrade Moviola to open it", service.path(SERVICE_FILE))  # fmt: skip
            if current != head:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise ProjectError(f"cannot open the store {service.store_label}: "
                           f"{' '.join(str(getattr(exc, 'orig', None) or exc).split())[:300]}",
                           service.path(SERVICE_FILE)) from exc  # fmt: skip
    return head


def _current_revision(conn: Any) -> str | None:
    from alembic.runtime.migration import MigrationContext

    rev = MigrationContext.configure(conn).get_current_revision()
    return str(rev) if rev else None


def store_revision(service: Service) -> str | None:
    with service.engine.connect() as conn:
        return _current_revision(conn)


def ping(service: Service) -> None:
    with service.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
