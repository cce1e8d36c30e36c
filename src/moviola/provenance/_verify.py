"""Reading and checking a file's Content Credentials.

The verdict is one of three: **trusted** (intact, signed under a CA this account
trusts), **valid-but-untrusted** (intact, signer unknown here) or **broken** (the
signature or a hash does not hold; a changed byte in the file or in its sidecar
shows here, and is named as tampering). Manifests from other tools are read the
same way; Moviola's own assertions are simply absent from them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import InputError, ProvenanceError
from ._claim import CONSENT, IPTC, MODELS, RENDER, SHA_KEY, TRAINING
from ._keys import trust_anchors
from ._sign import EMBEDDED, SIDECAR, c2pa_module, sidecar_of

TRUSTED = "trusted"
UNTRUSTED = "valid-but-untrusted"
BROKEN = "broken"
_UNTRUSTED_CODES = {"signingCredential.untrusted"}


@dataclass(frozen=True)
class Verification:
    """What a file's credentials say, and whether they hold."""

    path: Path
    state: str  # trusted | valid-but-untrusted | broken
    tampered: bool = False
    problems: tuple[str, ...] = ()
    signer: str = ""
    issuer: str = ""
    signed_at: str = ""
    generator: str = ""
    title: str = ""
    sidecar: Path | None = None
    actions: tuple[dict[str, Any], ...] = ()
    ingredients: tuple[dict[str, Any], ...] = ()
    models: tuple[dict[str, Any], ...] = ()
    consent: dict[str, Any] | None = None
    render: dict[str, Any] = field(default_factory=dict)
    training: dict[str, str] = field(default_factory=dict)
    manifests: int = 0  # in the store: this file's and those its ingredients carried

    @property
    def ok(self) -> bool:
        return self.state != BROKEN

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.path), "state": self.state, "tampered": self.tampered,
                "problems": list(self.problems), "signer": self.signer, "issuer": self.issuer,
                "signed_at": self.signed_at, "generator": self.generator, "title": self.title,
                "sidecar": str(self.sidecar) if self.sidecar else None, "actions": list(self.actions),
                "ingredients": list(self.ingredients), "models": list(self.models), "consent": self.consent,
                "render": self.render, "training_mining": self.training,
                "manifests": self.manifests}  # fmt: skip


def _reader(path: Path, anchors: bytes | None) -> tuple[Any, Path | None]:
    c2pa = c2pa_module()
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError("no such file", path)
    sidecar = sidecar_of(path)
    context = None
    if anchors:
        context = c2pa.Context.from_dict({"verify": {"verify_trust": True},
                                          "trust": {"trust_anchors": anchors.decode("ascii")}})  # fmt: skip
    mime = EMBEDDED.get(suffix) or SIDECAR.get(suffix)
    if mime is None:
        raise InputError(f"Moviola does not read Content Credentials from '{suffix}' files", path)
    data = path.read_bytes()
    if suffix in SIDECAR or (sidecar.is_file() and suffix not in EMBEDDED):
        if not sidecar.is_file():
            raise ProvenanceError(f"carries no Content Credentials: its sidecar {sidecar.name} is missing", path)
        store = sidecar.read_bytes()
        return c2pa.Reader(mime, io.BytesIO(data), store, context=context), sidecar
    return c2pa.Reader(mime, io.BytesIO(data), context=context), None


