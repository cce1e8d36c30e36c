"""Weights from disk only: found, checked and licence-cleared before anything heavy loads.

Two layouts are accepted for the base model (Stable Diffusion 1.x/2.x, SD-Turbo):

- ``--weights DIR``: a diffusers folder (``model_index.json``, ``unet/``, ``vae/``,
  ``scheduler/``, optionally ``text_encoder/`` + ``tokenizer/`` and ``controlnet/``);
- ``--weights FILE.safetensors --config DIR``: one checkpoint with a folder of the
  same model's diffusers configs (``from_single_file(..., config=DIR)``).

A ControlNet is the base folder's ``controlnet/`` or its own folder (``--controlnet
DIR``: ``config.json`` + weights). Everything is read with ``local_files_only=True``
and the hub offline. Only ``.safetensors`` weights load: pickled ``.bin``/``.ckpt``
files can run code when opened and are refused. A partial download (a component
``model_index.json`` lists whose folder, config or weight file is missing, or a
safetensors file shorter than its header says) is named before loading starts, and
so is a folder for another kind of pipeline. The safety checker, feature extractor
and image encoder a folder may list are not loaded: frames are production
material, and a checker blacking out frames would silently break a render.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import InputError
from ._licence import Licence, read_licence
from ._request import ModelInfo
from ._torch import import_diffusers, torch_device

NO_WEIGHTS = (
    "pass --weights DIR: a diffusers folder (model_index.json, unet/, vae/, ...) or a "
    ".safetensors checkpoint with --config DIR"
)
SD_PIPELINES = frozenset(
    {
        "StableDiffusionPipeline",
        "StableDiffusionImg2ImgPipeline",
        "StableDiffusionControlNetPipeline",
        "StableDiffusionControlNetImg2ImgPipeline",
    }
)
REQUIRED = ("unet", "vae", "scheduler")
NOT_LOADED = ("safety_checker", "feature_extractor", "image_encoder")
_PICKLES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
_MAX_HEADER = 100 << 20


@dataclass(frozen=True)
class BaseWeights:
    """A Stable Diffusion model found on disk and checked."""

    path: Path  # the folder, or the .safetensors checkpoint
    config: Path | None  # the config folder of a single checkpoint
    pipeline_class: str
    components: dict[str, str]  # name -> class, the ones present
    info: ModelInfo
    licence: Licence
    variant: str | None = None

    @property
    def has_controlnet(self) -> bool:
        return "controlnet" in self.components

    @property
    def has_text_encoder(self) -> bool:
        return "text_encoder" in self.components and "tokenizer" in self.components


@dataclass(frozen=True)
class ControlNetWeights:
    """A ControlNet folder found on disk and checked, and the pass it conditions on."""

    path: Path
    control: str
    info: ModelInfo
    licence: Licence = field(repr=False, default=Licence("none", False, "", ""))


def find_base(weights: str | Path | None, config: str | Path | None = None) -> BaseWeights:
    """The base model at ``weights`` (a folder, or a checkpoint file with ``config``), checked."""
    if weights is None or str(weights) == "":
        raise InputError(f"no weights given; {NO_WEIGHTS}")
    path = Path(weights).expanduser()
    if not path.exists():
        raise InputError(f"no such file or folder; {NO_WEIGHTS}", path)
    if path.is_file():
        return _find_checkpoint(path, config)
    if config is not None:
        raise InputError(
            "--config is for a single .safetensors checkpoint; a diffusers folder "
            "carries its own configs",
            path,
        )
    index = path / "model_index.json"
    if not index.is_file():
        raise InputError(_not_a_pipeline(path), path)
    doc = _read_json(index)
    cls = _pipeline_class(doc, index)
    components: dict[str, str] = {}
    variants: set[str] = set()
    for name, spec in sorted(doc.items()):
        if name.startswith("_") or not isinstance(spec, list) or len(spec) != 2:
            continue
        library, comp_cls = spec
        if library is None or comp_cls is None or name in NOT_LOADED:
            continue
        variant = _check_component(path, name, str(comp_cls), index, weights_needed=True)
        if variant:
            variants.add(variant)
        components[name] = str(comp_cls)
    for name in REQUIRED:
        if name not in components:
            raise InputError(
                f"model_index.json lists no {name}; the folder is not a complete "
                f"Stable Diffusion model. {NO_WEIGHTS}",
                index,
            )
    _check_unet(path / "unet" / "config.json")
    licence = read_licence(path)
    info = ModelInfo(
        name=path.name,
        licence=licence.id,
        commercial=licence.commercial,
        source=str(path),
        sha256=_sha256_file(index),
        sha256_of="model_index.json",
        licence_from=licence.source,
    )
    return BaseWeights(path, None, cls, components, info, licence, next(iter(variants), None))


def find_controlnets(
    controlnet: str | Path | Mapping[str, str | Path] | None,
    controls: Sequence[str] | None,
    base: BaseWeights | None,
) -> list[ControlNetWeights]:
    """The ControlNets a backend conditions on, each with its pass; the base's own if none given.

    ``controlnet`` is one folder (for the pass ``controls[0]``, default ``depth``) or
    a mapping pass -> folder (several ControlNets together)."""
    if isinstance(controlnet, Mapping):
        if controls and tuple(controls) != tuple(controlnet):
            raise InputError(
                "give the passes either as the ControlNet mapping's keys or as "
                "controls, not both differently"
            )
        return [_find_controlnet(Path(p), name) for name, p in controlnet.items()]
    wanted = tuple(controls or ("depth",))
    if controlnet is not None and str(controlnet) != "":
        if len(wanted) != 1:
            raise InputError(
                f"one ControlNet folder conditions on one pass, not {', '.join(wanted)}; "
                "give one folder per pass (depth=DIR, lineart=DIR)"
            )
        return [_find_controlnet(Path(controlnet), wanted[0])]
    if base is not None and base.has_controlnet:
        if len(wanted) != 1:
            raise InputError(
                f"the folder's own ControlNet conditions on one pass, not "
                f"{', '.join(wanted)}; add a ControlNet folder per pass",
                base.path,
            )
        return [
            ControlNetWeights(
                base.path / "controlnet",
                wanted[0],
                _model_info(
                    base.path / "controlnet", base.licence, base.path, "controlnet/config.json"
                ),
                base.licence,
            )
        ]
    where = base.path if base is not None else None
    raise InputError(
        "the ControlNet backend needs a ControlNet: the --weights folder has no "
        "controlnet/; pass --controlnet DIR (a ControlNetModel folder: config.json and "
        "diffusion_pytorch_model.safetensors), or use the img2img backend",
        where,
    )


def check_licences(models: Sequence[tuple[str, Licence]], *, allow_non_commercial: bool) -> None:
    """Each model's licence cleared for commercial use, or the user opted in."""
    for what, licence in models:
        licence.check(what, allow_non_commercial=allow_non_commercial)


