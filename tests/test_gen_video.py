"""The video backend: a moving clip refined with warped noise and flow-fused latents flickers
measurably less than the same frames refined one by one (the tiny random pipeline, 64x64)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from moviola.gen import GenRequest, clip_flicker, load_backend  # noqa: E402
from test_gen_diffusion import embeds, one_thread, save_tiny  # noqa: E402

__all__ = ["one_thread"]  # the fixture, used here too
SIZE, FRAMES, SPEED = 64, 8, 2  # pixels a frame: one latent cell of the tiny VAE


def moving_clip() -> list[GenRequest]:
    """A textured wall panning left and a ball crossing it, with depth; one seed for all."""
    rng = np.random.default_rng(5)
    wide = SIZE + SPEED * FRAMES
    texture = rng.random((SIZE // 4, wide // 4, 3)).astype(np.float32)
    texture = np.kron(texture, np.ones((4, 4, 1), np.float32)) * 0.6 + 0.2
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    pos, neg = embeds()
    clip = []
    for i in range(FRAMES):
        image = texture[:, i * SPEED : i * SPEED + SIZE].copy()
        ball = (xx - 16 - SPEED * i) ** 2 + (yy - 34) ** 2 < 100
        image[ball] = (0.9, 0.3, 0.2)
        depth = np.where(ball, 0.9, 0.3).astype(np.float32)
        clip.append(
            GenRequest(
                image=image,
                controls={"depth": depth},
                prompt="a ball rolls by",
                seed=11,
                strength=0.7,
                steps=4,
                guidance=6.0,
                frame=1001 + i,
                prompt_embeds=pos,
                negative_prompt_embeds=neg,
            )
        )
    return clip


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny(tmp_path_factory.mktemp("tiny-video") / "sd-tiny")


def test_consistent_clip_flickers_less(weights: Path) -> None:
    clip = moving_clip()
    inputs = [r.image for r in clip]
    steady: Any = load_backend("video", weights, controls=("depth",))
    apart: Any = load_backend("video", weights, controls=("depth",), temporal=0.0, warp_noise=False)
    a, b = steady.refine_clip(clip), apart.refine_clip(clip)
    assert all(x.shape == (SIZE, SIZE, 3) for x in a + b)
    pipeline = load_backend("controlnet", weights).refine_clip(clip)  # diffusers, frame by frame
    fa, fb, fp = clip_flicker(inputs, a), clip_flicker(inputs, b), clip_flicker(inputs, pipeline)
    print(
        f"flicker: input {fa.before}, per frame {fb.after} (pipeline {fp.after}), "
        f"consistent {fa.after}"
    )
    assert fa.after is not None and fb.after is not None and fp.after is not None
    assert fa.after < 0.75 * fb.after and fa.after < 0.75 * fp.after
    assert np.array_equal(steady.refine_clip(clip)[-1], a[-1])  # deterministic
