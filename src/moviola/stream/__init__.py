"""The audience side: a streaming service's catalog, members, ratings and events.

``moviola stream init`` makes a service folder whose store is SQLite (WAL) inside it, or
PostgreSQL 15 (``--db postgresql://...``), with one schema versioned by Alembic. Catalogs
and ratings come from CSV files or MovieLens 100K (read from the ``recbole`` wheel).
"""

from ._imports import (
    ImportResult,
    import_ratings,
    import_titles,
    load_movielens,
    movielens_files,
)
from ._service import SERVICE_FILE, Service, init_service, migrate, open_service, store_revision

__all__ = [
    "SERVICE_FILE",
    "ImportResult",
    "Service",
    "import_ratings",
    "import_titles",
    "init_service",
    "load_movielens",
    "migrate",
    "movielens_files",
    "open_service",
    "store_revision",
]
