"""Ads on the streaming service: campaigns and creatives, VAST 4.2 / VMAP 1.0 documents,
SIMID interactive overlays, a contextual bandit that chooses the ad under hard caps and
pacing, and off-policy evaluation of candidate policies."""

from __future__ import annotations

__all__: list[str] = []
