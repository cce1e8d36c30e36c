"""Storyboard contact sheets: real PNG panels in, a PDF out, read back with poppler.

The PDF's words are checked with ``pdftotext`` and its look with ``pdftoppm``
(poppler-utils); where those tools are missing, only those checks are skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from moviola.core import InputError, MoviolaError, StorageError
from moviola.previs._contact_sheet import Panel, SheetScene, write_contact_sheet

RED = (200, 30, 30)


def _frame(path: Path, size: tuple[int, int] = (960, 540), letterbox: bool = False) -> Path:
    """A storyboard-like frame: red ground, a dark figure, black bars if letterboxed."""
    im = Image.new("RGB", size, RED)
    draw = ImageDraw.Draw(im)
    w, h = size
    draw.rectangle([w * 0.4, h * 0.25, w * 0.55, h * 0.9], fill=(20, 20, 20))
    if letterbox:
        bar = int((h - w / 2.39) / 2)
        draw.rectangle([0, 0, w, bar], fill=(0, 0, 0))
        draw.rectangle([0, h - bar, w, h], fill=(0, 0, 0))
    im.save(path)
    return path


def _scenes(tmp_path: Path, counts: tuple[int, ...] = (7, 2)) -> list[SheetScene]:
    scenes = []
    for s, count in enumerate(counts, start=6):
        panels = [
            Panel(
                _frame(tmp_path / f"s{s}-{i}.png", letterbox=i % 2 == 1),
                f"{s}{'ABCDEFGHJKLMNPQRST'[i]}",
                f"MS · eye level · static · {35 + i} mm · {i + 1}.5 s",
                f"Action line {s}.{i}. She looks up.",
                "start" if i == 1 else "",
            )
            for i in range(count)
        ]
        scenes.append(SheetScene(str(s), f"INT. WORKSHOP {s} - NIGHT", panels))
    return scenes


def _pdftotext(pdf: Path) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def _need(text: str | None) -> str:
    if text is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return text


def _folder(tmp_path: Path) -> set[str]:
    return {p.name for p in tmp_path.iterdir()}


def test_pages_headers_captions_and_metadata(tmp_path: Path) -> None:
    pdf = tmp_path / "sheet.pdf"
    pages = write_contact_sheet(
        pdf, "Nevada", _scenes(tmp_path), subtitle="Nevada · rev. 3 · 2025-05-14"
    )
    # A4 landscape, 3 columns of 16:9 panels: two rows a page. 7 panels take two pages,
    # and the next scene starts a page of its own.
    assert pages == 3
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", data)) == 3
    assert b"/Author (Moviola)" in data
    assert b"/Title (Nevada)" in data
    assert b"/Subject (Storyboard contact sheet, scenes 6, 7)" in data

    text = _need(_pdftotext(pdf))
    for n in range(1, 4):
        assert f"{n} / 3" in text
    for shot in ["6A", "6B", "6G", "7A", "7B"]:
        assert shot in text
    assert "INT. WORKSHOP 6 - NIGHT" in text
    assert "INT. WORKSHOP 7 - NIGHT" in text
    assert "MS · eye level · static · 35 mm · 1.5 s" in text
    assert "Action line 6.6. She looks up." in text
    assert "START" in text  # the key-frame tag
    assert "Nevada · rev. 3 · 2025-05-14" in text
    pages_text = text.split("\f")
    assert "(cont.)" not in pages_text[0]
    assert "(cont.)" in pages_text[1] and "6G" in pages_text[1]
    assert "(cont.)" not in pages_text[2] and "7A" in pages_text[2]


def test_letter_and_columns(tmp_path: Path) -> None:
    scenes = _scenes(tmp_path, (12,))
    assert write_contact_sheet(tmp_path / "a.pdf", "T", scenes, page="letter") == 2
    assert write_contact_sheet(tmp_path / "b.pdf", "T", scenes, columns=1) == 12
    assert write_contact_sheet(tmp_path / "c.pdf", "T", scenes, columns=4) == 1
    with pytest.raises(ValueError, match="columns"):
        write_contact_sheet(tmp_path / "d.pdf", "T", scenes, columns=0)
    with pytest.raises(ValueError, match="page"):
        write_contact_sheet(tmp_path / "d.pdf", "T", scenes, page="A3")
    assert not (tmp_path / "d.pdf").exists()


def test_long_text_is_clipped_with_an_ellipsis(tmp_path: Path) -> None:
    words = " ".join(f"word{i}" for i in range(300))
    panel = Panel(_frame(tmp_path / "a.png"), "1", "WS", f"{words} LASTWORD")
    caption = "ECU · " + "very long caption " * 30 + "CAPTIONEND"
    short = Panel(_frame(tmp_path / "b.png"), "1A", caption, "Short.")
    pdf = tmp_path / "sheet.pdf"
    write_contact_sheet(pdf, "T", [SheetScene("1", "EXT. ROAD - DAY", [panel, short])])
    text = _need(_pdftotext(pdf))
    assert "word0 word1" in text
    assert "…" in text
    assert "LASTWORD" not in text
    assert "CAPTIONEND" not in text
    assert "Short." in text


def test_a_word_wider_than_the_panel_is_broken_not_overflowing(tmp_path: Path) -> None:
    url = "https://example.com/" + "x" * 400 + "URLEND"
    panel = Panel(_frame(tmp_path / "a.png"), "1", "WS", f"See {url}")
    pdf = tmp_path / "sheet.pdf"
    write_contact_sheet(pdf, "T", [SheetScene("1", "EXT. ROAD - DAY", [panel])])
    text = _need(_pdftotext(pdf))
    assert "https://example.com/xxx" in text
    assert "URLEND" not in text
    assert "…" in text
    longest = max(len(line) for line in text.splitlines())
    assert longest < 120  # ~250 pt of 8.5 pt Helvetica, not 400 characters


def test_text_in_any_script_is_drawn_in_a_font_that_has_its_glyphs(tmp_path: Path) -> None:
    panel = Panel(
        _frame(tmp_path / "a.png"),
        "6A",
        "MS · eye level · pan → · 50 mm · 4.1 s",
        "Ofelia’s – café “déjà vu”. Őrség 日本の夜。 김민준 Привет नमस्ते",
        key="end",
    )
    pdf = tmp_path / "sheet.pdf"
    scene = SheetScene("6", "INT. OFELIA’S WORKSHOP – NIGHT", [panel])
    assert write_contact_sheet(pdf, "Señor Café\nSecond line", [scene]) == 1
    assert b"/Title (Se\\361or Caf\\351" in pdf.read_bytes()  # WinAnsi in the metadata
    text = _need(_pdftotext(pdf))
    assert "Ofelia’s – café “déjà vu”." in text
    assert "OFELIA’S WORKSHOP – NIGHT" in text
    assert "SEÑOR CAFÉ SECOND LINE" in text  # a two-line title on the one line there is
    assert "pan → · 50 mm" in text
    for words in ("Őrség", "日本の夜。", "김민준", "Привет", "नम"):
        assert words in text, words  # never '?' or a dropped accent
    # (a shaped conjunct is one glyph: PDF text extraction gives it a private code point)
    from moviola.previs._contact_sheet import FONT, _width

    # Shaped by HarfBuzz: a Devanagari conjunct is narrower than its letters side by side.
    assert _width("नमस्ते", FONT, 10) < sum(_width(ch, FONT, 10) for ch in "नमस्ते")
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    embedded = [line for line in fonts.splitlines()[2:] if " yes " in line]
    assert any("DejaVuSans" in line for line in embedded)
    assert any("WenQuanYi" in line or "wqy" in line.lower() for line in embedded), fonts


def test_metadata_keeps_unicode(tmp_path: Path) -> None:
    if shutil.which("pdfinfo") is None:
        pytest.skip("pdfinfo (poppler-utils) is not installed")
    pdf = tmp_path / "sheet.pdf"
    write_contact_sheet(pdf, "夜 – Nevada", [])
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True).stdout
    assert "夜 – Nevada" in info.decode("utf-8")


def test_missing_image_raises_and_leaves_nothing(tmp_path: Path) -> None:
    scenes = _scenes(tmp_path, (3,))
    missing = tmp_path / "gone.png"
    scenes.append(SheetScene("9", "EXT. ROOF - DAY", [Panel(missing, "9", "WS", "x")]))
    before = _folder(tmp_path)
    pdf = tmp_path / "sheet.pdf"
    with pytest.raises(InputError) as err:
        write_contact_sheet(pdf, "T", scenes)
    assert err.value.path == missing
    assert str(err.value).startswith(str(missing))
    assert _folder(tmp_path) == before  # no PDF, no temp file


def test_failed_write_leaves_the_old_sheet(tmp_path: Path) -> None:
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(b"the sheet from yesterday")
    bad = tmp_path / "bad.png"
    bad.write_text("not a PNG at all")
    scene = SheetScene("1", "INT. HALL - DAY", [Panel(_frame(tmp_path / "ok.png"), "1", "WS", "")])
    broken = SheetScene("2", "INT. HALL - DAY", [Panel(bad, "2", "WS", "")])
    before = _folder(tmp_path)
    with pytest.raises(MoviolaError) as err:
        write_contact_sheet(pdf, "T", [scene, broken])
    assert isinstance(err.value, InputError) and err.value.path == bad
    assert pdf.read_bytes() == b"the sheet from yesterday"
    assert _folder(tmp_path) == before


def test_unwritable_target_raises_a_storage_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the folder should be")
    target = blocker / "sheet.pdf"
    scene = SheetScene("1", "INT. HALL - DAY", [Panel(_frame(tmp_path / "ok.png"), "1", "WS", "")])
    with pytest.raises(StorageError) as err:
        write_contact_sheet(target, "T", [scene])
    assert err.value.path == target


def test_empty_scenes_still_make_a_sheet(tmp_path: Path) -> None:
    pdf = tmp_path / "sheet.pdf"
    assert write_contact_sheet(pdf, "T", []) == 1
    assert write_contact_sheet(pdf, "T", [SheetScene("4", "EXT. PIER - DUSK", [])]) == 1
    text = _need(_pdftotext(pdf))
    assert "EXT. PIER - DUSK" in text
    assert "No storyboard panels" in text


def test_images_are_downscaled_for_print(tmp_path: Path) -> None:
    big = Image.radial_gradient("L").resize((3840, 2160)).convert("RGB")
    big.save(tmp_path / "big.png", compress_level=1)
    panels = [Panel(tmp_path / "big.png", f"{i}", "WS", "") for i in range(1, 3)]
    pdf = tmp_path / "sheet.pdf"
    write_contact_sheet(pdf, "T", [SheetScene("1", "INT. HALL - DAY", panels)])
    data = pdf.read_bytes()
    widths = [int(w) for w in re.findall(rb"/Width (\d+)", data)]
    assert widths and max(widths) <= 600  # ~250 pt wide at 150 dpi, not 3840 px
    assert b"/DCTDecode" in data  # embedded as JPEG
    assert len(data) < 300_000


def test_first_page_shows_the_panels(tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    pdf = tmp_path / "sheet.pdf"
    write_contact_sheet(pdf, "Nevada", _scenes(tmp_path))
    stem = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
        check=True,
    )
    with Image.open(f"{stem}.png") as im:
        page = im.convert("RGB")
    w, h = page.size
    assert w > h  # landscape

    def count(box: tuple[float, float, float, float], test: str) -> int:
        region = page.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
        raw = region.tobytes()
        pixels = zip(raw[0::3], raw[1::3], raw[2::3], strict=True)
        if test == "red":
            return sum(1 for r, g, b in pixels if r > 150 and g < 90 and b < 90)
        return sum(1 for r, g, b in pixels if r + g + b < 150)

    # Each of the three columns, in both rows, holds a panel: red ground and a dark figure.
    for left in (0.03, 0.36, 0.69):
        for top, bottom in ((0.15, 0.38), (0.53, 0.76)):
            cell = (left, top, left + 0.28, bottom)
            assert count(cell, "red") > 200, cell
            assert count(cell, "dark") > 50, cell
    # The margins stay white.
    assert count((0.0, 0.0, 0.02, 1.0), "dark") == 0