def _find_checkpoint(path: Path, config: str | Path | None) -> BaseWeights:
    if path.suffix.lower() in _PICKLES:
        raise InputError(
            "pickled weights are not loaded (opening them can run code); convert the "
            "checkpoint to .safetensors",
            path,
        )
    if path.suffix.lower() != ".safetensors":
        raise InputError(f"not a .safetensors checkpoint; {NO_WEIGHTS}", path)
    if path.name == "model_index.json":
        raise InputError("pass the folder holding model_index.json, not the file", path)
    header = check_safetensors(path)
    if config is None:
        raise InputError(
            "a single checkpoint needs its pipeline's configs: pass --config DIR, a "
            "diffusers folder of the same model (model_index.json, unet/config.json, "
            "vae/config.json, scheduler/, tokenizer/)",
            path,
        )
    cfg = Path(config).expanduser()
    index = cfg / "model_index.json"
    if not index.is_file():
        raise InputError("--config must be a diffusers folder with model_index.json", cfg)
    doc = _read_json(index)
    cls = _pipeline_class(doc, index)
    components: dict[str, str] = {}
    for name, spec in sorted(doc.items()):
        if name.startswith("_") or not isinstance(spec, list) or len(spec) != 2:
            continue
        if spec[0] is None or spec[1] is None or name in NOT_LOADED:
            continue
        _check_component(cfg, name, str(spec[1]), index, weights_needed=False)
        components[name] = str(spec[1])
    _check_unet(cfg / "unet" / "config.json")
    licence = read_licence(path.parent, cfg)
    info = ModelInfo(
        name=path.stem,
        licence=licence.id,
        commercial=licence.commercial,
        source=str(path),
        sha256=hashlib.sha256(header).hexdigest(),
        sha256_of="safetensors header",
        licence_from=licence.source,
    )
    return BaseWeights(path, cfg, cls, components, info, licence)


