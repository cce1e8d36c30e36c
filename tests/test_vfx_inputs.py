"""What the collapse effect accepts as input, and how it refuses what it cannot use.

A plate (JPEG, PNG, EXR or a short video) is read into ACEScg with its colour
space named; the building is a box or a polygon checked against the plate; the
recipe document round-trips and refuses what it does not know. Every refusal is
an :class:`InputError` (or a :class:`DocumentError` for recipe documents) whose
one-line message starts with the file it is about.

Every file is real and written into ``tmp_path`` with Pillow, OpenEXR or PyAV.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageCms

from moviola.core import DocumentError, InputError, MoviolaError
from moviola.vfx.collapse._matte import (
    Region,
    building_matte,
    check_region,
    parse_box,
    read_polygon,
)
from moviola.vfx.collapse._plate import MAX_SIDE, Plate, apply_fit, fit_plate, load_plate
from moviola.vfx.collapse._recipe import CollapseRecipe, preview_of, read_recipe, write_recipe

av = pytest.importorskip("av")
OpenEXR = pytest.importorskip("OpenEXR")

SRGB_CANONICAL = "sRGB Encoded Rec.709 (sRGB)"
LINEAR_REC709 = "Linear Rec.709 (sRGB)"
ACESCG_CHROMATICITIES = (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767)
UNKNOWN_CHROMATICITIES = (0.5, 0.3, 0.3, 0.5, 0.2, 0.1, 0.3127, 0.3290)
MID_GREY_SRGB_LINEAR = 0.2158  # sRGB code value 128/255, decoded to linear light


# ---- helpers: real files ---------------------------------------------------------------------


def noise_rgb(width: int, height: int, seed: int = 0) -> NDArray[np.uint8]:
    """A picture that does not compress to nothing, so cutting its file loses pixel data."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def write_jpeg(path: Path, width: int = 64, height: int = 48) -> Path:
    Image.fromarray(noise_rgb(width, height)).save(path, "JPEG", quality=95)
    return path


def write_png(path: Path, rgb: NDArray[np.uint8], **params: object) -> Path:
    Image.fromarray(rgb).save(path, "PNG", **params)
    return path


def write_exr(
    path: Path,
    rgb: NDArray[np.float32],
    chromaticities: tuple[float, ...] | None = None,
) -> Path:
    header: dict[str, object] = {
        "compression": OpenEXR.ZIP_COMPRESSION,
        "type": OpenEXR.scanlineimage,
    }
    if chromaticities is not None:
        header["chromaticities"] = chromaticities
    OpenEXR.File(header, {"RGB": np.ascontiguousarray(rgb, np.float32)}).write(str(path))
    return path


def grey_exr(path: Path, width: int = 48, height: int = 32, value: float = 0.18,
             chromaticities: tuple[float, ...] | None = None) -> Path:  # fmt: skip
    return write_exr(path, np.full((height, width, 3), value, np.float32), chromaticities)


def write_mp4(path: Path, *, frames: int = 10, rate: int = 24, faststart: bool = False) -> Path:
    """A small H.264 movie, 64x48, whose frames differ (a bar grows across it)."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            rgb = np.full((48, 64, 3), 40, np.uint8)
            rgb[:, : (i + 1) * 6] = 220
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def refusal(exc: pytest.ExceptionInfo[MoviolaError], path: Path) -> str:
    """The error's one line, checked to name ``path`` first; returned for further checks."""
    text = str(exc.value)
    assert "\n" not in text
    assert exc.value.path == path
    assert text.startswith(f"{path}: ")
    return text


def box_region(x0: float, y0: float, x1: float, y1: float) -> Region:
    return Region(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), "box")


DIGEST = "0" * 64  # a plate's sha256 as a recipe document must carry it


def recipe_for(plate: Path | str, **changes: Any) -> CollapseRecipe:
    base = CollapseRecipe(plate=str(plate), building=[[10.0, 20.0], [110.0, 20.0],
                                                      [110.0, 220.0], [10.0, 220.0]],
                          plate_sha256=DIGEST)  # fmt: skip
    return replace(base, **changes)


# ---- plates: stills --------------------------------------------------------------------------


def test_a_jpeg_plate_is_a_still_read_as_srgb_into_acescg(tmp_path: Path) -> None:
    path = write_jpeg(tmp_path / "plate.jpg", 64, 48)

    plate = load_plate(path)

    assert isinstance(plate, Plate)
    assert plate.kind == "still"
    assert plate.path == path
    assert plate.colourspace == SRGB_CANONICAL
    assert (plate.width, plate.height) == (64, 48)
    assert plate.fps is None
    assert plate.frame_count == 1
    frame = plate.frame(0)
    assert frame.dtype == np.float32
    assert frame.shape == (48, 64, 3)


def test_a_png_plate_decodes_srgb_code_values_to_linear_light(tmp_path: Path) -> None:
    path = write_png(tmp_path / "grey.png", np.full((32, 40, 3), 128, np.uint8))

    plate = load_plate(path)

    assert plate.colourspace == SRGB_CANONICAL
    # a neutral stays neutral in ACEScg, and sRGB 128 is about 21.6 % linear
    np.testing.assert_allclose(plate.frame(0), MID_GREY_SRGB_LINEAR, atol=2e-3)


