"""Generative backends: frames refined by neural networks on weights the user has on disk.

A :class:`GenRequest` (one display-referred sRGB frame, its control passes,
prompt, seed, strength, steps) goes to a :class:`Backend` chosen by
:func:`load_backend`: ``passthrough``, ``style`` (hand-drawn looks for
storyboards, :data:`LOOKS`), ``controlnet`` and ``img2img`` (Stable Diffusion
through diffusers), ``video`` (clips that do not flicker), or a plug-in from the
``moviola.refiners`` entry points. Weights are read from disk only, their
licence from their model card; non-commercial ones are refused unless the user
opts in. torch and diffusers are imported only when a diffusion backend loads.
"""

from ._flicker import Flicker, clip_flicker
from ._licence import COMMERCIAL, Licence, read_licence
from ._registry import BUILTINS, ENTRY_POINT_GROUP, available_backends, load_backend
from ._request import (
    CONTROL_NAMES,
    MAX_PROMPT_CHARS,
    Backend,
    BaseBackend,
    GenRequest,
    ModelInfo,
    PassThrough,
    check_output,
)
from ._style import DEFAULT_LOOK, LOOKS, Look, StyleBackend
from ._weights import NO_WEIGHTS, BaseWeights, ControlNetWeights, find_base, find_controlnets

__all__ = [
    "BUILTINS",
    "COMMERCIAL",
    "CONTROL_NAMES",
    "DEFAULT_LOOK",
    "ENTRY_POINT_GROUP",
    "LOOKS",
    "MAX_PROMPT_CHARS",
    "NO_WEIGHTS",
    "Backend",
    "BaseBackend",
    "BaseWeights",
    "ControlNetWeights",
    "Flicker",
    "GenRequest",
    "Licence",
    "Look",
    "ModelInfo",
    "PassThrough",
    "StyleBackend",
    "available_backends",
    "check_output",
    "clip_flicker",
    "find_base",
    "find_controlnets",
    "load_backend",
    "read_licence",
]
