"""What the service serves, and how its settings are chosen (no I/O).

The served model is one titles × titles matrix, so a member (or a new member's picks) is
scored as x·B and every title has a reason ("because you rated X"). It is EASE on a Gram
matrix that adds session co-occurrence (pairs rated within minutes, weight γ, time scale
τ), blended with ALS's item-to-item matrix (weight w, on the scale of EASE's scores).

Its settings are chosen on a validation split carved from the data it is trained on
(75/25 within each member, seed 43), by NDCG@10 on the held-out part, in three steps: λ
for plain EASE; then γ, τ and λ near it with sessions; then the ALS weight. Each step
keeps the setting before it when nothing beats it, so γ = 0 and w = 0 (plain EASE) stay
possible. The best settings are refitted on all of the data. The test split of an
evaluation is never looked at.

A member with few titles (fewer than ``FEW_TITLES``: a new member's picks, a first
evening's plays) is scored with a second, much more regularised EASE matrix: with three
titles the full model over-reads each one, while a large λ leans on what is broadly liked
among those who liked them (on MovieLens, 3 picks: 1.33× popularity's NDCG@10 against
1.13×). Its λ is chosen the way it is used: 10% of the members (seed 43) are left out of
the fit, each gives 3 random titles as picks, and the rest of theirs are to be found.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from ._interactions import BoolArray, Interactions
from ._metrics import ranking_metrics
from ._models import (
    EASE_LAMBDAS,
    FloatArray,
    als_item_item,
    fit_ease_gram,
    gram,
    popularity,
    session_gram,
    top_k,
)
from ._split import split_per_member

SERVED_KIND = "ease-session-als"
VALIDATION_SEED = 43
K = 10
SESSION_WEIGHTS = (1.0, 2.0)  # γ: how much a pair within a session counts beyond XᵀX
SESSION_SECONDS = (150.0, 600.0)  # τ
SESSION_LAMBDA_FACTORS = (0.6, 1.0, 1.6)  # λ around plain EASE's best, as sessions add mass
ALS_WEIGHTS = (0.2, 0.5)
FEW_TITLES = 15  # fewer: the few-titles matrix (on MovieLens it is better up to 10 titles, even at 20)
FEW_LAMBDAS = (2000.0, 5000.0, 10000.0, 20000.0, 50000.0)
FEW_PICKS = 3
FEW_SHARE = 0.1  # of the members, left out to choose the few-titles λ


@dataclass(frozen=True)
class Settings:
    lam: float
    session_weight: float = 0.0
    session_seconds: float = SESSION_SECONDS[0]
    als_weight: float = 0.0
    few_lam: float = FEW_LAMBDAS[2]

    @property
    def label(self) -> str:
        text = f"lambda={self.lam:g}"
        if self.session_weight:
            text += f" session={self.session_weight:g}x{self.session_seconds:g}s"
        if self.als_weight:
            text += f" als={self.als_weight:g}"
        return text

    @property
    def summary(self) -> str:
        """The label and the few-titles λ."""
        return f"{self.label} few-titles lambda={self.few_lam:g}"


@dataclass(frozen=True)
class ServedModel:
    kind: str
    settings: Settings
    weights: FloatArray  # titles × titles
    few: FloatArray  # titles × titles, for members with fewer than FEW_TITLES titles
    popularity: FloatArray  # ratings per title in the data it was fitted on
    validation: dict[str, float] = field(default_factory=dict)  # a setting's label → validation NDCG@10

    @property
    def lam(self) -> float:
        return self.settings.lam

    def scores(self, X: csr_matrix) -> NDArray[np.float32]:
        """Every member's scores (members × titles), each with the matrix their count calls for."""
        return member_scores(X, self.weights, self.few)


def member_scores(X: csr_matrix, weights: FloatArray, few: FloatArray | None) -> NDArray[np.float32]:
    """x·B for each row x of X, with ``few`` for rows with fewer than FEW_TITLES titles."""
    result = np.asarray(X @ weights, dtype=np.float32)
    counts = np.diff(X.indptr)
    small = np.flatnonzero(counts < FEW_TITLES)
    if few is not None and len(small):
        result[small] = np.asarray(X[small] @ few, dtype=np.float32)
    return result


def ndcg_of(data: Interactions, train: BoolArray, held_out: BoolArray, scores: np.ndarray, k: int = K) -> float:
    """NDCG@k of ``scores`` (members × titles) on the held-out mask, seen titles removed."""
    best = top_k(scores, data.matrix(train), k)
    relevant: list[set[int]] = [set() for _ in data.members]
    for m, t in zip(data.member[held_out], data.title[held_out], strict=True):
        relevant[m].add(int(t))
    return ranking_metrics([[int(x) for x in row if x >= 0] for row in best], relevant, k).ndcg