def test_a_sixteen_bit_grey_png_is_scaled_by_its_full_range(tmp_path: Path) -> None:
    path = tmp_path / "grey16.png"
    Image.fromarray(np.full((32, 32), 32896, np.uint16)).save(path)  # 32896 / 65535 = 128 / 255

    plate = load_plate(path)

    np.testing.assert_allclose(plate.frame(0), MID_GREY_SRGB_LINEAR, atol=2e-3)


def test_a_still_holds_its_one_frame_at_every_index(tmp_path: Path) -> None:
    plate = load_plate(write_jpeg(tmp_path / "plate.jpg"))

    np.testing.assert_array_equal(plate.frame(5), plate.frame(0))
    np.testing.assert_array_equal(plate.frame(-1), plate.frame(0))


def test_the_plate_digest_is_the_sha256_of_the_file_bytes(tmp_path: Path) -> None:
    path = write_jpeg(tmp_path / "plate.jpg")

    plate = load_plate(path)

    assert plate.digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_srgb_texture_alias_names_the_same_colour_space(tmp_path: Path) -> None:
    plate = load_plate(write_jpeg(tmp_path / "plate.jpg"), colourspace="sRGB - Texture")

    assert plate.colourspace == SRGB_CANONICAL


def test_a_png_with_an_srgb_icc_profile_is_read_as_srgb(tmp_path: Path) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = write_png(tmp_path / "tagged.png", noise_rgb(32, 32), icc_profile=icc)

    assert load_plate(path).colourspace == SRGB_CANONICAL


def test_a_png_with_an_unknown_icc_profile_is_refused(tmp_path: Path) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("XYZ")).tobytes()
    path = write_png(tmp_path / "xyz.png", noise_rgb(32, 32), icc_profile=icc)

    with pytest.raises(InputError) as exc:
        load_plate(path)

    text = refusal(exc, path)
    assert "ICC" in text
    assert "--plate-colorspace" in text


def test_an_explicit_colour_space_overrides_an_unknown_icc_profile(tmp_path: Path) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("XYZ")).tobytes()
    path = write_png(tmp_path / "xyz.png", noise_rgb(32, 32), icc_profile=icc)

    assert load_plate(path, colourspace="ACEScg").colourspace == "ACEScg"


def test_an_unknown_colour_space_name_is_refused_listing_the_known_ones(tmp_path: Path) -> None:
    path = write_jpeg(tmp_path / "plate.jpg")

    with pytest.raises(InputError) as exc:
        load_plate(path, colourspace="Kodachrome 64")

    text = str(exc.value)
    assert "\n" not in text
    assert "'Kodachrome 64'" in text
    assert str(path) in text
    assert "ACEScg" in text and SRGB_CANONICAL in text  # the names that would work


# ---- plates: EXR -----------------------------------------------------------------------------


def test_an_exr_without_chromaticities_is_linear_rec709(tmp_path: Path) -> None:
    path = grey_exr(tmp_path / "plate.exr", 48, 32, value=0.18)

    plate = load_plate(path)

    assert plate.kind == "exr"
    assert plate.colourspace == LINEAR_REC709
    assert (plate.width, plate.height) == (48, 32)
    assert plate.frame(0).shape == (32, 48, 3)
    np.testing.assert_allclose(plate.frame(0), 0.18, atol=1e-3)  # a linear neutral keeps its value


def test_an_exr_with_acescg_chromaticities_is_read_as_acescg_unchanged(tmp_path: Path) -> None:
    rgb = np.zeros((32, 48, 3), np.float32)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 0.9, 0.2, 0.05
    path = write_exr(tmp_path / "aces.exr", rgb, ACESCG_CHROMATICITIES)

    plate = load_plate(path)

    assert plate.colourspace == "ACEScg"
    np.testing.assert_allclose(plate.frame(0), rgb, atol=1e-5)


def test_an_exr_with_unknown_chromaticities_is_refused(tmp_path: Path) -> None:
    path = grey_exr(tmp_path / "odd.exr", chromaticities=UNKNOWN_CHROMATICITIES)

    with pytest.raises(InputError) as exc:
        load_plate(path)

    assert "--plate-colorspace" in refusal(exc, path)


def test_an_explicit_colour_space_reads_an_exr_of_unknown_chromaticities(tmp_path: Path) -> None:
    path = grey_exr(tmp_path / "odd.exr", chromaticities=UNKNOWN_CHROMATICITIES)

    assert load_plate(path, colourspace="ACEScg").colourspace == "ACEScg"


def test_a_truncated_exr_is_refused_naming_the_file(tmp_path: Path) -> None:
    whole = grey_exr(tmp_path / "whole.exr", 64, 64).read_bytes()
    path = tmp_path / "cut.exr"
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(InputError) as exc:
        load_plate(path)

    refusal(exc, path)


