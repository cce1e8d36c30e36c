"""Careless and hostile uses of ``moviola vfx collapse`` (and the shared rules of de-aging).

The contract, row by row (see ``hostile.py``): one line on stderr, the exit code of
the error's family (2 for a bad input, 4 for a bad recipe document), no traceback,
and nothing written anywhere under ``tmp_path``: not in ``--out``, not above it, not
in the project. Then the rules the rows stand for:

- a shot's name is one plain file-name part (letters, digits, - and _, starting with
  a letter or digit, at most 64): it cannot reach outside its folder, on the command
  line or in a recipe, for collapse and de-aging alike;
- a recipe document is checked field by field before anything runs, must carry its
  plate's sha256, and may only point at a plate beside it or below it (or in the
  project named with ``--project``), unless ``--plate`` chooses the plate;
- the output is at most DCI 4K (4096 px on the long side, 4096x2160 in all);
- a box is the left, top corner then the right, bottom one, on the plate: reversed,
  empty, negative or off the plate is refused, never flipped or clipped;
- a refused render leaves nothing behind, so the corrected command renders.

Plates are small generated pictures, renders ``--preview --frames 4``: the file runs
in seconds.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from conftest import RunCli, take_snapshot
from hostile import Hostile, check_case

pytest.importorskip("moderngl")
pytest.importorskip("pymunk")

ROOT = Path(__file__).resolve().parents[1]
BOX = "40,25,120,120"  # the building of the generated 160x120 plate, in its pixels
FAST = ("--preview", "--frames", "4", "--json")


def street_plate(path: Path, width: int = 160, height: int = 120) -> Path:
    """A blue sky over a yellow building with dark window columns, standing on the frame's foot."""
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top, bottom = np.array([70, 120, 220], np.float32), np.array([160, 195, 245], np.float32)
    picture = np.broadcast_to(top + (bottom - top) * t, (height, width, 3)).astype(np.uint8).copy()
    x0, x1 = width * 5 // 16, width * 11 // 16
    picture[height * 7 // 24 :, x0:x1] = (225, 190, 60)
    for x in range(x0 + 7, x1 - 6, 12):
        picture[height * 3 // 8 : height * 7 // 8, x : x + 3] = (60, 50, 35)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture).save(path)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recipe_document(folder: Path, *, plate: Path | str | None = None, **changes: Any) -> Path:
    """A recipe document in ``folder`` for the generated plate beside it (made unless given)."""
    folder.mkdir(parents=True, exist_ok=True)
    if plate is None:
        plate = street_plate(folder / "plate.png").name
    plate_file = folder / plate
    doc: dict[str, Any] = {
        "schema": "CollapseRecipe.1",
        "plate": str(plate),
        "plate_sha256": sha256(plate_file) if plate_file.is_file() else "0" * 64,
        "building": [[40, 25], [120, 25], [120, 120], [40, 120]],
        "name": "tower",
        "frames": 4,
    }
    doc.update(changes)
    path = folder / "recipe.json"
    path.write_text(json.dumps(doc))
    return path


def collapse(tmp: Path, *args: str, plate: Path | None = None) -> list[str | Path]:
    """``vfx collapse`` on the generated plate into ``tmp/out`` with ``args`` added."""
    plate = plate or street_plate(tmp / "plate.png")
    return ["vfx", "collapse", "--plate", plate, "--out", tmp / "out", *args]


def boxed(box: str, *args: str) -> Any:
    return lambda tmp: collapse(tmp, "--building", box, *FAST, *args)


def from_recipe(**changes: Any) -> Any:
    return lambda tmp: ["vfx", "collapse", "--recipe", recipe_document(tmp / "shot", **changes),
                        "--out", tmp / "out", *FAST]  # fmt: skip


def in_project(*args: str) -> Any:
    def setup(tmp: Path) -> list[str | Path]:
        from moviola.core import init_project

        init_project(tmp / "proj", name="film")
        plate = street_plate(tmp / "plates" / "plate.png")
        return ["vfx", "collapse", "--plate", plate, "--project", tmp / "proj", *args, *FAST]

    return setup


def outside_plate_recipe(tmp: Path) -> list[str | Path]:
    secret = street_plate(tmp / "private" / "secret.png")  # a picture, and its real sha256
    path = recipe_document(tmp / "shared" / "shot", plate="../../private/secret.png",
                           plate_sha256=sha256(secret))  # fmt: skip
    return ["vfx", "collapse", "--recipe", path, "--out", tmp / "out", *FAST]


def linked_plate_recipe(tmp: Path) -> list[str | Path]:
    secret = street_plate(tmp / "private" / "secret.png")
    folder = tmp / "shot"
    folder.mkdir()
    (folder / "plate.png").symlink_to(secret)  # beside the recipe by name only
    path = recipe_document(folder, plate="plate.png")
    return ["vfx", "collapse", "--recipe", path, "--out", tmp / "out", *FAST]


def swapped_plate_recipe(tmp: Path) -> list[str | Path]:
    path = recipe_document(tmp / "shot")
    street_plate(tmp / "shot" / "plate.png", 168, 120)  # another picture under the same name
    return ["vfx", "collapse", "--recipe", path, "--out", tmp / "out", *FAST]


def too_big_plate(tmp: Path) -> list[str | Path]:
    plate = street_plate(tmp / "wide.png", 4400, 120)  # 4400 px across: over the 4096 px limit
    return ["vfx", "collapse", "--plate", plate, "--building", "1400,25,3000,120", "--out", tmp / "out",
            "--frames", "4"]  # fmt: skip


CASES = [
    # the shot's name reaches outside its folder
    Hostile("name-climbs-out", lambda tmp: collapse(tmp / "a" / "b", "--building", BOX, "--name", "../../x", *FAST),
            2, r"--name '\.\./\.\./x' is not a plain file-name part"),  # fmt: skip
    Hostile("name-absolute", lambda tmp: collapse(tmp, "--building", BOX, "--name", str(tmp / "abs"), *FAST),
            2, r"--name '/.*' is not a plain file-name part"),  # fmt: skip
    Hostile("name-climbs-out-of-project", in_project("--building", BOX, "--name", "../../x"),
            2, r"--name '\.\./\.\./x'"),  # fmt: skip
    Hostile("name-dot-dot", boxed(BOX, "--name", ".."), 2, r"--name '\.\.' is not a plain"),
    Hostile("name-leading-dash", boxed(BOX, "--name", "-rf"), 2, r"--name '-rf' is not a plain"),
    Hostile("name-too-long", boxed(BOX, "--name", "x" * 300), 2, r"is 300 characters long; the limit is 64"),
    Hostile("recipe-name-climbs-out", from_recipe(name="../../x"), 4,
            r"recipe\.json: bad collapse recipe: name \"\.\./\.\./x\" is not a plain file-name part"),
    # recipe documents: types, ranges, the plate's digest and where the plate is
    Hostile("recipe-frames-not-a-number", from_recipe(frames="lots"), 4,
            r"recipe\.json: bad collapse recipe: frames \"lots\" is not a whole number"),
    Hostile("recipe-building-null", from_recipe(building=None), 4,
            r"recipe\.json: .*building null is not a list of \[x, y\] points"),
    Hostile("recipe-fps-text", from_recipe(fps="24"), 4, r"fps \"24\" is not a number"),
    Hostile("recipe-seed-negative", from_recipe(seed=-1), 4, r"seed -1 is not between 0 and"),
    Hostile("recipe-refine-string", from_recipe(refine="no"), 4, r"refine \"no\" is not true or false"),
    Hostile("recipe-wind-infinite", from_recipe(wind=[float("inf"), 0]), 4, r"wind \[Infinity, 0\] is not two numbers"),
    Hostile("recipe-no-plate-digest", from_recipe(plate_sha256=None), 4, r"recipe\.json: .*plate_sha256 is missing"),
    Hostile("recipe-bad-plate-digest", from_recipe(plate_sha256="abc"), 4, r"plate_sha256 \"abc\" is not a sha256"),
    Hostile("recipe-swapped-plate", swapped_plate_recipe, 2, r"plate\.png: the plate is not the one this recipe"),
    Hostile("recipe-plate-etc-passwd", from_recipe(plate="/etc/passwd"), 4,
            r"recipe\.json: plate \"/etc/passwd\" lies outside the recipe's folder.*--plate FILE"),
    Hostile("recipe-plate-climbs-out", outside_plate_recipe, 4,
            r"recipe\.json: plate \"\.\./\.\./private/secret\.png\" lies outside the recipe's folder"),
    Hostile("recipe-plate-symlink-out", linked_plate_recipe, 4, r"plate \"plate\.png\" lies outside the recipe's folder"),
    Hostile("recipe-clean-plate-out", from_recipe(clean_plate="/etc/hostname"), 4,
            r"clean_plate \"/etc/hostname\" lies outside .*--clean-plate FILE"),
    Hostile("recipe-resolution-8k", from_recipe(resolution=[8192, 8192]), 4,
            r"resolution 8192x8192 is over the limit of a collapse render \(4096 px"),
    # sizes a machine cannot render in reasonable time
    Hostile("resolution-8k", boxed(BOX, "--resolution", "8192x8192"), 2,
            r"resolution 8192x8192 is over the limit of a collapse render \(4096 px on the long side and 8\.8 MP"),
    Hostile("resolution-5k-wide", boxed(BOX, "--resolution", "5120x2160"), 2, r"resolution 5120x2160 is over"),
    Hostile("plate-over-4k-without-resolution", too_big_plate, 2,
            r"wide\.png: the output is the plate's own size, 4400x120.*pass --resolution 4096x"),
    # the building's box
    Hostile("box-reversed", boxed("120,25,40,120"), 2, r"--building '120,25,40,120' is reversed \(x1 is left of x0\)"),
    Hostile("box-upside-down", boxed("40,120,120,25"), 2, r"is reversed \(y1 is above y0\)"),
    Hostile("box-empty", boxed("40,25,40,120"), 2, r"--building '40,25,40,120' is empty: it has no width"),
    Hostile("box-negative", boxed("-10,25,120,120"), 2, r"--building '-10,25,120,120' has a negative coordinate"),
    Hostile("box-not-finite", boxed("40,25,nan,120"), 2, r"not a finite number"),
    Hostile("box-outside", boxed("400,10,500,100"), 2, r"lies outside the 160x120 plate"),
    Hostile("box-partly-outside", boxed("40,25,400,120"), 2, r"runs off the 160x120 plate.*0-160 across"),
    Hostile("box-outside-with-project", in_project("--building", "400,10,500,100"), 2,
            r"lies outside the 160x120 plate"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_collapse_is_refused_in_one_line_and_writes_nothing(
    case: Hostile, run_cli: RunCli, tmp_path: Path
) -> None:
    check_case(case, run_cli, tmp_path)


# ---- after a refusal, the corrected command works ------------------------------------------------


def test_after_a_refused_box_the_corrected_command_renders_into_the_same_folder(
    run_cli: RunCli, tmp_path: Path
) -> None:
    plate = street_plate(tmp_path / "plate.png")
    out = tmp_path / "out"
    refused = run_cli("vfx", "collapse", "--plate", plate, "--building", "40,25,400,120", "--out", out, *FAST)
    assert refused.code == 2 and not out.exists()

    result = run_cli("vfx", "collapse", "--plate", plate, "--building", BOX, "--out", out, *FAST)

    assert result.code == 0, result.err
    assert json.loads(result.out)["frames"] == 4
    assert (out / "collapse_review.mp4").is_file()


def test_a_refused_shot_in_a_project_leaves_the_project_as_it_was_then_renders(
    run_cli: RunCli, tmp_path: Path, snapshot: Any
) -> None:
    """No plate copy, no recipe, no render folder until the shot has passed every check;
    the recipe the command then keeps carries the plate's sha256 and renders again."""
    from moviola.core import init_project

    root = tmp_path / "proj"
    init_project(root, name="film")
    plate = street_plate(tmp_path / "plates" / "plate.png")
    before = snapshot(root)
    refused = run_cli("vfx", "collapse", "--plate", plate, "--building", "400,10,500,100", "--project", root,
                      "--name", "tower", *FAST)  # fmt: skip
    assert refused.code == 2 and snapshot(root) == before

    result = run_cli("vfx", "collapse", "--plate", plate, "--building", BOX, "--project", root, "--name", "tower",
                     *FAST)  # fmt: skip

    assert result.code == 0, result.err
    kept = json.loads((root / "vfx" / "tower" / "recipe.json").read_text())
    assert kept["plate"] == "plate/plate.png" and kept["plate_sha256"] == sha256(plate)
    again = run_cli("vfx", "collapse", "--recipe", root / "vfx" / "tower" / "recipe.json", "--out",
                    tmp_path / "again", *FAST)  # fmt: skip
    assert again.code == 0, again.err


def test_a_render_that_fails_before_its_first_frame_takes_back_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plug-in refiner (outside our control) that fails on the first frame: the folder goes
    again, so the command without it is not turned away as "a different recipe"."""
    from moviola.gen import BaseBackend
    from moviola.vfx import CollapseRecipe, parse_box, run_collapse

    class Broken(BaseBackend):
        name = "broken"

        def refine(self, request: Any) -> Any:
            raise RuntimeError("the model ran out of memory")

    monkeypatch.setattr("moviola.vfx.collapse._collapse.load_backend", lambda name, **kw: Broken())
    plate = street_plate(tmp_path / "plate.png")
    recipe = CollapseRecipe(plate=str(plate), building=[list(p) for p in parse_box(BOX).points], frames=2,
                            refiner="broken")  # fmt: skip
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="out of memory"):
        run_collapse(recipe, out)
    assert not out.exists()

    monkeypatch.undo()
    from dataclasses import replace

    report = run_collapse(replace(recipe, refiner="passthrough"), out)
    assert report["frames_rendered"] == 2


def test_a_recipe_may_point_at_a_plate_elsewhere_when_the_command_line_chooses_it(
    run_cli: RunCli, tmp_path: Path
) -> None:
    secret = street_plate(tmp_path / "elsewhere" / "plate.png")
    path = recipe_document(tmp_path / "shot", plate=str(secret), plate_sha256=sha256(secret))

    refused = run_cli("vfx", "collapse", "--recipe", path, "--out", tmp_path / "out", *FAST)
    chosen = run_cli("vfx", "collapse", "--recipe", path, "--plate", secret, "--out", tmp_path / "out", *FAST)

    assert refused.code == 4 and "outside the recipe's folder" in refused.err
    assert chosen.code == 0, chosen.err
    assert json.loads((tmp_path / "out" / "recipe.json").read_text())["plate_sha256"] == sha256(secret)


def test_the_bundled_example_recipe_names_its_plate_and_digest() -> None:
    from moviola.vfx import read_recipe

    recipe = read_recipe(ROOT / "examples" / "palace" / "recipe.json")

    assert recipe.plate_sha256 == sha256(ROOT / "examples" / "palace" / "palace_plate.jpg")


# ---- de-aging shares the rules of the output folder ------------------------------------------------


def test_a_de_aging_refused_for_no_face_leaves_nothing_and_the_corrected_run_renders(tmp_path: Path) -> None:
    pytest.importorskip("mediapipe")
    from datetime import date, timedelta

    from moviola.consent import new_consent, write_consent
    from moviola.core import InputError
    from moviola.vfx.deage._deage import DeageSettings, run_deage

    consent = write_consent(tmp_path / "consent.json", new_consent(
        "Grace Hopper", "project", (date.today() + timedelta(days=365)).isoformat(), "Moviola tests",
        use="de-age by 25 years for the flashback"))  # fmt: skip
    out = tmp_path / "out"
    empty_street = street_plate(tmp_path / "street.png", 320, 240)
    with pytest.raises(InputError, match="no face was found"):
        run_deage(DeageSettings(plate=str(empty_street), years=20, consent=str(consent), preview=True), out)
    assert not out.exists()

    face = ROOT / "examples" / "hopper" / "grace_hopper.jpg"
    report = run_deage(DeageSettings(plate=str(face), years=20, consent=str(consent), preview=True), out)
    assert report["frames_treated"] == 1


def test_forcing_a_de_aging_that_is_then_refused_gives_back_the_render_it_would_replace(tmp_path: Path) -> None:
    pytest.importorskip("mediapipe")
    from datetime import date, timedelta

    from moviola.consent import new_consent, write_consent
    from moviola.core import InputError
    from moviola.vfx.deage._deage import DeageSettings, run_deage

    consent = write_consent(tmp_path / "consent.json", new_consent(
        "Grace Hopper", "project", (date.today() + timedelta(days=365)).isoformat(), "Moviola tests",
        use="de-age by 25 years for the flashback"))  # fmt: skip
    out = tmp_path / "out"
    face = ROOT / "examples" / "hopper" / "grace_hopper.jpg"
    run_deage(DeageSettings(plate=str(face), years=20, consent=str(consent), preview=True), out)
    before = take_snapshot(out)

    empty_street = street_plate(tmp_path / "street.png", 320, 240)
    with pytest.raises(InputError, match="no face was found"):
        run_deage(DeageSettings(plate=str(empty_street), years=20, consent=str(consent), preview=True), out,
                  force=True)  # fmt: skip

    assert take_snapshot(out) == before  # --force replaces a render only with one that started


def test_a_name_is_one_file_name_part_for_both_effects() -> None:
    from moviola.core import InputError
    from moviola.vfx import CollapseRecipe
    from moviola.vfx._outputs import name_problem
    from moviola.vfx.deage._deage import DeageSettings

    for good in ("palace_collapse", "shot-010", "A1", "château", "x" * 64):
        assert name_problem(good) is None, good
    for bad in ("", ".", "..", "../x", "a/b", "/abs", "-x", "_x", ".hidden", "a\x00b", "a b", "x" * 65, "a\\b"):
        assert name_problem(bad) is not None, bad
    # the one rule, said the same way by both effects
    with pytest.raises(InputError, match=r"--name '\.\./x' is not a plain file-name part"):
        DeageSettings(plate="p.png", years=10, consent="c.json", name="../x").validate()
    with pytest.raises(InputError, match=r"name \"\.\./x\" is not a plain file-name part"):
        CollapseRecipe(plate="p.png", building=[[0, 0], [9, 0], [9, 9]], name="../x").validate()
