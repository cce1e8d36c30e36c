"""Video-to-video refinement that does not flicker: noise and latents follow the render's motion.

Refining each frame on its own gives each frame its own details: the same seed
pins the noise to the screen while the picture moves under it, and a new seed
changes everything; either way the clip boils. This backend runs the denoising
loop itself (on the same loaded modules as the ``controlnet``/``img2img``
backends; diffusers' pipelines draw their img2img noise inside and cannot be given
it) and ties each frame to the one before along the optical flow of the *input*
frames (OpenCV DIS between consecutive renders; forward/backward agreement marks
what was just revealed):

1. the initial noise of frame t is frame t-1's noise moved along the flow, taking
   the nearest sample so it stays unit Gaussian; revealed areas get fresh noise
   from the frame's seed (the "warped noise" of video diffusion work, in its
   simplest, nearest-neighbour form);
2. after every denoising step the latents are blended with frame t-1's latents of
   the same step, moved along the flow: ``x = (1 - w) x + w warp(x_prev)`` with
   ``w = temporal`` where the flow holds (cross-frame latent fusion, as
   Rerender-A-Video / FRESCO do with attention, here with the flow alone).

The image is encoded with the VAE's mean (no sampling) so a still frame's
latents do not shimmer either. ``temporal=0, warp_noise=False`` is plain
per-frame refinement, the baseline :func:`moviola.gen.clip_flicker` compares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import InputError
from ._diffusion import Diffusion
from ._flow import motion, pad_edge, to_grid, warp_linear, warp_nearest
from ._request import F32, BaseBackend, GenRequest, check_clip, check_prompt
from ._torch import import_torch


@dataclass
class _State:
    """What the next frame needs of this one."""

    image: F32  # the input frame
    noise: F32  # (c, h, w) the initial noise, latent grid
    steps: list[F32]  # latents after each step, (c, h, w)
    timesteps: tuple[float, ...]


class VideoBackend(BaseBackend):
    """Clips refined with warped noise and flow-fused latents (see the module docstring)."""

    name = "video"

    def __init__(
        self, diffusion: Diffusion, *, temporal: float = 0.5, warp_noise: bool = True
    ) -> None:
        if not 0.0 <= temporal < 1.0:
            raise InputError(f"temporal must be at least 0 and below 1, got {temporal}")
        self.diffusion = diffusion
        self.models = diffusion.models
        self.temporal = float(temporal)
        self.warp_noise = bool(warp_noise)

    def refine(self, request: GenRequest) -> F32:
        return self.refine_clip([request])[0]

    def refine_clip(self, requests: Sequence[GenRequest]) -> list[F32]:
        check_clip(requests)
        for r in requests:
            check_prompt(r)
        out: list[F32] = []
        prev: _State | None = None
        for r in requests:
            if r.strength <= 0.0:
                out.append(r.image.copy())
                prev = None
                continue
            frame, prev = self._frame(r, prev)
            out.append(frame)
        return out

    def _frame(self, r: GenRequest, prev: _State | None) -> tuple[F32, _State]:
        torch = import_torch()
        d = self.diffusion
        sd, dev, dtype = d.sd, d.device, d.dtype
        pad = d.padding(r)
        h, w = r.image.shape[0] + pad[0], r.image.shape[1] + pad[1]
        vsf = int(sd.vae_scale_factor)
        lh, lw = h // vsf, w // vsf
        channels = int(sd.unet.config.in_channels)
        cfg = d.cfg(r)
        pos, neg = d.embeds(r, cfg)
        emb = torch.cat([neg, pos]) if cfg else pos
        controls = d.control_images(r, pad) if d.control is not None else []
        gen = d.generator(r.seed)
        noise = torch.randn((1, channels, lh, lw), generator=gen, dtype=torch.float32).numpy()[0]

        flow_l = valid_l = None
        if prev is not None:
            flow, valid = motion(r.image, prev.image)
            flow_l, valid_l = to_grid(pad_edge(flow, *pad), pad_edge(valid, *pad), lh, lw)
            if self.warp_noise:
                noise = np.where(valid_l[None] > 0, warp_nearest(prev.noise, flow_l), noise)

        sched = sd.scheduler
        steps = d.steps_for(r)
        sched.set_timesteps(steps, device=dev)
        noise_t = torch.from_numpy(np.ascontiguousarray(noise))[None].to(dev, dtype)
        with torch.no_grad():
            if r.strength >= 1.0:
                timesteps = sched.timesteps
                if hasattr(sched, "set_begin_index"):
                    sched.set_begin_index(0)
                x = noise_t * sched.init_noise_sigma
            else:
                start = max(steps - min(int(steps * r.strength), steps), 0) * sched.order
                timesteps = sched.timesteps[start:]
                if hasattr(sched, "set_begin_index"):
                    sched.set_begin_index(start)
                image = d.tensor(r.image, pad) * 2.0 - 1.0
                latents = sd.vae.encode(image).latent_dist.mode() * sd.vae.config.scaling_factor
                x = sched.add_noise(latents, noise_t, timesteps[:1])
            extra = sd.prepare_extra_step_kwargs(gen, 0.0)
            ts = tuple(float(t) for t in timesteps)
            fuse = (
                prev is not None
                and self.temporal > 0
                and prev.timesteps == ts
                and flow_l is not None
                and valid_l is not None
            )
            weight = None
            if fuse and valid_l is not None:
                weight = torch.from_numpy(valid_l * np.float32(self.temporal))[None, None].to(
                    dev, dtype
                )
            states: list[F32] = []
            for i, t in enumerate(timesteps):
                xin = torch.cat([x, x]) if cfg else x
                xin = sched.scale_model_input(xin, t)
                down = mid = None
                if controls:
                    cond = [torch.cat([c, c]) if cfg else c for c in controls]
                    single = len(cond) == 1
                    down, mid = d.control(
                        xin,
                        t,
                        encoder_hidden_states=emb,
                        controlnet_cond=cond[0] if single else cond,
                        conditioning_scale=d.control_scale
                        if single
                        else [d.control_scale] * len(cond),
                        return_dict=False,
                    )
                eps = sd.unet(
                    xin,
                    t,
                    encoder_hidden_states=emb,
                    down_block_additional_residuals=down,
                    mid_block_additional_residual=mid,
                    return_dict=False,
                )[0]
                if cfg:
                    uncond, cond_eps = eps.chunk(2)
                    eps = uncond + r.guidance * (cond_eps - uncond)
                x = sched.step(eps, t, x, **extra, return_dict=False)[0]
                if weight is not None and prev is not None and flow_l is not None:
                    moved = warp_linear(prev.steps[i], flow_l)
                    xp = torch.from_numpy(moved)[None].to(dev, x.dtype)
                    x = x * (1 - weight) + xp * weight
                states.append(x[0].float().cpu().numpy())
            pic = sd.vae.decode(x / sd.vae.config.scaling_factor, return_dict=False)[0]
            pic = (pic / 2 + 0.5).clamp(0, 1)[0].permute(1, 2, 0).float().cpu().numpy()
        result = d.finish(r, pic, self.name)
        return result, _State(r.image, noise.astype(np.float32), states, ts)


def new_video(diffusion: Diffusion, options: dict[str, Any]) -> VideoBackend:
    """The video backend with its options (``temporal``, ``warp_noise``)."""
    known = {"temporal", "warp_noise"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InputError(
            f"the video backend has no option {', '.join(unknown)}; it has: "
            f"{', '.join(sorted(known))}"
        )
    return VideoBackend(diffusion, **options)
