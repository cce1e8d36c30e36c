"""Model versions on disk and in the store, and the ratings they are trained on (I/O).

``train`` fits the served model on every rating in the store and records a version:
its files are written into ``models/.incoming-<version>/`` and the folder renamed to
``models/<version>/`` once complete, then a ``model_versions`` row names it. Serving
always reads the newest row, so a new version is picked up by the next request, without
a restart; a loaded version is kept in memory until a newer one appears.

Each version folder holds ``model.npz`` (EASE's weights, the title ids in their order,
their popularity; read without pickle) and ``model.json`` (what was trained, on what, how).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import desc, insert, select

from ..core import ProjectError, StorageError, storage_error, write_bytes_atomic
from . import _schema as t
from ._interactions import Interactions
from ._models import FloatArray
from ._served import FEW_TITLES, fit_served
from ._service import Service

MODEL_FILE = "model.npz"
INFO_FILE = "model.json"
MODEL_SCHEMA = "StreamModel.1"


@dataclass(frozen=True)
class ModelVersion:
    version: str
    kind: str
    path: Path
    created_at: int
    info: dict[str, Any]


@dataclass(frozen=True)
class TrainedModel:
    version: str
    kind: str
    titles: tuple[str, ...]  # the model's title ids, in the order of its weights
    weights: FloatArray  # titles × titles
    popularity: FloatArray  # ratings per title when trained
    few: FloatArray | None = None  # titles × titles for members with few titles (None: weights)

    def matrix_for(self, count: int) -> FloatArray:
        """The weights that score a member with ``count`` titles (see ``_served``)."""
        return self.few if self.few is not None and count < FEW_TITLES else self.weights

    def index(self) -> dict[str, int]:
        """Title id → row of the weights (built once per loaded model)."""
        return self._index

    @cached_property
    def _index(self) -> dict[str, int]:
        return {tid: i for i, tid in enumerate(self.titles)}


TRAINED_EVENTS = ("play",)  # besides ratings: a title played is a title chosen


def read_interactions(service: Service) -> Interactions:
    """Every rating and every play in the store, as binary interactions (a title both rated
    and played counts once); refuses a store with none."""
    e = t.events.c
    with service.engine.connect() as conn:
        rows = list(conn.execute(select(t.ratings.c.member_id, t.ratings.c.title_id, t.ratings.c.ts)).all())
        rows += conn.execute(select(e.member_id, e.title_id, e.ts)
                             .where(e.kind.in_(TRAINED_EVENTS), e.title_id.is_not(None))).all()  # fmt: skip
    if not rows:
        raise ProjectError("the service has no ratings or plays yet; import some first (moviola stream "
                           "import-ratings or load-movielens)", service.root)  # fmt: skip
    return Interactions.from_rows((str(m), str(tid), int(ts)) for m, tid, ts in rows)


def _new_version() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def train(service: Service) -> ModelVersion:
    """Fit the served model on all ratings and record it as the newest version."""
    data = read_interactions(service)
    start = time.perf_counter()
    model = fit_served(data)
    seconds = time.perf_counter() - start
    newest = newest_version(service)
    version = _new_version()
    while newest is not None and version <= newest.version:  # a clock set back: still newer
        time.sleep(0.001)
        version = _new_version()
    info = {"schema": MODEL_SCHEMA, "version": version, "kind": model.kind, "lambda": model.lam,
            "settings": model.settings.summary,
            "validation_ndcg@10": {k: round(v, 4) for k, v in model.validation.items()},
            "members": len(data.members), "titles": len(data.titles), "ratings": len(data),
            "train_seconds": round(seconds, 2)}  # fmt: skip
    models = service.path("models")
    incoming = models / f".incoming-{version}"
    final = models / version
    buffer = io.BytesIO()
    np.savez(buffer, weights=model.weights, few=model.few, popularity=model.popularity,
             titles=np.array(data.titles, dtype=str))  # fmt: skip
    try:
        incoming.mkdir(parents=True)
        write_bytes_atomic(incoming / MODEL_FILE, buffer.getvalue())
        write_bytes_atomic(incoming / INFO_FILE, (json.dumps(info, indent=2) + "\n").encode("utf-8"))
        os.rename(incoming, final)
    except OSError as exc:
        shutil.rmtree(incoming, ignore_errors=True)
        raise storage_error(exc, final, "cannot write the model") from exc
    except StorageError:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    created = int(time.time())
    try:
        with service.engine.begin() as conn:
            conn.execute(insert(t.model_versions).values(version=version, kind=model.kind, path=f"models/{version}",
                                                         created_at=created, metrics=json.dumps(info)))  # fmt: skip
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
    return ModelVersion(version, model.kind, final, created, info)


def newest_version(service: Service) -> ModelVersion | None:
    """The newest recorded version (by time, then by name), or None."""
    query = select(t.model_versions).order_by(desc(t.model_versions.c.created_at),
                                              desc(t.model_versions.c.version)).limit(1)  # fmt: skip
    with service.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    info: dict[str, Any] = {}
    with contextlib.suppress(TypeError, ValueError):
        info = json.loads(row.metrics or "{}")
    return ModelVersion(row.version, row.kind, service.path(*Path(row.path).parts), int(row.created_at), info)


_LOADED: dict[Path, TrainedModel] = {}
_LOCK = threading.Lock()


def load_newest(service: Service) -> TrainedModel:
    """The newest version, loaded (from memory when it was loaded before)."""
    version = newest_version(service)
    if version is None:
        raise ProjectError("no model trained yet; run 'moviola stream train' on this service", service.root)
    with _LOCK:
        cached = _LOADED.get(version.path)
        if cached is not None and cached.version == version.version:
            return cached
    model = _read(version)
    with _LOCK:
        _LOADED.clear()  # keep only the newest in memory
        _LOADED[version.path] = model
    return model


def _read(version: ModelVersion) -> TrainedModel:
    path = version.path / MODEL_FILE
    try:
        with np.load(path, allow_pickle=False) as npz:
            weights = np.asarray(npz["weights"], dtype=np.float32)
            popularity = np.asarray(npz["popularity"], dtype=np.float32)
            titles = tuple(str(x) for x in npz["titles"])
            few = np.asarray(npz["few"], dtype=np.float32) if "few" in npz.files else None
    except FileNotFoundError as exc:
        raise ProjectError(f"model version {version.version} is recorded but its files are missing; "
                           "run 'moviola stream train' again", path) from exc  # fmt: skip
    except (OSError, ValueError, KeyError) as exc:
        raise ProjectError(f"model version {version.version} cannot be read ({exc}); run 'moviola "
                           "stream train' again", path) from exc  # fmt: skip
    square = (len(titles), len(titles))
    if weights.shape != square or popularity.shape != (len(titles),) or (few is not None and few.shape != square):
        raise ProjectError(f"model version {version.version} is inconsistent; run 'moviola stream train' again", path)
    return TrainedModel(version.version, version.kind, titles, weights, popularity, few)

