"""The diffusers backends on a tiny random-weight Stable Diffusion + ControlNet, saved to disk.

The models are built the way diffusers' own fast tests build them (tiny configs,
``torch.manual_seed(0)`` before each), saved with ``save_pretrained`` beside a model
card, and loaded back through ``moviola.gen``'s weights loader, exactly as a user's
folder would be. They have no tokenizer or text encoder, so prompts reach them as
``prompt_embeds``. Two steps at 64x64.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from moviola.core import InputError  # noqa: E402
from moviola.gen import GenRequest, load_backend  # noqa: E402

EMBED_DIM = 32
CARD = "---\nlicense: {licence}\ntags:\n- tiny\n---\n# tiny random test model\n"


def tiny_controlnet(seed: int = 0) -> Any:
    """A tiny ControlNet whose zero convolutions are not zero: a fresh one adds nothing to the
    UNet (that is how training starts), so random ones stand in for trained weights."""
    torch.manual_seed(seed)
    cn = diffusers.ControlNetModel(
        block_out_channels=(4, 8),
        layers_per_block=2,
        in_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        cross_attention_dim=EMBED_DIM,
        conditioning_embedding_out_channels=(16, 32),
        norm_num_groups=1,
    )
    with torch.no_grad():
        for p in [
            *cn.controlnet_down_blocks.parameters(),
            *cn.controlnet_mid_block.parameters(),
            *cn.controlnet_cond_embedding.conv_out.parameters(),
        ]:
            p.normal_(0.0, 0.3)
    return cn


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Any:
    """One torch thread: tiny convolutions on several threads spend their time waiting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_modules() -> dict[str, Any]:
    """UNet, ControlNet, VAE and scheduler, random weights, as diffusers' fast tests make them."""
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(4, 8),
        layers_per_block=2,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=EMBED_DIM,
        norm_num_groups=1,
    )
    controlnet = tiny_controlnet(0)
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKL(
        block_out_channels=[4, 8],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        norm_num_groups=2,
    )
    scheduler = diffusers.DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    return {"unet": unet, "controlnet": controlnet, "vae": vae, "scheduler": scheduler}


def save_tiny(folder: Path, *, licence: str | None = "apache-2.0", controlnet: bool = True) -> Path:
    """The tiny pipeline saved as a diffusers folder with a model card; its path."""
    m = tiny_modules()
    common = {
        "vae": m["vae"],
        "text_encoder": None,
        "tokenizer": None,
        "unet": m["unet"],
        "scheduler": m["scheduler"],
        "safety_checker": None,
        "feature_extractor": None,
        "image_encoder": None,
        "requires_safety_checker": False,
    }
    if controlnet:
        pipe = diffusers.StableDiffusionControlNetPipeline(controlnet=m["controlnet"], **common)
    else:
        pipe = diffusers.StableDiffusionPipeline(**common)
    pipe.save_pretrained(folder)
    if licence is not None:
        (folder / "README.md").write_text(CARD.format(licence=licence), encoding="utf-8")
    return folder


def save_tiny_controlnet(folder: Path, *, seed: int = 0, licence: str | None = "openrail") -> Path:
    """A tiny ControlNet on its own (``--controlnet DIR``)."""
    tiny_controlnet(seed).save_pretrained(folder)
    if licence is not None:
        (folder / "README.md").write_text(CARD.format(licence=licence), encoding="utf-8")
    return folder


