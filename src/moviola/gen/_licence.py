"""The licence of weights on disk, read from their model card, and whether it allows commercial use.

Weights come with a model card (``README.md`` whose YAML front matter says
``license:``, and for ``other`` a ``license_name:``/``license_link:``) or a
``LICENSE`` file. Only licences known to allow commercial use are cleared
(:data:`COMMERCIAL`); non-commercial, research-only and unknown terms, and weights
with no licence at all, are refused unless the user opts in with
``--allow-non-commercial`` — the house rule of :mod:`moviola.vfx._face_models`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core import InputError

# Model-card ids whose terms allow commercial use (the OpenRAIL family adds use
# restrictions, not a commercial ban).
COMMERCIAL = frozenset(
    {
        "apache-2.0",
        "mit",
        "bsd-2-clause",
        "bsd-3-clause",
        "cc0-1.0",
        "cc-by-4.0",
        "cc-by-3.0",
        "cc-by-sa-4.0",
        "unlicense",
        "openrail",
        "openrail++",
        "creativeml-openrail-m",
        "bigscience-openrail-m",
        "bigcode-openrail-m",
    }
)
_NON_COMMERCIAL = re.compile(r"(^|[^a-z])nc([^a-z]|$)|non-?commercial|research", re.IGNORECASE)
CARD_FILES = ("README.md",)
LICENCE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "LICENCE.txt")
_MAX_CARD = 1 << 20

# (pattern in a LICENSE file, the id it is) — first match wins, specific before generic.
_LICENCE_TEXTS = (
    (
        re.compile(r"NON-COMMERCIAL\s+RESEARCH\s+COMMUNITY\s+LICENSE", re.I),
        "other:sai-nc-community",
    ),
    (re.compile(r"Attribution-NonCommercial", re.I), "cc-by-nc"),
    (re.compile(r"CreativeML\s+Open\s+RAIL\+\+-M", re.I), "openrail++"),
    (re.compile(r"CreativeML\s+Open\s+RAIL-M", re.I), "creativeml-openrail-m"),
    (re.compile(r"Apache\s+License,?\s+Version\s+2\.0", re.I), "apache-2.0"),
    (re.compile(r"Permission\s+is\s+hereby\s+granted,\s+free\s+of\s+charge", re.I), "mit"),
    (re.compile(r"non-?commercial", re.I), "LicenseRef-non-commercial"),
)


@dataclass(frozen=True)
class Licence:
    """What a model card says, and what Moviola makes of it."""

    id: str  # the card's id, "other:<license_name>", or "none"
    commercial: bool
    source: str  # the file it was read from ("" when none was found)
    searched: str  # the folders looked in, for the message when none was found
    link: str = ""
    non_commercial: bool = False  # says so outright (not merely unknown)

    def check(self, what: str, *, allow_non_commercial: bool) -> None:
        """Refuse weights not cleared for commercial use unless the user opted in."""
        if self.commercial or allow_non_commercial:
            return
        hint = "pass --allow-non-commercial to use it anyway"
        if self.id == "none":
            raise InputError(
                f"no licence found for {what}: {self.searched} has no README.md with "
                f"'license:' in its front matter and no LICENSE file; {hint}",
                self.searched,
            )
        link = f" (terms: {self.link})" if self.link else ""
        if self.non_commercial:
            raise InputError(
                f"{what} is under a non-commercial licence ({self.id}, read from "
                f"{self.source}){link}; {hint}",
                self.source,
            )
        raise InputError(
            f"{what} is under '{self.id}' (read from {self.source}){link}, which "
            f"Moviola does not know to allow commercial use; read its terms and "
            f"{hint}",
            self.source,
        )


def read_licence(*folders: Path) -> Licence:
    """The licence of the weights in the first of ``folders`` that has a card or LICENSE file."""
    searched = " or ".join(str(f) for f in folders)
    for folder in folders:
        for name in CARD_FILES:
            card = folder / name
            if card.is_file():
                front = front_matter(_read(card))
                found = front.get("license")
                if found:
                    ids = found if isinstance(found, list) else [found]
                    lic_name = _scalar(front.get("license_name"))
                    link = _scalar(front.get("license_link"))
                    return classify([str(i) for i in ids], lic_name, link, str(card), searched)
        for name in LICENCE_FILES:
            lic = folder / name
            if lic.is_file():
                text = _read(lic)
                for pattern, ident in _LICENCE_TEXTS:
                    if pattern.search(text):
                        return classify([ident], "", "", str(lic), searched)
                return Licence("LicenseRef-unknown", False, str(lic), searched)
    return Licence("none", False, "", searched)


def classify(ids: list[str], name: str, link: str, source: str, searched: str) -> Licence:
    """Commercial use allowed only if every id on the card is a cleared one."""
    norm = [i.strip().lower() for i in ids if i.strip()]
    shown = ", ".join(norm) if norm else "none"
    if norm and norm[0] == "other" and name:
        shown = f"other:{name.strip().lower()}"
    text = " ".join([*norm, name])
    if _NON_COMMERCIAL.search(text):
        return Licence(shown, False, source, searched, link, non_commercial=True)
    ok = bool(norm) and all(i in COMMERCIAL for i in norm)
    return Licence(shown, ok, source, searched, link)


def front_matter(text: str) -> dict[str, str | list[str]]:
    """The top-level keys of a card's YAML front matter: scalars and lists of scalars.

    A small reader rather than a YAML library: a card is untrusted text and only a
    few keys matter; nested maps are skipped."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    out: dict[str, str | list[str]] = {}
    key: str | None = None
    for line in lines[1:]:
        if line.strip() in ("---", "..."):
            break
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] not in " \t-":
            k, sep, v = line.partition(":")
            if not sep:
                key = None
                continue
            key, v = k.strip(), v.strip()
            if v.startswith("[") and v.endswith("]"):
                out[key] = [_unquote(p) for p in v[1:-1].split(",") if p.strip()]
            elif v:
                out[key] = _unquote(v)
            else:
                out[key] = []
        elif key is not None and line.lstrip().startswith("- "):
            value = out.get(key)
            if isinstance(value, list):
                value.append(_unquote(line.lstrip()[2:]))
    return out


def _scalar(value: str | list[str] | None) -> str:
    if isinstance(value, list):
        return value[0] if value else ""
    return value or ""


def _unquote(v: str) -> str:
    v = v.split(" #", 1)[0].strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        v = v[1:-1]
    return v.strip()


def _read(path: Path) -> str:
    try:
        with path.open("rb") as f:
            return f.read(_MAX_CARD).decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read the model card: {exc.strerror or exc}", path) from exc