class _Fitter:
    """The served model's pieces for one set of interactions, each computed once."""

    def __init__(self, data: Interactions, mask: BoolArray) -> None:
        self.data, self.mask = data, mask
        self.X: csr_matrix = data.matrix(mask)
        self.base = gram(self.X)
        self._sessions: dict[float, NDArray[np.float64]] = {}
        self._als: FloatArray | None = None

    def session(self, tau: float) -> NDArray[np.float64]:
        if tau not in self._sessions:
            d = self.data
            self._sessions[tau] = session_gram(d.member[self.mask], d.title[self.mask], d.ts[self.mask],
                                               len(d.titles), tau)  # fmt: skip
        return self._sessions[tau]

    def weights(self, s: Settings) -> FloatArray:
        g = self.base + s.session_weight * self.session(s.session_seconds) if s.session_weight else self.base
        b = fit_ease_gram(g, s.lam)
        if not s.als_weight:
            return b
        if self._als is None:
            self._als = als_item_item(self.X)
        ease_scores, als_scores = self.X @ b, self.X @ self._als
        scale = float(np.std(ease_scores) / max(float(np.std(als_scores)), 1e-12))
        result: FloatArray = (b + (s.als_weight * scale) * self._als).astype(np.float32)
        return result


def choose_settings(data: Interactions, within: BoolArray | None = None) -> tuple[Settings, dict[str, float]]:
    """The settings with the best validation NDCG@10, from a split of ``within`` (all data if None)."""
    scope = np.ones(len(data), dtype=bool) if within is None else within
    fit_part = split_per_member(data, seed=VALIDATION_SEED, within=scope)
    held = scope & ~fit_part
    fitter = _Fitter(data, fit_part)
    results: dict[Settings, float] = {}

    def score(s: Settings) -> float:
        if s not in results:
            results[s] = ndcg_of(data, fit_part, held, np.asarray(fitter.X @ fitter.weights(s)))
        return results[s]

    def best(candidates: list[Settings], incumbent: Settings | None = None) -> Settings:
        pool = candidates + ([incumbent] if incumbent else [])
        return max(pool, key=lambda s: (score(s), s == incumbent, -s.lam))

    plain = best([Settings(lam) for lam in EASE_LAMBDAS])
    sessions = best([Settings(plain.lam * f, w, tau) for f in SESSION_LAMBDA_FACTORS
                     for w in SESSION_WEIGHTS for tau in SESSION_SECONDS], plain)  # fmt: skip
    chosen = best([_with_als(sessions, w) for w in ALS_WEIGHTS], sessions)
    few_lam, few_results = choose_few_lambda(data, scope)
    labels = {s.label: v for s, v in results.items()}
    labels.update({f"few-titles lambda={lam:g} ({FEW_PICKS} picks)": v for lam, v in few_results.items()})
    return replace(chosen, few_lam=few_lam), labels


def choose_few_lambda(data: Interactions, scope: BoolArray) -> tuple[float, dict[float, float]]:
    """The few-titles λ with the best NDCG@10 for left-out members from FEW_PICKS picks."""
    rng = np.random.default_rng(VALIDATION_SEED)
    members = np.unique(data.member[scope])
    left_out = rng.choice(members, size=max(1, round(FEW_SHARE * len(members))), replace=False)
    held = scope & np.isin(data.member, left_out)
    picks: list[np.ndarray] = []
    truth: list[set[int]] = []
    for m in left_out:
        titles = data.title[held & (data.member == m)]
        if len(titles) > FEW_PICKS:
            chosen = rng.choice(titles, size=FEW_PICKS, replace=False)
            picks.append(chosen)
            truth.append({int(x) for x in titles} - {int(x) for x in chosen})
    if not picks or not (scope & ~held).any():
        return FEW_LAMBDAS[2], {}
    g = gram(data.matrix(scope & ~held))
    results: dict[float, float] = {}
    for lam in FEW_LAMBDAS:
        b = fit_ease_gram(g, lam).astype(np.float64)
        ranked = []
        for chosen in picks:
            s = b[chosen].sum(axis=0)
            s[chosen] = -np.inf
            ranked.append([int(x) for x in np.argsort(-s, kind="stable")[:K]])
        results[lam] = ranking_metrics(ranked, truth, K).ndcg
    return max(results, key=lambda lam: (results[lam], -lam)), results


def _with_als(s: Settings, weight: float) -> Settings:
    return replace(s, als_weight=weight)


def fit_served(data: Interactions, within: BoolArray | None = None) -> ServedModel:
    """The served model fitted on ``within`` (all of ``data`` if None), settings chosen inside it."""
    settings, results = choose_settings(data, within)
    mask = np.ones(len(data), dtype=bool) if within is None else within
    fitter = _Fitter(data, mask)
    return ServedModel(SERVED_KIND, settings, fitter.weights(settings), fit_ease_gram(fitter.base, settings.few_lam),
                       popularity(fitter.X), results)  # fmt: skip
