"""The audience side: a streaming service's catalog, members, ratings and events.

``moviola stream init`` makes a service folder whose store is SQLite (WAL) inside it, or
PostgreSQL 15 (``--db postgresql://...``), with one schema versioned by Alembic. Catalogs
and ratings come from CSV files or MovieLens 100K (read from the ``recbole`` wheel).
Recommendations: EASE, trained into model versions, served from the newest. Search: typo-tolerant
words, meaning (MiniLM) and the member, over an in-memory index per catalog state.
"""

from ._evaluate import evaluate
from ._imports import (
    ImportResult,
    import_ratings,
    import_titles,
    load_movielens,
    movielens_files,
)
from ._interactions import Interactions
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
    "ImportResult",
    "Interactions",
    "ModelVersion",
    "Published",
    "RankingMetrics",
    "ServedModel",
    "Service",
    "TrainedModel",
    "check_query",
    "evaluate",
    "fit_served",
    "import_ratings",
    "import_titles",
    "init_service",
    "key_art_poster",
    "load_movielens",
    "load_newest",
    "migrate",
    "movielens_files",
    "newest_version",
    "open_service",
    "parse_picks",
    "parse_years",
    "publish",
    "ranking_metrics",
    "read_interactions",
    "read_member_ids",
    "recommend",
    "recommend_members",
    "search",
    "split_per_member",
    "store_revision",
    "title_id_for",
    "train",
    "train_count",
    "typographic_poster",
]
