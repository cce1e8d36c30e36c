"""Reading a screenplay file of either format (the I/O adapter for the parsers)."""

from __future__ import annotations

from pathlib import Path

from ..core import ScriptFormatError, decode_text, read_bytes_checked
from ._fdx import parse_fdx
from ._fountain import parse_fountain
from ._model import PRINTED_TYPES, Screenplay

FOUNTAIN_SUFFIXES = (".fountain", ".spmd", ".txt")
FDX_SUFFIXES = (".fdx",)


def detect_format(path: Path, data: bytes) -> str:
    """``"fdx"`` or ``"fountain"``, from the suffix, else from the content."""
    suffix = path.suffix.lower()
    if suffix in FDX_SUFFIXES:
        return "fdx"
    if suffix in FOUNTAIN_SUFFIXES:
        return "fountain"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<?xml") or head.startswith(b"<FinalDraft"):
        return "fdx"
    raise ScriptFormatError(
        f"unknown screenplay format '{suffix or '(no suffix)'}'; expected .fountain or .fdx",
        path,
    )


def screenplay_from_bytes(data: bytes, path: str | Path) -> Screenplay:
    """Parse screenplay bytes; ``path`` names the file in errors and picks the format."""
    p = Path(path)
    fmt = detect_format(p, data)
    if fmt == "fdx":
        return parse_fdx(data, str(p))
    decoded = decode_text(data, p)
    if decoded.text.lstrip().startswith(("<?xml", "<FinalDraft")):
        raise ScriptFormatError("looks like XML; rename it to .fdx if it is Final Draft", p)
    screenplay = parse_fountain(decoded.text)
    screenplay.encoding = decoded.encoding
    if not any(e.type in PRINTED_TYPES for e in screenplay.elements):
        raise ScriptFormatError("no screenplay content (no scene, action or dialogue)", p)
    return screenplay


def read_screenplay(path: str | Path) -> Screenplay:
    """Read and parse ``path`` (.fountain or .fdx); bad input raises a MoviolaError."""
    return screenplay_from_bytes(read_bytes_checked(path), path)
