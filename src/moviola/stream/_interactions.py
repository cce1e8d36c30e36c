"""Who rated what, as index arrays and a sparse matrix (no I/O).

Members and titles are numbered in sorted id order, so the same ratings always give the
same numbering, whatever order the store returned them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Interactions:
    """One row per (member, title) pair a member rated; relevance is binary."""

    members: tuple[str, ...]
    titles: tuple[str, ...]
    member: IntArray  # index into members, one per interaction
    title: IntArray  # index into titles
    ts: IntArray  # epoch seconds

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, int]]) -> Interactions:
        """``(member_id, title_id, ts)`` rows; a pair given twice counts once (the latest)."""
        pairs: dict[tuple[str, str], int] = {}
        for member, title, ts in rows:
            pairs[(member, title)] = max(int(ts), pairs.get((member, title), int(ts)))
        members = tuple(sorted({m for m, _ in pairs}))
        titles = tuple(sorted({t for _, t in pairs}))
        m_index = {m: i for i, m in enumerate(members)}
        t_index = {t: i for i, t in enumerate(titles)}
        keys = sorted(pairs, key=lambda p: (m_index[p[0]], t_index[p[1]]))
        return cls(members, titles,
                   np.array([m_index[m] for m, _ in keys], dtype=np.int64),
                   np.array([t_index[t] for _, t in keys], dtype=np.int64),
                   np.array([pairs[p] for p in keys], dtype=np.int64))  # fmt: skip

    def __len__(self) -> int:
        return len(self.member)

    def matrix(self, mask: BoolArray | None = None) -> csr_matrix:
        """Members × titles, 1 where the member rated the title (within ``mask``)."""
        rows, cols = (self.member, self.title) if mask is None else (self.member[mask], self.title[mask])
        data = np.ones(len(rows), dtype=np.float32)
        return csr_matrix((data, (rows, cols)), shape=(len(self.members), len(self.titles)))
