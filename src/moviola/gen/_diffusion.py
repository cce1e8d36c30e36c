"""The diffusers backends: ControlNet (depth and/or lineart...) and img2img, frame by frame.

``controlnet`` runs ``StableDiffusionControlNetPipeline`` at strength 1 (the frame
is regenerated from noise, held to its passes) and
``StableDiffusionControlNetImg2ImgPipeline`` below 1 (the frame is the starting
point, so its colours and layout stay); ``img2img`` runs
``StableDiffusionImg2ImgPipeline``. All of them share one set of loaded modules.

Frames are padded (reflected) to a multiple of 8 and the padding cut off after,
so any frame size comes back the same size. The initial noise comes from a CPU
``torch.Generator`` seeded with the request's seed, so a seed gives the same frame
on any device. Text reaches the model through the pipeline's own tokenizer and
text encoder, or as the request's ``prompt_embeds`` when the weights have none.
At least one denoising step runs at low strengths (``steps`` is raised so that
``steps * strength >= 1``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core import InputError
from ._request import F32, BaseBackend, GenRequest, ModelInfo, check_output, check_prompt
from ._torch import import_diffusers, import_torch
from ._weights import ControlNetWeights


class Diffusion:
    """Loaded Stable Diffusion modules (and ControlNets), and what every backend does with them."""

    def __init__(
        self,
        sd: Any,
        control: Any,
        controls: Sequence[str],
        device: Any,
        models: tuple[ModelInfo, ...],
        control_scale: float = 1.0,
    ) -> None:
        self.sd = sd
        self.control = control
        self.controls = tuple(controls)
        self.device = device
        self.models = models
        self.control_scale = float(control_scale)
        self.dtype = sd.unet.dtype
        self.multiple = math.lcm(8, int(getattr(sd, "vae_scale_factor", 8)))
        cad = sd.unet.config.cross_attention_dim
        self.embed_dim = int(cad if isinstance(cad, int) else cad[0])

    # --- text ----------------------------------------------------------------------------

    def embeds(self, request: GenRequest, cfg: bool) -> tuple[Any, Any]:
        """(prompt embeddings, negative embeddings or None) for the request."""
        torch = import_torch()
        check_prompt(request)
        has_text = self.sd.tokenizer is not None and self.sd.text_encoder is not None

        def one(given: Any, text: str, missing: str) -> Any:
            """Given embeddings, else the weights' own text encoder on ``text``."""
            if given is not None:
                return torch.from_numpy(given).to(self.device, self.dtype)
            if not has_text:
                raise InputError(missing)
            with torch.no_grad():
                return self.sd.encode_prompt(text, self.device, 1, False)[0]

        pos = one(request.prompt_embeds, request.prompt,
                  "these weights have no tokenizer/text encoder: pass prompt embeddings "
                  "(GenRequest.prompt_embeds), or weights with tokenizer/ and text_encoder/")  # fmt: skip
        neg = None
        if cfg:
            neg = one(request.negative_prompt_embeds, request.negative_prompt,
                      "guidance above 1 needs negative prompt embeddings when the weights have no "
                      "text encoder: pass negative_prompt_embeds, or guidance 1")  # fmt: skip
        for emb in (pos, neg):
            if emb is not None and emb.shape[-1] != self.embed_dim:
                raise InputError(
                    f"prompt embeddings of width {emb.shape[-1]}; this model reads {self.embed_dim}"
                )
        if neg is not None and neg.shape != pos.shape:
            raise InputError(
                f"negative prompt embeddings {tuple(neg.shape)} differ from the "
                f"prompt's {tuple(pos.shape)}"
            )
        return pos, neg

    def common(self, request: GenRequest) -> dict[str, Any] | None:
        """What every frame's pipeline call shares (embeddings, guidance, seed, output), or
        None when strength 0 leaves the frame as it is; the prompt checked first."""
        check_prompt(request)
        if request.strength <= 0.0:
            return None
        pos, neg = self.embeds(request, self.cfg(request))
        return {"prompt_embeds": pos, "negative_prompt_embeds": neg, "guidance_scale": request.guidance,
                "generator": self.generator(request.seed), "output_type": "np"}  # fmt: skip

    def cfg(self, request: GenRequest) -> bool:
        return request.guidance > 1.0 and self.sd.unet.config.time_cond_proj_dim is None

    # --- pictures ------------------------------------------------------------------------

    def padding(self, request: GenRequest) -> tuple[int, int]:
        h, w = request.image.shape[:2]
        return (-h) % self.multiple, (-w) % self.multiple

    def tensor(self, arr: F32, pad: tuple[int, int]) -> Any:
        """(h, w[, 3]) 0..1 -> (1, 3, H, W) on the device, reflected out to the padded size."""
        torch = import_torch()
        a = arr if arr.ndim == 3 else np.repeat(arr[..., None], 3, axis=2)
        ph, pw = pad
        if ph or pw:
            a = np.pad(
                a,
                ((0, ph), (0, pw), (0, 0)),
                mode="reflect" if ph < a.shape[0] and pw < a.shape[1] else "edge",
            )
        t = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))[None])
        return t.to(self.device, self.dtype)

    def control_images(self, request: GenRequest, pad: tuple[int, int]) -> list[Any]:
        out = []
        for name in self.controls:
            if name not in request.controls:
                have = ", ".join(sorted(request.controls)) or "none"
                raise InputError(
                    f"frame {request.frame}: the ControlNet conditions on the {name!r} "
                    f"pass, which the request lacks (it has: {have})"
                )
            out.append(self.tensor(request.controls[name], pad))
        return out

    def generator(self, seed: int) -> Any:
        return import_torch().Generator("cpu").manual_seed(int(seed))

    @staticmethod
    def steps_for(request: GenRequest) -> int:
        """Steps such that at least one denoising step runs at the request's strength."""
        if request.strength >= 1.0:
            return request.steps
        return max(request.steps, math.ceil(1.0 / request.strength - 1e-9))

    def finish(self, request: GenRequest, images: Any, name: str) -> F32:
        h, w = request.image.shape[:2]
        out = np.asarray(images, np.float32)
        if out.ndim == 4:
            out = out[0]
        return check_output(request, out[:h, :w], name)


