"""The service's ad settings: ``ads.toml`` in the service folder (optional; defaults below).

::

    [ads]
    load_minutes_per_hour = 4.0    # ad time per hour of content, at most
    preroll_seconds = 30           # the pre-roll's pod (also the least any title carries)
    midroll_every_minutes = 15     # a mid-roll break every so often
    pod_size = 2                   # ads in one break, at most
    propensity_floor = 0.02        # no eligible creative is chosen with a lower probability
    exploration = "epsilon"        # the bandit's exploration: epsilon (the best creative, the rest
    epsilon = 0.1                  #   spread over epsilon) or softmax (probabilities follow
    softmax_lambda = 30.0          #   exp(-lambda x expected cost), which depends on the rewards' scale)

    [ads.reward]                   # what a decision earned: the sum over its events, each once
    complete = 1.0
    click = 2.0                    # a click-through
    interaction = 3.0              # the SIMID creative's interaction (the overlay's button)
    skip = 0.0
    close_after_seconds = 600      # a decision without a closing event is closed this late

The reward definition is part of the config because what an advertiser pays for (a view
to the end, a click, an interaction) is a business choice, not the model's.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import InputError

CONFIG_FILE = "ads.toml"
REWARD_EVENTS = ("complete", "click", "interaction", "skip")


@dataclass(frozen=True)
class Reward:
    complete: float = 1.0
    click: float = 2.0
    interaction: float = 3.0
    skip: float = 0.0
    close_after_seconds: int = 600

    def of(self, kinds: set[str]) -> float:
        """The reward of a decision whose events were ``kinds`` (each counted once)."""
        return float(sum(getattr(self, k) for k in REWARD_EVENTS if k in kinds))


@dataclass(frozen=True)
class AdsConfig:
    load_minutes_per_hour: float = 4.0
    preroll_seconds: int = 30
    midroll_every_minutes: float = 15.0
    pod_size: int = 2
    propensity_floor: float = 0.02
    exploration: str = "epsilon"
    softmax_lambda: float = 30.0
    epsilon: float = 0.1
    reward: Reward = field(default_factory=Reward)

    def vw_arguments(self) -> str:
        """Vowpal Wabbit's exploration for these settings."""
        if self.exploration == "epsilon":
            return f"--epsilon {self.epsilon:g}"
        return f"--softmax --lambda {self.softmax_lambda:g}"

    def ad_seconds(self, content_seconds: float) -> float:
        """Ad time a title of this length may carry: the hourly load, pro rata, but never
        less than one pre-roll (a two-minute film still gets its 15 s spot)."""
        return max(self.load_minutes_per_hour * 60 * content_seconds / 3600, float(self.preroll_seconds))


_LIMITS: dict[str, tuple[float, float]] = {
    "load_minutes_per_hour": (0, 30), "preroll_seconds": (0, 300), "midroll_every_minutes": (1, 240),
    "pod_size": (1, 10), "propensity_floor": (0.0001, 0.5), "epsilon": (0, 1), "softmax_lambda": (0, 1000),
}  # fmt: skip
_REWARD_LIMITS = {"complete": (-100, 100), "click": (-100, 100), "interaction": (-100, 100),
                  "skip": (-100, 100), "close_after_seconds": (30, 86400)}  # fmt: skip


def _number(path: Path, where: str, value: Any, low: float, high: float, whole: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{where}: must be a number, not {value!r}", path)
    if whole and not float(value).is_integer():
        raise InputError(f"{where}: must be a whole number, not {value!r}", path)
    if not low <= value <= high:
        raise InputError(f"{where}: {value} is outside {low:g}..{high:g}", path)
    return float(value)


_WHOLE = {"preroll_seconds", "pod_size", "close_after_seconds"}  # whole numbers; the rest may be fractions


def _numbers(table: dict[str, Any], limits: Mapping[str, tuple[float, float]], where: str, path: Path) -> dict[str, Any]:
    """The numeric settings of one table, each checked against its limits."""
    values: dict[str, Any] = {}
    for key, item in table.items():
        if key not in limits:
            raise InputError(f"{where}.{key}: unknown setting (known: {', '.join(sorted(limits))})", path)
        number = _number(path, f"{where}.{key}", item, *limits[key], key in _WHOLE)
        values[key] = int(number) if key in _WHOLE else number
    return values


def parse_config(data: dict[str, Any], path: Path) -> AdsConfig:
    ads = data.get("ads", {})
    if not isinstance(ads, dict) or set(data) - {"ads"}:
        raise InputError("holds only an [ads] table (and [ads.reward])", path)
    rest = {k: v for k, v in ads.items() if k not in ("reward", "exploration")}
    values = _numbers(rest, _LIMITS, "ads", path)
    if "exploration" in ads:
        if ads["exploration"] not in ("softmax", "epsilon"):
            raise InputError(f"ads.exploration: {ads['exploration']!r} is not softmax or epsilon", path)
        values["exploration"] = ads["exploration"]
    reward = ads.get("reward", {})
    if not isinstance(reward, dict):
        raise InputError("ads.reward: must be a table", path)
    return AdsConfig(**values, reward=Reward(**_numbers(reward, _REWARD_LIMITS, "ads.reward", path)))


def read_config(root: Path) -> AdsConfig:
    """The settings of the service in ``root`` (defaults where ``ads.toml`` is absent)."""
    path = root / CONFIG_FILE
    if not path.exists():
        return AdsConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read: {exc}", path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not TOML: {exc}", path) from exc
    return parse_config(data, path)
