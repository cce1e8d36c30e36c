"""Top-k ranking metrics with binary relevance (no I/O).

For one member with relevant set R (their held-out titles) and a list L of k
recommendations, hit(i) = 1 when L[i] is in R (i from 1):

- precision@k = Σ hit(i) / k
- recall@k = Σ hit(i) / |R|
- NDCG@k = DCG / IDCG, DCG = Σ hit(i) / log2(i + 1), IDCG the DCG of min(k, |R|) hits
  in the first places
- MAP@k: the mean over members of AP@k = Σ_i hit(i) · precision@i / min(k, |R|), the
  precision at each hit averaged over the hits a perfect list could have had

Each is averaged over the members with at least one relevant title.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RankingMetrics:
    ndcg: float
    precision: float
    recall: float
    map: float
    members: int  # how many members were averaged

    def as_dict(self, digits: int = 4) -> dict[str, float | int]:
        return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def ranking_metrics(recommended: Sequence[Sequence[Hashable]],
                    relevant: Sequence[Collection[Hashable]], k: int = 10) -> RankingMetrics:  # fmt: skip
    """Per-member lists (their first k used) against per-member relevant sets."""
    if len(recommended) != len(relevant):
        raise ValueError("one recommendation list per relevant set")
    sums = [0.0, 0.0, 0.0, 0.0]
    counted = 0
    for items, truth in zip(recommended, relevant, strict=True):
        if not truth:
            continue
        counted += 1
        hits = [1 if x in truth else 0 for x in list(items)[:k]]
        dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
        ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(truth))))
        found, ap = 0, 0.0
        for i, h in enumerate(hits):
            if h:
                found += 1
                ap += found / (i + 1)
        sums[0] += dcg / ideal
        sums[1] += sum(hits) / k
        sums[2] += sum(hits) / len(truth)
        sums[3] += ap / min(k, len(truth))
    if not counted:
        return RankingMetrics(0.0, 0.0, 0.0, 0.0, 0)
    ndcg, precision, recall, map_ = (s / counted for s in sums)
    return RankingMetrics(ndcg, precision, recall, map_, counted)