def test_an_exr_smaller_than_16_pixels_is_refused(tmp_path: Path) -> None:
    path = grey_exr(tmp_path / "thin.exr", 48, 8)

    with pytest.raises(InputError) as exc:
        load_plate(path)

    assert "48x8" in refusal(exc, path)


def test_an_exr_wider_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = grey_exr(tmp_path / "wide.exr", MAX_SIDE + 808, 16)

    with pytest.raises(InputError) as exc:
        load_plate(path)

    assert f"{MAX_SIDE + 808}x16" in refusal(exc, path)


# ---- plates: size limits ---------------------------------------------------------------------


def test_a_16k_plate_is_refused_quickly_without_decoding(tmp_path: Path) -> None:
    path = tmp_path / "16k.png"
    Image.new("1", (15360, 8640)).save(path)  # a one-bit black picture: a tiny file
    assert path.stat().st_size < 1_000_000

    start = time.perf_counter()
    with pytest.raises(InputError) as exc:
        load_plate(path)
    elapsed = time.perf_counter() - start

    text = refusal(exc, path)
    assert "15360x8640" in text
    assert str(MAX_SIDE) in text
    assert elapsed < 5.0


def test_a_plate_exactly_at_the_side_limit_is_accepted(tmp_path: Path) -> None:
    path = write_png(tmp_path / "edge.png", np.zeros((16, MAX_SIDE, 3), np.uint8))

    assert load_plate(path).width == MAX_SIDE


def test_a_plate_one_pixel_over_the_side_limit_is_refused(tmp_path: Path) -> None:
    path = write_png(tmp_path / "over.png", np.zeros((16, MAX_SIDE + 1, 3), np.uint8))

    with pytest.raises(InputError) as exc:
        load_plate(path)

    assert f"{MAX_SIDE + 1}x16" in refusal(exc, path)


