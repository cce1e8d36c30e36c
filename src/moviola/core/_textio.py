"""Reading users' text files: size limits, binary detection and encodings.

Screenplays arrive as UTF-8, UTF-8 with a BOM, UTF-16 (Windows tools write it
with a BOM) or legacy Windows-1252/Latin-1. We decode all of these, say which
encoding we used, and refuse binary files and absurd sizes with a clear error.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from ._errors import InputError

#: A feature screenplay is ~200 KB of Fountain or ~2 MB of FDX; 16 MB leaves
#: ample room and keeps a stray video or database dump from being read.
MAX_SCRIPT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class DecodedText:
    """Text read from a file and the encoding it was decoded with."""

    text: str
    encoding: str
    size: int


def read_bytes_checked(path: str | Path, *, max_bytes: int = MAX_SCRIPT_BYTES) -> bytes:
    """Read a user's file, refusing missing, non-regular, empty and oversized files."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", p)
    if p.is_dir():
        raise InputError("is a folder, not a file", p)
    size = p.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"file is {size / 2**20:.1f} MiB, larger than the {max_bytes / 2**20:.0f} MiB "
            "a screenplay can be; is this the right file?",
            p,
        )
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", p) from exc
    if not data.strip():
        raise InputError("file is empty", p)
    return data


def decode_text(data: bytes, path: str | Path) -> DecodedText:
    """Decode ``data`` as UTF-8/UTF-16 (by BOM) or Windows-1252, refusing binary."""
    p = Path(path)
    if data.startswith(codecs.BOM_UTF8):
        return DecodedText(_decode(data[3:], "utf-8", p), "utf-8-sig", len(data))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return DecodedText(_decode(data, "utf-16", p), "utf-16", len(data))
    if _looks_like_bomless_utf16(data):
        enc = "utf-16-le" if data[1::2].count(0) > data[0::2].count(0) else "utf-16-be"
        return DecodedText(_decode(data, enc, p), enc, len(data))
    if b"\x00" in data:
        raise InputError("looks like a binary file, not text (contains NUL bytes)", p)
    try:
        text = data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        # Legacy editors write Windows-1252 (a superset of Latin-1's printables).
        text = data.decode("cp1252", errors="replace")
        encoding = "cp1252"
    _refuse_control_heavy(text, p)
    return DecodedText(text, encoding, len(data))


def read_text_file(path: str | Path, *, max_bytes: int = MAX_SCRIPT_BYTES) -> DecodedText:
    """Read and decode a user's text file (see :func:`decode_text`)."""
    return decode_text(read_bytes_checked(path, max_bytes=max_bytes), path)


def _decode(data: bytes, encoding: str, path: Path) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid {encoding} text (byte {exc.start})", path) from exc
    if encoding == "utf-16" and text.startswith("\ufeff"):
        text = text[1:]
    _refuse_control_heavy(text, path)
    return text


def _looks_like_bomless_utf16(data: bytes) -> bool:
    # ASCII-heavy UTF-16 has a NUL in every other byte.
    sample = data[:4096]
    if len(sample) < 4:
        return False
    evens, odds = sample[0::2], sample[1::2]
    return max(evens.count(0), odds.count(0)) > 0.4 * len(odds)


def _refuse_control_heavy(text: str, path: Path) -> None:
    sample = text[:65536]
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f") or ch == "\ufffd")
    if sample and bad / len(sample) > 0.01:
        raise InputError("looks like a binary file, not text (control characters)", path)


#: Characters that break a line or mean nothing on a page (C0/C1 controls but tab and
#: newline, and the Unicode line and paragraph separators).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` as a single line: newlines, tabs and control characters become single spaces.

    For user text that lands where only one line fits: a slate, a timeline name, an
    EDL title, a table cell.
    """
    return " ".join(CONTROL_CHARS.sub(" ", text).split())
