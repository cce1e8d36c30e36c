"""What the service serves, and how its settings are chosen (no I/O).

The served model is EASE with its regulariser λ chosen on a validation split carved from
the data it is trained on (75/25 within each member, seed 43): each λ in the grid is fitted
on the validation split's training part and scored by NDCG@10 on its held-out part; the
best is refitted on all of the data. The test split of an evaluation is never looked at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._interactions import BoolArray, Interactions
from ._metrics import ranking_metrics
from ._models import EASE_LAMBDAS, FloatArray, fit_ease, popularity, top_k
from ._split import split_per_member

SERVED_KIND = "ease"
VALIDATION_SEED = 43
K = 10


@dataclass(frozen=True)
class ServedModel:
    kind: str
    lam: float
    weights: FloatArray  # titles × titles
    popularity: FloatArray  # ratings per title in the data it was fitted on
    validation: dict[float, float] = field(default_factory=dict)  # λ → validation NDCG@10


def ndcg_of(data: Interactions, train: BoolArray, held_out: BoolArray, scores: np.ndarray, k: int = K) -> float:
    """NDCG@k of ``scores`` (members × titles) on the held-out mask, seen titles removed."""
    best = top_k(scores, data.matrix(train), k)
    relevant: list[set[int]] = [set() for _ in data.members]
    for m, t in zip(data.member[held_out], data.title[held_out], strict=True):
        relevant[m].add(int(t))
    return ranking_metrics([[int(x) for x in row if x >= 0] for row in best], relevant, k).ndcg


def choose_lambda(data: Interactions, within: BoolArray | None = None) -> tuple[float, dict[float, float]]:
    """λ with the best validation NDCG@10, from a split of ``within`` (all data if None)."""
    scope = np.ones(len(data), dtype=bool) if within is None else within
    fit_part = split_per_member(data, seed=VALIDATION_SEED, within=scope)
    held = scope & ~fit_part
    X = data.matrix(fit_part)
    results = {lam: ndcg_of(data, fit_part, held, X @ fit_ease(X, lam)) for lam in EASE_LAMBDAS}
    return max(results, key=lambda lam: (results[lam], -lam)), results


def fit_served(data: Interactions, within: BoolArray | None = None) -> ServedModel:
    """The served model fitted on ``within`` (all of ``data`` if None), λ chosen inside it."""
    lam, results = choose_lambda(data, within)
    X = data.matrix(within)
    return ServedModel(SERVED_KIND, lam, fit_ease(X, lam), popularity(X), results)