@pytest.mark.parametrize("size", [(15, 64), (64, 15), (8, 8)])
def test_a_plate_under_16_pixels_on_a_side_is_refused(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    width, height = size
    path = write_png(tmp_path / "tiny.png", noise_rgb(width, height))

    with pytest.raises(InputError) as exc:
        load_plate(path)

    assert f"{width}x{height}" in refusal(exc, path)


def test_a_16_pixel_plate_is_accepted(tmp_path: Path) -> None:
    path = write_png(tmp_path / "small.png", noise_rgb(16, 16))

    plate = load_plate(path)

    assert (plate.width, plate.height) == (16, 16)


# ---- plates: files that are not plates -------------------------------------------------------


def test_a_missing_plate_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.jpg"

    with pytest.raises(InputError) as exc:
        load_plate(path)

    refusal(exc, path)
    assert exc.value.exit_code == 2


def test_a_folder_is_not_a_plate(tmp_path: Path) -> None:
    path = tmp_path / "plates"
    path.mkdir()

    with pytest.raises(InputError) as exc:
        load_plate(path)

    refusal(exc, path)


def test_an_empty_file_is_not_a_plate(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")

    with pytest.raises(InputError) as exc:
        load_plate(path)

    assert "empty" in refusal(exc, path)


def test_random_bytes_are_not_a_plate(tmp_path: Path) -> None:
    path = tmp_path / "noise.jpg"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())

    with pytest.raises(InputError) as exc:
        load_plate(path)

    refusal(exc, path)


def test_a_jpeg_cut_in_half_is_refused_as_truncated(tmp_path: Path) -> None:
    whole = write_jpeg(tmp_path / "whole.jpg", 128, 96).read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(InputError) as exc:
        load_plate(path)

    assert "truncated" in refusal(exc, path)


def test_a_png_cut_in_half_is_refused_as_truncated(tmp_path: Path) -> None:
    whole = write_png(tmp_path / "whole.png", noise_rgb(128, 96)).read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(InputError) as exc:
        load_plate(path)

    refusal(exc, path)


def test_plate_errors_are_input_errors_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "empty.exr"
    path.write_bytes(b"")

    with pytest.raises(MoviolaError) as exc:
        load_plate(path)

    assert isinstance(exc.value, InputError)
    assert exc.value.exit_code == 2


# ---- plates: video ---------------------------------------------------------------------------


def test_an_mp4_plate_is_a_video_with_its_rate_and_frames(tmp_path: Path) -> None:
    path = write_mp4(tmp_path / "plate.mp4", frames=10, rate=24)

    plate = load_plate(path)

    assert plate.kind == "video"
    assert plate.colourspace == SRGB_CANONICAL
    assert (plate.width, plate.height) == (64, 48)
    assert plate.fps == pytest.approx(24.0, rel=1e-3)
    assert plate.frame_count == 10
    assert plate.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    first, last = plate.frame(0), plate.frame(9)
    assert first.dtype == np.float32 and first.shape == (48, 64, 3)
    assert not np.allclose(first, last)  # the frames are the movie's own, in order
    assert first[:, 40:].mean() < last[:, 40:].mean()


def test_a_video_holds_its_last_frame_past_its_end(tmp_path: Path) -> None:
    plate = load_plate(write_mp4(tmp_path / "plate.mp4", frames=10))

    np.testing.assert_array_equal(plate.frame(25), plate.frame(9))


def test_a_video_is_read_up_to_max_frames(tmp_path: Path) -> None:
    plate = load_plate(write_mp4(tmp_path / "plate.mp4", frames=10), max_frames=4)

    assert plate.frame_count == 4


def test_a_video_is_read_up_to_max_seconds(tmp_path: Path) -> None:
    plate = load_plate(write_mp4(tmp_path / "plate.mp4", frames=10, rate=24), max_seconds=0.125)

    assert plate.frame_count == 4  # frames at 0, 1/24, 2/24 and 3/24 s cover the first 0.125 s


def test_a_video_cut_in_half_is_refused(tmp_path: Path) -> None:
    whole = write_mp4(tmp_path / "whole.mp4").read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(InputError) as exc:
        load_plate(path)

    refusal(exc, path)


def test_a_faststart_video_cut_in_half_is_refused(tmp_path: Path) -> None:
    whole = write_mp4(tmp_path / "whole.mp4", faststart=True).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(InputError) as exc:
        load_plate(path)

    refusal(exc, path)


@pytest.mark.parametrize("faststart", [False, True], ids=["moov-last", "moov-first"])
def test_a_video_with_garbage_after_its_header_is_refused(tmp_path: Path, faststart: bool) -> None:
    whole = write_mp4(tmp_path / "whole.mp4", faststart=faststart).read_bytes()
    keep = len(whole) // 2 if faststart else 64
    garbage = np.random.default_rng(2).integers(0, 256, len(whole) - keep, dtype=np.uint8)
    path = tmp_path / "garbage.mp4"
    path.write_bytes(whole[:keep] + garbage.tobytes())

    with pytest.raises(InputError) as exc:
        load_plate(path)

    refusal(exc, path)


# ---- fitting the plate to the output frame ---------------------------------------------------


def test_fit_covers_the_output_frame_without_bars() -> None:
    fit = fit_plate(1920, 1080, 1280, 720, keep_top=None)

    assert fit.scale == pytest.approx(2 / 3)
    assert fit.point(0, 0) == pytest.approx((0.0, 0.0))
    assert fit.point(1920, 1080) == pytest.approx((1280.0, 720.0))


def test_apply_fit_gives_the_output_size_and_keeps_a_flat_plate_flat() -> None:
    image = np.full((90, 160, 3), 0.25, np.float32)
    fit = fit_plate(160, 90, 64, 64, keep_top=None)

    out = apply_fit(image, fit)

    assert out.shape == (64, 64, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.25, atol=1e-5)


# ---- the building region ---------------------------------------------------------------------


def test_a_box_is_four_numbers_giving_a_four_corner_region() -> None:
    region = parse_box("10,20,110,220")

    assert region.source == "box"
    assert len(region.points) == 4
    assert region.bounds == (10.0, 20.0, 110.0, 220.0)
    assert region.area() == pytest.approx(100 * 200)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("110,20,10,220", "reversed (x1 is left of x0)"),
        ("10,220,110,20", "reversed (y1 is above y0)"),
        ("110,220,10,20", "reversed"),
        ("10,20,10,220", "empty: it has no width"),
        ("10,20,110,20", "empty: it has no height"),
        ("-5,20,110,220", "negative coordinate"),
        ("10,-1,110,220", "negative coordinate"),
        ("10,20,inf,220", "not a finite number"),
    ],
)
def test_a_reversed_empty_or_negative_box_is_refused_not_guessed(text: str, words: str) -> None:
    """Swapped corners are a slip as often as not: refused in one line, never flipped."""
    with pytest.raises(InputError) as exc:
        parse_box(text)

    assert words in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("text", ["", "10,20,110", "10,20,110,220,5", "a,b,c,d", "10 20 110 220"])
