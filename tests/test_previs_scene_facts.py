"""Scene facts: what the script says a scene looks like, read from its breakdown.

Each rule is pinned on a scene written the way a screenplay writes it, then
the lot is held to the bundled example (NEVADA): its night of glowing snow,
its crowd of forty thousand in red and blue, its twenty-storey tower that
folds in ten seconds, and its grey dawn after the snow has stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from moviola.previs._scene_facts import (
    COLOURS,
    GLOW_WHITE,
    HEAVY,
    LIGHT,
    NAMED,
    Hour,
    Weather,
    colour,
    crowds_of,
    duration_in,
    ground_by_scene,
    ground_cover,
    hour_of_literal,
    light_words,
    number_value,
    ordinal_value,
    resolve_hours,
    scene_texts,
    storeys_in,
    weather_by_scene,
    weather_of,
)
from moviola.script import build_breakdown, parse_heading, read_screenplay

NEVADA = Path(__file__).resolve().parent.parent / "examples" / "nevada" / "nevada.fountain"

Scene = dict[str, Any]


def scene(
    number: str,
    heading: str,
    *action: str,
    day_night: str = "DAY",
    tags: tuple[dict[str, Any], ...] = (),
    dialogue: tuple[str, ...] = (),
) -> Scene:
    """A breakdown scene as build_breakdown writes one: heading parts, beats, tags."""
    parts = parse_heading(heading)
    beats = [{"kind": "action", "text": a} for a in action]
    beats += [{"kind": "dialogue", "text": d, "character": "SOMEONE"} for d in dialogue]
    return {
        "number": number,
        "heading": heading,
        "int_ext": parts.int_ext,
        "location": parts.location,
        "time_of_day": parts.time_of_day,
        "era": parts.era,
        "day_night": day_night,
        "beats": beats,
        "tags": list(tags),
    }


def extras(text: str, context: str) -> dict[str, Any]:
    return {"kind": "extras", "name": text.lower(), "text": text, "context": context}


def kinds(scenes: list[Scene]) -> dict[str, str]:
    return {n: h.kind for n, h in resolve_hours(scenes).items()}


def falling(weather: list[Weather]) -> dict[str, float]:
    return {w.kind: w.intensity for w in weather}


# --------------------------------------------------------------------------
# numbers and colours
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("one", 1), ("twelve", 12), ("twenty-one", 21), ("ninety nine", 99),
        ("forty thousand", 40000), ("a hundred", 100), ("one hundred and five", 105),
        ("two dozen", 24), ("a dozen", 12), ("2,000", 2000), ("8", 8), ("40,000", 40000),
    ],
)  # fmt: skip
def test_number_words_read_as_written(text: str, value: int) -> None:
    assert number_value(text) == value


def test_a_word_that_is_no_number_is_none() -> None:
    assert number_value("people") is None
    assert ordinal_value("people") is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("first", 1), ("sixth", 6), ("twelfth", 12), ("nineteenth", 19), ("twentieth", 20),
        ("twenty-first", 21), ("thirty second", 32), ("ninetieth", 90), ("21st", 21),
    ],
)  # fmt: skip
def test_ordinals_read_as_written(text: str, value: int) -> None:
    assert ordinal_value(text) == value


def test_colour_words_are_linear_rgb() -> None:
    assert colour("Copper") == COLOURS["copper"]
    assert colour("blood-red") == COLOURS["blood red"]
    assert colour("gray") == colour("grey")
    assert colour("mauve-ish") is None
    r, g, b = COLOURS["cold blue"]
    assert b > g > r and all(0.0 <= c <= 1.0 for c in COLOURS["cold blue"])
    assert COLOURS["grey"][0] == pytest.approx(0.2159, abs=1e-3)  # sRGB 128, linearised


# --------------------------------------------------------------------------
# the hour
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "kind"),
    [
        ("DAY", "day"), ("NIGHT", "night"), ("DAWN", "dawn"), ("DUSK", "dusk"),
        ("MORNING", "day"), ("AFTERNOON", "day"), ("NOON", "day"), ("EVENING", "dusk"),
        ("SUNSET", "dusk"), ("SUNRISE", "dawn"), ("MAGIC HOUR", "dusk"), ("MIDNIGHT", "night"),
        ("EARLY MORNING", "day"), ("LATER THAT NIGHT", "night"),
        ("NOCHE", "night"), ("DÍA", "day"), ("DIA", "day"), ("AMANECER", "dawn"),
        ("ATARDECER", "dusk"), ("MAÑANA", "day"),
    ],
)  # fmt: skip
def test_a_heading_hour_names_its_kind(literal: str, kind: str) -> None:
    assert hour_of_literal(literal) == kind


@pytest.mark.parametrize(
    "literal",
    ["CONTINUOUS", "LATER", "MOMENTS LATER", "SAME", "SAME TIME", "A FEW MINUTES LATER",
     "MÁS TARDE", None],
)  # fmt: skip
def test_an_inheriting_heading_names_no_hour(literal: str | None) -> None:
    assert hour_of_literal(literal) is None


@pytest.mark.parametrize(
    "second",
    [
        "INT. HALL - CONTINUOUS", "INT. HALL - LATER", "INT. HALL - MOMENTS LATER",
        "INT. HALL - SAME", "INT. HALL - SAME TIME", "INT. HALL - A FEW MINUTES LATER",
        "INT. HALL", "INT. HALL - MÁS TARDE",
    ],
)  # fmt: skip
def test_a_heading_without_an_hour_takes_the_previous_scenes(second: str) -> None:
    hours = resolve_hours([scene("1", "EXT. STREET - DUSK"), scene("2", second, day_night="DAY")])
    assert hours["1"] == Hour("dusk", "heading")
    assert hours["2"] == Hour("dusk", "inherited")


@pytest.mark.parametrize(
    ("heading", "kind"),
    [
        ("EXT. FIELD - DAY", "day"), ("EXT. FIELD - NIGHT", "night"),
        ("EXT. FIELD - DAWN", "dawn"), ("EXT. FIELD - DUSK", "dusk"),
        ("EXT. CALLE - NOCHE", "night"), ("EXT. CALLE - DÍA", "day"),
        ("EXT. CALLE - AMANECER", "dawn"), ("EXT. CALLE - ATARDECER", "dusk"),
    ],
)  # fmt: skip
def test_the_headings_own_hour_wins_over_the_chain(heading: str, kind: str) -> None:
    hours = resolve_hours([scene("1", "INT. ROOM - MIDNIGHT"), scene("2", heading)])
    assert hours["2"] == Hour(kind, "heading")


def test_a_first_scene_with_no_hour_uses_the_breakdowns_day_night() -> None:
    assert resolve_hours([scene("1", "INT. HALL - CONTINUOUS", day_night="NIGHT")])["1"] == Hour(
        "night", "breakdown"
    )
    assert resolve_hours([scene("1", "INT. HALL", day_night="DAY")])["1"] == Hour(
        "day", "breakdown"
    )


def test_a_flashback_keeps_its_era_and_continuous_continues_it() -> None:
    hours = resolve_hours(
        [
            scene("1", "EXT. STREET - DAY"),
            scene("2", "INT. CLUB - NIGHT (1979)"),
            scene("3", "EXT. CLUB - CONTINUOUS"),
            scene("4", "INT. FLAT - DAY"),
            scene("5", "INT. FLAT - LATER"),
        ]
    )
    assert hours["2"] == Hour("night", "heading", "1979")
    assert hours["3"] == Hour("night", "inherited", "1979")  # still the flashback
    assert hours["4"] == Hour("day", "heading")  # an hour with no era: the present
    assert hours["5"] == Hour("day", "inherited")


def test_back_to_the_present_takes_the_present_days_hour_not_the_flashbacks() -> None:
    hours = resolve_hours(
        [
            scene("1", "EXT. STREET - DAY"),
            scene("2", "INT. CLUB - NIGHT (1979)"),
            scene("3", "EXT. STREET (PRESENT DAY)"),
        ]
    )
    assert hours["3"] == Hour("day", "inherited")


def test_action_that_says_the_hour_changes_sets_an_inherited_hour() -> None:
    hours = resolve_hours(
        [
            scene("1", "EXT. BEACH - NIGHT"),
            scene("2", "EXT. BEACH - LATER", "They wait. Dawn breaks over the water."),
            scene("3", "EXT. DUNES - CONTINUOUS"),
            scene("4", "EXT. DUNES - LATER", "They sleep until the sun comes up."),
            scene("5", "EXT. DUNES - LATER", "Nobody moves before dawn."),
        ]
    )
    assert hours["2"] == Hour("dawn", "text")
    assert hours["3"] == Hour("dawn", "inherited")
    assert hours["4"] == Hour("dawn", "text")
    assert hours["5"] == Hour("dawn", "inherited")  # "before dawn" says no change


def test_the_heading_wins_but_the_next_scene_carries_on_from_a_stated_change() -> None:
    hours = resolve_hours(
        [
            scene("1", "EXT. ROOF - NIGHT", "At sunrise the city turns gold."),
            scene("2", "EXT. ROOF - CONTINUOUS"),
        ]
    )
    assert hours["1"] == Hour("night", "heading")
    assert hours["2"] == Hour("dawn", "inherited")


def test_dialogue_never_changes_the_hour() -> None:
    hours = resolve_hours(
        [
            scene("1", "INT. CAR - NIGHT"),
            scene("2", "INT. CAR - LATER", dialogue=("We'll be there at dawn.",)),
        ]
    )
    assert hours["2"] == Hour("night", "inherited")


# --------------------------------------------------------------------------
# light and sky colours
# --------------------------------------------------------------------------


def test_colour_words_about_the_sky_tint_the_sky() -> None:
    assert (
        light_words(["Forty kilometres of lights under a low, copper sky."]).sky
        == (COLOURS["copper"])
    )
    assert light_words(["The sky turns blood-red."]).sky == COLOURS["blood red"]
    assert light_words(["The sky is a sickly green."]).sky == COLOURS["sickly green"]
    assert light_words(["A violet haze hangs over the bay."]).sky == COLOURS["violet"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("The glow fills it with cold blue light, like an aquarium.", "cold blue"),
        ("An amber glow from the kitchen.", "amber"),
        ("Sodium lights buzz over the car park.", "sodium"),
        ("Ahead, an orange glow. He brakes hard.", "orange"),
        ("The room is bathed in red.", "red"),
        ("Grey light.", "grey"),
    ],
)
def test_colour_words_about_the_light_tint_the_light(text: str, name: str) -> None:
    tints = light_words([text])
    assert tints.light == COLOURS[name]
    assert tints.sky is None


def test_something_that_glows_takes_the_next_colour_said() -> None:
    tints = light_words(
        ["High above, a single flake of snow drifts down. It glows -- a faint, cold blue."]
    )
    assert tints.glow == COLOURS["cold blue"]
    assert tints.light is None  # "cold blue, like a pilot light" is the glow, not the light
    assert "glows -- a faint, cold blue" in tints.words


def test_a_glow_without_a_colour_and_plain_text_tint_nothing() -> None:
    assert light_words(["The park is glowing."]).glow is None
    assert light_words(["A black-and-yellow taxi waits."]) == light_words([])
    assert light_words([]).words == ()


def test_the_first_colour_stated_wins_and_every_phrase_is_kept() -> None:
    tints = light_words(["Blue light on the wipers.", "Ahead, an orange glow."])
    assert tints.light == COLOURS["blue"]
    assert tints.words == ("Blue light", "orange glow")


# --------------------------------------------------------------------------
# weather
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "level"),
    [
        ("A single flake of snow drifts down.", "snow", LIGHT),
        ("The first flakes drift through the floodlights.", "snow", LIGHT),
        ("Snow hisses on the flames.", "snow", NAMED),
        ("A curtain of snow sweeps across the pitch like a tide.", "snow", HEAVY),
        ("Hot air rolls in, thick with snow.", "snow", HEAVY),
        ("A blizzard. Nothing beyond the headlights.", "snow", HEAVY),
        ("A fine drizzle.", "rain", LIGHT),
        ("It is raining.", "rain", NAMED),
        ("A torrential downpour.", "rain", HEAVY),
        ("Fog rolls in off the river.", "fog", NAMED),
        ("A thick fog swallows the pier.", "fog", HEAVY),
        ("A grey wall of dust boils out at street level.", "dust", HEAVY),
        ("Thick black smoke pours from the windows.", "smoke", HEAVY),
    ],
)
def test_the_action_says_what_falls_and_how_hard(text: str, kind: str, level: float) -> None:
    assert falling(weather_of(scene("1", "EXT. STREET - NIGHT", text))) == {kind: level}


@pytest.mark.parametrize(
    "text",
    [
        "Then the patter of debris, like rain.",
        "Two yellow rain capes on the table.",
        "A fireball punches up, raining burning debris across the avenue.",
        "His breath is fogging his goggles.",
        "A human avalanche pours toward the exits.",
        "A dozen black columns of smoke rise over the city.",
        "VFX: skyline extension with fires and smoke columns.",
        "A strip of dry asphalt free of snow.",
        "Air conditioners drip onto balconies.",
    ],
)
def test_words_that_only_sound_like_weather_are_not_weather(text: str) -> None:
    assert weather_of(scene("1", "EXT. STREET - NIGHT", text)) == []


def test_a_noisy_weather_tag_counts_only_for_what_its_words_say() -> None:
    tags = (
        {"kind": "vfx", "vfx_kind": "weather", "text": "Air conditioners drip onto balconies."},
        {"kind": "vfx", "vfx_kind": "crowd", "text": "VFX: driving snow across the lens."},
    )
    assert falling(weather_of(scene("1", "EXT. STREET - NIGHT", tags=tags))) == {"snow": HEAVY}


def test_snow_that_glows_takes_its_colour() -> None:
    (snow,) = weather_of(
        scene(
            "1",
            "EXT. CITY - NIGHT",
            "High above the Obelisco, a single flake of snow drifts down. It glows -- a faint, "
            "cold blue, like a pilot light.",
        )
    )
    assert snow.glow == COLOURS["cold blue"]
    assert "single flake" in snow.evidence
    (plain,) = weather_of(scene("1", "EXT. CITY - NIGHT", "Snow falls."))
    assert plain.glow is None


def test_snow_said_to_glow_without_a_colour_keeps_the_previous_glow() -> None:
    before = [Weather("snow", HEAVY, COLOURS["cold blue"], "earlier")]
    glowing = scene("2", "EXT. AVENUE - LATER", "Inside it, the snow still glows.")
    assert weather_of(glowing, before)[0].glow == COLOURS["cold blue"]
    assert weather_of(glowing)[0].glow == GLOW_WHITE


def test_an_interior_shows_no_falling_weather_but_int_ext_does() -> None:
    text = "Through the windscreen, luminous snow. The wipers smear blue light."
    assert weather_of(scene("1", "INT. KITCHEN - NIGHT", text)) == []
    (snow,) = weather_of(scene("1", "INT./EXT. TAXI - NIGHT", text))
    assert (snow.kind, snow.glow) == ("snow", COLOURS["blue"])


def test_an_exterior_keeps_the_snow_falling_from_before() -> None:
    before = [Weather("snow", HEAVY, None, "A curtain of snow.")]
    quiet = scene("4", "EXT. STREET - CONTINUOUS", "Ramiro runs.")
    (snow,) = weather_of(quiet, before)
    assert snow == Weather("snow", HEAVY, None, "A curtain of snow.", carried=True)
    assert weather_of(quiet) == []  # nothing before, nothing said: nothing falls
    assert weather_of(scene("4", "INT. FLAT - CONTINUOUS", "Ramiro runs."), before) == []


def test_what_a_scene_says_wins_over_what_carried_on() -> None:
    before = [Weather("snow", HEAVY, None, "A curtain of snow.")]
    (snow,) = weather_of(scene("2", "EXT. STREET - LATER", "A few flakes drift past."), before)
    assert (snow.intensity, snow.carried) == (LIGHT, False)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("The snow has stopped.", "snow"), ("It stops snowing.", "snow"),
        ("The rain lets up.", "rain"), ("The fog lifts.", "fog"),
    ],
)  # fmt: skip
def test_weather_the_scene_says_stopped_does_not_carry_on(text: str, kind: str) -> None:
    before = [Weather(kind, HEAVY, None, "earlier")]
    assert weather_of(scene("2", "EXT. STREET - LATER", text), before) == []


def test_snow_that_settles_on_someone_is_still_falling() -> None:
    settles = scene("1", "EXT. STREET - NIGHT", "Snow drifts down and it settles on her coat.")
    assert falling(weather_of(settles)) == {"snow": NAMED}


def test_dust_and_smoke_do_not_carry_on() -> None:
    before = [Weather("dust", HEAVY, None, "A wall of dust."), Weather("smoke", NAMED, None, "")]
    assert weather_of(scene("2", "EXT. STREET - LATER", "They walk."), before) == []


def test_the_snow_has_stopped_but_the_ground_is_white() -> None:
    before = [Weather("snow", HEAVY, None, "A curtain of snow.")]
    dawn = scene(
        "15",
        "EXT. AVENUE - DAWN",
        "Grey light. The snow has stopped. The avenue is a white river.",
    )
    assert weather_of(dawn, before) == []
    assert ground_cover(dawn) == "snow"


def test_the_ground_is_white_where_snow_lies_and_stays_white() -> None:
    lying = scene("4", "INT. FLAT - CONTINUOUS", "The snow lies on the parked cars.")
    assert ground_cover(lying) == "snow"
    assert weather_of(lying) == []
    assert ground_cover(scene("5", "EXT. STREET - LATER", "They run.")) is None
    assert ground_cover(scene("5", "EXT. STREET - LATER", "They run."), "snow") == "snow"
    thaw = scene("6", "EXT. STREET - DAY", "The snow has melted into grey slush.")
    assert ground_cover(thaw, "snow") is None


def test_a_single_flake_does_not_whiten_the_ground() -> None:
    assert ground_cover(scene("1", "EXT. CITY - NIGHT", "A single flake of snow drifts.")) is None


def test_the_script_walk_carries_snow_through_one_night_only() -> None:
    scenes = [
        scene("1", "EXT. STADIUM - NIGHT", "A curtain of snow sweeps across the pitch."),
        scene("2", "INT. FLAT - CONTINUOUS", "The TV goes black."),
        scene("3", "EXT. STREET - MOMENTS LATER", "They run for the car."),
        scene("4", "EXT. CLUB - NIGHT (1979)", "A band plays."),
        scene("5", "EXT. STREET - NIGHT", "They keep running."),
        scene("6", "EXT. STREET - DAWN", "They stop running."),
    ]
    weather = weather_by_scene(scenes)
    assert falling(weather["1"]) == {"snow": HEAVY}
    assert weather["2"] == []  # an interior
    assert falling(weather["3"]) == {"snow": HEAVY} and weather["3"][0].carried
    assert weather["4"] == []  # a flashback is another night
    assert falling(weather["5"]) == {"snow": HEAVY}  # the present night goes on
    assert weather["6"] == []  # a new hour starts afresh


# --------------------------------------------------------------------------
# crowds
# --------------------------------------------------------------------------


def crowd_scene(text: str, context: str) -> Scene:
    return scene("1", "EXT. STADIUM - NIGHT", context, tags=(extras(text, context),))


@pytest.mark.parametrize(
    ("text", "context", "name", "count"),
    [
        ("Forty thousand people", "Forty thousand people fill the stands.", "people", 40000),
        ("Dozens of SURVIVORS", "Dozens of SURVIVORS huddle between the pillars.", "SURVIVORS", 36),
        ("thousands", "Thousands of faces tilt up, thousands jammed into tunnels.", "thousands", 5000),
        ("crowd", "A crowd gathers at the gate.", "crowd", 60),
        ("NEIGHBOURS", "NEIGHBOURS in pyjamas crowd the landings, shouting.", "NEIGHBOURS", 12),
        ("fans", "Outside, 2,000 fans sing.", "fans", 2000),
        ("fans", "A crowd of 200 fans sings.", "fans", 200),
        ("WAITER", "A WAITER clears the table.", "WAITER", 1),
    ],
)  # fmt: skip
def test_a_crowd_is_as_many_as_the_words_say(
    text: str, context: str, name: str, count: int
) -> None:
    (crowd,) = crowds_of(crowd_scene(text, context))
    assert (crowd.name, crowd.count) == (name, count)
    assert crowd.evidence in context


def test_a_crowd_wears_the_colours_the_script_gives_it() -> None:
    context = (
        "The Nuevo Gasómetro, Bajo Flores. Forty thousand people in red and blue, "
        "the terraces flexing under them."
    )
    (crowd,) = crowds_of(crowd_scene("Forty thousand people", context))
    assert crowd.colours == (COLOURS["red"], COLOURS["blue"])
    assert crowd.evidence.startswith("Forty thousand people in red and blue")
    (fans,) = crowds_of(crowd_scene("fans", "Red-shirted fans pour in."))
    assert fans.colours == (COLOURS["red"],)
    (plain,) = crowds_of(crowd_scene("NEIGHBOURS", "NEIGHBOURS in pyjamas wait."))
    assert plain.colours == ()


def test_a_crowd_on_a_screen_and_crowd_as_a_verb_are_no_group() -> None:
    tv = "On a small TV: the match. The crowd ROARS through the tinny speaker."
    assert crowds_of(crowd_scene("crowd", tv)) == []
    landing = "Candles and phone torches. NEIGHBOURS in pyjamas crowd the landings, shouting."
    crowds = crowds_of(
        scene(
            "5",
            "INT. STAIRWELL - NIGHT",
            landing,
            tags=(extras("NEIGHBOURS", landing), extras("crowd", landing)),
        )
    )
    assert [(c.name, c.count) for c in crowds] == [("NEIGHBOURS", 12)]


def test_one_crowd_per_group() -> None:
    first = "Forty thousand people in red and blue."
    again = "Forty thousand people understand at once."
    crowds = crowds_of(
        scene(
            "3",
            "EXT. STADIUM - NIGHT",
            first,
            again,
            tags=(extras("Forty thousand people", first), extras("Forty thousand people", again)),
        )
    )
    assert [(c.name, c.count, len(c.colours)) for c in crowds] == [("people", 40000, 2)]


# --------------------------------------------------------------------------
# towers and how long things take
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "storeys"),
    [
        (["A column of fire roars up a twenty-storey tower from the seventies."], 20),
        (["The block is 20 floors of glass."], 20),
        (["A fifteen-story hotel."], 15),
        (["Twentieth, nineteenth, eighteenth -- each slab pancaking onto the one below."], 20),
        (["The sixth floor sags."], 6),
        (["The sixth floor sags.", "Twentieth, nineteenth, eighteenth --"], 20),
        (["A third-floor flat."], 3),
        (["The twenty-first floor goes dark."], 21),
        (["Nothing here is tall.", "The second half kicks off."], None),
        (["Floor by floor, windows burst."], None),
    ],
)
def test_storeys_are_the_most_the_text_says(texts: list[str], storeys: int | None) -> None:
    assert storeys_in(texts) == storeys


@pytest.mark.parametrize(
    ("texts", "seconds"),
    [
        (["In ten seconds the tower folds into its own footprint."], 10.0),
        (["The ship sinks within 8 seconds."], 8.0),
        (["The wall gives way over half a minute."], 30.0),
        (["It burns for a minute and a half."], 90.0),
        (["A ten-second fall."], 10.0),
        (["The roof comes down in about three seconds."], 3.0),
        (["The driver hasn't moved in an hour."], None),
        (["Ten seconds later the tower is gone."], None),
        (["The tower falls."], None),
        ([], None),
    ],
)
def test_duration_is_how_long_the_text_says_an_event_takes(
    texts: list[str], seconds: float | None
) -> None:
    assert duration_in(texts) == seconds


# --------------------------------------------------------------------------
# the bundled example, through the real breakdown
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nevada_scenes() -> list[Scene]:
    """The example's scenes, from the real (rules-only) breakdown of the fountain file."""
    return list(build_breakdown(read_screenplay(NEVADA))["scenes"])


