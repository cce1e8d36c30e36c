"""The recommenders, as arrays in and arrays out (no I/O).

- EASE (Steck 2019), the served model: an item-to-item weight matrix in closed form,
  B = I - P·diagMat(1/diag(P)) with P = (XᵀX + λI)⁻¹, so diag(B) = 0 and a member's
  scores are x·B for their row x of rated titles. A new member's picks are such a row,
  so they get personal results at once, without retraining.
- Popularity: how many members rated each title (the baseline).
- BPR and ALS from the ``implicit`` library (the plain matrix-factorisation baselines).
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

FloatArray = NDArray[np.float32]
BPR_ITERATIONS = 200
EASE_LAMBDAS = (50.0, 100.0, 200.0, 300.0, 500.0, 800.0, 1200.0)  # the validation grid


def fit_ease(X: csr_matrix, lam: float) -> FloatArray:
    """EASE's weights (titles × titles) for a binary members × titles matrix."""
    gram = (X.T @ X).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    p = np.linalg.inv(gram)
    weights = -p / np.diag(p)[None, :]  # B = I - P·diagMat(1/diag(P)), off the diagonal
    np.fill_diagonal(weights, 0.0)
    result: FloatArray = weights.astype(np.float32)
    return result


def popularity(X: csr_matrix) -> FloatArray:
    """How many members rated each title."""
    return np.asarray(X.sum(axis=0), dtype=np.float32).ravel()


def fit_factors(X: csr_matrix, kind: Literal["bpr", "als"], *,
                seed: int = 42) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """Members' and titles' factors from ``implicit`` (scores are their dot products). The
    settings were picked from a few tried on a validation split of MovieLens 100K's training
    part (ALS: 32 factors, α 5; BPR: 64 factors, learning rate 0.05, 200 epochs)."""
    from implicit.cpu.als import AlternatingLeastSquares  # type: ignore[import-untyped]
    from implicit.cpu.bpr import BayesianPersonalizedRanking  # type: ignore[import-untyped]
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    model: AlternatingLeastSquares | BayesianPersonalizedRanking
    with threadpool_limits(1, "blas"), warnings.catch_warnings():  # implicit wants 1 BLAS thread
        warnings.simplefilter("ignore")
        if kind == "bpr":
            model = BayesianPersonalizedRanking(factors=64, learning_rate=0.05, regularization=0.01,
                                                iterations=BPR_ITERATIONS, random_state=seed)  # fmt: skip
        else:
            model = AlternatingLeastSquares(factors=32, regularization=0.05, alpha=5.0,
                                            iterations=15, random_state=seed)  # fmt: skip
        model.fit(X.astype(np.float32).tocsr(), show_progress=False)
    return (np.asarray(model.user_factors, dtype=np.float32),
            np.asarray(model.item_factors, dtype=np.float32))  # fmt: skip


def top_k(scores: NDArray[np.floating], seen: csr_matrix, k: int) -> NDArray[np.int64]:
    """Each row's k best columns, best first, leaving out the columns it has seen (ties:
    the lower column first). Rows with fewer than k unseen columns are padded with -1."""
    s = np.array(scores, dtype=np.float64)
    s[seen.nonzero()] = -np.inf
    best = np.argsort(-s, axis=1, kind="stable")[:, : min(k, s.shape[1])]
    rows = np.arange(s.shape[0])[:, None]
    return np.where(np.isfinite(s[rows, best]), best, -1).astype(np.int64)
