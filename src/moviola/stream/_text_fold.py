"""Words as search compares them, and how far apart two words are (no I/O).

Folding: Unicode NFKD, combining marks dropped, then ``casefold`` ("Amélie" and "AMELIE"
are one word; "ß" is "ss"). Tokens are runs of letters and digits; apostrophes inside a word
are dropped ("Schindler's" is "schindlers", "90's" is "90s"), and a hyphenated word is
its parts and their join ("Sci-Fi": "sci", "fi", "scifi").

Typos as search engines count them: the optimal-string-alignment Damerau distance (an
insertion, deletion, substitution or swap of neighbours is one typo), with one typo allowed
from 5 characters and two from 9 (Meilisearch's and Typesense's defaults). Words holding
digits ("1995", "90s") are matched exactly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

ONE_TYPO_FROM = 5
TWO_TYPOS_FROM = 9
_APOSTROPHES = re.compile(r"(?<=\w)['’ʼ`](?=\w)")
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def fold(text: str) -> str:
    """Accents dropped and case folded (NFKD, then casefold)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", bare.casefold())


def tokens(text: str) -> list[str]:
    """The folded words of ``text``, in order (hyphenated words: parts, then their join)."""
    out: list[str] = []
    for match in _WORD.finditer(_APOSTROPHES.sub("", fold(text))):
        parts = match.group().split("-")
        out.extend(parts)
        if len(parts) > 1:
            out.append("".join(parts))
    return out


def plain_tokens(text: str) -> list[str]:
    """The folded words with hyphenated ones only joined by their parts (for exact keys)."""
    return [
        p for m in _WORD.finditer(_APOSTROPHES.sub("", fold(text))) for p in m.group().split("-")
    ]


def typos_allowed(word: str) -> int:
    """0, 1 (from 5 characters) or 2 (from 9); words with digits are matched exactly."""
    if any(c.isdigit() for c in word):
        return 0
    return 2 if len(word) >= TWO_TYPOS_FROM else 1 if len(word) >= ONE_TYPO_FROM else 0


def deletes(word: str, depth: int) -> set[str]:
    """``word`` and every string made from it by deleting up to ``depth`` characters."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))} - found
        found |= frontier
    return found


def typo_distance(a: str, b: str, limit: int) -> int:
    """The optimal-string-alignment distance of ``a`` and ``b``, or ``limit + 1`` when over."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def decade_words(year: int) -> Iterator[str]:
    """How people name a year's decade and the year itself: "1990s", "90s", "1995"."""
    decade = year - year % 10
    yield f"{decade}s"
    yield f"{decade % 100:02d}s"
    yield str(year)