def test_a_box_that_is_not_four_numbers_is_refused(text: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_box(text)

    assert "x0,y0,x1,y1" in str(exc.value)


def test_a_box_with_a_coordinate_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(InputError):
        check_region(parse_box("nan,0,100,100"), 320, 240)


def test_a_polygon_file_may_be_a_json_list_of_points(tmp_path: Path) -> None:
    path = tmp_path / "tower.json"
    path.write_text(json.dumps([[10, 20], [110, 20], [60, 220]]))

    region = read_polygon(path)

    assert region.points == ((10.0, 20.0), (110.0, 20.0), (60.0, 220.0))
    assert region.source == "tower.json"


def test_a_polygon_file_may_be_a_json_object_with_points(tmp_path: Path) -> None:
    path = tmp_path / "tower.json"
    path.write_text(json.dumps({"points": [[10, 20], [110, 20], [110, 220], [10, 220]]}))

    assert read_polygon(path).bounds == (10.0, 20.0, 110.0, 220.0)


def test_a_polygon_file_may_be_one_x_y_pair_per_line(tmp_path: Path) -> None:
    path = tmp_path / "tower.txt"
    path.write_text("# the tower\n10,20\n110.5,20\n\n60,220\n")

    assert read_polygon(path).points == ((10.0, 20.0), (110.5, 20.0), (60.0, 220.0))


@pytest.mark.parametrize(
    "text",
    ["[[0, 0], [10, 10]]", '{"points": [[0, 0]]}', "5,5\n6,6\n", ""],
    ids=["json-two-points", "object-one-point", "lines-two-points", "empty"],
)
def test_a_polygon_of_fewer_than_three_points_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "poly.txt"
    path.write_text(text)

    with pytest.raises(InputError) as exc:
        read_polygon(path)

    assert "at least 3 points" in refusal(exc, path)


@pytest.mark.parametrize(
    "text",
    [
        "the tower, roughly",
        "[1, 2, 3]",
        '{"points": "left of the church"}',
        "10,20\nten,twenty\n5,5",
    ],
    ids=["prose", "flat-list", "points-string", "word-in-lines"],
)
def test_a_polygon_file_of_garbage_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "poly.txt"
    path.write_text(text)

    with pytest.raises(InputError) as exc:
        read_polygon(path)

    refusal(exc, path)


def test_a_missing_polygon_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"

    with pytest.raises(InputError) as exc:
        read_polygon(path)

    refusal(exc, path)


def test_a_region_inside_the_plate_is_kept_as_it_is() -> None:
    region = parse_box("10,20,110,220")

    assert check_region(region, 320, 240) == region


def test_a_region_of_zero_area_is_refused() -> None:
    with pytest.raises(InputError) as exc:
        check_region(box_region(10, 10, 10, 50), 320, 240)  # a polygon can be flat too

    assert "zero area" in str(exc.value)


def test_a_region_entirely_outside_the_plate_is_refused() -> None:
    with pytest.raises(InputError) as exc:
        check_region(parse_box("400,10,500,100"), 320, 240)

    text = str(exc.value)
    assert "outside" in text and "320x240" in text


def test_a_region_left_of_and_above_the_plate_is_refused() -> None:
    with pytest.raises(InputError):
        check_region(parse_box("-100,-100,-10,-10"), 320, 240)


def test_a_region_partly_outside_the_plate_is_refused_not_clipped() -> None:
    """Past the edge nearly always means another picture's pixels; the edge itself is fine."""
    with pytest.raises(InputError) as exc:
        check_region(parse_box("100,100,330,200"), 320, 240)

    assert "runs off the 320x240 plate" in str(exc.value)
    assert check_region(parse_box("100,100,320,240"), 320, 240).bounds == (100.0, 100.0, 320.0, 240.0)


def test_a_polygon_with_a_point_off_the_plate_is_refused() -> None:
    region = Region(((10.0, 10.0), (100.0, -3.0), (100.0, 100.0)), "tower.json")

    with pytest.raises(InputError) as exc:
        check_region(region, 320, 240)

    assert "tower.json" in str(exc.value) and "runs off" in str(exc.value)


def test_a_region_with_only_a_sliver_on_the_plate_is_refused() -> None:
    with pytest.raises(InputError):
        check_region(parse_box("318,0,400,20"), 320, 240)  # 2 x 20 px on the plate


# ---- the building matte ----------------------------------------------------------------------

BUILDING = (100, 70, 220, 240)  # x0, y0, x1, y1 (exclusive): stands on the bottom of the frame


def street_picture() -> NDArray[np.uint8]:
    """A blue sky gradient with a yellow building whose windows are dark vertical stripes."""
    height, width = 240, 320
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top, bottom = np.array([70, 120, 220], np.float32), np.array([160, 195, 245], np.float32)
    picture = np.broadcast_to(top + (bottom - top) * t, (height, width, 3)).astype(np.uint8)
    x0, y0, x1, y1 = BUILDING
    picture[y0:y1, x0:x1] = (225, 190, 60)
    for x in range(x0 + 14, x1 - 10, 24):
        picture[y0 + 20 : y1 - 30, x : x + 6] = (60, 50, 35)
    return np.ascontiguousarray(picture)


def test_the_matte_is_a_float_picture_in_zero_to_one() -> None:
    matte = building_matte(street_picture(), parse_box("80,50,240,240"))

    assert matte.shape == (240, 320)
    assert matte.dtype == np.float32
    assert float(matte.min()) >= 0.0 and float(matte.max()) <= 1.0


def test_the_refined_matte_covers_the_building_inside_a_loose_box() -> None:
    matte = building_matte(street_picture(), parse_box("80,50,240,240"), refine=True)

    truth = np.zeros(matte.shape, bool)
    x0, y0, x1, y1 = BUILDING
    truth[y0:y1, x0:x1] = True
    found = matte > 0.5
    iou = (found & truth).sum() / (found | truth).sum()
    assert iou > 0.9


def test_the_refined_matte_leaves_the_sky_inside_the_box_out() -> None:
    matte = building_matte(street_picture(), parse_box("80,50,240,240"), refine=True)

    x0, y0, x1, _ = BUILDING
    assert float(matte[50 : y0 - 3, 80:240].max()) < 0.1  # sky above the roof
    assert float(matte[y0 + 3 :, 80 : x0 - 3].max()) < 0.1  # sky left of the building
    assert float(matte[y0 + 3 :, x1 + 3 : 240].max()) < 0.1  # sky right of it


def test_the_matte_never_spills_outside_the_region() -> None:
    matte = building_matte(street_picture(), parse_box("80,50,240,240"), refine=True)

    outside = np.ones(matte.shape, bool)
    outside[50:241, 80:241] = False  # the box edges x=240 and y=240 are in it
    assert float(matte[outside].max()) == 0.0


def test_an_unrefined_matte_covers_the_building_and_stays_inside_the_region() -> None:
    matte = building_matte(street_picture(), parse_box("80,50,240,240"), refine=False)

    x0, y0, x1, y1 = BUILDING
    assert float(matte[y0 + 3 : y1, x0 + 3 : x1 - 3].min()) > 0.9
    outside = np.ones(matte.shape, bool)
    outside[50:241, 80:241] = False  # the box edges x=240 and y=240 are in it
    assert float(matte[outside].max()) == 0.0


def test_a_plate_too_thin_for_grabcut_keeps_the_region_as_drawn() -> None:
    """A 4096x108 strip is 9 px high at GrabCut's size: too few samples to model, no crash."""
    picture = np.full((108, 4096, 3), (120, 160, 230), np.uint8)
    picture[20:, 1400:2800] = (225, 190, 60)

    matte = building_matte(picture, parse_box("1300,20,2900,108"), refine=True)

    assert matte.shape == (108, 4096) and float(matte[40:, 1500:2700].min()) > 0.9


def test_sky_seen_through_an_opening_in_the_building_is_not_building() -> None:
    picture = street_picture()
    sky = street_picture()  # the same sky, before the building was painted on
    sky[:, :] = sky[:, 20:21]
    picture[110:160, 145:175] = sky[110:160, 145:175]  # an arch the sky shows through

    matte = building_matte(picture, parse_box("80,50,240,240"), refine=True)

    assert float(matte[115:155, 150:170].max()) < 0.1
    assert float(matte[200:235, 105:140].min()) > 0.9  # the wall below it stays


# ---- the recipe ------------------------------------------------------------------------------


def test_a_default_recipe_is_valid(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path / "plate.jpg")

    assert recipe.validate() is recipe


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"mode": "implode"}, "mode 'implode'"),
        ({"direction": "up"}, "direction 'up'"),
        ({"frames": 0}, "frames 0"),
        ({"frames": 2401}, "frames 2401"),
        ({"fps": 0.0}, "fps 0.0"),
        ({"resolution": [1921, 1080]}, "resolution 1921x1080"),
        ({"resolution": [1920, 1081]}, "resolution 1920x1081"),
        ({"resolution": [32, 32]}, "resolution 32x32"),
        ({"resolution": [9000, 4000]}, "resolution 9000x4000"),
        ({"height_m": 1.0}, "height_m"),
        ({"grain": -1.0}, "grain"),
        ({"building": [[0.0, 0.0], [10.0, 10.0]]}, "at least 3 points"),
        ({"dust_colour": [1.0, 0.5]}, "dust_colour"),
        ({"dust_colour": [2.0, 0.5, 0.5]}, "dust_colour"),
        ({"start_frame": 1000}, "start_frame 1000"),
        # values of the wrong kind are refused by name before any range is checked
        ({"frames": "lots"}, 'frames "lots" is not a whole number'),
        ({"frames": 12.0}, "frames 12.0 is not a whole number"),
        ({"frames": True}, "frames true is not a whole number"),
        ({"building": None}, "building null is not a list of [x, y] points"),
        ({"building": [[0, 0], [1]]}, "is not a list of [x, y] points"),
        ({"fps": float("nan")}, "fps NaN is not a number"),
        ({"resolution": [640.0, 480.0]}, "is not two whole numbers"),
        ({"name": 7}, "name 7 is not text"),
        ({"prompt": "x" * 20_000}, "prompt"),
    ],
)
def test_a_recipe_with_a_bad_value_is_refused_naming_it(
    tmp_path: Path, changes: dict[str, Any], words: str
) -> None:
    recipe = recipe_for(tmp_path / "plate.jpg", **changes)

    with pytest.raises(InputError) as exc:
        recipe.validate()

    assert words in str(exc.value)


