"""``moviola stream recommend``: a member's top titles from the newest model version (I/O).

A member's titles are read from the store at request time, so ratings added since the last
``train`` count at once; ``picks`` (title ids) are added to them, which is how a new member,
whom no model has seen, gets personal results without retraining. An unknown member with no
picks is refused (exit 2); a known member none of whose titles the model knows gets the
most popular titles, each saying so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..core import InputError, read_text_file
from . import _schema as t
from ._model_store import TrainedModel, load_newest
from ._ranking import rank
from ._schema import ID_PATTERN
from ._service import Service

MAX_K = 100
MAX_MEMBERS_FILE = 16 * 1024 * 1024


def parse_picks(text: str) -> list[str]:
    """``ID,ID,ID`` → ids in order, once each."""
    picks = list(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not picks:
        raise InputError("--picks: give title ids separated by commas (e.g. --picks ml1,ml50,ml181)")
    for pick in picks:
        if not ID_PATTERN.match(pick):
            raise InputError(f"--picks: {pick[:40]!r} is not a title id (1-64 printable characters)")
    return picks


def read_member_ids(path: str | Path) -> list[tuple[int, str]]:
    """A file of member ids, one a line (blank lines skipped), with their line numbers."""
    text = read_text_file(path, max_bytes=MAX_MEMBERS_FILE).text
    ids = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    for n, member in ids:
        if not ID_PATTERN.match(member):
            raise InputError(f"line {n}: {member[:40]!r} is not a member id", path)
    if not ids:
        raise InputError("holds no member ids (one a line)", path)
    return ids


def recommend(service: Service, member: str, *, k: int = 10, picks: Sequence[str] = ()) -> dict[str, Any]:
    """``{"member", "model", "items": [{"title_id", "title", "score", "because"}]}``."""
    _check_k(k)
    if not ID_PATTERN.match(member):
        raise InputError(f"--member: {member[:40]!r} is not a member id", service.root)
    if picks:
        _check_titles(service, picks)
    model = load_newest(service)
    history = _histories(service, [member])
    if member not in history and not picks:
        raise InputError(f"unknown member {member!r}; a new member needs --picks TITLE_ID,... "
                         "(titles they like)", service.root)  # fmt: skip
    return _answer(service, model, member, history.get(member, []), list(picks), k)


def recommend_members(service: Service, members: Iterable[tuple[int, str]], k: int = 10,
                      source: Path | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """One answer per member, in order; every id is checked before any answer is made."""
    _check_k(k)
    wanted = list(members)
    model = load_newest(service)
    history = _histories(service, [m for _, m in wanted])
    for line, member in wanted:
        if member not in history:
            raise InputError(f"line {line}: unknown member {member!r}", source or service.root)
    return [_answer(service, model, member, history[member], [], k) for _, member in wanted]


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise InputError(f"--k must be between 1 and {MAX_K}, not {k}")


def _check_titles(service: Service, ids: Sequence[str]) -> None:
    with service.engine.connect() as conn:
        known = {r[0] for r in conn.execute(select(t.titles.c.title_id).where(t.titles.c.title_id.in_(list(ids))))}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise InputError(f"--picks: title {unknown[0]!r} is not in the catalog"
                         + (f" ({len(unknown)} unknown)" if len(unknown) > 1 else ""), service.root)  # fmt: skip


def _histories(service: Service, members: Sequence[str]) -> dict[str, list[str]]:
    """Each known member's rated title ids (a member with none: an empty list)."""
    found: dict[str, list[str]] = {}
    unique = list(dict.fromkeys(members))
    with service.engine.connect() as conn:
        for i in range(0, len(unique), 1000):
            chunk = unique[i : i + 1000]
            for (m,) in conn.execute(select(t.members.c.member_id).where(t.members.c.member_id.in_(chunk))):
                found[m] = []
            query = select(t.ratings.c.member_id, t.ratings.c.title_id).where(t.ratings.c.member_id.in_(chunk))
            for m, tid in conn.execute(query.order_by(t.ratings.c.member_id, t.ratings.c.title_id)):
                found.setdefault(m, []).append(tid)
    return found


def _answer(service: Service, model: TrainedModel, member: str, rated: list[str], picks: list[str],
            k: int) -> dict[str, Any]:  # fmt: skip
    index = model.index()
    mine = [*rated, *(p for p in picks if p not in set(rated))]
    history = [index[x] for x in mine if x in index]
    ranked = rank(model, history, k)
    names = _names(service, [model.titles[r.title] for r in ranked]
                   + [model.titles[r.because] for r in ranked if r.because is not None])  # fmt: skip
    picked = set(picks) - set(rated)
    items = []
    for r in ranked:
        tid = model.titles[r.title]
        if r.because is None:
            reason = f"popular on this service (rated by {round(r.score):,} members)"
        else:
            source = model.titles[r.because]
            reason = f"because you {'picked' if source in picked else 'rated'} {names.get(source, source)}"
        items.append({"title_id": tid, "title": names.get(tid, tid), "score": round(r.score, 4), "because": reason})
    return {"member": member, "model": model.version, "items": items}


def _names(service: Service, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    with service.engine.connect() as conn:
        query = select(t.titles.c.title_id, t.titles.c.title).where(t.titles.c.title_id.in_(list(set(ids))))
        return {tid: title for tid, title in conn.execute(query)}
