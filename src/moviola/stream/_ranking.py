"""Ranking one member's titles with a trained model (no I/O).

A member is their row of rated (or picked) titles, x; the scores are x·B, with the model's
few-titles matrix for a member with only a few (``TrainedModel.matrix_for``). The reason given
for a title is the member's title that contributed most to its score. A member none of
whose titles the model knows gets the most popular titles, said to be popular.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from ._model_store import TrainedModel


@dataclass(frozen=True)
class Ranked:
    title: int  # index into the model's titles
    score: float
    because: int | None  # the member's title (model index) that contributed most; None: popular


def rank(model: TrainedModel, history: Sequence[int], k: int, exclude: Collection[int] = ()) -> list[Ranked]:
    """The k best titles for a member who rated ``history`` (model indices), leaving out
    ``history`` and ``exclude``; by popularity when ``history`` is empty."""
    n = len(model.titles)
    known = sorted(set(history))
    weights = model.matrix_for(len(known))
    scores = weights[known].sum(axis=0).astype(np.float64) if known else model.popularity.astype(np.float64)
    blocked = [*known, *(i for i in exclude if 0 <= i < n)]
    scores[blocked] = -np.inf
    order = np.argsort(-scores, kind="stable")[: max(0, k)]
    order = order[np.isfinite(scores[order])]
    if not known:
        return [Ranked(int(j), float(scores[j]), None) for j in order]
    reasons = np.asarray(known)[np.argmax(weights[np.ix_(known, order)], axis=0)] if len(order) else []
    return [Ranked(int(j), float(scores[j]), int(r)) for j, r in zip(order, reasons, strict=True)]
