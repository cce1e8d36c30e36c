"""A Moviola production becomes a title in the service's catalog.

- **Synopsis** from the script: its own synopses (Fountain ``= ...``) where the writer gave
  them, else the opening action, cut at a sentence.
- **Poster** from the film: a frame of a VFX review movie (the shot the production is
  built around), else its first storyboard panel, set as key art with the title; a
  production with neither gets a typographic poster.
- **Trailer** from the film: a VFX review movie, else the previs animatic.

Nothing in the project is written: its files are read and copied into the service
(``posters/``, ``media/``), then the title lands in one transaction. Publishing again
updates the same title.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import delete, insert, select, update

from ..core import InputError, atomic_path, one_line, open_project
from ..core._media import frame_at, probe_movie
from ..script import ElementType, Screenplay, load_current_script
from . import _schema as t
from ._posters import key_art_poster, typographic_poster, write_poster
from ._service import Service

SYNOPSIS_CHARS = 600
KEYWORDS_CHARS = 800
KEYWORD_NOTES = ("vfx", "sfx", "stunt", "stunts")  # notes whose words go to search


@dataclass(frozen=True)
class Published:
    title_id: str
    title: str
    synopsis: str
    poster: str  # relative to the service folder
    poster_from: str  # the project file it was made from, or "typographic"
    trailer: str | None
    trailer_from: str | None


def title_id_for(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:56] or "production"
    return f"mv-{slug}"


def _keywords(screenplay: Screenplay) -> str:
    """The script's effects notes (``[[VFX: ...]]``, SFX, stunts), once each: what happens on
    screen in the production's own words, which a synopsis rarely says ("full CG collapse"),
    for search to read."""
    found: dict[str, None] = {}
    for element in screenplay.elements:
        for note in element.notes:
            label, sep, rest = one_line(note.text).partition(":")
            if sep and label.strip().casefold() in KEYWORD_NOTES and rest.strip():
                found.setdefault(rest.strip().rstrip("."), None)
    text = "; ".join(found)
    return text if len(text) <= KEYWORDS_CHARS else text[:KEYWORDS_CHARS].rsplit(";", 1)[0]


def _synopsis(project_root: Path) -> tuple[str, str, str]:
    """(title, synopsis, keywords) from the current script of the project."""
    project = open_project(project_root)
    _, screenplay = load_current_script(project)
    title = screenplay.title or project.name
    written = [one_line(e.plain) for e in screenplay.elements if e.type is ElementType.SYNOPSIS]
    text = " ".join(w for w in written if w)
    if not text:
        action = [one_line(e.plain) for e in screenplay.elements if e.type is ElementType.ACTION]
        text = " ".join(a for a in action if a)
    if len(text) > SYNOPSIS_CHARS:
        cut = text[:SYNOPSIS_CHARS]
        end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
        text = cut[: end + 1] if end > SYNOPSIS_CHARS // 3 else cut.rsplit(" ", 1)[0] + "…"
    return title, text, _keywords(screenplay)


def _review_movies(root: Path) -> list[Path]:
    """VFX review movies, the collapse renders (``render/``) before the others (a de-aging
    review is a before/after split, a poorer poster)."""
    movies = sorted(root.glob("vfx/*/*/*_review.mp4"))
    return sorted(movies, key=lambda m: m.parent.name != "render")


def _panels(root: Path) -> list[Path]:
    return sorted(root.glob("previs/storyboards/scene-*/*.png"), key=lambda p: (len(p.parent.name), p.parent.name, p.name))


def publish(project_root: str | Path, service: Service, *, genres: list[str] | None = None,
            year: int | None = None) -> Published:  # fmt: skip
    """Add (or update) the production at ``project_root`` as a title of ``service``."""
    root = Path(project_root)
    title, synopsis, keywords = _synopsis(root)
    if not synopsis:  # checked before anything is written
        raise InputError("the script holds no synopsis and no action to make one from", root)
    tid = title_id_for(open_project(root).name)
    credit = f"A Moviola production · {year or date.today().year}"
    movies = [m for m in _review_movies(root) if not m.name.startswith(".")]
    poster_path = service.path("posters", f"{tid}.jpg")
    art: Path | None = None
    if movies:
        info = probe_movie(movies[0])
        frame = frame_at(movies[0], max(0, int(int(info["frames"]) * 0.5)))
        art, image, poster_from = movies[0], key_art_poster(frame, title, credit), str(movies[0].relative_to(root))
    elif panels := _panels(root):
        with Image.open(panels[0]) as panel:
            frame = np.asarray(panel.convert("RGB"))
        art, image, poster_from = panels[0], key_art_poster(frame, title, credit), str(panels[0].relative_to(root))
    else:
        image, poster_from = typographic_poster(tid, title, year, genres or []), "typographic"
    trailer_src = movies[0] if movies else (root / "previs" / "animatic.mp4")
    trailer: str | None = None
    if trailer_src.is_file():
        trailer = f"media/{tid}-trailer.mp4"
        with atomic_path(service.path(trailer), ".mp4") as tmp:
            shutil.copyfile(trailer_src, tmp)
    # the service's own key signs what the service makes (the project is only read)
    write_poster(poster_path, image, service.stamp("moviola stream publish"), f"poster for {title}", art)
    values = {"title": title, "year": year or date.today().year, "synopsis": synopsis, "keywords": keywords or None,
              "poster": f"posters/{tid}.jpg", "trailer": trailer, "source": "moviola", "added_at": int(time.time())}  # fmt: skip
    with service.engine.begin() as conn:
        # updated in place: deleting the row would cascade to members' ratings and events of it
        known = conn.execute(select(t.titles.c.title_id).where(t.titles.c.title_id == tid)).first()
        if known is None:
            conn.execute(insert(t.titles).values(title_id=tid, **values))
        else:
            conn.execute(update(t.titles).where(t.titles.c.title_id == tid).values(**values))
        conn.execute(delete(t.title_genres).where(t.title_genres.c.title_id == tid))
        for genre in dict.fromkeys(g.strip() for g in genres or [] if g.strip()):
            conn.execute(insert(t.title_genres).values(title_id=tid, genre=genre[:64]))
    return Published(tid, title, synopsis, f"posters/{tid}.jpg", poster_from, trailer,
                     str(trailer_src.relative_to(root)) if trailer else None)  # fmt: skip