def embeds(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = torch.Generator("cpu").manual_seed(seed)
    return (
        torch.randn(1, 77, EMBED_DIM, generator=g).numpy(),
        torch.zeros(1, 77, EMBED_DIM).numpy(),
    )


def scene(shift: float = 0.0, size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A frame with a ball in front of a wall, its depth (near = 1) and line art."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    ball = ((xx - 0.35 - shift) ** 2 + (yy - 0.55) ** 2) < 0.05
    image = np.stack([0.3 + 0.4 * xx, 0.35 + 0.2 * yy, 0.5 - 0.2 * xx], axis=2).astype(np.float32)
    image[ball] = (0.85, 0.3, 0.25)
    depth = np.where(ball, 0.9, 0.2 + 0.2 * yy).astype(np.float32)
    edge = np.abs(np.diff(ball.astype(np.float32), axis=1, prepend=0.0))
    edge = np.maximum(edge, np.abs(np.diff(ball.astype(np.float32), axis=0, prepend=0.0)))
    return image, depth, edge.astype(np.float32)


def request(
    *,
    seed: int = 0,
    strength: float = 1.0,
    depth: np.ndarray | None = None,
    lineart: np.ndarray | None = None,
    prompt: str = "a red ball by a wall",
    shift: float = 0.0,
    size: int = 64,
    frame: int = 1001,
    guidance: float = 6.0,
) -> GenRequest:
    image, d, e = scene(shift, size)
    pos, neg = embeds()
    controls = {
        "depth": d if depth is None else depth,
        "lineart": e if lineart is None else lineart,
    }
    return GenRequest(
        image=image,
        controls=controls,
        prompt=prompt,
        seed=seed,
        strength=strength,
        steps=2,
        guidance=guidance,
        frame=frame,
        prompt_embeds=pos,
        negative_prompt_embeds=neg,
    )


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("tiny") / "sd-tiny")


@pytest.fixture(scope="module")
def controlnet_backend(weights: Path) -> Any:
    return load_backend("controlnet", weights)


def test_controlnet_output_shape_and_range(controlnet_backend: Any) -> None:
    out = controlnet_backend.refine(request())
    assert out.shape == (64, 64, 3) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    assert controlnet_backend.models[0].licence == "apache-2.0"
    assert controlnet_backend.models[0].commercial


def test_seed_determinism(controlnet_backend: Any) -> None:
    a = controlnet_backend.refine(request(seed=3))
    b = controlnet_backend.refine(request(seed=3))
    c = controlnet_backend.refine(request(seed=4))
    assert np.array_equal(a, b)
    assert np.abs(a - c).mean() > 1e-3


def test_depth_reaches_the_controlnet(controlnet_backend: Any) -> None:
    _, depth, _ = scene()
    a = controlnet_backend.refine(request(depth=depth))
    b = controlnet_backend.refine(request(depth=1.0 - depth))
    assert np.abs(a - b).mean() > 1e-4


def test_strength_below_one_runs_the_img2img_variant(controlnet_backend: Any) -> None:
    image = scene()[0]
    low = controlnet_backend.refine(request(strength=0.3))
    full = controlnet_backend.refine(request(strength=1.0))
    assert low.shape == full.shape == image.shape
    assert np.abs(low - full).mean() > 1e-3
    assert np.array_equal(controlnet_backend.refine(request(strength=0.0)), image)


def test_depth_and_lineart_controlnets_together(tmp_path: Path, weights: Path) -> None:
    cns = {
        "depth": save_tiny_controlnet(tmp_path / "cn-depth", seed=1),
        "lineart": save_tiny_controlnet(tmp_path / "cn-lineart", seed=2),
    }
    backend = load_backend("controlnet", weights, controlnet=cns)
    assert [m.name for m in backend.models] == ["sd-tiny", "cn-depth", "cn-lineart"]
    _, _, edge = scene()
    a = backend.refine(request())
    b = backend.refine(request(lineart=np.zeros_like(edge)))
    assert a.shape == (64, 64, 3)
    assert np.abs(a - b).mean() > 1e-4  # the line art pass reaches its ControlNet
    with pytest.raises(InputError, match="lineart"):
        backend.refine(
            GenRequest(
                image=scene()[0],
                controls={"depth": scene()[1]},
                prompt="x",
                steps=2,
                prompt_embeds=embeds()[0],
                negative_prompt_embeds=embeds()[1],
            )
        )


def test_round_trip_through_the_loader_is_identical(tmp_path: Path) -> None:
    """The pipeline in memory and the same pipeline saved and loaded back give the same frame."""
    m = tiny_modules()
    pipe = diffusers.StableDiffusionControlNetPipeline(
        vae=m["vae"],
        text_encoder=None,
        tokenizer=None,
        unet=m["unet"],
        controlnet=m["controlnet"],
        scheduler=m["scheduler"],
        safety_checker=None,
        feature_extractor=None,
        image_encoder=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    r = request(seed=7)
    direct = pipe(
        prompt_embeds=torch.from_numpy(r.prompt_embeds),
        negative_prompt_embeds=torch.from_numpy(r.negative_prompt_embeds),
        image=torch.from_numpy(np.repeat(r.controls["depth"][None, None], 3, axis=1)),
        height=64,
        width=64,
        num_inference_steps=2,
        guidance_scale=6.0,
        generator=torch.Generator("cpu").manual_seed(7),
        output_type="np",
    ).images[0]
    folder = tmp_path / "saved"
    pipe.save_pretrained(folder)
    (folder / "README.md").write_text(
        CARD.format(licence="creativeml-openrail-m"), encoding="utf-8"
    )
    backend = load_backend("controlnet", folder)
    assert np.array_equal(backend.refine(r), direct)
    assert backend.models[0].licence == "creativeml-openrail-m"
    assert backend.models[0].sha256 and backend.models[0].sha256_of == "model_index.json"


def test_img2img_backend(tmp_path: Path) -> None:
    backend = load_backend("img2img", save_tiny(tmp_path / "plain", controlnet=False))
    r = request(strength=0.5)
    a, b = backend.refine(r), backend.refine(r)
    assert a.shape == (64, 64, 3) and np.array_equal(a, b)
    assert not np.array_equal(a, r.image)


def test_odd_sizes_come_back_the_same_size(controlnet_backend: Any) -> None:
    image, depth, _ = scene(size=64)
    odd = GenRequest(
        image=image[:61, :59],
        controls={"depth": depth[:61, :59]},
        prompt="odd",
        steps=2,
        strength=1.0,
        prompt_embeds=embeds()[0],
        negative_prompt_embeds=embeds()[1],
    )
    assert controlnet_backend.refine(odd).shape == (61, 59, 3)


def test_prompts_refused(controlnet_backend: Any) -> None:
    with pytest.raises(InputError, match="empty prompt"):
        controlnet_backend.refine(request(prompt="   "))
    with pytest.raises(InputError, match="2000"):
        request(prompt="a" * 2001)
    no_embeds = GenRequest(
        image=scene()[0], controls={"depth": scene()[1]}, prompt="a ball", steps=2
    )
    with pytest.raises(InputError, match="no tokenizer"):
        controlnet_backend.refine(no_embeds)
    positive_only = GenRequest(
        image=scene()[0],
        controls={"depth": scene()[1]},
        prompt="a ball",
        steps=2,
        guidance=6.0,
        prompt_embeds=embeds()[0],
    )
    with pytest.raises(InputError, match="negative prompt embeddings"):
        controlnet_backend.refine(positive_only)
    wrong_width = GenRequest(
        image=scene()[0],
        controls={"depth": scene()[1]},
        prompt="a ball",
        steps=2,
        guidance=1.0,
        prompt_embeds=np.zeros((1, 77, 16), np.float32),
    )
    with pytest.raises(InputError, match="width 16"):
        controlnet_backend.refine(wrong_width)
