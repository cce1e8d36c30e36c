"""The request, the output check, the registry and its plug-ins, and the flicker measure."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import moviola.gen._registry as registry
from moviola.core import DependencyError, InputError
from moviola.gen import (
    ENTRY_POINT_GROUP,
    MAX_PROMPT_CHARS,
    Backend,
    BaseBackend,
    GenRequest,
    ModelInfo,
    available_backends,
    check_output,
    clip_flicker,
    load_backend,
)

F = np.float32


def frame(h: int = 32, w: int = 48) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(F)
    return np.stack([xx / w, yy / h, 0.5 + 0 * xx], axis=2).astype(F)


def test_request_holds_frame_and_passes() -> None:
    img = frame()
    r = GenRequest(
        image=img,
        controls={
            "depth": img[..., 0],
            "normals": img,
            "lineart": img[..., 1],
            "ids": img,
            "matte:building": img[..., 0],
        },
        prompt="a street",
        seed=3,
        strength=0.4,
        steps=8,
        frame=1012,
    )
    assert r.size == (48, 32) and r.image.dtype == np.float32
    assert set(r.controls) == {"depth", "normals", "lineart", "ids", "matte:building"}
    over = GenRequest(image=img * 3 - 1, controls={"depth": img[..., 0] * 2})
    assert over.image.min() == 0.0 and over.image.max() == 1.0  # clipped, display-referred
    assert over.controls["depth"].max() == 1.0


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"image": np.zeros((32, 48), F)}, r"\(h, w, 3\)"),
        ({"image": np.full((32, 48, 3), np.nan, F)}, "non-finite"),
        ({"image": np.zeros((4, 48, 3), F)}, "sides from 8"),
        ({"controls": {"height": np.zeros((32, 48), F)}}, "unknown control pass"),
        ({"controls": {"matte:": np.zeros((32, 48), F)}}, "unknown control pass"),
        ({"controls": {"depth": np.zeros((16, 48), F)}}, "48x16"),
        ({"controls": {"depth": np.zeros((32, 48, 3), F)}}, r"\(h, w\)"),
        ({"strength": 1.5}, "strength"),
        ({"steps": 0}, "steps"),
        ({"seed": -1}, "seed"),
        ({"guidance": float("nan")}, "guidance"),
        ({"prompt": "x" * (MAX_PROMPT_CHARS + 1)}, str(MAX_PROMPT_CHARS)),
        ({"negative_prompt": "x" * (MAX_PROMPT_CHARS + 1)}, str(MAX_PROMPT_CHARS)),
        ({"prompt_embeds": np.zeros((2, 77, 8), F)}, "prompt_embeds"),
    ],
)
def test_bad_requests_refused(kwargs: dict[str, Any], says: str) -> None:
    with pytest.raises(InputError, match=says):
        GenRequest(**{"image": frame(), **kwargs})


def test_prompt_at_the_limit_is_accepted() -> None:
    assert len(GenRequest(image=frame(), prompt="x" * MAX_PROMPT_CHARS).prompt) == MAX_PROMPT_CHARS


def test_passthrough_and_output_check() -> None:
    r = GenRequest(image=frame())
    backend = load_backend("passthrough")
    assert isinstance(backend, Backend) and backend.models == ()
    assert np.array_equal(backend.refine(r), r.image)
    assert [o.shape for o in backend.refine_clip([r, r])] == [r.image.shape] * 2
    with pytest.raises(InputError, match="expected"):
        check_output(r, np.zeros((8, 8, 3), F), "bad")
    bad = r.image.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(InputError, match="non-finite"):
        check_output(r, bad, "bad")
    with pytest.raises(InputError, match="loads no weights"):
        load_backend("passthrough", "/weights")


class _Plugin(BaseBackend):
    name = "grain"

    def __init__(
        self,
        weights: str | None = None,
        *,
        amount: float = 0.1,
        licence: str = "mit",
        commercial: bool = True,
    ) -> None:
        self.weights, self.amount = weights, amount
        self.models = (ModelInfo("grain-net", licence, commercial, str(weights)),)

    def refine(self, request: GenRequest) -> np.ndarray:
        return np.asarray(np.clip(request.image + self.amount, 0, 1), np.float32)


class _Entry:
    def __init__(self, name: str, target: Any) -> None:
        self.name, self.group, self._target = name, ENTRY_POINT_GROUP, target

    def load(self) -> Any:
        return self._target


def _entries(*items: _Entry) -> Any:
    def entry_points(group: str) -> Sequence[_Entry]:
        assert group == ENTRY_POINT_GROUP
        return items

    return entry_points


def test_plugins_from_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    def old_refiner() -> Any:  # the vfx hook's shape: name, licence, refine
        return type("Old", (), {"name": "old", "licence": "none", "refine": lambda self, r: r})()

    def nc_factory(weights: str | None = None) -> _Plugin:
        return _Plugin(weights, licence="cc-by-nc-4.0", commercial=False)

    monkeypatch.setattr(
        registry,
        "entry_points",
        _entries(_Entry("grain", _Plugin), _Entry("old", old_refiner), _Entry("nc", nc_factory)),
    )
    assert available_backends()[-3:] == ["grain", "nc", "old"]
    backend: Any = load_backend("grain", "/w", amount=0.25)
    assert backend.weights == "/w" and backend.amount == 0.25
    r = GenRequest(image=frame())
    assert np.allclose(backend.refine(r), np.clip(r.image + 0.25, 0, 1))
    with pytest.raises(InputError, match="takes no look"):
        load_backend("grain", look="ink")
    with pytest.raises(InputError, match="refine_clip"):
        load_backend("old")
    with pytest.raises(InputError, match="not cleared for commercial use"):
        load_backend("nc")
    assert load_backend("nc", allow_non_commercial=True).models[0].licence == "cc-by-nc-4.0"
    with pytest.raises(InputError, match="no backend called 'nope'; available: passthrough, style"):
        load_backend("nope")


def test_flicker_measure() -> None:
    rng = np.random.default_rng(0)
    texture = np.kron(rng.random((20, 30, 3)), np.ones((4, 4, 1))).astype(F)
    clip = [texture[:64, i * 2 : i * 2 + 96] for i in range(5)]  # panning 2 px a frame
    still = clip_flicker(clip, clip)
    assert still.pairs == 4 and still.before == still.after and still.after is not None
    assert still.after < 8  # motion is explained by the flow
    noisy = [np.clip(c + rng.normal(0, 0.1, c.shape).astype(F), 0, 1) for c in clip]
    loud = clip_flicker(clip, noisy)
    assert loud.after is not None and loud.after > still.after + 10
    assert clip_flicker(clip[:1], clip[:1]).after is None
    with pytest.raises(InputError):
        clip_flicker(clip, clip[:2])


def test_the_package_imports_without_torch_and_says_how_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\nsys.modules['diffusers'] = None\n"
        "import moviola.gen as g\n"
        "from moviola.core import DependencyError\n"
        "assert 'torch' in sys.modules and sys.modules['torch'] is None\n"
        "try:\n"
        "    g._torch.import_diffusers()\n"
        "except DependencyError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install 'moviola[gen]'" in out.stdout


def test_unknown_device_refused() -> None:
    pytest.importorskip("torch")
    from moviola.gen._torch import torch_device

    with pytest.raises(InputError, match="unknown device"):
        torch_device("tpu")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(DependencyError, match="no CUDA"):
            torch_device("cuda")