def verify(path: Path, *, anchors: bytes | None = None) -> Verification:
    """Read and check ``path``'s credentials (embedded, or its ``.c2pa`` sidecar).

    ``anchors``: the CA certificates to trust (PEM); by default this account's list.
    A file with no credentials at all is a :class:`ProvenanceError`.
    """
    c2pa = c2pa_module()
    anchors = trust_anchors() if anchors is None else anchors
    try:
        reader, sidecar = _reader(path, anchors)
    except c2pa.C2paError.ManifestNotFound:
        raise ProvenanceError("carries no Content Credentials", path) from None
    except c2pa.C2paError as exc:  # a manifest that cannot even be parsed: broken
        side = sidecar_of(path) if sidecar_of(path).is_file() else None
        return Verification(path, BROKEN, tampered=True, problems=(f"the manifest cannot be read: {exc}",),
                            sidecar=side)  # fmt: skip
    with reader:
        store = json.loads(reader.json())
        state = str(reader.get_validation_state() or "")
        results = reader.get_validation_results() or {}
    active = store.get("active_manifest")
    man = (store.get("manifests") or {}).get(active, {}) if active else {}
    failures = [f for f in (results.get("activeManifest") or {}).get("failure", [])]
    failures += [f for f in store.get("validation_status") or [] if f not in failures]
    codes = {str(f.get("code", "")) for f in failures}
    tampered = any("mismatch" in c or "missing" in c for c in codes)
    if state == "Trusted":
        verdict = TRUSTED
    elif state == "Valid" and codes <= _UNTRUSTED_CODES:
        verdict = UNTRUSTED
    else:
        verdict = BROKEN
    problems = tuple(f"{f.get('code')}: {f.get('explanation', '')}".strip(": ")
                     for f in failures if f.get("code") not in _UNTRUSTED_CODES)  # fmt: skip
    assertions = {a.get("label", ""): a.get("data", {}) for a in man.get("assertions", [])}
    sig = man.get("signature_info") or {}
    gen = (man.get("claim_generator_info") or [{}])[0]
    return Verification(
        path, verdict, tampered, problems,
        signer=str(sig.get("common_name", "")), issuer=str(sig.get("issuer", "")),
        signed_at=str(sig.get("time", "")),
        generator=" ".join(str(gen.get(k, "")) for k in ("name", "version")).strip(),
        title=str(man.get("title", "")), sidecar=sidecar,
        actions=tuple(_actions(assertions)), ingredients=tuple(_ingredients(man)),
        models=tuple(assertions.get(MODELS, {}).get("models", [])),
        consent=assertions.get(CONSENT), render=dict(assertions.get(RENDER, {})),
        training={k: str(v.get("use", "")) for k, v in (assertions.get(TRAINING, {}).get("entries") or {}).items()},
        manifests=len(store.get("manifests") or {}),
    )  # fmt: skip


def _actions(assertions: dict[str, Any]) -> list[dict[str, Any]]:
    data = assertions.get("c2pa.actions.v2") or assertions.get("c2pa.actions") or {}
    out = []
    for act in data.get("actions", []):
        source = str(act.get("digitalSourceType", ""))
        agent = act.get("softwareAgent") or {}
        out.append({"action": act.get("action", ""),
                    "source_type": source.removeprefix(IPTC),
                    "agent": " ".join(str(agent.get(k, "")) for k in ("name", "version")).strip()
                    if isinstance(agent, dict) else str(agent),
                    "description": act.get("description", "")})  # fmt: skip
    return out


def _ingredients(man: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"title": ing.get("title", ""), "relationship": ing.get("relationship", ""),
             "role": ing.get("description", ""),
             "sha256": (ing.get("metadata") or {}).get(SHA_KEY, ""),
             "signed": bool(ing.get("active_manifest"))} for ing in man.get("ingredients", [])]  # fmt: skip


def describe(v: Verification) -> list[str]:
    """The verification as lines for a person."""
    verdicts = {TRUSTED: "trusted", UNTRUSTED: "valid, but the signer is not one this account trusts "
                "(moviola keys trust CA.pem)", BROKEN: "BROKEN"}  # fmt: skip
    lines = [f"{v.path}" + (f"  (manifest in {v.sidecar.name})" if v.sidecar else ""),
             f"  signature: {verdicts[v.state]}" + (" — the file was changed after signing (tampered)"
                                                    if v.tampered else "")]  # fmt: skip
    lines += [f"    {p}" for p in v.problems]
    if v.signer:
        lines.append(f"  signed by: {v.signer}" + (f" ({v.issuer})" if v.issuer else "")
                     + (f" at {v.signed_at}" if v.signed_at else " (no time-stamp)"))
    if v.generator:
        lines.append(f"  made with: {v.generator}")
    for i, act in enumerate(v.actions, 1):
        how = f" [{act['source_type']}]" if act["source_type"] else ""
        what = f": {act['description']}" if act["description"] else ""
        lines.append(f"  {i}. {act['action']}{how}{what}")
    for ing in v.ingredients:
        sha = f" sha256 {ing['sha256'][:16]}…" if ing["sha256"] else ""
        own = ", with its own credentials" if ing["signed"] else ""
        lines.append(f"  ingredient ({ing['relationship']}): {ing['title']} — {ing['role']}{sha}{own}")
    for m in v.models:
        ok = "" if m.get("commercial", True) else " (NON-COMMERCIAL, allowed by opt-in)"
        lines.append(f"  model: {m.get('name')} — licence {m.get('licence')}{ok}")
    if v.consent:
        c = v.consent
        lines.append(f"  consent: {c.get('performer')} — {c.get('use') or 'use not stated'}; scope "
                     f"{', '.join(c.get('scope', []))}; record sha256 {str(c.get('record_sha256', ''))[:16]}…")
    if v.render.get("documents"):
        for role, sha in v.render["documents"].items():
            lines.append(f"  {role}: sha256 {str(sha)[:16]}…")
    if v.training:
        allowed = sorted({u for u in v.training.values()})
        lines.append(f"  AI training and data mining: {', '.join(allowed)}")
    return lines