@pytest.fixture(scope="module")
def nevada(nevada_scenes: list[Scene]) -> dict[str, Scene]:
    return {str(s["number"]): s for s in nevada_scenes}


def test_nevada_plays_one_night_and_ends_at_dawn(nevada_scenes: list[Scene]) -> None:
    hours = resolve_hours(nevada_scenes)
    for number in ("4", "5", "6", "11", "12", "14"):
        assert hours[number] == Hour("night", "inherited"), number
    assert hours["7"] == Hour("night", "heading", "1979")
    assert hours["15"] == Hour("dawn", "heading")
    assert {h.kind for n, h in hours.items() if n != "15"} == {"night"}


def test_nevada_opens_under_a_copper_sky_with_a_cold_blue_flake(nevada: dict[str, Scene]) -> None:
    tints = light_words(scene_texts(nevada["1"], heading=True))
    assert tints.sky == COLOURS["copper"]
    assert tints.glow == COLOURS["cold blue"]
    assert "copper sky" in tints.words
    (flake,) = weather_of(nevada["1"])
    assert (flake.kind, flake.intensity, flake.glow) == ("snow", LIGHT, COLOURS["cold blue"])


def test_nevada_stadium_forty_thousand_in_red_and_blue_under_snow(
    nevada: dict[str, Scene],
) -> None:
    (crowd,) = crowds_of(nevada["3"])
    assert (crowd.name, crowd.count) == ("people", 40000)
    assert crowd.colours == (COLOURS["red"], COLOURS["blue"])
    (snow,) = weather_of(nevada["3"])
    assert (snow.kind, snow.intensity) == ("snow", HEAVY)
    assert snow.glow is not None


