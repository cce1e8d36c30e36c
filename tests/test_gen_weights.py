"""Weights from disk: missing, partial, for the wrong pipeline, unlicensed: each an InputError."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moviola.core import InputError
from moviola.gen import NO_WEIGHTS, find_base, find_controlnets, load_backend, read_licence
from moviola.gen._licence import classify, front_matter

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from test_gen_diffusion import (  # noqa: E402
    CARD,
    one_thread,
    request,
    save_tiny,
    save_tiny_controlnet,
)

__all__ = ["one_thread"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("pristine") / "sd-tiny")


@pytest.fixture
def folder(tmp_path: Path, pristine: Path) -> Path:
    """A fresh copy of the tiny pipeline folder, to damage."""
    return Path(shutil.copytree(pristine, tmp_path / "sd-tiny"))


def test_no_weights_says_what_to_pass() -> None:
    with pytest.raises(InputError) as err:
        load_backend("controlnet")
    assert "pass --weights DIR" in str(err.value) and "--config DIR" in str(err.value)
    assert NO_WEIGHTS in str(err.value)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder") as err:
        load_backend("img2img", tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value)


def test_not_a_diffusers_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no model_index\.json"):
        find_base(tmp_path / "empty")
    (tmp_path / "ckpts").mkdir()
    (tmp_path / "ckpts" / "model.safetensors").write_bytes(b"")
    with pytest.raises(InputError, match=r"pass the \.safetensors file itself"):
        find_base(tmp_path / "ckpts")


def test_a_controlnet_passed_as_weights(tmp_path: Path) -> None:
    cn = save_tiny_controlnet(tmp_path / "cn")
    with pytest.raises(
        InputError, match="is a ControlNet, not a base model: pass it with --controlnet"
    ):
        find_base(cn)


def test_partial_downloads(folder: Path) -> None:
    (folder / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(InputError, match=r"unet/ has no weight file .* partial"):
        find_base(folder)


def test_missing_component_folder(folder: Path) -> None:
    shutil.rmtree(folder / "vae")
    with pytest.raises(InputError, match=r"lists vae \(AutoencoderKL\) but .* is missing"):
        find_base(folder)


def test_truncated_safetensors(folder: Path) -> None:
    weights = folder / "vae" / "diffusion_pytorch_model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated safetensors") as err:
        find_base(folder)
    assert str(weights) in str(err.value)
    weights.write_bytes(data[:5])
    with pytest.raises(InputError, match="not a complete safetensors"):
        find_base(folder)


def test_pickled_weights_refused(folder: Path) -> None:
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    weights.rename(weights.with_suffix(".bin"))
    with pytest.raises(InputError, match="pickled weights"):
        find_base(folder)


def test_wrong_pipelines(folder: Path) -> None:
    index = folder / "model_index.json"
    doc = json.loads(index.read_text())
    for cls, says in (
        ("KandinskyV22Pipeline", "not a Stable Diffusion pipeline"),
        ("StableDiffusionXLPipeline", "SDXL"),
    ):
        index.write_text(json.dumps({**doc, "_class_name": cls}))
        with pytest.raises(InputError, match=says):
            find_base(folder)
    index.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        find_base(folder)


def test_inpainting_unet_refused(folder: Path) -> None:
    cfg = folder / "unet" / "config.json"
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "in_channels": 9}))
    with pytest.raises(InputError, match="inpainting"):
        find_base(folder)


def test_controlnet_backend_without_a_controlnet(tmp_path: Path) -> None:
    plain = save_tiny(tmp_path / "plain", controlnet=False)
    with pytest.raises(InputError, match=r"needs a ControlNet: .* pass --controlnet DIR"):
        load_backend("controlnet", plain)
    with pytest.raises(InputError, match="whole pipeline, not a ControlNet"):
        load_backend("controlnet", plain, controlnet=plain)
    backend = load_backend("controlnet", plain, controlnet=save_tiny_controlnet(tmp_path / "cn"))
    assert backend.refine(request()).shape == (64, 64, 3)


def test_one_controlnet_is_one_pass(pristine: Path, tmp_path: Path) -> None:
    base = find_base(pristine)
    assert [c.control for c in find_controlnets(None, ("lineart",), base)] == ["lineart"]
    with pytest.raises(InputError, match="one pass"):
        find_controlnets(save_tiny_controlnet(tmp_path / "cn"), ("depth", "lineart"), base)


# --- licences --------------------------------------------------------------------------------


def test_non_commercial_card_refused_unless_allowed(folder: Path) -> None:
    (folder / "README.md").write_text(CARD.format(licence="cc-by-nc-4.0"), encoding="utf-8")
    with pytest.raises(InputError, match=r"non-commercial licence \(cc-by-nc-4.0") as err:
        load_backend("controlnet", folder)
    assert "--allow-non-commercial" in str(err.value)
    backend = load_backend("controlnet", folder, allow_non_commercial=True)
    assert backend.models[0].licence == "cc-by-nc-4.0" and not backend.models[0].commercial
    assert backend.refine(request()).shape == (64, 64, 3)


def test_no_licence_is_not_cleared(folder: Path) -> None:
    (folder / "README.md").unlink()
    with pytest.raises(InputError, match="no licence found") as err:
        load_backend("img2img", folder)
    assert str(folder) in str(err.value)
    (folder / "LICENSE").write_text(
        "                Apache License\n          Version 2.0, January 2004\n"
    )
    assert read_licence(folder).id == "apache-2.0" and read_licence(folder).commercial


def test_turbo_card_refused(folder: Path) -> None:
    (folder / "README.md").write_text(
        "---\npipeline_tag: text-to-image\nlicense: other\nlicense_name: sai-nc-community\n"
        "license_link: https://huggingface.co/stabilityai/sd-turbo/blob/main/LICENSE.md\n"
        "---\n# SD-Turbo\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="other:sai-nc-community") as err:
        load_backend("img2img", folder)
    assert "non-commercial" in str(err.value) and "sd-turbo" in str(err.value)


def test_a_controlnets_own_licence_counts(tmp_path: Path) -> None:
    plain = save_tiny(tmp_path / "plain", controlnet=False)
    cn = save_tiny_controlnet(tmp_path / "cn", licence="cc-by-nc-sa-4.0")
    with pytest.raises(InputError, match=r"ControlNet .* non-commercial"):
        load_backend("controlnet", plain, controlnet=cn)


@pytest.mark.parametrize(
    ("ids", "name", "commercial"),
    [
        (["apache-2.0"], "", True),
        (["MIT"], "", True),
        (["openrail++"], "", True),
        (["creativeml-openrail-m"], "", True),
        (["openrail"], "", True),
        (["cc-by-nc-4.0"], "", False),
        (["cc-by-nc-sa-4.0"], "", False),
        (["other"], "sai-nc-community", False),
        (["other"], "stabilityai-ai-community", False),  # revenue-capped: not cleared
        (["other"], "", False),
        (["llama2"], "", False),
        (["apache-2.0", "cc-by-nc-4.0"], "", False),
        (["openrail"], "research-only", False),
    ],
)
def test_licence_classes(ids: list[str], name: str, commercial: bool) -> None:
    assert classify(ids, name, "", "README.md", ".").commercial is commercial


def test_front_matter_forms() -> None:
    card = (
        "---\nlicense:\n  - openrail++\n  - mit\ntags: [a, b]\nlicense_name: 'x'  # note\n"
        "widget:\n  - text: hi\n---\nlicense: ignored\n"
    )
    fm = front_matter(card)
    assert fm["license"] == ["openrail++", "mit"] and fm["license_name"] == "x"
    assert fm["tags"] == ["a", "b"]
    assert front_matter("no front matter\nlicense: mit\n") == {}


# --- single checkpoints ----------------------------------------------------------------------


def test_single_checkpoint_needs_config_and_loads_offline(
    tmp_path: Path, pristine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetensors.torch import save_file

    ckpt = tmp_path / "model.safetensors"
    save_file({"w": torch.zeros(4)}, str(ckpt))
    (tmp_path / "README.md").write_text(CARD.format(licence="openrail++"), encoding="utf-8")
    with pytest.raises(InputError, match="pass --config DIR"):
        find_base(ckpt)
    with pytest.raises(InputError, match=r"model_index\.json"):
        find_base(ckpt, tmp_path)
    found = find_base(ckpt, pristine)
    assert found.config == pristine and found.info.licence == "openrail++"
    assert found.info.sha256_of == "safetensors header"
    seen: dict[str, Any] = {}
    real = diffusers.StableDiffusionPipeline.from_pretrained(
        pristine,
        safety_checker=None,
        feature_extractor=None,
        image_encoder=None,
        text_encoder=None,
        tokenizer=None,
        requires_safety_checker=False,
    )

    def fake(path: str, **kwargs: Any) -> Any:
        seen.update(kwargs, path=path)
        return real

    monkeypatch.setattr(diffusers.StableDiffusionPipeline, "from_single_file", fake)
    backend = load_backend("img2img", ckpt, config=pristine)
    assert seen["path"] == str(ckpt) and seen["config"] == str(pristine)
    assert seen["local_files_only"] is True
    assert backend.refine(request(strength=0.5)).shape == (64, 64, 3)
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[:-3])
    with pytest.raises(InputError, match="truncated"):
        find_base(ckpt, pristine)
    pickle = tmp_path / "model.ckpt"
    pickle.write_bytes(b"\x80\x04")
    with pytest.raises(InputError, match="pickled"):
        find_base(pickle, pristine)


def test_loaded_weights_refine_identically_to_another_load(pristine: Path) -> None:
    a = load_backend("controlnet", pristine).refine(request(seed=5))
    b = load_backend("controlnet", pristine).refine(request(seed=5))
    assert np.array_equal(a, b)