@pytest.mark.parametrize("mode", ["pancake", "topple", "blast"])
def test_each_collapse_mode_is_valid(tmp_path: Path, mode: str) -> None:
    recipe_for(tmp_path / "plate.jpg", mode=mode).validate()


def test_every_recipe_field_has_a_checked_kind() -> None:
    from dataclasses import fields

    from moviola.vfx.collapse._recipe import _KINDS

    assert set(_KINDS) == {f.name for f in fields(CollapseRecipe)}




def test_the_output_limit_is_dci_4k_and_a_fitting_size_keeps_the_aspect() -> None:
    from moviola.vfx.collapse._recipe import fitted_size, size_problem

    assert size_problem(4096, 2160) is None and size_problem(3840, 2160) is None
    assert size_problem(4100, 1000) is not None and size_problem(4096, 2304) is not None
    width, height = fitted_size(8192, 4608)
    assert size_problem(width, height) is None and width % 4 == 0 and height % 4 == 0
    assert width / height == pytest.approx(8192 / 4608, rel=0.01)


def test_a_recipe_document_without_its_plate_digest_is_refused_unless_the_plate_is_chosen(
    tmp_path: Path,
) -> None:
    plate = write_jpeg(tmp_path / "plate.jpg")
    path = write_recipe_document(tmp_path / "recipe.json", plate_sha256=None)

    with pytest.raises(DocumentError) as exc:
        read_recipe(path)

    assert "plate_sha256 is missing" in refusal(exc, path)
    assert read_recipe(path, plate=plate).plate_sha256 is None  # taken from the plate it renders


