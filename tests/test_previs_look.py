"""``moviola previs --look``: the style network redraws the boards into a second set of panels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from moviola import provenance
from moviola.core import InputError, init_project, open_project, read_document
from moviola.previs import run_previs
from moviola.script import import_script

DATA = Path(__file__).parent / "data" / "previs"
SMALL = {"size": (320, 180), "board_width": 480, "audio": False, "use_model": False}


@pytest.fixture(scope="module")
def looked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("look") / "rooftop"
    init_project(root, name="rooftop")
    import_script(open_project(root), DATA / "rooftop.fountain")
    run_previs(open_project(root), only="1", look="charcoal", **SMALL)  # type: ignore[arg-type]
    return root


def test_the_look_is_a_second_set_of_panels_and_the_procedural_ones_stay(looked: Path) -> None:
    doc = read_document(looked / "previs" / "previs.json", expect="Previs")
    look = doc["outputs"]["looks"]["charcoal"]
    procedural = [p["image"] for p in doc["outputs"]["storyboards"]]
    assert len(look["storyboards"]) == len(procedural) > 0
    assert all(p.startswith("previs/looks/charcoal/scene-1/") for p in look["storyboards"])
    for plain, drawn in zip(procedural, look["storyboards"], strict=True):
        assert Path(plain).name == Path(drawn).name
        a = np.asarray(Image.open(looked / plain).convert("RGB"), np.float32)
        b = np.asarray(Image.open(looked / drawn).convert("RGB"), np.float32)
        assert a.shape == b.shape
        middle = slice(a.shape[0] // 3, 2 * a.shape[0] // 3)  # the picture, between the type bands
        assert np.abs(a[middle] - b[middle]).mean() > 10  # redrawn, not copied
        chroma = np.abs(b[middle] - b[middle].mean(axis=2, keepdims=True)).mean()
        assert chroma < 3  # charcoal is grey
    assert (looked / look["contact_sheet"]).is_file()


def test_a_looked_panel_names_its_parent_and_the_network_with_its_licence(looked: Path) -> None:
    doc = read_document(looked / "previs" / "previs.json", expect="Previs")
    drawn = doc["outputs"]["looks"]["charcoal"]["storyboards"][0]
    v = provenance.verify(looked / drawn)
    assert v.state == provenance.TRUSTED
    assert [a["action"] for a in v.actions] == ["c2pa.opened", "c2pa.edited"]
    assert v.actions[1]["source_type"] == "compositeWithTrainedAlgorithmicMedia"
    assert v.ingredients[0]["relationship"] == "parentOf" and v.ingredients[0]["signed"]
    assert v.ingredients[0]["title"] == Path(drawn).name
    assert v.models and v.models[0]["licence"] == "Apache-2.0"
    sheet = provenance.verify(looked / doc["outputs"]["looks"]["charcoal"]["contact_sheet"])
    assert sheet.actions[0]["source_type"] == "compositeWithTrainedAlgorithmicMedia"


def test_an_unknown_look_is_refused_before_anything_is_drawn(tmp_path: Path) -> None:
    root = tmp_path / "p"
    init_project(root, name="p")
    import_script(open_project(root), DATA / "rooftop.fountain")
    with pytest.raises(InputError, match="charcoal"):
        run_previs(open_project(root), look="crayon", **SMALL)  # type: ignore[arg-type]
    assert not (root / "previs" / "storyboards").exists()
