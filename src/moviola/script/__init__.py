"""Screenplay import (Fountain 1.1, Final Draft FDX), pagination and breakdown."""

from ._breakdown import CATEGORIES, VFX_KINDS, build_breakdown
from ._fdx import parse_fdx
from ._fountain import parse_fountain
from ._headings import Heading, parse_heading
from ._model import (
    PRINTED_TYPES,
    Element,
    ElementType,
    Note,
    ParseWarning,
    Screenplay,
    SourceLine,
    Span,
    TitlePage,
    strip_emphasis,
)
from ._pagination import (
    LINES_PER_PAGE,
    Pagination,
    format_eighths,
    lines_to_eighths,
    paginate,
)
from ._reader import read_screenplay, screenplay_from_bytes
from ._workflow import (
    BreakdownResult,
    ImportResult,
    add_tag,
    breakdown_is_current,
    ensure_breakdown,
    import_script,
    load_breakdown,
    load_current_script,
    run_breakdown,
    set_tag_status,
)

__all__ = [
    "CATEGORIES",
    "LINES_PER_PAGE",
    "PRINTED_TYPES",
    "VFX_KINDS",
    "BreakdownResult",
    "Element",
    "ElementType",
    "Heading",
    "ImportResult",
    "Note",
    "Pagination",
    "ParseWarning",
    "Screenplay",
    "SourceLine",
    "Span",
    "TitlePage",
    "add_tag",
    "breakdown_is_current",
    "build_breakdown",
    "ensure_breakdown",
    "format_eighths",
    "import_script",
    "lines_to_eighths",
    "load_breakdown",
    "load_current_script",
    "paginate",
    "parse_fdx",
    "parse_fountain",
    "parse_heading",
    "read_screenplay",
    "run_breakdown",
    "screenplay_from_bytes",
    "set_tag_status",
    "strip_emphasis",
]
