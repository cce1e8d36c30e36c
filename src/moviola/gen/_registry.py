"""Backends by name: the built-ins, and plug-ins from the ``moviola.refiners`` entry points.

``load_backend`` finds and checks the weights first (missing, partial, for the
wrong pipeline, licence) and only then loads anything, so a refusal costs nothing.
Every backend's models are held to the licence rule (non-commercial refused
unless ``allow_non_commercial``), plug-ins' included.

A plug-in registers a factory under the entry-point group ``moviola.refiners``;
it is called with the keyword arguments of :func:`load_backend` that its
signature accepts (``weights``, ``config``, ``controlnet``, ``controls``,
``device``, ``allow_non_commercial`` and any extra options), and must return a
:class:`~moviola.gen.Backend`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ..core import DependencyError, InputError
from ._request import Backend, PassThrough

ENTRY_POINT_GROUP = "moviola.refiners"
BUILTINS = ("passthrough", "style", "controlnet", "img2img", "video")
PathLike = str | Path


def available_backends() -> list[str]:
    """The built-in backends, then the installed plug-ins, by name."""
    plugins = sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} - set(BUILTINS))
    return [*BUILTINS, *plugins]


def load_backend(
    name: str,
    weights: PathLike | None = None,
    *,
    config: PathLike | None = None,
    controlnet: PathLike | Mapping[str, PathLike] | None = None,
    controls: Sequence[str] | None = None,
    look: str | None = None,
    allow_non_commercial: bool = False,
    device: str | None = None,
    control_scale: float = 1.0,
    **options: Any,
) -> Backend:
    """The backend called ``name``, ready to refine.

    - ``passthrough`` (also ``""``, ``none``): frames unchanged;
    - ``style`` or ``style:<look>``: a hand-drawn look (``look=``, default charcoal);
    - ``controlnet``: Stable Diffusion + ControlNet(s) on the ``controls`` passes
      (``controlnet=DIR`` for one pass, default depth, or ``{"depth": DIR, "lineart": DIR}``);
    - ``img2img``: Stable Diffusion img2img;
    - ``video``: clips kept consistent along the render's motion (options
      ``temporal``, ``warp_noise``), with ControlNets if given;
    - anything else: an installed plug-in.
    """
    key = (name or "").strip()
    if key in ("", "passthrough", "none"):
        _no_weights(key or "passthrough", weights or config, controlnet)
        return _checked(PassThrough(), allow_non_commercial)
    if key == "style" or key.startswith("style:"):
        _no_weights("style", weights or config, controlnet)
        chosen = key.partition(":")[2] or look or None
        if key.startswith("style:") and look and look != chosen:
            raise InputError(f"two looks asked for: {chosen!r} (in the name) and {look!r}")
        from ._style import DEFAULT_LOOK, StyleBackend

        unknown = sorted(set(options) - {"threads"})
        if unknown:
            raise InputError(
                f"the style backend has no option {', '.join(unknown)}; it has: threads"
            )
        return _checked(
            StyleBackend(chosen or DEFAULT_LOOK, device=device, **options), allow_non_commercial
        )
    if key in ("controlnet", "img2img", "video"):
        return _checked(
            _diffusion_backend(
                key,
                weights,
                config,
                controlnet,
                controls,
                allow_non_commercial,
                device,
                control_scale,
                options,
            ),
            allow_non_commercial,
        )
    return _plugin(
        key,
        {
            "weights": weights,
            "config": config,
            "controlnet": controlnet,
            "controls": controls,
            "look": look,
            "device": device,
            "allow_non_commercial": allow_non_commercial,
            "control_scale": control_scale,
            **options,
        },
        allow_non_commercial,
    )


def _no_weights(name: str, weights: object, controlnet: object) -> None:
    if weights is not None or controlnet is not None:
        raise InputError(
            f"the {name} backend loads no weights; drop --weights/--controlnet, or "
            "choose the controlnet, img2img or video backend"
        )


def _diffusion_backend(
    kind: str,
    weights: PathLike | None,
    config: PathLike | None,
    controlnet: PathLike | Mapping[str, PathLike] | None,
    controls: Sequence[str] | None,
    allow_non_commercial: bool,
    device: str | None,
    control_scale: float,
    options: dict[str, Any],
) -> Backend:
    from ._diffusion import ControlNetBackend, Diffusion, Img2ImgBackend, diffusion_models
    from ._video import new_video
    from ._weights import check_licences, find_base, find_controlnets, load_components

    if kind != "video" and options:
        raise InputError(f"the {kind} backend has no option {', '.join(sorted(options))}")
    base = find_base(weights, config)
    cns = []
    if kind == "controlnet" or (kind == "video" and (controlnet is not None or controls)):
        cns = find_controlnets(controlnet, controls, base)
    elif controlnet is not None:
        raise InputError("the img2img backend takes no ControlNet; use the controlnet backend")
    check_licences(
        [
            (f"the model {base.path}", base.licence),
            *((f"the ControlNet {c.path}", c.licence) for c in cns),
        ],
        allow_non_commercial=allow_non_commercial,
    )
    sd, control, dev = load_components(base, cns, device)
    diffusion = Diffusion(
        sd, control, [c.control for c in cns], dev, diffusion_models(base.info, cns), control_scale
    )
    if kind == "controlnet":
        return ControlNetBackend(diffusion)
    if kind == "img2img":
        return Img2ImgBackend(diffusion)
    return new_video(diffusion, options)


def _plugin(name: str, kwargs: dict[str, Any], allow_non_commercial: bool) -> Backend:
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        raise InputError(
            f"no backend called {name!r}; available: {', '.join(available_backends())}"
        )
    try:
        factory = found[0].load()
    except ImportError as exc:
        raise DependencyError(f"the backend {name!r} cannot be loaded: {exc}") from exc
    try:
        accepted = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        accepted = []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted):
        call = {k: v for k, v in kwargs.items() if v is not None}
    else:
        names = {p.name for p in accepted}
        call = {k: v for k, v in kwargs.items() if k in names and v is not None}
        extra = sorted(
            k
            for k, v in kwargs.items()
            if v is not None
            and k not in names
            and k not in ("allow_non_commercial", "control_scale", "device")
        )
        if extra:
            raise InputError(f"the backend {name!r} takes no {', '.join(extra)}")
    backend = factory(**call)
    if not isinstance(backend, Backend):
        raise InputError(
            f"the backend {name!r} does not provide name, models, refine() and "
            "refine_clip() (a moviola.gen Backend)"
        )
    return _checked(backend, allow_non_commercial)


def _checked(backend: Backend, allow_non_commercial: bool) -> Backend:
    for m in backend.models:
        if not m.commercial and not allow_non_commercial:
            raise InputError(
                f"the backend {backend.name!r} runs {m.name} under '{m.licence}', not "
                "cleared for commercial use; pass --allow-non-commercial to use it "
                "anyway",
                m.source or None,
            )
    return backend