def _find_controlnet(path: Path, control: str) -> ControlNetWeights:
    path = path.expanduser()
    if not path.exists():
        raise InputError(
            "no such ControlNet folder; pass --controlnet DIR (config.json and "
            "diffusion_pytorch_model.safetensors)",
            path,
        )
    if path.is_file():
        raise InputError(
            "pass the ControlNet's folder (config.json and its .safetensors), not a file", path
        )
    cfg = path / "config.json"
    if (path / "model_index.json").is_file():
        raise InputError(
            "this is a whole pipeline, not a ControlNet; pass it with --weights and "
            "its controlnet/ (or a ControlNet folder) with --controlnet",
            path,
        )
    if not cfg.is_file():
        raise InputError("not a ControlNet folder: no config.json", path)
    cls = _read_json(cfg).get("_class_name")
    if cls != "ControlNetModel":
        raise InputError(
            f"not a ControlNet: its config.json says {cls!r}, not 'ControlNetModel'", cfg
        )
    _weight_files(path, "controlnet", cfg)
    licence = read_licence(path)
    return ControlNetWeights(
        path, control, _model_info(path, licence, path, "config.json"), licence
    )


def _model_info(folder: Path, licence: Licence, source: Path, hashed: str) -> ModelInfo:
    return ModelInfo(
        name=folder.name if folder.name != "controlnet" else f"{source.name}/controlnet",
        licence=licence.id,
        commercial=licence.commercial,
        source=str(folder),
        sha256=_sha256_file(folder / "config.json"),
        sha256_of=hashed,
        licence_from=licence.source,
    )


def _not_a_pipeline(path: Path) -> str:
    cfg = path / "config.json"
    if cfg.is_file():
        try:
            cls = json.loads(cfg.read_text(encoding="utf-8")).get("_class_name")
        except (OSError, ValueError, AttributeError):
            cls = None
        if cls == "ControlNetModel":
            return (
                "this folder is a ControlNet, not a base model: pass it with --controlnet and "
                "the Stable Diffusion model with --weights"
            )
        if cls:
            return (
                f"this folder is one component ({cls}), not a pipeline; pass the folder above "
                "it, the one with model_index.json"
            )
    if any(path.glob("*.safetensors")):
        return (
            "a folder of checkpoint files, not a diffusers folder: pass the .safetensors file "
            "itself with --config DIR"
        )
    return f"not a diffusers folder (no model_index.json); {NO_WEIGHTS}"


def _pipeline_class(doc: dict[str, Any], index: Path) -> str:
    cls = doc.get("_class_name")
    if not isinstance(cls, str):
        raise InputError("model_index.json has no _class_name; not a diffusers pipeline", index)
    if cls in SD_PIPELINES:
        return cls
    if "XL" in cls:
        raise InputError(
            f"a {cls} (SDXL) folder; these backends run Stable Diffusion 1.x/2.x "
            "(SD 1.5, SD 2.1, SD-Turbo) weights",
            index,
        )
    raise InputError(
        f"a {cls} folder, not a Stable Diffusion pipeline; these backends run Stable "
        "Diffusion 1.x/2.x weights (StableDiffusionPipeline or its ControlNet/img2img "
        "variants)",
        index,
    )


def _check_unet(cfg: Path) -> None:
    if not cfg.is_file():
        return
    doc = _read_json(cfg)
    if doc.get("in_channels", 4) != 4:
        raise InputError(
            f"a UNet with {doc.get('in_channels')} input channels (an inpainting or "
            "depth-to-image model); these backends need a text-to-image model (4)",
            cfg,
        )


def _check_component(
    root: Path, name: str, cls: str, index: Path, *, weights_needed: bool
) -> str | None:
    folder = root / name
    partial = "the download is partial: fetch the whole folder again"
    if not folder.is_dir():
        raise InputError(
            f"model_index.json lists {name} ({cls}) but {folder} is missing; {partial}", folder
        )
    if cls.endswith("Scheduler") or "Scheduler" in cls:
        if not (folder / "scheduler_config.json").is_file():
            raise InputError(f"{name}/ has no scheduler_config.json; {partial}", folder)
        return None
    if "Tokenizer" in cls:
        if not any(folder.iterdir()):
            raise InputError(f"{name}/ is empty; {partial}", folder)
        return None
    cfg = folder / "config.json"
    if not cfg.is_file():
        raise InputError(f"{name}/ has no config.json; {partial}", folder)
    return _weight_files(folder, name, index) if weights_needed else None


