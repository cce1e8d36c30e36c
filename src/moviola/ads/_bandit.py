"""The contextual bandit that chooses among eligible creatives: Vowpal Wabbit's
``cb_explore_adf`` (action-dependent features, so a creative added tomorrow is scored from
what it shares with others: its campaign, advertiser, length, interactivity).

Features, one VW namespace each (the first letter is VW's namespace):

- ``m`` the member's taste as the recommender sees it: the mean of their titles' vectors
  (the served model's title-to-title weights, reduced to a few dimensions);
- ``g`` the genres they watch (shares), ``t`` the genres of the title being watched,
  ``h`` the local hour and part of the day, ``u`` age band, gender, occupation;
- ``c`` the creative: its id, campaign, advertiser, length, whether it is interactive.

Every shared namespace is crossed with ``c`` (``-q``), so the model learns which creative
suits which context. A decision's probabilities never fall below the floor: they are mixed
with the uniform, ``p' = (1 - n f) p + f``, so every eligible creative keeps a known,
non-zero chance and the logs can be evaluated off-policy.

A workspace is not thread-safe; :class:`Policy` holds a lock around it.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core import DependencyError
from ._config import AdsConfig

INTERACTIONS = "-q mc -q gc -q tc -q hc -q uc"
_UNSAFE = re.compile(r"[\s|:]+")


def _token(text: str) -> str:
    """A feature name VW reads as one (no spaces, bars or colons)."""
    return _UNSAFE.sub("_", text.strip())[:80] or "_"


def daypart(hour: int) -> str:
    return ("night", "morning", "afternoon", "evening")[hour // 6] if 0 <= hour <= 23 else "unknown"


@dataclass(frozen=True)
class Context:
    """What a decision knows of the member and the moment."""

    member_vector: tuple[float, ...] = ()
    genres: Mapping[str, float] = field(default_factory=dict)
    title_genres: tuple[str, ...] = ()
    hour: int = -1  # local hour, -1: unknown
    attributes: tuple[str, ...] = ()

    def line(self) -> str:
        """The VW ``shared`` line."""
        parts = ["shared"]
        if self.member_vector:
            parts.append("|m " + " ".join(f"e{i}:{v:.5f}" for i, v in enumerate(self.member_vector) if v))
        if self.genres:
            parts.append("|g " + " ".join(f"{_token(g)}:{w:.4f}" for g, w in sorted(self.genres.items())))
        if self.title_genres:
            parts.append("|t " + " ".join(_token(g) for g in self.title_genres))
        if self.hour >= 0:
            parts.append(f"|h h{self.hour} {daypart(self.hour)}")
        if self.attributes:
            parts.append("|u " + " ".join(_token(a) for a in self.attributes))
        return " ".join(parts)


def action_line(creative_id: str, campaign_id: str, advertiser: str, seconds: float, interactive: bool) -> str:
    """The VW line of one candidate creative."""
    length = "s15" if seconds <= 16 else "s30" if seconds <= 31 else "long"
    return (f"|c cr={_token(creative_id)} cp={_token(campaign_id)} adv={_token(advertiser)} {length}"
            + (" simid" if interactive else ""))  # fmt: skip


def floored(pmf: Sequence[float], floor: float) -> list[float]:
    """Mix ``pmf`` with the uniform so that no probability is below ``floor`` (lowered to
    half of 1/n when there are too many actions for it)."""
    n = len(pmf)
    if n == 0:
        return []
    total = float(sum(pmf))
    base = [p / total for p in pmf] if total > 0 and all(math.isfinite(p) for p in pmf) else [1 / n] * n
    f = min(floor, 0.5 / n)
    return [(1 - n * f) * p + f for p in base]


class Policy:
    """A Vowpal Wabbit ``cb_explore_adf`` model, learning as rewards arrive."""

    def __init__(self, config: AdsConfig, *, model: Path | None = None, base: str = "cb0", seed: int = 7) -> None:
        try:
            from vowpalwabbit import Workspace
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise DependencyError("the ad bandit needs Vowpal Wabbit: pip install vowpalwabbit") from exc
        self.config = config
        self.base = base
        self.learned = 0
        self._lock = threading.Lock()
        args = f"--cb_explore_adf {config.vw_arguments()} {INTERACTIONS} --quiet --random_seed {seed}"
        self._vw = Workspace(args + (f" -i {model}" if model is not None else ""))

    @property
    def version(self) -> str:
        """The model as it decides now: its base and how many rewards it learned since."""
        return f"{self.base}+{self.learned}"

    def probabilities(self, shared: str, actions: Sequence[str]) -> list[float]:
        """The probability of choosing each action (in their order), floored."""
        if not actions:
            return []
        with self._lock:
            pmf = self._vw.predict([shared, *actions])
        return floored([float(p) for p in pmf], self.config.propensity_floor)

    def learn(self, shared: str, actions: Sequence[str], chosen: int, reward: float, propensity: float) -> None:
        """Learn that ``actions[chosen]``, taken with ``propensity``, earned ``reward``."""
        lines = [shared, *actions]
        lines[1 + chosen] = f"0:{-reward:g}:{propensity:.6f} {lines[1 + chosen]}"
        with self._lock:
            self._vw.learn(lines)
            self.learned += 1

    def save(self, path: Path) -> None:
        with self._lock:
            self._vw.save(str(path))

    def close(self) -> None:
        with self._lock:
            self._vw.finish()
