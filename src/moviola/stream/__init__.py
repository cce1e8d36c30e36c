"""The audience side: a streaming service's catalog, members, ratings and events.

``moviola stream init`` makes a service folder whose store is SQLite (WAL) inside it, or
PostgreSQL 15 (``--db postgresql://...``), with one schema versioned by Alembic. Catalogs
and ratings come from CSV files or MovieLens 100K (read from the ``recbole`` wheel).
Recommendations: EASE, trained into model versions, served from the newest. Search: typo-tolerant
words, meaning (MiniLM) and the member, over an in-memory index per catalog state.
"""

from typing import Any

from ._evaluate import evaluate
from ._events import Event, UnknownTitle, record_event, session_titles
from ._home import home, poster_file, title_details
from ._imports import (
    ImportResult,
    import_ratings,
    import_titles,
    load_movielens,
    movielens_files,
)
from ._interactions import Interactions
from ._keys import KeyRefused, NewKey, check_key, new_key, revoke_key
from ._members import Forgotten, NotFound, delete_member, member_exists
from ._metrics import RankingMetrics, ranking_metrics
from ._model_store import (
    ModelVersion,
    TrainedModel,
    load_newest,
    newest_version,
    read_interactions,
    train,
)
from ._posters import key_art_poster, typographic_poster
from ._publish import Published, publish, title_id_for
from ._recommend import parse_picks, read_member_ids, recommend, recommend_members
from ._search import check_query, parse_years, search
from ._served import ServedModel, fit_served
from ._service import SERVICE_FILE, Service, init_service, migrate, open_service, store_revision
from ._split import split_per_member, train_count

__all__ = [
    "SERVICE_FILE",
    "Event",
    "Forgotten",
    "ImportResult",
    "Interactions",
    "KeyRefused",
    "ModelVersion",
    "NewKey",
    "NotFound",
    "Published",
    "RankingMetrics",
    "ServedModel",
    "Service",
    "TrainedModel",
    "UnknownTitle",
    "check_key",
    "check_query",
    "create_app",
    "delete_member",
    "evaluate",
    "fit_served",
    "home",
    "import_ratings",
    "import_titles",
    "init_service",
    "key_art_poster",
    "load_movielens",
    "load_newest",
    "member_exists",
    "migrate",
    "movielens_files",
    "new_key",
    "newest_version",
    "open_service",
    "parse_picks",
    "parse_years",
    "poster_file",
    "publish",
    "ranking_metrics",
    "read_interactions",
    "read_member_ids",
    "recommend",
    "recommend_members",
    "record_event",
    "revoke_key",
    "search",
    "serve",
    "session_titles",
    "split_per_member",
    "store_revision",
    "title_details",
    "title_id_for",
    "train",
    "train_count",
    "typographic_poster",
]


def __getattr__(name: str) -> Any:
    """The server (``create_app``, ``serve``) is imported when first asked for, so that
    the rest of ``moviola.stream`` does not load FastAPI."""
    if name in ("create_app", "serve"):
        from . import _server

        return getattr(_server, name)
    raise AttributeError(f"module 'moviola.stream' has no attribute {name!r}")
