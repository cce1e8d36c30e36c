"""Any title page a writer's tool may produce goes through the whole chain, not only the parser.

Multi-line values, very long values, keys nobody documented, empty values and text in
any script reach the breakdown, the reports, the plan, the storyboards, the slate of
the animatic, the contact sheets and the editorial title. Each generated title page is
put on a short two-scene script and run through import, breakdown, plan and previs:
nothing may crash, the title is kept line by line, and wherever one line is needed it is
one line.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moviola.core import init_project, open_project
from moviola.previs import run_previs
from moviola.script import import_script

BODY = """
INT. KITCHEN - NIGHT

MARA opens the fridge. Cold light.

MARA
Nothing. Again.

EXT. STREET - CONTINUOUS

She walks out into the snow.
"""

# Letters and marks of several scripts, digits, spaces and the punctuation titles use.
ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.'&-:()?\"—…éèñüßøåçœ"
    "ЖизньПривет東京の夜映画한국어مرحباבוקרनमस्तेกรุงเทพΑθήνα😀🎬"
)
LINE = st.text(alphabet=ALPHABET, min_size=1, max_size=120).map(str.strip).filter(bool)
LONG = st.text(alphabet=ALPHABET, min_size=200, max_size=600).map(str.strip).filter(bool)
VALUE = st.lists(st.one_of(LINE, LONG), min_size=0, max_size=5)
KEYS = st.sampled_from(["Credit", "Author", "Authors", "Source", "Draft date", "Contact", "Notes",
                        "Copyright", "Revision", "Episode", "fmt", "Series"])  # fmt: skip


def title_page(title: list[str], others: list[tuple[str, list[str]]]) -> str:
    """Fountain title-page text: one-line values after the key, longer ones indented below."""
    out = []
    for key, lines in [("Title", title), *others]:
        if len(lines) == 1:
            out.append(f"{key}: {lines[0]}")
        else:
            out.append(f"{key}:" + "".join(f"\n\t{line}" for line in lines))
    return "\n".join(out) + "\n"


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.lists(st.one_of(LINE, LONG), min_size=1, max_size=4),
       others=st.lists(st.tuples(KEYS, VALUE), max_size=4))  # fmt: skip
def test_any_title_page_goes_through_previs(title: list[str], others: list[tuple[str, list[str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "draft.fountain"
        script.write_text(title_page(title, others) + BODY, encoding="utf-8")
        root = Path(tmp) / "film"
        import_script(init_project(root), script)

        result = run_previs(open_project(root), size=(192, 108), board_width=256, audio=False,
                            use_model=False, only="1")  # fmt: skip

        breakdown = json.loads((root / "documents" / "breakdown.json").read_text(encoding="utf-8"))
        assert breakdown["script"]["title_lines"] == [" ".join(t.split()) for t in title]
        assert breakdown["script"]["title"] == " ".join(" ".join(title).split())
        assert len(breakdown["scenes"]) == 2 and not breakdown["preamble"]
        outputs = result.document["outputs"]
        assert (root / outputs["animatic"]).stat().st_size > 0
        assert (root / outputs["contact_sheet"]).stat().st_size > 0
        otio = json.loads((root / outputs["timeline"]["otio"]).read_text(encoding="utf-8"))
        assert "\n" not in otio["name"]
        assert not [n for n in result.notices if "round trip" in n], result.notices
