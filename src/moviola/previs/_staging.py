"""What the script says a scene looks like, as the layout needs it: one JSON-able record.

The workflow fills it from the breakdown (the hour it resolved, colour words,
weather, extras, storeys, how long an event takes) and from a VFX recipe linked
to one of the scene's shots; the layout builds the set, its lights, crowds,
weather and VFX elements from it. It is part of a stage's content key, so a
stage is rebuilt when what the script says changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class WeatherSpec:
    kind: str  # snow | rain | dust | smoke | fog
    intensity: float = 0.5  # 0..1
    glow: RGB | None = None  # luminous snow: its colour


@dataclass(frozen=True)
class CrowdSpec:
    name: str
    count: int
    colours: tuple[RGB, ...] = ()


@dataclass(frozen=True)
class CollapseSpec:
    """A collapse recipe linked to a shot: what the final shot will do, so the previs does it too."""

    shot: str
    height_m: float
    duration_s: float | None
    mode: str = "pancake"


@dataclass(frozen=True)
class Staging:
    hour: str = ""  # day | night | dawn | dusk ("": only the heading's own word)
    sky_tint: RGB | None = None
    light_tint: RGB | None = None
    glow: RGB | None = None
    weather: tuple[WeatherSpec, ...] = ()
    ground: str | None = None  # "snow": a white ground
    crowds: tuple[CrowdSpec, ...] = ()
    storeys: int | None = None
    event_s: float | None = None  # "In ten seconds the tower folds ..."
    collapse: CollapseSpec | None = None
    words: tuple[str, ...] = field(default=())  # the phrases that set the tints

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def build_stagings(scenes: list[dict[str, Any]], recipes: dict[str, tuple[str, dict[str, Any]]] | None = None
                   ) -> dict[str, Staging]:  # fmt: skip
    """Every scene's staging from the breakdown's scenes (script order), by scene number.

    ``recipes`` are collapse recipes linked to plan shots, as ``{shot_id: (scene, recipe)}``
    read by the caller: the final shot's height, duration and mode time the previs's tower.
    """
    from ._scene_facts import (
        crowds_of,
        duration_in,
        ground_by_scene,
        light_words,
        resolve_hours,
        scene_texts,
        storeys_in,
        weather_by_scene,
    )

    hours = resolve_hours(scenes)
    weather = weather_by_scene(scenes)
    grounds = ground_by_scene(scenes)
    linked: dict[str, CollapseSpec] = {}
    for shot_id, (scene_number, recipe) in sorted((recipes or {}).items()):
        if str(scene_number) not in linked:
            duration = recipe.get("duration_s")
            linked[str(scene_number)] = CollapseSpec(
                shot_id, float(recipe.get("height_m") or 30.0),
                float(duration) if duration else None, str(recipe.get("mode") or "pancake"),
            )  # fmt: skip
    out: dict[str, Staging] = {}
    for scene in scenes:
        number = str(scene["number"])
        texts = scene_texts(scene)
        tints = light_words(texts)
        hour = hours.get(number)
        out[number] = Staging(
            hour=hour.kind if hour else "",
            sky_tint=tints.sky,
            light_tint=tints.light,
            glow=tints.glow,
            weather=tuple(WeatherSpec(w.kind, round(float(w.intensity), 3), w.glow)
                          for w in weather.get(number, [])),  # fmt: skip
            ground=grounds.get(number),
            crowds=tuple(CrowdSpec(c.name, int(c.count), tuple(c.colours)) for c in crowds_of(scene)),
            storeys=storeys_in(texts),
            event_s=duration_in(texts),
            collapse=linked.get(number),
            words=tuple(tints.words),
        )
    return out
