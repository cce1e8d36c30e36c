"""``moviola stream eval``: the MovieLens 100K protocol on a service's ratings (no I/O).

A 75/25 random split within each member (seed 42); every model is fitted on the training
part only (the served model's λ chosen on a validation split carved from it); each member
gets a top 10 with the titles they rated in training left out; any held-out title is
relevant. The served model is measured beside popularity, BPR and ALS in the same run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ._interactions import Interactions
from ._metrics import RankingMetrics, ranking_metrics
from ._models import fit_factors, popularity, top_k
from ._served import fit_served
from ._split import SPLIT_SEED, TRAIN_SHARE, split_per_member

K = 10


def evaluate(data: Interactions, k: int = K, seed: int = SPLIT_SEED,
             baselines: tuple[str, ...] = ("popularity", "bpr", "als")) -> dict[str, Any]:  # fmt: skip
    """The protocol's figures for the served model and the baselines, as a JSON-ready dict."""
    train = split_per_member(data, TRAIN_SHARE, seed)
    X = data.matrix(train)
    relevant: list[set[int]] = [set() for _ in data.members]
    for m, t in zip(data.member[~train], data.title[~train], strict=True):
        relevant[m].add(int(t))

    def measure(scores: Callable[[], np.ndarray]) -> tuple[RankingMetrics, float]:
        start = time.perf_counter()
        s = scores()
        fitted = time.perf_counter() - start
        best = top_k(s, X, k)
        return ranking_metrics([[int(x) for x in row if x >= 0] for row in best], relevant, k), fitted

    rows: list[dict[str, Any]] = []
    served_info: dict[str, Any] = {}

    def served_scores() -> np.ndarray:
        model = fit_served(data, train)
        served_info.update(kind=model.kind, **{"lambda": model.lam}, settings=model.settings.summary,
                           validation_ndcg={k: round(v, 4) for k, v in model.validation.items()})  # fmt: skip
        return np.asarray(model.scores(X))

    makers: dict[str, Callable[[], np.ndarray]] = {
        "served": served_scores,
        "popularity": lambda: np.tile(popularity(X), (X.shape[0], 1)),
        "bpr": lambda: _factor_scores(X, "bpr", seed),
        "als": lambda: _factor_scores(X, "als", seed),
    }
    for name in ("served", *baselines):
        metrics, seconds = measure(makers[name])
        rows.append({"model": name, **_named(metrics, k), "train_seconds": round(seconds, 2)})
    return {
        "protocol": {"split": f"{round(TRAIN_SHARE * 100)}/{round((1 - TRAIN_SHARE) * 100)} random within each member",
                     "seed": seed, "k": k, "relevance": "binary: any held-out title",
                     "seen": "titles rated in training left out",
                     "map": f"mean over members of sum(hit_i * precision@i, i <= {k}) / min({k}, relevant)",
                     "members": len(data.members), "titles": len(data.titles),
                     "train": int(train.sum()), "test": int((~train).sum()),
                     "cores": len(os.sched_getaffinity(0))},
        "served": served_info,
        "models": rows,
    }  # fmt: skip


def _named(m: RankingMetrics, k: int) -> dict[str, float | int]:
    return {f"ndcg@{k}": round(m.ndcg, 4), f"precision@{k}": round(m.precision, 4),
            f"recall@{k}": round(m.recall, 4), f"map@{k}": round(m.map, 4), "members": m.members}  # fmt: skip


def _factor_scores(X: Any, kind: str, seed: int) -> np.ndarray:
    users, items = fit_factors(X, "bpr" if kind == "bpr" else "als", seed=seed)
    return users @ items.T
