"""Final Draft FDX (XML) import, parsed safely.

FDX files come from strangers, so the XML is read with defusedxml's SAX
reader: entity declarations (billion laughs), external entities and DTD
fetches are refused; size is capped before we get here. SAX streams, so a
large file never becomes a large tree, and its locator gives the XML line of
each paragraph, which is what our source spans point at for FDX.
"""

from __future__ import annotations

import io
import xml.sax
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl, Locator

from defusedxml import DefusedXmlException
from defusedxml.sax import make_parser

from ..core import ScriptFormatError
from ._model import Element, ElementType, ParseWarning, Screenplay, SourceLine, TitlePage

_TYPES = {
    "scene heading": ElementType.SCENE_HEADING,
    "action": ElementType.ACTION,
    "general": ElementType.ACTION,
    "shot": ElementType.ACTION,
    "character": ElementType.CHARACTER,
    "parenthetical": ElementType.PARENTHETICAL,
    "dialogue": ElementType.DIALOGUE,
    "transition": ElementType.TRANSITION,
    "lyrics": ElementType.LYRICS,
    "new act": ElementType.SECTION,
    "end of act": ElementType.SECTION,
    "cast list": ElementType.ACTION,
}
_MAX_DEPTH = 64


class _Handler(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.locator: Locator | None = None
        self.elements: list[Element] = []
        self.warnings: list[ParseWarning] = []
        self.title = TitlePage()
        self.stack: list[str] = []
        self.root_seen = False
        self._para: dict[str, str] | None = None
        self._para_line = 0
        self._text: list[str] = []
        self._in_text = 0
        self._dual: int = 0  # 1 inside <DualDialogue>: counts cues seen
        self._dual_cues = 0
        self._character: str | None = None
        self._cue_dual = 0
        self._ignore = 0  # depth inside paragraphs that are not script text

    def setDocumentLocator(self, locator: Locator) -> None:
        self.locator = locator

    def _line(self) -> int:
        return (self.locator.getLineNumber() or 0) if self.locator is not None else 0

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        if not self.stack:
            if name != "FinalDraft":
                raise ScriptFormatError(f"not a Final Draft file: root element is <{name}>")
            self.root_seen = True
        self.stack.append(name)
        if len(self.stack) > _MAX_DEPTH:
            raise ScriptFormatError(f"XML nested deeper than {_MAX_DEPTH} levels")
        if name == "DualDialogue":
            self._dual, self._dual_cues = 1, 0
        elif name == "Paragraph":
            parent = self.stack[-2] if len(self.stack) > 1 else ""
            if parent not in ("Content", "DualDialogue") or self._ignore:
                # Paragraphs nested in <SceneProperties> (summaries, arc beats) and
                # the like are metadata, not script text.
                self._ignore += 1
                return
            if self._para is not None and self._text_so_far():
                self._flush()  # an outer paragraph's text before a nested block
            self._para = {k: attrs.getValue(k) for k in attrs.getNames()}
            self._para_line = self._line()
            self._text = []
        elif name == "Text" and not self._ignore:
            self._in_text += 1

    def endElement(self, name: str) -> None:
        self.stack.pop()
        if self._ignore:
            if name == "Paragraph":
                self._ignore -= 1
            return
        if name == "Text":
            self._in_text -= 1
        elif name == "Paragraph":
            self._flush()
            self._para = None
        elif name == "DualDialogue":
            self._dual = 0

    def characters(self, content: str) -> None:
        if self._in_text and self._para is not None and not self._ignore:
            self._text.append(content)

    def _text_so_far(self) -> str:
        return "".join(self._text).strip()

    def _flush(self) -> None:
        para = self._para or {}
        text = "".join(self._text).replace("\r\n", "\n").replace("\r", "\n").strip()
        self._text = []
        if not text:
            return
        in_title_page = "TitlePage" in self.stack
        line = self._para_line
        if in_title_page:
            self.title.fields.append(("Title" if not self.title.fields else "Line", text))
            self.title.lines.append(line)
            return
        ptype = para.get("Type", "Action")
        kind = _TYPES.get(ptype.lower())
        if kind is None:
            self.warnings.append(
                ParseWarning(line, f"unknown paragraph type '{ptype}'; read as action")
            )
            kind = ElementType.ACTION
        if para.get("Alignment", "").lower() == "center" and kind is ElementType.ACTION:
            kind = ElementType.CENTERED
        source = [SourceLine(line, 0, part) for part in text.split("\n")]
        el = Element(kind, source)
        if kind is ElementType.SCENE_HEADING:
            el.scene_number = para.get("Number") or None
        elif kind is ElementType.CHARACTER:
            name = text.split("(", 1)[0].strip()
            el.character = name
            el.extensions = tuple(
                part.split(")", 1)[0].strip() for part in text.split("(")[1:] if ")" in part
            )
            self._character = name
            if self._dual:
                self._dual_cues += 1
                self._cue_dual = min(self._dual_cues, 2)
            else:
                self._cue_dual = 0
            el.dual = self._cue_dual
        elif kind in (ElementType.DIALOGUE, ElementType.PARENTHETICAL, ElementType.LYRICS):
            el.character = self._character
            el.dual = self._cue_dual if self._dual else 0
        if kind not in (
            ElementType.CHARACTER,
            ElementType.DIALOGUE,
            ElementType.PARENTHETICAL,
            ElementType.LYRICS,
        ):
            self._character = None
        self.elements.append(el)


def parse_fdx(data: bytes, source: str = "<fdx>") -> Screenplay:
    """Parse Final Draft XML ``data``; hostile or malformed XML raises ScriptFormatError."""
    handler = _Handler()
    parser = make_parser()
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setFeature(xml.sax.handler.feature_external_pes, False)
    parser.setContentHandler(handler)
    try:
        parser.parse(io.BytesIO(data))
    except DefusedXmlException as exc:
        raise ScriptFormatError(
            f"refused unsafe XML ({type(exc).__name__}: entity and DTD declarations are "
            "not allowed in FDX)",
            source,
        ) from exc
    except xml.sax.SAXParseException as exc:
        raise ScriptFormatError(
            f"malformed XML at line {exc.getLineNumber()}, column {exc.getColumnNumber()}: "
            f"{exc.getMessage()}",
            source,
        ) from exc
    except ScriptFormatError as exc:
        raise ScriptFormatError(exc.message, source) from exc
    if not handler.root_seen:
        raise ScriptFormatError("not a Final Draft file (no <FinalDraft> root)", source)
    if not handler.elements:
        raise ScriptFormatError("Final Draft file has no script paragraphs", source)
    line_count = data.count(b"\n") + 1
    return Screenplay(handler.title, handler.elements, handler.warnings, "fdx", line_count)