def _weight_files(folder: Path, name: str, index: Path) -> str | None:
    """The component's safetensors files, each checked; the variant ("fp16") if only that exists."""
    files = sorted(folder.glob("*.safetensors"))
    shards = sorted(folder.glob("*.safetensors.index.json"))
    for shard_index in shards:
        doc = _read_json(shard_index)
        wanted = (
            set(doc.get("weight_map", {}).values())
            if isinstance(doc.get("weight_map"), dict)
            else set()
        )
        for shard in sorted(wanted):
            if not (folder / str(shard)).is_file():
                raise InputError(
                    f"{shard_index.name} lists {shard}, which is missing; the download is "
                    "partial: fetch the whole folder again",
                    folder / str(shard),
                )
    if not files:
        pickled = [p.name for p in folder.iterdir() if p.suffix in _PICKLES]
        if pickled:
            raise InputError(
                f"{name}/ holds only pickled weights ({', '.join(pickled)}), which are "
                "not loaded (opening them can run code); convert them to .safetensors",
                folder,
            )
        raise InputError(
            f"{name}/ has no weight file (.safetensors); the download is partial: "
            "fetch the whole folder again",
            folder,
        )
    for f in files:
        check_safetensors(f)
    plain = [f for f in files if f.name.count(".") == 1]
    if plain:
        return None
    parts = files[0].name.split(".")
    return parts[-2] if len(parts) >= 3 else None


def check_safetensors(path: Path) -> bytes:
    """The file's header bytes, once its size matches what the header describes."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if n < 2 or n > _MAX_HEADER or 8 + n > size:
                raise InputError(
                    f"not a complete safetensors file ({size} bytes; truncated or not "
                    "safetensors): fetch it again",
                    path,
                )
            raw = f.read(n)
    except OSError as exc:
        raise InputError(f"cannot read the weights: {exc.strerror or exc}", path) from exc
    try:
        header = json.loads(raw)
        end = max(
            (int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0
        )
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise InputError(
            f"not a safetensors file (its header does not parse: {exc})", path
        ) from exc
    if 8 + n + end != size:
        raise InputError(
            f"a truncated safetensors file: {size} bytes, its header describes "
            f"{8 + n + end}; fetch it again",
            path,
        )
    return head + raw


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from exc
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc}); the file is damaged or partial", path) from exc
    if not isinstance(doc, dict):
        raise InputError("not a JSON object", path)
    return doc


def _sha256_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


# --- loading ------------------------------------------------------------------------------


def load_components(
    base: BaseWeights, controlnets: Sequence[ControlNetWeights], device: str | None
) -> tuple[Any, Any, Any]:
    """(StableDiffusionPipeline, ControlNet or MultiControlNet or None, torch device), loaded.

    Checked weights only (:func:`find_base`, :func:`find_controlnets`); nothing fetched."""
    diffusers = import_diffusers()
    dev, dtype = torch_device(device)
    common: dict[str, Any] = {"local_files_only": True, "dtype": dtype}
    skip: dict[str, Any] = {
        "safety_checker": None,
        "feature_extractor": None,
        "image_encoder": None,
        "requires_safety_checker": False,
    }
    for name in ("text_encoder", "tokenizer"):
        if name not in base.components:
            skip[name] = None
    try:
        if base.config is not None:
            pipe = diffusers.StableDiffusionPipeline.from_single_file(
                str(base.path), config=str(base.config), **common, **skip
            )
        else:
            kwargs: dict[str, Any] = {**common, **skip, "use_safetensors": True}
            if base.variant:
                kwargs["variant"] = base.variant
            if base.has_controlnet:
                kwargs["controlnet"] = diffusers.ControlNetModel.from_pretrained(
                    str(base.path),
                    subfolder="controlnet",
                    **common,
                    use_safetensors=True,
                    **({"variant": base.variant} if base.variant else {}),
                )
                cls = diffusers.StableDiffusionControlNetPipeline
            else:
                cls = diffusers.StableDiffusionPipeline
            pipe = cls.from_pretrained(str(base.path), **kwargs)
        own = getattr(pipe, "controlnet", None)
        models = []
        for cn in controlnets:
            if own is not None and cn.path == base.path / "controlnet":
                models.append(own)
            else:
                models.append(
                    diffusers.ControlNetModel.from_pretrained(
                        str(cn.path), **common, use_safetensors=True
                    )
                )
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise InputError(
            f"the weights do not load: {' '.join(str(exc).split())[:400]}", base.path
        ) from exc
    sd = diffusers.StableDiffusionPipeline.from_pipe(pipe) if own is not None else pipe
    sd = sd.to(dev)
    sd.set_progress_bar_config(disable=True)
    control: Any = None
    if models:
        control = models[0] if len(models) == 1 else diffusers.MultiControlNetModel(models)
        control = control.to(dev)
    return sd, control, dev