def test_a_recipe_plate_in_a_folder_below_the_recipe_is_found(tmp_path: Path) -> None:
    (tmp_path / "plates").mkdir()
    write_jpeg(tmp_path / "plates" / "plate.jpg")
    path = write_recipe_document(tmp_path / "recipe.json", plate="plates/./plate.jpg")

    assert read_recipe(path).plate == str((tmp_path / "plates" / "plate.jpg").resolve())


def test_a_recipe_plate_elsewhere_in_the_project_is_found_with_the_project_named(tmp_path: Path) -> None:
    (tmp_path / "plates").mkdir()
    (tmp_path / "vfx" / "fall").mkdir(parents=True)
    write_jpeg(tmp_path / "plates" / "plate.jpg")
    path = write_recipe_document(tmp_path / "vfx" / "fall" / "recipe.json", plate="../../plates/plate.jpg")

    with pytest.raises(DocumentError):
        read_recipe(path)
    assert read_recipe(path, root=tmp_path).plate == str((tmp_path / "plates" / "plate.jpg").resolve())


def test_a_recipe_lists_every_problem_at_once(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path / "plate.jpg", mode="implode", frames=0)

    with pytest.raises(InputError) as exc:
        recipe.validate()

    assert "mode" in str(exc.value) and "frames" in str(exc.value)


def test_a_recipe_round_trips_with_its_plate_stored_relative(tmp_path: Path) -> None:
    (tmp_path / "plates").mkdir()
    plate = write_jpeg(tmp_path.resolve() / "plates" / "street.jpg")
    recipe = recipe_for(plate, mode="topple", seed=7, resolution=[640, 480], failure=[50.0, 60.0],
                        dust_colour=[0.5, 0.45, 0.4], name="church")  # fmt: skip
    path = tmp_path / "recipe.json"

    write_recipe(path, recipe)

    stored = json.loads(path.read_text())
    assert stored["schema"] == "CollapseRecipe.2"
    assert stored["plate"] == str(Path("plates") / "street.jpg")
    back = read_recipe(path)
    assert Path(back.plate).is_absolute()
    assert Path(back.plate) == plate.resolve()
    assert back == recipe


def test_a_plate_outside_the_recipe_folder_is_stored_absolute(tmp_path: Path) -> None:
    """... and read back only inside the project the user names (or with --plate)."""
    (tmp_path / "plates").mkdir()
    (tmp_path / "shot").mkdir()
    plate = write_jpeg(tmp_path.resolve() / "plates" / "street.jpg")
    path = tmp_path / "shot" / "recipe.json"

    write_recipe(path, recipe_for(plate))

    assert json.loads(path.read_text())["plate"] == str(plate)
    assert read_recipe(path, root=tmp_path).plate == str(plate)
    with pytest.raises(DocumentError) as exc:
        read_recipe(path)
    assert "outside the recipe's folder" in refusal(exc, path)
    assert read_recipe(path, plate=plate).plate == str(plate)


def test_a_recipe_moved_with_its_plate_still_finds_it(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    plate = write_jpeg(first.resolve() / "plate.jpg")
    write_recipe(first / "recipe.json", recipe_for(plate))

    first.rename(second)

    assert read_recipe(second / "recipe.json").plate == str((second / "plate.jpg").resolve())


def write_recipe_document(path: Path, **changes: object) -> Path:
    doc: dict[str, object] = {"schema": "CollapseRecipe.1", "plate": "plate.jpg", "plate_sha256": DIGEST,
           "building": [[10, 20], [110, 20], [110, 220], [10, 220]]}  # fmt: skip
    doc.update(changes)
    path.write_text(json.dumps(doc))
    return path


def test_a_minimal_recipe_document_takes_the_defaults(tmp_path: Path) -> None:
    recipe = read_recipe(write_recipe_document(tmp_path / "recipe.json"))

    assert recipe.mode == "pancake"
    assert recipe.plate == str((tmp_path / "plate.jpg").resolve())


def test_a_recipe_from_a_newer_moviola_is_refused_saying_so(tmp_path: Path) -> None:
    path = write_recipe_document(tmp_path / "recipe.json", schema="CollapseRecipe.99")

    with pytest.raises(DocumentError) as exc:
        read_recipe(path)

    assert "newer" in refusal(exc, path)


def test_a_recipe_with_an_unknown_field_is_refused_naming_it(tmp_path: Path) -> None:
    path = write_recipe_document(tmp_path / "recipe.json", explosion_size=3)

    with pytest.raises(DocumentError) as exc:
        read_recipe(path)

    assert "explosion_size" in refusal(exc, path)


def test_a_recipe_document_with_a_bad_value_is_a_document_error(tmp_path: Path) -> None:
    path = write_recipe_document(tmp_path / "recipe.json", mode="implode")

    with pytest.raises(DocumentError) as exc:
        read_recipe(path)

    assert "implode" in refusal(exc, path)


def test_a_recipe_document_without_a_building_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"schema": "CollapseRecipe.1", "plate": "plate.jpg"}))

    with pytest.raises(DocumentError) as exc:
        read_recipe(path)

    refusal(exc, path)


