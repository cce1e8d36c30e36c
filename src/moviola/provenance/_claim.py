"""What a file's Content Credentials say: the claim, as data, and its C2PA manifest.

A :class:`Claim` is what happened to make one file: created from nothing (a
storyboard panel rendered from a stage) or opened from a parent and edited (a plate
brought down, a face de-aged), how (the IPTC digital source type), from which
ingredients (the plate, the control passes), with which models and under which
consent. :func:`manifest` turns it into the manifest definition c2pa-python signs.
Nothing here reads or writes a file.

The IPTC source types used: ``algorithmicMedia`` for procedural work (previs,
the simulated collapse), ``trainedAlgorithmicMedia`` for frames a trained model
generated, ``compositeWithTrainedAlgorithmicMedia`` for a plate edited with trained
models (de-aging, a refined collapse). Training and data mining are "notAllowed"
unless a claim says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SOURCE_TYPES = (
    "algorithmicMedia",
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "compositeSynthetic",
    "digitalCreation",
)
Relationship = Literal["parentOf", "componentOf", "inputTo"]
# assertion labels: Moviola's own under a reverse-domain prefix, as C2PA asks
RENDER = "org.moviola.render"
MODELS = "org.moviola.models"
CONSENT = "org.moviola.consent"
TRAINING = "cawg.training-mining"
TRAINING_USES = ("cawg.ai_inference", "cawg.ai_generative_training", "cawg.ai_training", "cawg.data_mining")
SHA_KEY = "org.moviola.sha256"  # an ingredient's content hash (C2PA stores none for unsigned files)


@dataclass(frozen=True)
class Ingredient:
    """A file this one was made from: the parent it edits, or a component or input."""

    path: Path
    role: str  # "plate", "depth pass", "storyboard panel" ...
    relationship: Relationship = "componentOf"
    sha256: str = ""


@dataclass(frozen=True)
class ModelUse:
    """A model that took part, with the licence it was checked under."""

    name: str
    licence: str
    commercial: bool = True
    source: str = ""  # the package or the weights folder it came from
    sha256: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "licence": self.licence, "commercial": self.commercial,
                "source": self.source, "sha256": self.sha256}  # fmt: skip

    @classmethod
    def of(cls, model: Any) -> ModelUse:
        """From any model record with name, licence, commercial, source (and sha256)."""
        return cls(str(model.name), str(model.licence), bool(model.commercial), str(model.source),
                   str(getattr(model, "sha256", "") or ""))  # fmt: skip


@dataclass(frozen=True)
class ConsentUse:
    """The consent record a likeness edit was made under."""

    sha256: str
    performer: str
    scope: tuple[str, ...]
    use: str = ""
    key_id: str = ""
    expires: str = ""
    record: str = ""  # the record's file name

    def to_json(self) -> dict[str, Any]:
        return {"record_sha256": self.sha256, "performer": self.performer, "scope": list(self.scope),
                "use": self.use, "key_id": self.key_id, "expires": self.expires,
                "record": self.record}  # fmt: skip


@dataclass(frozen=True)
class Claim:
    """What happened to make one file (see the module's docstring)."""

    what: str  # one line: "storyboard panel 11A, start"
    source_type: str = "algorithmicMedia"
    command: str = ""  # "moviola previs"
    parent: Ingredient | None = None  # present: opened, then edited; absent: created
    ingredients: tuple[Ingredient, ...] = ()
    models: tuple[ModelUse, ...] = ()
    consent: ConsentUse | None = None
    documents: dict[str, str] = field(default_factory=dict)  # role -> sha256 (recipe, report...)
    details: dict[str, Any] = field(default_factory=dict)  # project, shot, frame, seed, prompt...
    training: str = "notAllowed"  # allowed | notAllowed | constrained

    def __post_init__(self) -> None:
        if self.source_type not in SOURCE_TYPES:
            raise ValueError(f"unknown digital source type {self.source_type!r}")
        if self.training not in ("allowed", "notAllowed", "constrained"):
            raise ValueError(f"unknown training permission {self.training!r}")

    def but(self, **changes: Any) -> Claim:
        """This claim with some fields changed (a frame number, one more ingredient)."""
        return replace(self, **changes)

    def with_details(self, **more: Any) -> Claim:
        return replace(self, details={**self.details, **more})


def manifest(claim: Claim, title: str, generator: tuple[str, str]) -> dict[str, Any]:
    """The C2PA manifest definition for ``claim`` on a file called ``title``.

    The first action is ``c2pa.created`` (with the source type) or, when there is a
    parent, ``c2pa.opened`` then ``c2pa.edited``: C2PA requires one of the first two
    to open every chain of actions.
    """
    name, version = generator
    agent = {"name": name, "version": version}
    source = IPTC + claim.source_type
    described: dict[str, Any] = {"description": claim.what}
    if claim.parent is not None:
        actions: list[dict[str, Any]] = [
            {"action": "c2pa.opened", "softwareAgent": agent, "parameters": {"ingredientIds": ["parent"]}},
            {"action": "c2pa.edited", "softwareAgent": agent, "digitalSourceType": source, **described},
        ]
    else:
        actions = [{"action": "c2pa.created", "softwareAgent": agent, "digitalSourceType": source, **described}]
    render: dict[str, Any] = {"command": claim.command, "description": claim.what, **claim.details}
    if claim.documents:
        render["documents"] = dict(claim.documents)
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions", "data": {"actions": actions}},
        {"label": TRAINING, "data": {"entries": {use: {"use": claim.training} for use in TRAINING_USES}}},
        {"label": RENDER, "data": render},
    ]
    if claim.models:
        assertions.append({"label": MODELS, "data": {"models": [m.to_json() for m in claim.models]}})
    if claim.consent is not None:
        assertions.append({"label": CONSENT, "data": claim.consent.to_json()})
    return {"claim_generator_info": [agent], "title": title, "assertions": assertions}


def ingredient_definition(ingredient: Ingredient, label: str | None = None) -> dict[str, Any]:
    """The JSON c2pa-python's ``add_ingredient`` takes for one ingredient."""
    out: dict[str, Any] = {"title": ingredient.path.name, "relationship": ingredient.relationship,
                           "description": ingredient.role}  # fmt: skip
    if ingredient.sha256:
        out["metadata"] = {SHA_KEY: ingredient.sha256}
    if label:
        out["label"] = label
    return out