class ControlNetBackend(BaseBackend):
    """Stable Diffusion held to the frame's passes by ControlNets (one per pass)."""

    name = "controlnet"

    def __init__(self, diffusion: Diffusion) -> None:
        diffusers = import_diffusers()
        if diffusion.control is None:
            raise InputError("the ControlNet backend needs a ControlNet; pass --controlnet DIR")
        self.diffusion = diffusion
        self.models = diffusion.models
        sd = diffusion.sd
        self._text2img = diffusers.StableDiffusionControlNetPipeline.from_pipe(
            sd, controlnet=diffusion.control
        )
        self._img2img = diffusers.StableDiffusionControlNetImg2ImgPipeline.from_pipe(
            sd, controlnet=diffusion.control
        )
        for p in (self._text2img, self._img2img):
            p.set_progress_bar_config(disable=True)

    def refine(self, request: GenRequest) -> F32:
        torch = import_torch()
        d = self.diffusion
        common = d.common(request)
        if common is None:
            return request.image.copy()
        pad = d.padding(request)
        controls = d.control_images(request, pad)
        control: Any = controls[0] if len(controls) == 1 else controls
        scale: Any = d.control_scale if len(controls) == 1 else [d.control_scale] * len(controls)
        h, w = (request.image.shape[0] + pad[0], request.image.shape[1] + pad[1])
        common |= {"height": h, "width": w, "controlnet_conditioning_scale": scale}
        with torch.no_grad():
            if request.strength >= 1.0:
                out = self._text2img(image=control, num_inference_steps=request.steps, **common)
            else:
                out = self._img2img(
                    image=d.tensor(request.image, pad),
                    control_image=control,
                    strength=request.strength,
                    num_inference_steps=d.steps_for(request),
                    **common,
                )
        return d.finish(request, out.images, self.name)


class Img2ImgBackend(BaseBackend):
    """Stable Diffusion img2img: the frame noised to ``strength`` and denoised to the prompt."""

    name = "img2img"

    def __init__(self, diffusion: Diffusion) -> None:
        diffusers = import_diffusers()
        self.diffusion = diffusion
        self.models = diffusion.models
        self._pipe = diffusers.StableDiffusionImg2ImgPipeline.from_pipe(diffusion.sd)
        self._pipe.set_progress_bar_config(disable=True)

    def refine(self, request: GenRequest) -> F32:
        torch = import_torch()
        d = self.diffusion
        common = d.common(request)
        if common is None:
            return request.image.copy()
        pad = d.padding(request)
        with torch.no_grad():
            out = self._pipe(image=d.tensor(request.image, pad), strength=request.strength,
                             num_inference_steps=d.steps_for(request), **common)  # fmt: skip
        return d.finish(request, out.images, self.name)


def diffusion_models(
    base_info: ModelInfo, controlnets: Sequence[ControlNetWeights]
) -> tuple[ModelInfo, ...]:
    """The models a diffusion backend runs: the base, then each ControlNet (once)."""
    seen: list[ModelInfo] = [base_info]
    for cn in controlnets:
        if cn.info not in seen:
            seen.append(cn.info)
    return tuple(seen)
