"""A Moviola production becomes a title: synopsis from the script, poster from a VFX frame or
a storyboard (typographic without either), trailer from a VFX review movie or the
animatic; the project is only read; publishing again updates the same title."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text

from conftest import take_snapshot
from moviola.core import InputError, init_project
from moviola.core._media import encode_frame, finish_movie, open_h264
from moviola.script import import_script
from moviola.stream import init_service, open_service, publish, typographic_poster

REPO = Path(__file__).resolve().parent.parent
ROOFTOP = REPO / "tests" / "data" / "previs" / "rooftop.fountain"


def production(tmp: Path, script: Path = ROOFTOP) -> Path:
    root = tmp / "film"
    import_script(init_project(root, name="Rooftop"), script)
    return root


def movie(path: Path, frames: int = 12) -> Path:
    """A real H.264 movie: a bright block moving across a dark frame."""
    path.parent.mkdir(parents=True, exist_ok=True)
    container, stream = open_h264(path, 24, 320, 180)
    for i in range(frames):
        picture = np.full((180, 320, 3), 30, np.uint8)
        picture[60:120, 10 + i * 20 : 70 + i * 20] = (240, 200, 60)
        encode_frame(container, stream, picture, i)
    finish_movie(container, stream)
    return path


def titles(service_root: Path) -> list[dict[str, Any]]:
    with open_service(service_root).engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM titles"))]


def test_a_production_with_a_vfx_shot_gets_key_art_and_the_shot_as_trailer(tmp_path: Path) -> None:
    root = production(tmp_path)
    review = movie(root / "vfx" / "palace" / "render" / "palace_review.mp4")
    service = init_service(tmp_path / "svc")
    before = take_snapshot(root)

    done = publish(root, service, genres=["Drama", "Disaster"], year=2026)

    assert take_snapshot(root) == before  # the project is only read
    assert done.title_id == "mv-rooftop"
    assert done.poster_from == "vfx/palace/render/palace_review.mp4"
    assert (service.path(done.trailer or "")).read_bytes() == review.read_bytes()
    with Image.open(service.path(done.poster)) as poster:
        assert poster.size == (1000, 1500) and poster.format == "JPEG"
    from moviola import provenance

    credentials = provenance.verify(service.path(done.poster))  # made from the review movie, signed
    assert credentials.state == provenance.TRUSTED and credentials.ingredients[0]["title"] == "palace_review.mp4"
    [row] = titles(tmp_path / "svc")
    assert (row["title_id"], row["year"], row["source"], row["poster"]) == ("mv-rooftop", 2026, "moviola", done.poster)
    assert row["synopsis"] == done.synopsis and len(done.synopsis) > 40


def test_without_vfx_the_poster_is_a_storyboard_and_the_trailer_the_animatic(tmp_path: Path) -> None:
    root = production(tmp_path)
    panel = root / "previs" / "storyboards" / "scene-1" / "1.png"
    panel.parent.mkdir(parents=True)
    Image.radial_gradient("L").resize((640, 360)).convert("RGB").save(panel)
    movie(root / "previs" / "animatic.mp4")

    done = publish(root, init_service(tmp_path / "svc"))

    assert done.poster_from == "previs/storyboards/scene-1/1.png"
    assert done.trailer_from == "previs/animatic.mp4"


def test_a_production_with_only_a_script_gets_a_typographic_poster_and_no_trailer(tmp_path: Path) -> None:
    done = publish(production(tmp_path), init_service(tmp_path / "svc"))

    assert done.poster_from == "typographic" and done.trailer is None
    assert titles(tmp_path / "svc")[0]["trailer"] is None


def test_publishing_again_updates_the_same_title(tmp_path: Path) -> None:
    root = production(tmp_path)
    service = init_service(tmp_path / "svc")
    publish(root, service, genres=["Drama"])
    publish(root, service, genres=["Comedy"], year=2027)

    [row] = titles(tmp_path / "svc")
    assert row["year"] == 2027
    with service.engine.connect() as conn:
        assert [r[0] for r in conn.execute(text("SELECT genre FROM title_genres"))] == ["Comedy"]


def test_publishing_again_keeps_what_members_did_with_the_title(tmp_path: Path) -> None:
    from moviola.stream import Event, record_event

    root = production(tmp_path)
    service = init_service(tmp_path / "svc")
    tid = publish(root, service, genres=["Drama"]).title_id
    record_event(service, Event("r1", "fan", "rate", title_id=tid, value=5.0))
    record_event(service, Event("p1", "fan", "play", title_id=tid))

    publish(root, service, genres=["Drama", "Disaster"])

    with service.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ratings WHERE title_id = :t"), {"t": tid}).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM events WHERE title_id = :t"), {"t": tid}).scalar_one() == 2
        assert sorted(r[0] for r in conn.execute(text("SELECT genre FROM title_genres"))) == ["Disaster", "Drama"]


def test_the_scripts_effects_notes_become_the_titles_keywords_for_search(tmp_path: Path) -> None:
    from moviola.stream._search_index import CatalogTitle

    script = tmp_path / "tower.fountain"
    script.write_text(
        "Title: Tower\n\n= A city at night.\n\nEXT. AVENUE - NIGHT\n\n"
        "The tower folds into its own footprint. [[VFX: full CG collapse, floor by floor.]]\n\n"
        "A car burns. [[SFX: practical fire]] [[Note to self: fix this line]]\n\n"
        "EXT. AVENUE - LATER\n\nDust. [[VFX: full CG collapse, floor by floor.]]\n",
        encoding="utf-8",
    )
    root = production(tmp_path, script)
    service = init_service(tmp_path / "svc")

    publish(root, service, genres=["Disaster"])

    [row] = titles(tmp_path / "svc")
    assert row["keywords"] == "full CG collapse, floor by floor; practical fire"  # once each, no other notes
    assert row["synopsis"] == "A city at night."
    text = CatalogTitle(row["title_id"], row["title"], row["year"], ("Disaster",), row["synopsis"],
                        row["keywords"]).semantic_text()  # fmt: skip
    assert text == "Tower. Disaster. full CG collapse, floor by floor; practical fire. A city at night."


def test_a_script_with_nothing_to_tell_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    script = tmp_path / "empty.fountain"
    script.write_text("Title: Nothing\n\nINT. ROOM - DAY\n", encoding="utf-8")
    root = production(tmp_path, script)
    service = init_service(tmp_path / "svc")
    before = take_snapshot(tmp_path / "svc")

    with pytest.raises(InputError, match="no synopsis and no action"):
        publish(root, service)
    assert take_snapshot(tmp_path / "svc") == before


@pytest.mark.parametrize("title", ["Toy Story", "東京の夜", "Dr. Strangelove or: How I Learned to Stop Worrying "
                                   "and Love the Bomb", "x" * 400])  # fmt: skip
def test_a_typographic_poster_fits_any_title(title: str) -> None:
    image = typographic_poster("t1", title, 1995, ["Comedy", "Drama"])
    assert image.size == (1000, 1500)
    assert np.asarray(image).std() > 5  # there is type on it


def test_the_cli_publishes_and_says_where_things_are(tmp_path: Path, run_cli: Any) -> None:
    root = production(tmp_path)
    init_service(tmp_path / "svc")

    result = run_cli("stream", "publish", root, "--service", tmp_path / "svc", "--json")

    assert result.code == 0, result.err
    assert json.loads(result.out)["title_id"] == "mv-rooftop"
