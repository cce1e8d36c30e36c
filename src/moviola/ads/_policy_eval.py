"""``moviola ads ope``: is a policy fitted on the logs better than the one that served them?

The logs are the service's closed decisions whose ad was seen (or a JSON-lines file in the
same form, ``moviola ads logs`` writes one). They are split by time: the first part fits a
candidate (a fresh Vowpal Wabbit policy with the service's settings, learning the decisions
in order, as the servers do), the rest evaluates it. On that held-out part the candidate's
probability of each logged choice, with the floor it would serve with, gives IPW, self-
normalised IPW and doubly robust estimates of its reward per decision (DR's reward model is
each creative's mean reward on the fitting part, shrunk toward the overall mean: DR stays
unbiased whatever the model, a better model only narrows it). The incumbent's value is the
logged reward's mean on the same part. The candidate is promoted only when DR's 95% lower
bound is above the incumbent's value (:func:`better`).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select

from ..core import InputError, write_bytes_atomic
from ..stream import _schema as t
from ..stream._service import Service
from ._bandit import Policy
from ._config import AdsConfig, read_config
from ._ope import Estimate, better, doubly_robust, ipw, on_policy, snipw

POLICY_KIND = "ads-policy"
POLICY_FILE = "policy.vw"
SHRINK = 5.0  # pseudo-decisions pulling a creative's mean reward toward the overall mean
MIN_LOGS = 20


@dataclass(frozen=True)
class Logged:
    serving_id: str
    seq: int  # the reward's number in the store (its learning order); 0 from a file
    ts: int
    shared: str
    actions: list[str]
    creatives: list[str]
    chosen: int
    propensity: float
    reward: float

    def as_json(self) -> dict[str, Any]:
        return {"serving_id": self.serving_id, "seq": self.seq, "ts": self.ts, "shared": self.shared,
                "actions": self.actions, "creatives": self.creatives, "chosen": self.chosen,
                "propensity": self.propensity, "reward": self.reward}  # fmt: skip


def read_logs(service: Service) -> list[Logged]:
    """The service's closed decisions whose ad was seen, in learning order."""
    r, d = t.ad_rewards.c, t.ad_decisions.c
    query = (select(r.seq, r.reward, r.events, d.serving_id, d.ts, d.context, d.propensity)
             .select_from(t.ad_rewards.join(t.ad_decisions, d.serving_id == r.serving_id)).order_by(r.seq))  # fmt: skip
    out = []
    with service.engine.connect() as conn:
        for seq, reward, kinds, sid, ts, context, propensity in conn.execute(query):
            if "impression" not in str(kinds).split(","):
                continue
            c = json.loads(context)
            out.append(Logged(sid, int(seq), int(ts), c["shared"], c["actions"], c["creatives"], int(c["chosen"]),
                              float(propensity), float(reward)))  # fmt: skip
    return out


