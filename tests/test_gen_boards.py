"""``moviola gen boards``: a diffusion model draws a frame per boarded shot from the previs passes.

The weights are a complete Stable Diffusion + ControlNet folder made here with random
weights and tiny configs, as diffusers' own fast tests make them, down to a tokenizer
built from a byte-level vocabulary and a two-layer CLIP text encoder, so the command
runs exactly as on real weights: a prompt in words, nothing fetched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
transformers = pytest.importorskip("transformers")

from moviola import provenance  # noqa: E402
from moviola.core import init_project, open_project  # noqa: E402
from moviola.previs import run_previs  # noqa: E402
from moviola.script import import_script  # noqa: E402

DATA = Path(__file__).parent / "data" / "previs"
CARD = "---\nlicense: {licence}\n---\n# tiny random test model (random weights)\n"


def save_complete_tiny(folder: Path, licence: str) -> Path:
    """A tiny StableDiffusionControlNetPipeline with its own tokenizer and text encoder."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)} | {c + "</w>": i + len(chars) for i, c in enumerate(chars)}
    vocab |= {"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1}
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=77, bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"], projection_dim=32))  # fmt: skip
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=2, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=1)  # fmt: skip
    torch.manual_seed(0)
    controlnet = diffusers.ControlNetModel(
        block_out_channels=(4, 8), layers_per_block=2, in_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), cross_attention_dim=32,
        conditioning_embedding_out_channels=(16, 32), norm_num_groups=1)  # fmt: skip
    with torch.no_grad():  # random, not zero, so the control passes show in the frames
        for p in [*controlnet.controlnet_down_blocks.parameters(), *controlnet.controlnet_mid_block.parameters()]:
            p.normal_(0.0, 0.3)
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKL(
        block_out_channels=[4, 8], in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4, norm_num_groups=2)  # fmt: skip
    scheduler = diffusers.DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                        clip_sample=False, set_alpha_to_one=False, steps_offset=1)  # fmt: skip
    pipe = diffusers.StableDiffusionControlNetPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, controlnet=controlnet,
        scheduler=scheduler, safety_checker=None, feature_extractor=None, image_encoder=None,
        requires_safety_checker=False)  # fmt: skip
    pipe.save_pretrained(folder)
    (folder / "README.md").write_text(CARD.format(licence=licence), encoding="utf-8")
    return folder


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moviola", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def boarded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("gen")
    root = base / "rooftop"
    init_project(root, name="rooftop")
    import_script(open_project(root), DATA / "rooftop.fountain")
    run_previs(open_project(root), only="1", size=(320, 180), board_width=320, audio=False, use_model=False)
    return root, save_complete_tiny(base / "tiny-sd", "apache-2.0")


def _run(root: Path, weights: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return _cli("gen", "boards", str(root), "--weights", str(weights), "--prompt", "a film still, night",
                "--width", "64", "--steps", "2", "--guidance", "3", "--json", *more)  # fmt: skip


def test_a_frame_per_boarded_shot_signed_with_its_inputs_and_model(boarded: tuple[Path, Path]) -> None:
    root, weights = boarded
    done = _run(root, weights)
    assert done.returncode == 0, done.stderr
    info: dict[str, Any] = json.loads(done.stdout)
    passes = json.loads((root / "previs" / "previs.json").read_text())["outputs"]["passes"]
    assert info["made"] == len(passes) > 0 and info["kept"] == 0
    assert [Path(f).stem for f in info["frames"]] == list(passes)
    for frame in info["frames"]:
        v = provenance.verify(Path(frame))
        assert v.state == provenance.TRUSTED
        assert v.actions[0]["action"] == "c2pa.created"
        assert v.actions[0]["source_type"] == "trainedAlgorithmicMedia"
        assert {i["role"] for i in v.ingredients} == {"beauty pass", "depth pass", "normals pass", "lineart pass"}
        assert all(i["relationship"] == "inputTo" for i in v.ingredients)
        assert v.models and all(m["licence"] == "apache-2.0" for m in v.models)
        assert v.render["prompt"].startswith("a film still, night.")  # and the shot's own action line
    assert Path(info["contact_sheet"]).is_file()
    # the procedural boards are untouched, and a second run keeps every frame
    again = _run(root, weights)
    assert again.returncode == 0 and json.loads(again.stdout)["kept"] == len(passes)


def _generate(root: Path, weights: Path, **kw: Any) -> Any:
    from moviola.gen import load_backend
    from moviola.previs._generate import generate_boards

    backend = load_backend("controlnet", weights, allow_non_commercial=kw.pop("allow_non_commercial", False))
    return generate_boards(open_project(root), backend, prompt=kw.pop("prompt", "a film still, night"), width=64,
                           steps=2, guidance=3.0, **kw)  # fmt: skip


def test_the_same_seed_gives_the_same_frame_and_another_seed_another(boarded: tuple[Path, Path]) -> None:
    import numpy as np
    from PIL import Image

    root, weights = boarded
    first = _generate(root, weights, shots=["1A"], seed=7)
    frame = first.frames[0]
    a = np.asarray(Image.open(frame))
    frame.unlink()  # made again from nothing: the same seed, the same pixels
    _generate(root, weights, shots=["1A"], seed=7)
    assert np.array_equal(np.asarray(Image.open(frame)), a)
    assert _generate(root, weights, shots=["1A"], seed=8).made == 1
    assert not np.array_equal(np.asarray(Image.open(frame)), a)


def test_bad_input_is_refused_in_one_line(boarded: tuple[Path, Path], tmp_path: Path) -> None:
    from moviola.core import InputError

    root, weights = boarded
    none = _cli("gen", "boards", str(root), "--prompt", "x")
    assert none.returncode == 2 and "pass --weights DIR" in none.stderr
    nc = save_complete_tiny(tmp_path / "nc", "cc-by-nc-4.0")
    refused = _run(root, nc)
    assert refused.returncode == 2 and "--allow-non-commercial" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    allowed = _generate(root, nc, allow_non_commercial=True, shots=["1A"])
    assert allowed.made == 1  # other weights: the frame is made again, not kept
    made = provenance.verify(allowed.frames[0])
    assert made.models[0]["commercial"] is False  # the opt-in is on record in the file itself
    with pytest.raises(InputError, match="99Z"):
        _generate(root, weights, shots=["99Z"])
    with pytest.raises(InputError, match="empty prompt"):
        _generate(root, weights, prompt="  ")
