"""The evaluation protocol's split: within each member, a random share of their ratings
for training and the rest held out (MovieLens 100K's usual 75/25, seed 42).

Each member's ratings are taken in title order, shuffled by one generator seeded once and
walked member by member in id order: the same ratings and seed always give the same split.
A member with n ratings keeps round(0.75·n) for training (half up), at least one on each
side when n ≥ 2; a member with a single rating keeps it for training.
"""

from __future__ import annotations

import math

import numpy as np

from ._interactions import BoolArray, Interactions

SPLIT_SEED = 42
TRAIN_SHARE = 0.75


def train_count(n: int, share: float = TRAIN_SHARE) -> int:
    """How many of a member's n ratings go to training."""
    if n <= 1:
        return n
    return min(max(math.floor(share * n + 0.5), 1), n - 1)


def split_per_member(data: Interactions, share: float = TRAIN_SHARE,
                     seed: int = SPLIT_SEED, within: BoolArray | None = None) -> BoolArray:  # fmt: skip
    """A mask over ``data``: True for training, False for held out. ``within``: split only
    those interactions (the rest stay False), as a validation split carved from a training one."""
    rng = np.random.default_rng(seed)
    chosen = np.ones(len(data), dtype=bool) if within is None else within
    train = np.zeros(len(data), dtype=bool)
    rows = np.flatnonzero(chosen)
    if len(rows) == 0:
        return train
    members = data.member[rows]  # sorted by member, then title (Interactions' order)
    starts = np.flatnonzero(np.r_[True, members[1:] != members[:-1]])
    for group in np.split(rows, starts[1:]):
        order = rng.permutation(len(group))
        train[group[order[: train_count(len(group), share)]]] = True
    return train