def test_nevada_tower_has_twenty_storeys_and_folds_in_ten_seconds(
    nevada: dict[str, Scene],
) -> None:
    texts = scene_texts(nevada["11"])
    assert storeys_in(texts) == 20
    assert duration_in(texts) == 10.0
    assert storeys_in(scene_texts(nevada["10"])) == 20


def test_nevada_dawn_has_no_falling_snow_but_a_white_ground(
    nevada: dict[str, Scene], nevada_scenes: list[Scene]
) -> None:
    assert weather_of(nevada["15"]) == []
    assert weather_by_scene(nevada_scenes)["15"] == []
    assert ground_cover(nevada["15"]) == "snow"
    assert ground_by_scene(nevada_scenes)["15"] == "snow"


def test_nevada_interiors_show_no_falling_weather(nevada_scenes: list[Scene]) -> None:
    weather = weather_by_scene(nevada_scenes)
    for s in nevada_scenes:
        if s["int_ext"] == "INT":
            assert weather[str(s["number"])] == [], s["heading"]
    assert weather_of(nevada_scenes[3]) == []  # scene 4: "The snow lies on the parked cars"


def test_nevada_snow_falls_all_night_outside(nevada_scenes: list[Scene]) -> None:
    weather = weather_by_scene(nevada_scenes)
    for number in ("3", "9", "10", "11", "12", "13"):
        assert "snow" in falling(weather[number]), number
    assert weather["12"][0].carried  # the park scene never says it is snowing
    assert weather["12"][0].glow == COLOURS["blue"]  # the same glowing snow
    assert falling(weather["11"])["dust"] == HEAVY
    assert "dust" not in falling(weather["12"])
    grounds = ground_by_scene(nevada_scenes)
    assert grounds["1"] is None and grounds["7"] is None  # 1979: it never snows on Boedo
    assert all(grounds[n] == "snow" for n in ("4", "9", "12", "13", "15"))