def read_logs_file(path: Path) -> list[Logged]:
    """Logs from a JSON-lines file (one decision a line, as ``moviola ads logs`` writes)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read: {exc}", path) from exc
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            x = json.loads(line)
            item = Logged(str(x["serving_id"]), int(x.get("seq", 0)), int(x["ts"]), str(x["shared"]),
                          [str(a) for a in x["actions"]], [str(c) for c in x["creatives"]], int(x["chosen"]),
                          float(x["propensity"]), float(x["reward"]))  # fmt: skip
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"line {number}: not a logged decision ({exc.__class__.__name__}: {exc})", path) from None
        if not 0 < item.propensity <= 1 or not 0 <= item.chosen < len(item.actions) or len(item.actions) != len(item.creatives):
            raise InputError(f"line {number}: propensity must be in (0, 1] and chosen an index of actions", path)
        out.append(item)
    return out


def write_logs(logs: list[Logged], path: Path) -> Path:
    text = "".join(json.dumps(x.as_json(), separators=(",", ":")) + "\n" for x in logs)
    return write_bytes_atomic(path, text.encode("utf-8"))


def _creative_means(logs: list[Logged]) -> tuple[dict[str, float], float]:
    overall = float(np.mean([x.reward for x in logs])) if logs else 0.0
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for x in logs:
        sums[x.creatives[x.chosen]] += x.reward
        counts[x.creatives[x.chosen]] += 1
    return {c: (sums[c] + SHRINK * overall) / (counts[c] + SHRINK) for c in counts}, overall


@dataclass
class Evaluation:
    logs: int
    fitted_on: int
    evaluated_on: int
    incumbent: Estimate
    estimates: dict[str, Estimate]
    promote: bool
    candidate: Policy
    mark: int  # the last reward the candidate learned

    def as_dict(self) -> dict[str, Any]:
        return {"logs": self.logs, "fitted_on": self.fitted_on, "evaluated_on": self.evaluated_on,
                "incumbent": self.incumbent.as_dict(),
                "candidate": {k: v.as_dict() for k, v in self.estimates.items()},
                "rule": "promote when the candidate's DR 95% lower bound is above the incumbent's value",
                "better": self.promote}  # fmt: skip


def evaluate_candidate(logs: list[Logged], config: AdsConfig, *, fit_share: float = 0.7) -> Evaluation:
    """Fit a candidate on the first ``fit_share`` of the logs, estimate it on the rest."""
    if len(logs) < MIN_LOGS:
        raise InputError(f"{len(logs)} logged decisions with their rewards; off-policy evaluation needs at least "
                         f"{MIN_LOGS} (serve more ads, or pass --logs)")  # fmt: skip
    ordered = sorted(logs, key=lambda x: (x.seq, x.ts, x.serving_id))
    cut = max(1, min(len(ordered) - 1, round(len(ordered) * fit_share)))
    fit, held = ordered[:cut], ordered[cut:]
    candidate = Policy(config, base=f"candidate-{int(time.time())}")
    for x in fit:
        candidate.learn(x.shared, x.actions, x.chosen, x.reward, x.propensity)
    means, overall = _creative_means(fit)
    rewards, behaviour, target, q_logged, q_target = [], [], [], [], []
    for x in held:
        probs = candidate.probabilities(x.shared, x.actions)
        q = [means.get(c, overall) for c in x.creatives]
        rewards.append(x.reward)
        behaviour.append(x.propensity)
        target.append(probs[x.chosen])
        q_logged.append(q[x.chosen])
        q_target.append(float(np.dot(probs, q)))
    estimates = {
        "ipw": ipw(rewards, behaviour, target),
        "snipw": snipw(rewards, behaviour, target),
        "dr": doubly_robust(rewards, behaviour, target, q_logged, q_target),
    }
    incumbent = on_policy(rewards)
    return Evaluation(len(logs), len(fit), len(held), incumbent, estimates, better(estimates["dr"], incumbent),
                      candidate, fit[-1].seq)  # fmt: skip


def promote(service: Service, evaluation: Evaluation) -> str:
    """Save the candidate as the policy every server loads next (a model version)."""
    version = f"ads-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{evaluation.mark}"
    folder = service.path("models", version)
    incoming = service.path("models", f".incoming-{version}")
    incoming.mkdir(parents=True, exist_ok=False)
    evaluation.candidate.save(incoming / POLICY_FILE)
    info = {"kind": POLICY_KIND, "mark": evaluation.mark, **evaluation.as_dict()}
    write_bytes_atomic(incoming / "policy.json", json.dumps(info, indent=2).encode("utf-8"))
    incoming.rename(folder)
    with service.engine.begin() as conn:
        conn.execute(insert(t.model_versions).values(version=version, kind=POLICY_KIND, path=f"models/{version}",
                                                     created_at=int(time.time()), metrics=json.dumps(info)))  # fmt: skip
    return version


def newest_policy(service: Service) -> tuple[str, Path, int] | None:
    """The promoted policy servers load: (version, model file, the last reward it learned)."""
    m = t.model_versions.c
    with service.engine.connect() as conn:
        row = conn.execute(select(m.version, m.path, m.metrics).where(m.kind == POLICY_KIND)
                           .order_by(m.created_at.desc(), m.version.desc()).limit(1)).first()  # fmt: skip
    if row is None:
        return None
    path = service.root / row.path / POLICY_FILE
    return (str(row.version), path, int(json.loads(row.metrics or "{}").get("mark", 0))) if path.is_file() else None


def ope_report(service: Service, logs_file: Path | None = None, *, do_promote: bool = False) -> dict[str, Any]:
    config = read_config(service.root)
    logs = read_logs_file(logs_file) if logs_file is not None else read_logs(service)
    evaluation = evaluate_candidate(logs, config)
    report = evaluation.as_dict()
    report["promoted"] = promote(service, evaluation) if do_promote and evaluation.promote else None
    return report