def test_a_document_of_another_kind_is_not_a_recipe(tmp_path: Path) -> None:
    path = write_recipe_document(tmp_path / "recipe.json", schema="Breakdown.1")

    with pytest.raises(DocumentError):
        read_recipe(path)


# ---- the preview -----------------------------------------------------------------------------


def test_the_preview_keeps_the_shot_duration_in_48_frames(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path / "plate.jpg", frames=120, fps=24.0)

    preview = preview_of(recipe, (1920, 1080))

    assert preview.preview is True
    assert preview.frames == 48
    assert preview.frames / preview.fps == pytest.approx(recipe.frames / recipe.fps)
    assert preview.seed == recipe.seed and preview.mode == recipe.mode


def test_the_preview_is_at_most_960_wide_keeping_the_aspect(tmp_path: Path) -> None:
    preview = preview_of(recipe_for(tmp_path / "plate.jpg"), (1920, 1080))

    assert preview.resolution == [960, 540]


def test_the_preview_shrinks_the_recipe_resolution_not_the_plate(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path / "plate.jpg", resolution=[2048, 858])

    preview = preview_of(recipe, (4000, 3000))

    assert preview.resolution is not None
    width, height = preview.resolution
    assert width == 960
    assert height == pytest.approx(858 * 960 / 2048, abs=4)  # down to a multiple of 4


@pytest.mark.parametrize("plate_size", [(641, 361), (1999, 1001), (1081, 1921), (100, 77)])
def test_the_preview_size_is_even_and_at_most_960_wide(
    tmp_path: Path, plate_size: tuple[int, int]
) -> None:
    preview = preview_of(recipe_for(tmp_path / "plate.jpg"), plate_size)

    assert preview.resolution is not None
    width, height = preview.resolution
    assert width <= 960
    assert width % 4 == 0 and height % 4 == 0  # H.264 4:2:0 in our packed layout
    assert width >= plate_size[0] - 1 or width == 960


def test_a_short_shot_previews_at_its_own_frames_and_rate(tmp_path: Path) -> None:
    preview = preview_of(recipe_for(tmp_path / "plate.jpg", frames=24, fps=24.0), (640, 360))

    assert (preview.frames, preview.fps) == (24, 24.0)


def test_the_preview_starts_the_collapse_at_the_same_time(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path / "plate.jpg", frames=120, fps=24.0, start_frame=1061)

    preview = preview_of(recipe, (640, 360))

    assert preview.start_s() == pytest.approx(recipe.start_s(), abs=0.5 / preview.fps)
    preview.validate()


def test_the_preview_of_a_typical_recipe_is_valid(tmp_path: Path) -> None:
    preview_of(recipe_for(tmp_path / "plate.jpg"), (1920, 1080)).validate()


def test_the_preview_of_a_long_valid_shot_is_itself_valid(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path / "plate.jpg", frames=2400, fps=24.0).validate()

    preview_of(recipe, (1920, 1080)).validate()


# ---- the recipe key --------------------------------------------------------------------------


def test_the_key_changes_with_the_seed(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path / "plate.jpg", seed=1)

    assert replace(recipe, seed=2).key() != recipe.key()


def test_the_key_changes_with_the_mode(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path / "plate.jpg", mode="pancake")

    assert replace(recipe, mode="topple").key() != recipe.key()
    assert replace(recipe, mode="blast").key() != replace(recipe, mode="topple").key()


def test_the_key_ignores_the_name(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path / "plate.jpg", name="church")

    assert replace(recipe, name="town hall").key() == recipe.key()


def test_the_key_ignores_where_the_plate_lies_but_not_its_contents(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path / "plate.jpg", plate_sha256="a" * 64)

    assert replace(recipe, plate=str(tmp_path / "moved" / "plate.jpg")).key() == recipe.key()
    assert replace(recipe, plate_sha256="b" * 64).key() != recipe.key()


def test_the_key_is_stable_across_a_save_and_load(tmp_path: Path) -> None:
    recipe = recipe_for(tmp_path.resolve() / "plate.jpg", seed=5)
    path = write_recipe(tmp_path / "recipe.json", recipe)

    assert read_recipe(path).key() == recipe.key()
